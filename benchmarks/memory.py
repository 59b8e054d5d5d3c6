"""Peak memory (RSS) of an MNIST range test, on the CLI's dataset path and on the array path.

Run by hand, not in CI::

    python benchmarks/memory.py [--data-dir DIR] [--optimizer NAME]

Each measurement runs in a fresh child process, and its peak resident set size is
the child's own high-water mark, ``VmHWM`` in ``/proc/self/status``, which the child
reports as it exits (``ru_maxrss`` would not do: a forked child starts with its
parent's, and the parent here holds MNIST while it prepares the array run):

* ``baseline``: the interpreter with NumPy and ``lrfinder`` imported, and the
  same plus ``scipy.signal``, for comparison: the analyser used to import it for
  its Savitzky-Golay smoothing, and now does that in NumPy (``lrfinder.savgol``);
* ``lrfinder search --dataset mnist``: the whole command (load the files, test,
  analyse, print), target at most 250 MB;
* ``find_lr(model, (x, y))``: the 60000 x 784 images as a float32 array in [0, 1],
  loaded from a ``.npy`` file before the test, then the default range test;
  target at most the data plus 60 MB.

MNIST is found as in ``benchmarks/speed.py`` (``--data-dir``, then
``../shared/data/mnist``, then ``$LRFINDER_DATA``); without it this exits with a
skip message.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_files import ROOT, find_mnist, skip_message  # noqa: E402

MB = 1024 * 1024
SEARCH_TARGET_MB = 250
ARRAY_HEADROOM_MB = 60

BASELINE = "import numpy, lrfinder, lrfinder.rangetest, lrfinder.network"

ARRAY_RUN = """
import sys, numpy as np
from lrfinder import TwoLayerNet, find_lr
x, y = np.load(sys.argv[1]), np.load(sys.argv[2])
model = TwoLayerNet(x.shape[1], 128, 10)
result = find_lr(model, (x, y), **({"optimizer": sys.argv[3]} if len(sys.argv) > 3 else {}))
print(len(result.lrs), result.suggestion)
"""


#: Run first in every child: report the process's peak RSS (VmHWM, in kB) on stderr at exit.
REPORT_PEAK = (
    "import atexit, re, sys; atexit.register(lambda: sys.stderr.write('VmHWM %s\\n' % "
    "re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)))\n"
)


def peak_rss(command: list[str], env: dict | None = None) -> tuple[float, str]:
    """Run ``command`` in a child; return (its own peak RSS in MB, its stdout)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read()}")
        reported = re.findall(r"^VmHWM (\d+)$", err.read(), flags=re.M)
        peak_kb = int(reported[-1]) if reported else usage.ru_maxrss
        return peak_kb * 1024 / MB, out.read()


def search_command(folder: Path, optimizer: str | None) -> list[str]:
    run_cli = REPORT_PEAK + "from lrfinder.cli import main; main(sys.argv[1:])"
    return (
        [sys.executable, "-c", run_cli]
        + [
            "search",
            "--dataset",
            "mnist",
            "--data-dir",
            str(folder),
            "--no-download",
            "--quiet",
        ]
        + (["--optimizer", optimizer] if optimizer else [])
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="folder holding the MNIST files")
    parser.add_argument(
        "--optimizer", default=None, help="default: the CLI's and find_lr's default (sgd)"
    )
    args = parser.parse_args()
    folder = find_mnist(args.data_dir)
    if folder is None:
        print(skip_message(args.data_dir), file=sys.stderr)
        return 0
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from lrfinder import load_dataset

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    baseline, _ = peak_rss([sys.executable, "-c", REPORT_PEAK + BASELINE], env)
    with_scipy, _ = peak_rss([sys.executable, "-c", REPORT_PEAK + BASELINE + ", scipy.signal"], env)
    search, said = peak_rss(search_command(folder, args.optimizer), env)

    data = load_dataset("mnist", data_dir=folder, download=False)
    with tempfile.TemporaryDirectory() as tmp:
        x = data.x_train.astype(np.float32)
        x *= np.float32(data.x_scale)
        y = data.y_train.astype(np.int64)
        data_mb = (x.nbytes + y.nbytes) / MB
        np.save(Path(tmp) / "x.npy", x)
        np.save(Path(tmp) / "y.npy", y)
        del x, y, data
        arrays, _ = peak_rss(
            [sys.executable, "-c", REPORT_PEAK + ARRAY_RUN, f"{tmp}/x.npy", f"{tmp}/y.npy"]
            + ([args.optimizer] if args.optimizer else []),
            env,
        )

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    optimizer = args.optimizer or "default optimizer (sgd)"
    print(f"Peak RSS, MNIST, 784-128-10, {optimizer}, default range test; data: {folder}")
    print(f"  baseline (python, numpy, lrfinder imported) {baseline:7.1f} MB")
    print(
        f"  baseline and scipy.signal (for comparison) {with_scipy:7.1f} MB   "
        f"(what importing scipy.signal would add: {with_scipy - baseline:.1f} MB)"
    )
    print(
        f"  lrfinder search --dataset mnist             {search:7.1f} MB   "
        f"target <= {SEARCH_TARGET_MB} MB: {verdict(search <= SEARCH_TARGET_MB)}"
        f"   (it printed {said.strip()!r})"
    )
    limit = data_mb + ARRAY_HEADROOM_MB
    print(
        f"  find_lr(model, (x, y)), float32 x           {arrays:7.1f} MB   "
        f"target <= data {data_mb:.1f} + {ARRAY_HEADROOM_MB} = {limit:.1f} MB: "
        f"{verdict(arrays <= limit)}; above the data: {arrays - data_mb:.1f} MB, "
        f"above data and baseline: {arrays - data_mb - baseline:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
