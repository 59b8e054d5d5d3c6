"""Time check_arrays on MNIST-sized arrays against a 100-step range test, and its memory.

Run by hand, not in CI::

    python benchmarks/validation.py [--data-dir ../shared/data/mnist] [--rounds 7] [--threads N]

x is the 60000 x 784 MNIST training images as float32 in [0, 1] (read from
``--data-dir``, the repository's ``../shared/data/mnist`` or ``$LRFINDER_DATA/mnist``;
uniform noise of the same shape when none is found). The two are timed in alternating
rounds, and the report gives their medians, their best times and the ratios (the target
is <= 10%):

* ``check_arrays(x, y)``, the check every ``find_lr(model, (x, y))`` starts with;
* a 100-step range test (784-128-10, Adam, batch 64) on the already checked arrays.

For scale it also times one plain read of x (``x.max()``), the floor for any check
that looks at every value, and a copy of x. Memory: the peak that tracemalloc sees
numpy allocate during the check, and the rise in peak RSS, measured in a fresh
process, for a float32 x (which must not be copied) and a float64 x (which must be
converted, to float32 only).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_files import find_mnist, skip_message  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_ROWS, N_IN, HIDDEN, N_OUT, STEPS, BATCH = 60000, 784, 128, 10, 100, 64
MB = 1e6


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder with the MNIST .gz files")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None, help="BLAS threads")
    parser.add_argument("--rss-child", choices=["float32", "float64"], help=argparse.SUPPRESS)
    return parser.parse_args()


def set_threads(n: int | None) -> None:
    if n is not None:  # before numpy is imported
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(n)


def arrays(given: str | None):
    """``(x, y, what)``: MNIST as float32 in [0, 1], or noise of the same shape."""
    import numpy as np

    folder = find_mnist(given)
    if folder is None:
        print(
            f"{skip_message(given)}; timing uniform noise of the same shape instead",
            file=sys.stderr,
        )
        rng = np.random.default_rng(0)
        x = rng.random((N_ROWS, N_IN), dtype=np.float32)
        return x, rng.integers(0, N_OUT, N_ROWS), "uniform noise"
    from lrfinder import load_dataset

    data = load_dataset("mnist", folder, download=False)
    x = data.x_train.astype(np.float32) * np.float32(data.x_scale)
    return x, data.y_train, f"MNIST from {folder}"


def median_ms(samples: list[float]) -> float:
    return 1e3 * statistics.median(samples)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return os.environ.get("OPENBLAS_NUM_THREADS", "default")
    counts = {str(pool["num_threads"]) for pool in threadpool_info() if pool["user_api"] == "blas"}
    return ", ".join(sorted(counts)) or "?"


def traced_peak(fn) -> int:
    """Bytes numpy allocated at the peak of ``fn()`` (numpy reports to tracemalloc)."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def current_rss() -> int:
    """This process's resident set size now, in bytes (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """This process's peak resident set size, in bytes (Linux: VmHWM in /proc/self/status).

    Not getrusage's ru_maxrss: a child process inherits its parent's peak there.
    """
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


def rss_child(kind: str) -> None:
    """In a fresh process: RSS before checking an x of dtype `kind`, and the peak after."""
    import numpy as np

    from lrfinder.validation import check_arrays

    rng = np.random.default_rng(0)
    x = rng.random((N_ROWS, N_IN), dtype=np.dtype(kind))
    y = rng.integers(0, N_OUT, N_ROWS)
    before = current_rss()
    check_arrays(x, y)
    peak = peak_rss()
    print(x.nbytes, before, peak)


def rss_rise(kind: str) -> tuple[int, int]:
    """``(data bytes, peak RSS above the RSS before the check)`` for an x of dtype `kind`.

    An upper bound: the peak may also be an earlier one, from making x.
    """
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", kind],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    nbytes, before, peak = (int(v) for v in out.stdout.split())
    return nbytes, max(0, peak - before)


def main() -> None:
    args = parse_args()
    set_threads(args.threads)
    if args.rss_child:
        rss_child(args.rss_child)
        return
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from lrfinder import LearningRateSearcher, TwoLayerNet, find_lr
    from lrfinder.batches import as_array_data
    from lrfinder.validation import check_arrays

    x, y, what = arrays(args.data_dir)
    checked = as_array_data((x, y))
    assert np.shares_memory(checked.x, x), "check_arrays copied a float32 C-contiguous x"
    schedule = LearningRateSearcher.exponential(1e-6, 1e-3, STEPS)  # stays finite
    model = TwoLayerNet(N_IN, HIDDEN, N_OUT)

    def range_test():
        result = find_lr(
            model,
            checked,
            optimizer="adam",
            schedule=schedule,
            batch_size=BATCH,
            stop_factor=1e9,
            extend=False,
        )
        assert len(result.lrs) == STEPS, result.stop_reason

    range_test()  # warm-up: BLAS threads, caches
    check_arrays(x, y)
    samples = {"check": [], "test": [], "read": [], "copy": []}
    for _ in range(args.rounds):  # alternating, so that machine noise hits both alike
        samples["check"].append(timed(lambda: check_arrays(x, y)))
        samples["test"].append(timed(range_test))
        samples["read"].append(timed(x.max))
        samples["copy"].append(timed(x.copy))
    ms = {k: (median_ms(v), 1e3 * min(v)) for k, v in samples.items()}
    (check, check_best), (test, test_best) = ms["check"], ms["test"]

    print(
        f"x: {x.shape[0]} x {x.shape[1]} float32 ({x.nbytes / MB:.0f} MB), {what}; "
        f"BLAS threads: {blas_threads()}; {args.rounds} alternating rounds"
    )
    print("                                          median       best")
    rows = [
        ("check_arrays(x, y)", "check"),
        ("100-step range test (checked arrays)", "test"),
        ("for scale: one read of x (x.max())", "read"),
        ("for scale: a copy of x (x.copy())", "copy"),
    ]
    for label, key in rows:
        print(f"  {label:<37} {ms[key][0]:8.2f} ms {ms[key][1]:8.2f} ms")
    print(
        f"  {'ratio check / test (target <= 10%)':<37} {100 * check / test:8.1f} %  "
        f"{100 * check_best / test_best:8.1f} %"
    )

    print("memory during check_arrays:")
    peak32 = traced_peak(lambda: check_arrays(x, y))
    x64 = x.astype(np.float64)
    peak64 = traced_peak(lambda: check_arrays(x64, y))
    bytes64, x64 = x64.nbytes, None  # free it before the RSS runs
    print(
        f"  float32 x: numpy's peak allocation {peak32 / MB:7.2f} MB "
        f"= {peak32 / x.nbytes:.3f} x the data (no copy)"
    )
    print(
        f"  float64 x: numpy's peak allocation {peak64 / MB:7.2f} MB "
        f"= {peak64 / bytes64:.3f} x the data (the float32 copy)"
    )
    for kind in ("float32", "float64"):
        nbytes, rise = rss_rise(kind)
        print(
            f"  {kind} x, fresh process: peak RSS rose by at most {rise / MB:7.2f} MB "
            f"(data {nbytes / MB:.0f} MB, peak = {(nbytes + rise) / nbytes:.3f} x the data)"
        )


if __name__ == "__main__":
    main()
