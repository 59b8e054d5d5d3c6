"""Time a 300-step MNIST range test (784-128-10, batch 64, Adam) per step.

Run by hand, not in CI::

    python benchmarks/speed.py [--data-dir ../shared/data/mnist] [--rounds 5] [--threads N]

When PyTorch is installed (``pip install torch==2.13.0``) the same loop is timed in
torch, and torch-lr-finder's range test too when it is installed
(``pip install --no-deps torch-lr-finder==0.2.2``). The contenders alternate round
by round with the same thread count, and the report gives the median time per
step, the ratios, and the arithmetic limit: the step's FLOPs divided by the
measured sgemm rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS, BATCH, N_IN, HIDDEN, N_OUT = 300, 64, 784, 128, 10


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="BLAS/torch threads")
    return parser.parse_args()


def set_threads(n: int | None) -> None:
    if n is None:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def time_lrfinder(data):
    from lrfinder import LearningRateSearcher, TwoLayerNet, find_lr

    schedule = LearningRateSearcher.exponential(1e-6, 1e-3, STEPS)  # stays finite: all 300 steps
    model = TwoLayerNet(N_IN, HIDDEN, N_OUT)

    def run():
        start = time.perf_counter()
        result = find_lr(model, data, optimizer="adam", schedule=schedule, stop_factor=1e9)
        elapsed = time.perf_counter() - start
        assert len(result.lrs) == STEPS, result.stop_reason
        return elapsed / STEPS

    return run


def time_short_test(data):
    from lrfinder import LearningRateSearcher, TwoLayerNet, find_lr

    schedule = LearningRateSearcher.exponential(1e-6, 1e-3, 100)
    model = TwoLayerNet(N_IN, HIDDEN, N_OUT)

    def run():
        start = time.perf_counter()
        find_lr(model, data, optimizer="adam", schedule=schedule, stop_factor=1e9)
        return time.perf_counter() - start

    return run


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
        start = time.perf_counter()
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
        return (time.perf_counter() - start) / STEPS

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
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-6)
        finder = LRFinder(model, opt, torch.nn.CrossEntropyLoss(), device="cpu")
        start = time.perf_counter()
        finder.range_test(loader, end_lr=1e-3, num_iter=STEPS, diverge_th=1e9)
        elapsed = (time.perf_counter() - start) / STEPS
        finder.reset()
        return elapsed

    contenders["torch-lr-finder"] = torch_lr_finder
    return contenders


def sgemm_rate() -> float:
    """Measured single-precision matmul rate (FLOP/s) on the step's largest product."""
    import numpy as np

    a = np.random.default_rng(0).random((BATCH, N_IN), dtype=np.float32)
    b = np.random.default_rng(1).random((N_IN, HIDDEN), dtype=np.float32)
    out = np.empty((BATCH, HIDDEN), np.float32)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            np.matmul(a, b, out=out)
        best = min(best, (time.perf_counter() - start) / 200)
    return 2 * BATCH * N_IN * HIDDEN / best


def step_flops() -> float:
    forward = 2 * BATCH * (N_IN * HIDDEN + HIDDEN * N_OUT)
    backward = 2 * BATCH * (N_IN * HIDDEN + 2 * HIDDEN * N_OUT)  # no input gradient
    return forward + backward


def main() -> int:
    args = parse_args()
    set_threads(args.threads)
    sys.path.insert(0, str(ROOT))
    from lrfinder import load_dataset

    data = load_dataset("mnist", data_dir=args.data_dir)
    contenders = {"lrfinder": time_lrfinder(data)}
    contenders.update(torch_contenders(data, args.threads))
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for run in contenders.values():  # warm up
        run()
    for _ in range(args.rounds):
        for name, run in contenders.items():
            times[name].append(run())
    short = time_short_test(data)
    short()
    short_time = min(short() for _ in range(args.rounds))

    limit = step_flops() / sgemm_rate()
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"MNIST range test, {STEPS} steps, {N_IN}-{HIDDEN}-{N_OUT}, batch {BATCH}, Adam")
    print(f"threads: {args.threads or 'library default'}; rounds: {args.rounds}")
    for name, value in median.items():
        print(f"  {name:16s} {value * 1e6:8.0f} us/step")
    print(f"  arithmetic limit {limit * 1e6:8.0f} us/step (FLOPs / measured sgemm rate)")
    ours = median["lrfinder"]
    for name, value in median.items():
        if name != "lrfinder":
            print(f"  lrfinder / {name}: {ours / value:.2f}x")
    print(f"  lrfinder / arithmetic limit: {ours / limit:.2f}x")
    print(f"  100-step range test once data is loaded: {short_time:.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
