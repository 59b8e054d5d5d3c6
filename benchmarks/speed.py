"""Time a 300-step MNIST range test (784-128-10, batch 64, Adam) per step, on both input paths.

Run by hand, not in CI::

    python benchmarks/speed.py [--data-dir DIR] [--rounds 9] [--threads N]
    python benchmarks/speed.py --threads 1 --clock cpu     # on a shared, busy machine

MNIST is read from ``--data-dir`` when given, else from ``../shared/data/mnist``
beside the repository, else from ``$LRFINDER_DATA/mnist`` (or ``$LRFINDER_DATA``
itself); it is never downloaded here, and the benchmark exits (status 0) with a
skip message when it is not found.

The contenders run alternately, round by round (the order rotates), with the same
thread count:

* ``lrfinder dataset``: ``find_lr(model, load_dataset("mnist"))`` (uint8 images,
  scaled per batch);
* ``lrfinder arrays``: ``find_lr(model, (x, y))`` with the same images as a float32
  array in [0, 1] and int64 labels, the most common Python call: its time includes
  validating the pair, as every call does;
* ``torch loop``: the same network, batches and Adam in a bare PyTorch loop, when
  torch is installed (``pip install torch==2.13.0``);
* ``torch-lr-finder``: its ``range_test`` when it is installed
  (``pip install --no-deps torch-lr-finder==0.2.2``).

The report gives the median and the best time per step over the rounds, each
lrfinder path's ratio to torch-lr-finder (the median of the rounds' own ratios,
which a load that comes and goes during the run moves least, and the ratios of
the medians and of the bests), and the ratio to the arithmetic limit:
the step's FLOPs divided by the best measured sgemm rate on the step's largest
product, at the run's threads and, with threadpoolctl, at one thread. Then the
time of a 100-step test once the data is loaded, on both paths, and the Adam
update over the flat buffer in NumPy against the same update fused by numexpr
(when installed), which is why lrfinder does not use numexpr.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from mnist_files import find_mnist, skip_message

ROOT = Path(__file__).resolve().parents[1]
#: The timer: wall time, or this thread's CPU time with ``--clock cpu`` (one thread only).
clock = time.perf_counter

STEPS, SHORT_STEPS, BATCH, N_IN, HIDDEN, N_OUT = 300, 100, 64, 784, 128, 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder holding the MNIST files")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=None, help="BLAS/torch threads")
    parser.add_argument(
        "--no-one-thread", action="store_true", help="skip the one-thread arithmetic limit"
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or the main thread's CPU time (needs --threads 1: with one "
        "thread every contender computes on the main thread, so other processes on a "
        "shared machine do not disturb the figures)",
    )
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    if args.clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu needs --threads 1 (other threads' work would not be counted)")
    return args


def set_threads(n: int | None) -> None:
    """Before NumPy is imported: the BLAS and OpenMP thread counts."""
    if n is None:
        return
    for var in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        os.environ[var] = str(n)


def time_lrfinder(data, steps: int = STEPS):
    """A callable: one ``find_lr`` of ``steps`` steps on ``data``, returning its seconds."""
    from lrfinder import LearningRateSearcher, TwoLayerNet, find_lr

    schedule = LearningRateSearcher.exponential(1e-6, 1e-3, steps)  # stays finite throughout
    model = TwoLayerNet(N_IN, HIDDEN, N_OUT)

    def run():
        start = clock()
        result = find_lr(model, data, optimizer="adam", schedule=schedule, stop_factor=1e9)
        elapsed = clock() - start
        assert len(result.lrs) == steps, result.stop_reason
        return elapsed

    return run


def per_step(run, steps: int = STEPS):
    return lambda: run() / steps


def torch_contenders(data, threads):
    try:
        import torch
    except ImportError:
        return {}
    if threads is not None:
        torch.set_num_threads(threads)
    x = torch.from_numpy(data.x_train)
    y = torch.from_numpy(data.y_train.astype("int64"))
    generator = torch.Generator().manual_seed(0)

    def make_model():
        return torch.nn.Sequential(
            torch.nn.Linear(N_IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, N_OUT)
        )

    def plain_loop():
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-6)
        loss_fn = torch.nn.CrossEntropyLoss()
        gamma = (1e-3 / 1e-6) ** (1 / (STEPS - 1))
        start = clock()
        order = torch.randperm(len(x), generator=generator)
        for step in range(STEPS):
            idx = order[step * BATCH : (step + 1) * BATCH]
            xb = x[idx].float().div_(255.0)
            loss = loss_fn(model(xb), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            for group in opt.param_groups:
                group["lr"] *= gamma
            loss.item()
        return (clock() - start) / STEPS

    contenders = {"torch loop": plain_loop}
    try:
        from torch_lr_finder import LRFinder
    except ImportError:
        return contenders

    class Images(torch.utils.data.Dataset):
        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return x[i].float().div_(255.0), y[i]

    loader = torch.utils.data.DataLoader(Images(), batch_size=BATCH, shuffle=True)

    def torch_lr_finder():
        import contextlib
        import io

        model = make_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-6)
        finder = LRFinder(model, opt, torch.nn.CrossEntropyLoss(), device="cpu")
        quiet = io.StringIO()  # its progress bar and closing message
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            start = clock()
            finder.range_test(loader, end_lr=1e-3, num_iter=STEPS, diverge_th=1e9)
            elapsed = (clock() - start) / STEPS
        finder.reset()
        return elapsed

    contenders["torch-lr-finder"] = torch_lr_finder
    return contenders


def sgemm_rate(repeats: int = 200) -> float:
    """Measured single-precision matmul rate (FLOP/s) on the step's largest product."""
    import numpy as np

    a = np.random.default_rng(0).random((BATCH, N_IN), dtype=np.float32)
    b = np.random.default_rng(1).random((N_IN, HIDDEN), dtype=np.float32)
    out = np.empty((BATCH, HIDDEN), np.float32)
    best = float("inf")
    for _ in range(5):
        start = clock()
        for _ in range(repeats):
            np.matmul(a, b, out=out)
        best = min(best, (clock() - start) / repeats)
    return 2 * BATCH * N_IN * HIDDEN / best


def step_flops() -> float:
    forward = 2 * BATCH * (N_IN * HIDDEN + HIDDEN * N_OUT)
    backward = 2 * BATCH * (N_IN * HIDDEN + 2 * HIDDEN * N_OUT)  # no input gradient
    return forward + backward


def alternate(contenders: dict, rounds: int, extra=None) -> dict[str, list[float]]:
    """Every contender once per round, in an order that rotates; one warm-up round first.

    ``extra()``, when given, runs after every round (it measures the sgemm rate
    between rounds, under the same load).
    """
    names = list(contenders)
    for run in contenders.values():
        run()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            times[name].append(contenders[name]())
        if extra is not None:
            extra()
    return times


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "?"
    counts = {f"{i['internal_api']}": i["num_threads"] for i in threadpool_info()}
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "?"


def numexpr_comparison(threads: int | None) -> tuple[float, float] | None:
    """Best µs of one Adam update over MNIST's 101,770 weights: NumPy's 12 passes
    (lrfinder's flat path) against numexpr's three fused expressions."""
    try:
        import numexpr
    except ImportError:
        return None
    import numpy as np

    from lrfinder.optimizers import Adam

    if threads is not None:
        numexpr.set_num_threads(threads)
    n = N_IN * HIDDEN + HIDDEN + HIDDEN * N_OUT + N_OUT
    rng = np.random.default_rng(0)
    p, g = (rng.standard_normal(n).astype(np.float32) for _ in range(2))
    m, v = np.zeros_like(p), np.zeros_like(p)
    opt = Adam()
    state, work = {"m": m, "v": v}, {"work": np.empty_like(p)}
    f32 = np.float32
    consts = {"b1": f32(0.9), "c1": f32(0.1), "b2": f32(0.999), "c2": f32(0.001)}

    def lrfinder_numpy():
        opt.t = 10
        opt._update(p, g, state, work, 1e-6)

    def fused():  # float32 constants, or numexpr computes in float64
        numexpr.evaluate("m * b1 + g * c1", local_dict={"m": m, "g": g, **consts}, out=m)
        numexpr.evaluate("v * b2 + g * g * c2", local_dict={"v": v, "g": g, **consts}, out=v)
        numexpr.evaluate(
            "p - m / (sqrt(v) + e) * k",
            local_dict={"p": p, "m": m, "v": v, "e": f32(1e-8), "k": f32(1e-6)},
            out=p,
        )

    def best(f, repeats=200):
        f()
        out = float("inf")
        for _ in range(7):
            start = clock()
            for _ in range(repeats):
                f()
            out = min(out, (clock() - start) / repeats)
        return out * 1e6

    return best(lrfinder_numpy), best(fused)


def one_thread_limit(dataset, arrays, rounds: int) -> dict | None:
    """Per step (median) and the arithmetic limit with BLAS limited to one thread."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    rates = []
    with threadpool_limits(limits=1):
        contenders = {
            "lrfinder dataset": per_step(time_lrfinder(dataset)),
            "lrfinder arrays": per_step(time_lrfinder(arrays)),
        }
        times = alternate(contenders, rounds, extra=lambda: rates.append(sgemm_rate()))
    limit = step_flops() / max(rates)
    return {name: (statistics.median(t), min(t), limit) for name, t in times.items()}


def main() -> int:
    global clock
    args = parse_args()
    if args.clock == "cpu":
        clock = time.thread_time
    folder = find_mnist(args.data_dir)
    if folder is None:
        print(skip_message(args.data_dir), file=sys.stderr)
        return 0
    set_threads(args.threads)
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from lrfinder import load_dataset

    dataset = load_dataset("mnist", data_dir=folder, download=False)
    x = dataset.x_train.astype(np.float32)
    x *= np.float32(dataset.x_scale)
    arrays = (x, dataset.y_train)  # int64 labels

    contenders = {
        "lrfinder dataset": per_step(time_lrfinder(dataset)),
        "lrfinder arrays": per_step(time_lrfinder(arrays)),
    }
    contenders.update(torch_contenders(dataset, args.threads))
    rates: list[float] = []
    times = alternate(contenders, args.rounds, extra=lambda: rates.append(sgemm_rate()))
    short = alternate(
        {
            "dataset": time_lrfinder(dataset, SHORT_STEPS),
            "arrays": time_lrfinder(arrays, SHORT_STEPS),
        },
        args.rounds,
    )
    limit = step_flops() / max(rates)
    median = {name: statistics.median(values) for name, values in times.items()}
    best = {name: min(values) for name, values in times.items()}

    try:
        import torch

        torch_threads = f"; torch {torch.get_num_threads()}"
    except ImportError:
        torch_threads = ""
    print(f"MNIST range test, {STEPS} steps, {N_IN}-{HIDDEN}-{N_OUT}, batch {BATCH}, Adam")
    print(
        f"threads: {args.threads or 'library default'} ({blas_threads()}{torch_threads}); "
        f"rounds: {args.rounds}, alternating; clock: {args.clock}; data: {folder}"
    )
    reference = "torch-lr-finder" if "torch-lr-finder" in median else None
    print(f"  {'':18s} {'median':>8s} {'best':>8s}   us/step")
    for name in times:
        print(f"  {name:18s} {median[name] * 1e6:8.0f} {best[name] * 1e6:8.0f}")
    print(f"  {'arithmetic limit':18s} {limit * 1e6:8.0f}            (FLOPs / best sgemm rate)")
    for path in ("lrfinder dataset", "lrfinder arrays"):
        line = f"  {path}: "
        if reference:
            # each round's own ratio: the two ran back to back, under the same load
            pairs = zip(times[path], times[reference], strict=True)
            paired = statistics.median(a / b for a, b in pairs)
            line += (
                f"{paired:.2f}x torch-lr-finder (median of the rounds' ratios; "
                f"of medians {median[path] / median[reference]:.2f}x, "
                f"of bests {best[path] / best[reference]:.2f}x), "
            )
        line += f"{median[path] / limit:.2f}x the arithmetic limit (best {best[path] / limit:.2f}x)"
        print(line)
    for name in ("dataset", "arrays"):
        print(
            f"  100-step range test once data is loaded, {name}: "
            f"median {statistics.median(short[name]):.3f} s, best {min(short[name]):.3f} s"
        )

    if args.threads != 1 and not args.no_one_thread:
        single = one_thread_limit(dataset, arrays, max(3, args.rounds // 2))
        if single:
            for name, (med, low, lim) in single.items():
                print(
                    f"  one BLAS thread, {name}: median {med * 1e6:.0f} us/step, "
                    f"{med / lim:.2f}x its arithmetic limit of {lim * 1e6:.0f} us "
                    f"(best {low / lim:.2f}x)"
                )
    kernels = numexpr_comparison(args.threads)
    if kernels:
        print(
            f"  Adam update of all weights: NumPy flat path {kernels[0]:.0f} us, "
            f"numexpr fused {kernels[1]:.0f} us"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
