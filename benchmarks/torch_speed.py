"""Time lrfinder.torch per step against a bare torch loop and torch-lr-finder.

The 784-128-10 MNIST MLP with Adam, batch 64, 300 steps from 1e-6 to 1e-3 (the loss
stays finite, so every contender runs all 300 steps; no early stop). All three read
the same DataLoader (one gather per batch), set the rate every step and read the loss
every step (``loss.item()``), as any range test must. The contenders alternate round
by round; the report gives the median time per step over rounds and the ratios.

Run by hand, not in CI::

    pip install torch==2.13.0 tqdm && pip install --no-deps torch-lr-finder==0.2.2
    python benchmarks/torch_speed.py [--data-dir ../shared/data/mnist] [--rounds 15] [--threads N]
    python benchmarks/torch_speed.py --threads 1 --clock cpu     # on a shared, busy machine
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from torch_common import DEFAULT_DATA, loader, mlp, mnist_tensors, set_threads  # noqa: E402

STEPS, START, END = 300, 1e-6, 1e-3
clock = time.perf_counter  # or time.thread_time (--clock cpu)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None, help="torch/BLAS threads")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall time, or this thread's CPU time (with --threads 1: what other processes "
        "on a shared machine do not disturb)",
    )
    return parser.parse_args()


def contenders(x, y):
    import torch

    criterion = torch.nn.CrossEntropyLoss()

    def bare_loop():
        model = mlp(0)
        optimizer = torch.optim.Adam(model.parameters(), lr=START)
        data = loader(x, y, seed=0)
        gamma = (END / START) ** (1 / (STEPS - 1))
        start = clock()
        batches = iter(data)
        lr = START
        for _ in range(STEPS):
            try:
                xb, yb = next(batches)
            except StopIteration:
                batches = iter(data)
                xb, yb = next(batches)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            loss.item()
            lr *= gamma
        return (clock() - start) / STEPS

    def lrfinder_torch():
        import lrfinder.torch
        from lrfinder import LearningRateSearcher

        schedule = LearningRateSearcher.exponential(START, END, STEPS)
        model = mlp(0)
        optimizer = torch.optim.Adam(model.parameters(), lr=START)
        data = loader(x, y, seed=0)
        start = clock()
        result = lrfinder.torch.find_lr(model, data, optimizer, criterion, schedule=schedule)
        elapsed = clock() - start
        assert len(result.lrs) == STEPS, result.stop_reason
        return elapsed / STEPS

    out = {"bare torch loop": bare_loop, "lrfinder.torch": lrfinder_torch}
    try:
        from torch_lr_finder import LRFinder
    except ImportError:
        print("torch-lr-finder is not installed; timing the other two", file=sys.stderr)
        return out

    def torch_lr_finder():
        model = mlp(0)
        optimizer = torch.optim.Adam(model.parameters(), lr=START)
        data = loader(x, y, seed=0)
        finder = LRFinder(model, optimizer, criterion, device="cpu")
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            start = clock()
            finder.range_test(data, end_lr=END, num_iter=STEPS, diverge_th=1e9)
            finder.reset()  # its restore, as lrfinder.torch's is inside the timing
            elapsed = clock() - start
        assert len(finder.history["lr"]) == STEPS
        return elapsed / STEPS

    out["torch-lr-finder"] = torch_lr_finder
    return out


def main() -> int:
    global clock
    args = parse_args()
    set_threads(args.threads)
    if args.clock == "cpu":
        if args.threads != 1:
            raise SystemExit("--clock cpu measures one thread; give --threads 1 too")
        clock = time.thread_time
    import torch

    x, y, _, _ = mnist_tensors(args.data_dir)
    runs = contenders(x, y)
    for run in runs.values():  # warm up
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    shuffle = random.Random(0).shuffle
    for _ in range(args.rounds):
        shuffle(order)  # no contender always runs first (or after the same one)
        for name in order:
            times[name].append(runs[name]())
    best = {name: min(values) for name, values in times.items()}
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"MNIST {STEPS}-step range test, 784-128-10, batch 64, Adam; torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), {args.rounds} rounds, {args.clock} clock"
    )
    print(f"  {'':16s} {'best':>7s} {'median':>7s}  us/step (best: the least disturbed round)")
    for name in runs:
        print(f"  {name:16s} {best[name] * 1e6:7.0f} {median[name] * 1e6:7.0f}")
    ours = times["lrfinder.torch"]
    for name, values in times.items():
        if name == "lrfinder.torch":
            continue
        # paired by round, so that a slow round (another process, a frequency step)
        # slows both sides of its ratio
        ratios = sorted(a / b for a, b in zip(ours, values, strict=True))
        low, high = ratios[len(ratios) // 4], ratios[(3 * len(ratios)) // 4]
        print(
            f"  lrfinder.torch / {name}: best {best['lrfinder.torch'] / best[name]:.3f}x; "
            f"per round median {statistics.median(ratios):.3f}x (quartiles {low:.3f}..{high:.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
