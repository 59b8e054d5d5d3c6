"""The classic tutorial's own problem: a slow, noisy 1-D curve fit, read per run.

A 1-16-1 sigmoid network fits a curve with a few wiggles by SGD on the mean
squared error, at batch 10: the per-batch loss is noisy and the network learns
slowly. Two ways of running the range test are scored against a grid search of
constant rates trained from scratch (test R^2, mean over seeds):

* the default test (``find_lr``'s exponential schedule, extended when it sees
  no learning);
* the tutorial's piecewise schedule: each rate of a decade (1x, 2x, ..., 10x)
  held for ``--hold`` epochs, with the loss read once per epoch on the training
  set through ``val_data``;
* the same schedule with ``per="epoch"``: iterations count epochs, and the loss
  is read after each epoch's last step on all the training rows.

For every run (initial seed x batch-order seed) it prints the suggestion, how
many decades it lies from the grid-search best, the regret in R^2 points, and
whether the test stopped early on a divergence.

Run from the repository root::

    python benchmarks/tutorial.py                 # 3 x 2 runs, 200 epochs of truth
    python benchmarks/tutorial.py --seeds 6 --epochs 100
"""

from __future__ import annotations

import argparse
import math
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

BATCH = 10
HIDDEN = 16
N_TRAIN, N_TEST = 200, 500
NOISE = 0.05
GRID = 10.0 ** np.arange(-4.0, 1.0 + 1e-9, 0.25)
DECADES = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)


def target(x: np.ndarray) -> np.ndarray:
    """One and a half periods of a sine with a faster wiggle on top."""
    return np.sin(np.pi * x) + 0.3 * np.sin(3 * np.pi * x)


def make_data(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n, 1)).astype(np.float32)
    y = target(x) + NOISE * rng.standard_normal((n, 1))
    return x, y.astype(np.float32)


def network(seed: int):
    from lrfinder import TwoLayerNet

    return TwoLayerNet(1, HIDDEN, 1, activation="sigmoid", loss="mse", seed=seed)


def r2(model, x, y) -> float:
    with np.errstate(all="ignore"):
        pred = model.forward(x)
        value = 1.0 - float(np.mean((pred - y) ** 2) / np.var(y))
    return max(value, 0.0) if math.isfinite(value) else 0.0


def truth(train_set, test_set, epochs: int, seeds: int) -> np.ndarray:
    """Mean test R^2 over seeds at each constant rate of GRID."""
    from lrfinder import train

    scores = np.zeros(GRID.size)
    for i, lr in enumerate(GRID):
        for seed in range(seeds):
            model = network(seed)
            history = train(
                model,
                train_set,
                optimizer="sgd",
                lr=float(lr),
                epochs=epochs,
                batch_size=BATCH,
                seed=seed,
                val_data=test_set,
            )
            scores[i] += 0.0 if history.diverged else r2(model, *test_set) / seeds
    return scores


def tutorial_schedule(hold_epochs: int):
    from lrfinder import LearningRateSearcher, Looper

    steps_per_epoch = N_TRAIN // BATCH
    schedule = LearningRateSearcher()
    for decade in DECADES:
        schedule.add(Looper(decade, decade, hold_epochs * steps_per_epoch))
    return schedule


def epoch_schedule(hold_epochs: int):
    """The same schedule with ``find_lr(..., per="epoch")``: iterations count epochs."""
    from lrfinder import LearningRateSearcher, Looper

    return LearningRateSearcher([Looper(decade, decade, hold_epochs) for decade in DECADES])


def main(argv=None) -> int:
    from lrfinder import find_lr

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="initial seeds (x 2 batch orders)")
    parser.add_argument("--epochs", type=int, default=200, help="training budget of the truth")
    parser.add_argument("--hold", type=int, default=5, help="epochs per rate (tutorial)")
    args = parser.parse_args(argv)

    train_set, test_set = make_data(0, N_TRAIN), make_data(1, N_TEST)
    scores = truth(train_set, test_set, args.epochs, 3)
    best = float(scores.max())
    best_lr = float(GRID[int(np.argmax(scores))])
    budget = f"{args.epochs} epochs, batch {BATCH}"
    print(f"truth ({budget}): best R^2 {100 * best:.1f} at {best_lr:.3g}")
    curve = zip(GRID, scores, strict=True)
    print("  " + " ".join(f"{math.log10(g):+.2f}:{100 * s:.0f}" for g, s in curve))

    def score(lr):
        if lr is None:
            return None, 100.0 * (best - float(scores.min()))
        at = float(np.interp(math.log10(lr), np.log10(GRID), scores))
        return math.log10(lr / best_lr), 100.0 * (best - at)

    steps_per_epoch = N_TRAIN // BATCH
    rows = {"default": [], "tutorial": [], "per epoch": []}
    for init in range(args.seeds):
        for order in range(2):
            runs = {
                "default": find_lr(
                    network(init), train_set, optimizer="sgd", batch_size=BATCH, seed=order
                ),
                "tutorial": find_lr(
                    network(init),
                    train_set,
                    optimizer="sgd",
                    schedule=tutorial_schedule(args.hold),
                    batch_size=BATCH,
                    seed=order,
                    val_data=train_set,
                    val_every=steps_per_epoch,
                    val_size=N_TRAIN,
                ),
                "per epoch": find_lr(
                    network(init),
                    train_set,
                    optimizer="sgd",
                    schedule=epoch_schedule(args.hold),
                    batch_size=BATCH,
                    seed=order,
                    per="epoch",
                ),
            }
            for name, result in runs.items():
                s = result.analysis.suggestion
                off, regret = score(s.lr)
                stopped = not result.stop_reason.startswith("completed")
                rows[name].append((init, order, s.lr, off, regret, result.lrs.size, stopped, s))
    for name, found in rows.items():
        print(f"\n{name} schedule: run, suggested lr, decades off the best, regret (R^2 points)")
        for init, order, lr, off, regret, steps, stopped, s in found:
            lr_text = "none" if lr is None else f"{lr:.3g}"
            off_text = "-" if off is None else f"{off:+.2f}"
            stop = f"stopped at step {steps}" if stopped else f"completed {steps} steps"
            print(
                f"  i{init} o{order}: {lr_text:>8} {off_text:>6} {regret:6.1f}  {stop}"
                + ("" if lr is not None else f"  ({s.reason[:70]})")
            )
        regrets = [r[4] for r in found]
        offs = [abs(r[3]) for r in found if r[3] is not None]
        within = sum(o <= 0.5 for o in offs)
        print(
            f"  mean regret {np.mean(regrets):.1f}, worst {np.max(regrets):.1f}; "
            f"within half a decade of the best: {within} of {len(found)}; "
            f"no suggestion: {sum(r[2] is None for r in found)}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
