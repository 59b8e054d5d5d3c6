"""Per-run suggestion quality of lrfinder.torch and torch-lr-finder against a torch grid truth.

Truth
    The 784-128-10 MNIST MLP in torch, trained from scratch at every constant rate of
    a log grid (1e-5 to 10, four points per decade, 25 rates) for one epoch at batch
    64, with ``--truth-seeds`` seeds (initial weights and batch order), and scored by
    test accuracy. The truth curve is the mean accuracy over seeds; a rate at which
    any seed's loss turned non-finite is marked as diverging.

Runs
    Each run is one range test from one of ``--seeds`` initial seeds with one of
    ``--orders`` batch-order seeds; both finders see the same initial weights and
    the same batches in the same order:

    lrfinder.torch     ``lrfinder.torch.find_lr`` with its defaults (1e-7 to 10 in
                       200 steps, its stop rule); ``result.suggestion`` (``auto``).
    torch-lr-finder    ``LRFinder.range_test`` over the same range and steps
                       (``start_lr=1e-7, end_lr=10, num_iter=200``) with its own
                       defaults otherwise (EMA smoothing 0.05, stop at 5x the best
                       smoothed loss), and its suggestion, the steepest point of its
                       smoothed curve (``plot(skip_start=10, skip_end=5)``).
    its rule, our curve
                       torch-lr-finder's smoothing and steepest-point rule applied to
                       the raw curve lrfinder.torch recorded in the same run: the
                       same curve, read two ways.
    lrfinder.torch + verify
                       with ``--verify``: ``lrfinder.torch.verify`` of lrfinder.torch's
                       result (short runs from scratch in torch, scored on held-out
                       training rows; the test split stays unseen), compared per run
                       with the two peers in a line of its own.

Scores
    regret = best mean accuracy - truth(suggested lr), in percentage points (the
    truth interpolated in log10(lr), flat beyond the grid; no suggestion scores the
    worst grid rate), per run; the table gives the mean and the worst run, how many
    runs lrfinder.torch did at least as well as each peer, how many it did worse by
    more than the truth can resolve (2 standard errors of the accuracy difference,
    paired by truth seed: every grid rate trains from the same seeds), and how many
    suggestions lie at or above the lowest diverging grid rate.

Run from the repository root (a few minutes on two cores; the truth is cached in
``benchmarks/.cache``)::

    pip install torch==2.13.0 tqdm && pip install --no-deps torch-lr-finder==0.2.2
    python benchmarks/torch_quality.py [--optimizers adam,sgd] [--jobs 2] [--verify]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# the truth's worker processes import this folder's modules (and lrfinder) too
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
    + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)

from torch_common import (  # noqa: E402
    DEFAULT_DATA,
    loader,
    mlp,
    mnist_tensors,
    set_threads,
    train_and_score,
)

CACHE = Path(__file__).resolve().parent / ".cache"
GRID = 10.0 ** np.arange(-5.0, 1.0 + 1e-9, 0.25)
#: The optimizers and their constructor arguments (besides lr).
OPTIMIZERS = {"adam": ("Adam", {}), "sgd": ("SGD", {}), "momentum": ("SGD", {"momentum": 0.9})}
#: Bumped when the truth's training or record changes, so that the cache is recomputed
#: (2: each seed's accuracy is kept, for the truth's own noise).
TRUTH_VERSION = 2
#: A run is worse than a peer "beyond the truth's noise" when its regret exceeds the
#: peer's by more than this many standard errors of the seed-paired difference.
NOISE_SE = 2.0


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA))
    parser.add_argument("--optimizers", default="adam,sgd")
    parser.add_argument("--seeds", type=int, default=5, help="initial seeds of the runs")
    parser.add_argument("--orders", type=int, default=2, help="batch orders per initial seed")
    parser.add_argument("--truth-seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="parallel truth trainings")
    parser.add_argument("--verify", action="store_true", help="also score the verified rate")
    parser.add_argument("--json", type=Path, default=None, help="write the scores here")
    return parser.parse_args()


def make_optimizer(name: str, params, lr: float):
    import torch

    cls, kwargs = OPTIMIZERS[name]
    return getattr(torch.optim, cls)(params, lr=lr, **kwargs)


# ----------------------------------------------------------------------------- truth


def train_once(data_dir: str, name: str, lr: float, seed: int) -> tuple[float, bool]:
    """(test accuracy, diverged) after one epoch at constant ``lr`` from ``seed``."""
    set_threads(1)

    x, y, x_test, y_test = mnist_tensors(data_dir)  # read once per worker process
    model = mlp(seed)
    optimizer = make_optimizer(name, model.parameters(), lr)
    one_epoch = [loader(x, y, seed=1000 + seed)]
    return train_and_score(model, optimizer, one_epoch, x_test, y_test)


def truth(data_dir: str, name: str, seeds: int, jobs: int) -> dict:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"torch_truth_{name}_s{seeds}_v{TRUTH_VERSION}.json"
    if path.exists():
        return json.loads(path.read_text())
    from joblib import Parallel, delayed

    tasks = [(float(lr), s) for lr in GRID for s in range(seeds)]
    scores = Parallel(n_jobs=jobs)(delayed(train_once)(data_dir, name, lr, s) for lr, s in tasks)
    acc = np.array([a for a, _ in scores]).reshape(len(GRID), seeds)
    div = np.array([d for _, d in scores]).reshape(len(GRID), seeds).any(axis=1)
    record = {
        "lrs": GRID.tolist(),
        "accuracy": acc.mean(axis=1).tolist(),
        "accuracy_by_seed": acc.tolist(),  # [rate][seed]
        "diverged": div.tolist(),
    }
    path.write_text(json.dumps(record))
    return record


def score(record: dict, lr: float | None) -> float:
    """Regret in percentage points of ``lr`` against the truth (worst grid rate if None)."""
    acc = np.array(record["accuracy"])
    best = acc.max()
    if lr is None or not math.isfinite(lr):
        return 100 * (best - acc.min())
    value = np.interp(math.log10(lr), np.log10(record["lrs"]), acc)
    return 100 * (best - value)


def _per_seed(record: dict, lr: float | None) -> np.ndarray:
    """Each truth seed's accuracy at ``lr`` (interpolated in log10(lr); the worst grid
    rate's when ``lr`` is None)."""
    acc = np.array(record["accuracy_by_seed"])  # [rate][seed]
    if lr is None or not math.isfinite(lr):
        return acc[int(np.argmin(record["accuracy"]))]
    x = np.log10(record["lrs"])
    return np.array([np.interp(math.log10(lr), x, acc[:, s]) for s in range(acc.shape[1])])


def worse_beyond_noise(record: dict, ours: float | None, theirs: float | None) -> bool:
    """True when ``ours`` scores below ``theirs`` by more than :data:`NOISE_SE` standard
    errors of the difference, paired by truth seed (every rate trains from the same seeds,
    so the seeds' shared luck cancels out of the difference)."""
    diff = _per_seed(record, theirs) - _per_seed(record, ours)  # > 0: theirs is better
    se = diff.std(ddof=1) / math.sqrt(diff.size) if diff.size > 1 else 0.0
    return bool(diff.mean() > NOISE_SE * se + 1e-12)


def head_to_head(record: dict, runs: list, regrets: dict, ours: str, theirs: str):
    """(runs where ``ours`` lost no more than ``theirs``, runs where it lost more by more
    than the truth's noise), per run, for two contenders' names."""
    pairs = zip(regrets[ours], regrets[theirs], strict=True)
    wins = sum(a <= b + 1e-9 for a, b in pairs)
    beaten = sum(worse_beyond_noise(record, r[ours], r[theirs]) for r in runs)
    return wins, beaten


def diverging_from(record: dict) -> float:
    div = [lr for lr, d in zip(record["lrs"], record["diverged"], strict=True) if d]
    return min(div) if div else math.inf


# ----------------------------------------------------------------------------- runs


def peer_steepest(lrs, smoothed) -> float | None:
    """torch-lr-finder's own suggestion on a (smoothed) curve, through its plot()."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import torch
    from torch_lr_finder import LRFinder

    model = torch.nn.Linear(1, 1)
    finder = LRFinder(model, torch.optim.SGD(model.parameters(), lr=1e-7), torch.nn.MSELoss())
    finder.history = {"lr": list(map(float, lrs)), "loss": list(map(float, smoothed))}
    fig, ax = plt.subplots()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _, lr = finder.plot(skip_start=10, skip_end=5, ax=ax, suggest_lr=True)
    except (RuntimeError, ValueError):  # fewer than skip_start + skip_end + 2 points
        lr = None
    finally:
        plt.close(fig)
    return None if lr is None else float(lr)


def ema(losses, factor: float = 0.05) -> list[float]:
    """torch-lr-finder's smoothing during the test: ``s = f * loss + (1 - f) * s``."""
    out = [float(losses[0])]
    for loss in losses[1:]:
        out.append(factor * float(loss) + (1 - factor) * out[-1])
    return out


#: The verify probes of run k (initial seed s, order 100 + o, k = 2 s + o) use seeds from
#: this + 2 k on, away from the truth's seeds and the runs' initial seeds.
PROBE_SEED = 1000


def one_run(x, y, name: str, seed: int, order: int, verify: bool = False) -> dict:
    import torch
    from torch_lr_finder import LRFinder

    import lrfinder.torch

    criterion = torch.nn.CrossEntropyLoss()
    model = mlp(seed)
    result = lrfinder.torch.find_lr(
        model,
        loader(x, y, seed=order),
        make_optimizer(name, model.parameters(), 1e-7),
        criterion,
        seed=order,
    )
    ours = result.suggestion
    theirs_on_ours = peer_steepest(result.lrs, ema(result.losses))
    verified = None
    if verify and ours is not None:
        run = 2 * seed + (order - 100)  # the runs' orders are 100, 101, ...
        verified = lrfinder.torch.verify(
            result, (x, y), model_factory=mlp, criterion=criterion, seed=PROBE_SEED + 2 * run
        ).lr

    model = mlp(seed)
    torch.manual_seed(order)
    finder = LRFinder(model, make_optimizer(name, model.parameters(), 1e-7), criterion)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder.range_test(loader(x, y, seed=order), start_lr=1e-7, end_lr=10, num_iter=200)
    theirs = peer_steepest(finder.history["lr"], finder.history["loss"])
    return {
        "seed": seed,
        "order": order,
        "lrfinder.torch": ours,
        "torch-lr-finder": theirs,
        "its rule, our curve": theirs_on_ours,
        VERIFIED: verified,
        "steps": len(result.lrs),
        "peer steps": len(finder.history["lr"]),
        "reason": result.analysis.reason,
    }


CONTENDERS = ("lrfinder.torch", "torch-lr-finder", "its rule, our curve")
VERIFIED = "lrfinder.torch + verify"


def main() -> int:
    args = parse_args()
    set_threads(1)
    x, y, _, _ = mnist_tensors(args.data_dir)
    report = {}
    for name in args.optimizers.split(","):
        record = truth(args.data_dir, name, args.truth_seeds, args.jobs)
        best = int(np.argmax(record["accuracy"]))
        cliff = diverging_from(record)
        runs = [
            one_run(x, y, name, s, 100 + o, args.verify)
            for s in range(args.seeds)
            for o in range(args.orders)
        ]
        shown_rows = CONTENDERS + ((VERIFIED,) if args.verify else ())
        regrets = {c: [score(record, r[c]) for r in runs] for c in shown_rows}
        print(
            f"\n{name}: best constant rate {record['lrs'][best]:.3g} "
            f"({100 * record['accuracy'][best]:.2f}% after one epoch); grid diverges from "
            f"{cliff:.3g}; {len(runs)} runs"
        )
        print(
            f"  {'':22s} {'mean':>6s} {'worst':>6s} {'ours <=':>8s} {'ours <<':>8s} "
            f"{'diverging':>9s}  lrs"
        )
        for c in shown_rows:
            lrs = [r[c] for r in runs]
            wins, beaten = head_to_head(record, runs, regrets, CONTENDERS[0], c)
            risky = sum(lr is not None and lr >= cliff for lr in lrs)
            shown = " ".join("none" if lr is None else f"{lr:.2g}" for lr in lrs)
            print(
                f"  {c:22s} {np.mean(regrets[c]):6.2f} {np.max(regrets[c]):6.2f} "
                f"{wins:>4d}/{len(runs):<3d} {beaten:>4d}/{len(runs):<3d} {risky:>9d}  {shown}"
            )
        if args.verify:
            for peer in CONTENDERS[1:]:
                wins, beaten = head_to_head(record, runs, regrets, VERIFIED, peer)
                print(
                    f"  verified vs {peer}: at least as good in {wins}/{len(runs)} runs, "
                    f"worse beyond the truth's noise in {beaten}/{len(runs)}"
                )
        report[name] = {"truth": record, "runs": runs, "regrets": regrets}
    print(
        "\nregret: accuracy points lost against the best constant rate (one epoch, from "
        "scratch); ours <=: runs where lrfinder.torch did at least as well as that row; "
        f"ours <<: runs where it did worse by more than {NOISE_SE:g} standard errors of the "
        "truth's seed-paired difference (worse beyond what the truth can resolve)"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
