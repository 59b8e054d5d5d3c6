"""Imported torch-lr-finder histories: lrfinder's reading of them, scored per run.

``lrfinder analyze history.json`` promises to read a curve recorded by another tool.
torch-lr-finder's ``history["loss"]`` is smoothed *during* the test by default (an
EMA with factor 0.95), so this benchmark records exactly what a user of that tool
saves and scores what lrfinder makes of it.

Runs
    torch-lr-finder 0.2.2's ``LRFinder.range_test`` with its defaults (100 steps,
    ``step_mode="exp"``, ``smooth_f=0.05``, stop at 5x the best smoothed loss) from
    ``start_lr=1e-7`` to ``end_lr=10``, on the torch MLP (digits: 64-128-10, MNIST:
    784-128-10, ReLU), batch 64, for ``--seeds`` seeds (initial weights and batch
    order) x the six optimizers (torch's SGD, SGD with momentum 0.9, Adagrad,
    RMSprop, Adadelta, Adam, at their default hyperparameters). Each history is
    saved with ``json.dump`` (as a user would) under ``benchmarks/.cache/imported``,
    with the raw losses the criterion returned beside it, for checking.

Readings of each saved history
    analyze      what ``lrfinder analyze history.json`` prints. A history does not say its
                 optimizer; when its momentum would move ``auto`` out of its own band
                 (:func:`lrfinder.analysis.momentum_sensitivity`), the CLI prints no
                 rate and asks for ``--momentum`` (exit 2), and the user gives it: then
                 this is ``told``, else ``after``. The table counts the runs that asked.
    after        ``lrfinder.results.load_result(history.json).suggestion``: the curve
                 is checked for pre-smoothing and un-smoothed when found
                 (:mod:`lrfinder.presmoothed`); ``beta`` in the per-run lines is the
                 factor it was un-smoothed with ("-": read as given).
    told         ``after``, told the optimizer's momentum or beta1 (0.9 for momentum and
                 Adam, none for the others) as ``lrfinder analyze --momentum 0.9`` is:
                 the suggestion read back by its lag (:func:`lrfinder.optimizers.average_lag`).
    before       the same file read with ``presmoothed=False``: smoothed twice.
    raw          the raw losses of the same run through ``from_curve``: the best
                 lrfinder could do on this run.
    tlf steepest torch-lr-finder's own suggestion (``plot(suggest_lr=True)``,
                 skip_start=10, skip_end=5), on its own smoothed curve.
    tlf min/10   the classic rule on the same smoothed curve: its minimum / 10.

Truth
    The same torch MLP trained from scratch at every constant rate of a log grid
    (1e-5 to 10, four per decade) for a fixed budget (MNIST: one epoch, digits: 20,
    batch 64, as ``benchmarks/quality.py``), with 3 seeds, scored by test accuracy;
    the mean over seeds. regret = best mean accuracy - truth(suggested lr), in
    percentage points (interpolated in log10(lr), flat beyond the grid; no
    suggestion scores the worst grid rate). The table gives, per dataset, the
    mean over all runs and the worst run.

Run from the repository root (10 to 15 minutes on two cores the first time, seconds
after: the truth and the histories are cached in ``benchmarks/.cache``)::

    pip install torch==2.13.0 tqdm && pip install --no-deps torch-lr-finder==0.2.2
    python benchmarks/imported_quality.py [--datasets digits,mnist] [--jobs 2]

MNIST is read from ``--data-dir``, ``$LRFINDER_DATA`` or ``../shared/data/mnist``
beside the repository, and skipped with a message when absent.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
from mnist_files import find_mnist, skip_message  # noqa: E402

# joblib's worker processes import this folder's modules (and lrfinder) too
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(HERE), str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
)

CACHE = HERE / ".cache"
HISTORIES = CACHE / "imported"
GRID = 10.0 ** np.arange(-5.0, 1.0 + 1e-9, 0.25)
EPOCHS = {"mnist": 1, "digits": 20}
BATCH = 64
HIDDEN = 128
#: torch.optim class and keyword arguments (besides lr) of each optimizer.
OPTIMIZERS = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adadelta": ("Adadelta", {}),
    "adam": ("Adam", {}),
}
#: torch-lr-finder's range test: its defaults, over the usual range.
RANGE_TEST = {"start_lr": 1e-7, "end_lr": 10, "num_iter": 100}
#: Bumped when the truth's training or the recording changes, so the cache is rebuilt.
VERSION = 1
READINGS = ("analyze", "after", "told", "before", "raw", "tlf steepest", "tlf min/10")
#: The momentum or beta1 a user of each optimizer would give ``--momentum``.
MOMENTUM = {"momentum": 0.9, "adam": 0.9}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,mnist")
    parser.add_argument("--data-dir", default=None, help="folder holding MNIST's .gz files")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="parallel processes (<= 2 here)")
    parser.add_argument("--json", type=Path, default=None, help="write every run's scores here")
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------- data


_TENSORS: dict = {}


def tensors(name: str, data_dir: str | None):
    """(x_train, y_train, x_test, y_test) as float32 / int64 tensors, once per process."""
    if name not in _TENSORS:
        import torch

        from lrfinder import load_dataset

        if name == "mnist":
            data = load_dataset("mnist", data_dir=find_mnist(data_dir), download=False)
        else:
            data = load_dataset(name)
        scale = np.float32(data.x_scale)
        _TENSORS[name] = (
            torch.from_numpy(data.x_train.astype(np.float32) * scale),
            torch.from_numpy(data.y_train.astype(np.int64)),
            torch.from_numpy(data.x_test.astype(np.float32) * scale),
            torch.from_numpy(data.y_test.astype(np.int64)),
        )
    return _TENSORS[name]


def mlp(n_in: int, seed: int):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 10)
    )


def loader(x, y, seed: int):
    """Batches of 64 gathered by one index per batch, reshuffled each epoch from ``seed``."""
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    dataset = TensorDataset(x, y)
    generator = torch.Generator().manual_seed(seed)
    sampler = BatchSampler(RandomSampler(dataset, generator=generator), BATCH, drop_last=True)
    return DataLoader(dataset, sampler=sampler, batch_size=None)


def make_optimizer(name: str, params, lr: float):
    import torch

    cls, kwargs = OPTIMIZERS[name]
    return getattr(torch.optim, cls)(params, lr=lr, **kwargs)


# ----------------------------------------------------------------------------- truth


def train_once(name: str, opt: str, lr: float, seed: int, data_dir) -> tuple[float, bool]:
    """(test accuracy, diverged) after the budget at constant ``lr`` from ``seed``."""
    import torch
    from torch_common import train_and_score

    torch.set_num_threads(1)
    x, y, x_test, y_test = tensors(name, data_dir)
    model = mlp(x.shape[1], seed)
    optimizer = make_optimizer(opt, model.parameters(), lr)
    batches = loader(x, y, seed=1000 + seed)
    return train_and_score(model, optimizer, [batches] * EPOCHS[name], x_test, y_test)


def truth_path(name: str, opt: str, seeds: int) -> Path:
    return CACHE / f"imported_truth_{name}_{opt}_e{EPOCHS[name]}_s{seeds}_v{VERSION}.json"


def truth(name: str, opts, seeds: int, jobs: int, data_dir) -> dict[str, dict]:
    """Every optimizer's truth curve, training only what is not cached."""
    from joblib import Parallel, delayed

    missing = [o for o in opts if not truth_path(name, o, seeds).exists()]
    tasks = [(o, float(lr), s) for o in missing for lr in GRID for s in range(seeds)]
    if tasks:
        print(f"  training the {name} truth: {len(tasks)} runs ...", flush=True)
        scores = Parallel(n_jobs=jobs)(
            delayed(train_once)(name, o, lr, s, data_dir) for o, lr, s in tasks
        )
        for k, opt in enumerate(missing):
            block = scores[k * GRID.size * seeds : (k + 1) * GRID.size * seeds]
            acc = np.array([a for a, _ in block]).reshape(GRID.size, seeds)
            div = np.array([d for _, d in block]).reshape(GRID.size, seeds).any(axis=1)
            record = {
                "lrs": GRID.tolist(),
                "accuracy": acc.mean(axis=1).tolist(),
                "diverged": div.tolist(),
            }
            CACHE.mkdir(exist_ok=True)
            truth_path(name, opt, seeds).write_text(json.dumps(record))
    return {o: json.loads(truth_path(name, o, seeds).read_text()) for o in opts}


def regret(record: dict, lr: float | None) -> float:
    """Accuracy points lost at ``lr`` against the best grid rate (worst grid rate if None)."""
    acc = np.array(record["accuracy"])
    if lr is None or not math.isfinite(lr):
        return 100 * float(acc.max() - acc.min())
    return 100 * float(acc.max() - np.interp(math.log10(lr), np.log10(record["lrs"]), acc))


# ----------------------------------------------------------------------------- runs


def history_path(name: str, opt: str, seed: int) -> Path:
    return HISTORIES / f"{name}-{opt}-s{seed}-v{VERSION}.json"


def record_history(name: str, opt: str, seed: int, data_dir) -> None:
    """One default torch-lr-finder range test; its history saved with json.dump."""
    path = history_path(name, opt, seed)
    if path.exists():
        return
    import torch
    from torch_lr_finder import LRFinder

    torch.set_num_threads(1)
    x, y, _, _ = tensors(name, data_dir)
    model = mlp(x.shape[1], seed)
    raw: list[float] = []
    loss_fn = torch.nn.CrossEntropyLoss()

    def criterion(out, target):  # the raw loss of every step, before the finder smooths it
        loss = loss_fn(out, target)
        raw.append(float(loss.item()))
        return loss

    finder = LRFinder(model, make_optimizer(opt, model.parameters(), 1e-7), criterion)
    torch.manual_seed(100 + seed)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        finder.range_test(loader(x, y, seed=100 + seed), **RANGE_TEST)
    HISTORIES.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".raw.json"), "w") as f:
        json.dump({"lr": finder.history["lr"], "loss": raw[: len(finder.history["lr"])]}, f)
    with open(path, "w") as f:
        json.dump(finder.history, f)


def peer_steepest(lrs, smoothed) -> float | None:
    """torch-lr-finder's own suggestion on its smoothed curve (as in torch_quality.py)."""
    from torch_quality import peer_steepest as steepest

    return steepest(lrs, smoothed)


def readings(name: str, opt: str, seed: int) -> dict:
    """Every reading of one saved history (see the module docstring)."""
    from lrfinder.analysis import momentum_sensitivity
    from lrfinder.optimizers import average_lag
    from lrfinder.results import RangeTestResult, load_result

    path = history_path(name, opt, seed)
    history = json.loads(path.read_text())
    raw = json.loads(path.with_suffix(".raw.json").read_text())
    after = load_result(path)
    before = load_result(path, presmoothed=False)
    finite = [(lr, v) for lr, v in zip(history["lr"], history["loss"], strict=True) if v == v]
    i_min = min(range(len(finite)), key=lambda i: finite[i][1])
    told = after.suggest(momentum_lag=average_lag(MOMENTUM.get(opt, 0.0))).lr
    asked = momentum_sensitivity(after) is not None
    return {
        "analyze": told if asked else after.suggestion,
        "asked": asked,
        "after": after.suggestion,
        "told": told,
        "before": before.suggestion,
        "raw": RangeTestResult.from_curve(raw["lr"], raw["loss"], presmoothed=False).suggestion,
        "tlf steepest": peer_steepest(history["lr"], history["loss"]),
        "tlf min/10": finite[i_min][0] / 10,
        "beta": after.settings.get("presmoothed_beta"),
        "reason": after.analysis.reason,
    }


# ----------------------------------------------------------------------------- report


def main(argv=None) -> int:
    args = parse_args(argv)
    from joblib import Parallel, delayed

    names = [n.strip() for n in args.datasets.split(",") if n.strip()]
    if "mnist" in names and find_mnist(args.data_dir) is None:
        print(f"MNIST {skip_message(args.data_dir)}")
        names.remove("mnist")
    t0 = time.perf_counter()
    report: dict = {}
    lines = [
        f"{'dataset':8s} {'reading':13s} {'mean pp':>8s} {'worst pp':>9s}  worst run",
    ]
    for name in names:
        runs = [(o, s) for o in OPTIMIZERS for s in range(args.seeds)]
        Parallel(n_jobs=args.jobs)(
            delayed(record_history)(name, o, s, args.data_dir) for o, s in runs
        )
        truths = truth(name, list(OPTIMIZERS), args.seeds, args.jobs, args.data_dir)
        rows = []
        for opt, seed in runs:
            r = readings(name, opt, seed)
            r.update(opt=opt, seed=seed)
            r["regret"] = {k: regret(truths[opt], r[k]) for k in READINGS}
            rows.append(r)
        report[name] = rows
        for k in READINGS:
            values = [r["regret"][k] for r in rows]
            worst = rows[int(np.argmax(values))]
            asked = f"  (asked for --momentum in {sum(r['asked'] for r in rows)} of {len(rows)})"
            lines.append(
                f"{name:8s} {k:13s} {np.mean(values):8.2f} {np.max(values):9.2f}  "
                f"{worst['opt']} s{worst['seed']}{asked if k == 'analyze' else ''}"
            )
        print(f"\n{name}: per run (suggested lr, regret pp; beta found)")
        for r in rows:
            shown = "  ".join(
                f"{k}={'none' if r[k] is None else f'{r[k]:.2g}'}({r['regret'][k]:.1f})"
                for k in READINGS
            )
            beta = "-" if r["beta"] is None else f"{r['beta']:.3f}"
            print(f"  {r['opt']:9s} s{r['seed']} beta={beta}  {shown}")
    print("\n" + "\n".join(lines))
    print(
        "\nregret: test-accuracy points lost against the best constant rate trained from "
        f"scratch; {args.seeds} seeds x {len(OPTIMIZERS)} optimizers per dataset; "
        f"{time.perf_counter() - t0:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
