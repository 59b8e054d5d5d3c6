"""How good are the suggested learning rates? Regret against a grid-searched truth.

Truth
    For each dataset and optimizer, ``TwoLayerNet(n_in, 128, n_out)`` is trained at
    every constant rate of a log grid (1e-5 to 10, 4 points per decade) for a fixed
    budget, with several seeds, and its test accuracy is scored. The truth curve is
    the mean accuracy over seeds. It is cached in ``benchmarks/.cache``.

Suggestions
    For each seed, the range test (``find_lr`` with its default schedule, batch 64)
    is run on a network initialised with that seed; every method of
    :func:`lrfinder.analysis.suggest` reads the same curve.

Regret
    ``best mean accuracy - truth(suggested lr)`` in percentage points, the truth
    interpolated linearly in log10(lr) (and held flat beyond the grid). A method that
    returns no rate scores the worst accuracy on the grid. "Decades off" is
    ``log10(suggested) - log10(best grid rate)``.

Run from the repository root::

    python benchmarks/quality.py                       # digits and mnist, 6 optimizers
    python benchmarks/quality.py --datasets double-arc,spiral,moons,wine,cancer
    python benchmarks/quality.py --quick               # 1 seed, 2 optimizers, digits

MNIST is read from ``--data-dir`` (default ``$LRFINDER_DATA`` or
``/work/shared/data``); it is never downloaded here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# one BLAS thread per process: the benchmark runs beside other work on 2 cores
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache"

#: The truth grid: 1e-5 .. 10, four points per decade (25 rates).
GRID = 10.0 ** np.arange(-5.0, 1.0 + 1e-9, 0.25)

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam")

#: Training budget (epochs at batch 64) for the truth. MNIST: one epoch, digits: 20,
#: the small synthetic and tabular sets: 40 (they have ~13 batches per epoch).
EPOCHS = {"mnist": 1, "digits": 20}
SMALL_EPOCHS = 40
BATCH_SIZE = 64
HIDDEN = 128

#: Classic methods compared with ours.
METHODS = ("auto", "steepest", "minimum", "valley")

#: Small tabular sets built from scikit-learn's bundled data (standardised): wine, and
#: breast cancer, which was kept out of the design of the rules as an unseen check.
TABULAR = {"wine": "load_wine", "cancer": "load_breast_cancer"}


# ----------------------------------------------------------------------------- data


def data_dir(arg: str | None) -> str | None:
    return arg or os.environ.get("LRFINDER_DATA") or "/work/shared/data"


def load(name: str, data_root: str | None):
    from lrfinder.datasets import load_dataset

    if name in TABULAR:
        return load_dataset(_tabular_npz(name))
    if name in ("mnist", "fashion-mnist"):
        return load_dataset(name, data_dir=data_root, download=False)
    return load_dataset(name, seed=0)


def _tabular_npz(name: str) -> Path:
    path = CACHE / f"{name}.npz"
    if not path.exists():
        import sklearn.datasets
        from sklearn.model_selection import train_test_split

        x, y = getattr(sklearn.datasets, TABULAR[name])(return_X_y=True)
        x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
        mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            x=((x_tr - mean) / std).astype(np.float32),
            y=y_tr,
            x_test=((x_te - mean) / std).astype(np.float32),
            y_test=y_te,
        )
    return path


def epochs_for(name: str) -> int:
    return EPOCHS.get(name, SMALL_EPOCHS)


def network(ds, seed: int):
    from lrfinder.network import TwoLayerNet

    return TwoLayerNet.for_dataset(ds, n_hidden=HIDDEN, seed=seed)


# ---------------------------------------------------------------------------- truth


def _key(*parts) -> str:
    text = json.dumps([str(p) for p in parts] + [GRID.round(12).tolist()])
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _truth_path(name: str, opt: str, seed: int) -> Path:
    key = _key(name, opt, seed, epochs_for(name), BATCH_SIZE, HIDDEN)
    return CACHE / f"truth-{name}-{opt}-s{seed}-{key}.npz"


def _truth_job(args) -> tuple[str, str, int, float]:
    name, opt, seed, data_root, _ = args
    path = _truth_path(name, opt, seed)
    if path.exists():
        return name, opt, seed, 0.0
    from lrfinder.training import train

    t0 = time.perf_counter()
    ds = load(name, data_root)
    acc = np.empty(GRID.size)
    for i, lr in enumerate(GRID):
        model = network(ds, seed)
        history = train(
            model,
            ds,
            optimizer=opt,
            lr=float(lr),
            epochs=epochs_for(name),
            batch_size=BATCH_SIZE,
            seed=seed,
        )
        final = history.final_accuracy
        acc[i] = final if math.isfinite(final) else 0.0
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, grid=GRID, accuracy=acc)
    tmp.replace(path)
    return name, opt, seed, time.perf_counter() - t0


def truth(name: str, opt: str, seeds: range) -> np.ndarray:
    """Accuracy (seeds, grid) from the cache."""
    return np.stack([np.load(_truth_path(name, opt, s))["accuracy"] for s in seeds])


# ----------------------------------------------------------------------- range tests


def _range_path(name: str, opt: str, seed: int, steps: int | None = None) -> Path:
    key = _key(name, opt, seed, BATCH_SIZE, HIDDEN, *(() if steps is None else (steps,)))
    return CACHE / f"range-{name}-{opt}-s{seed}-{key}.json"


def _range_job(args) -> tuple[str, str, int, float]:
    name, opt, seed, data_root, steps = args
    path = _range_path(name, opt, seed, steps)
    if path.exists():
        return name, opt, seed, 0.0
    from lrfinder.rangetest import DEFAULT_END, DEFAULT_START, find_lr
    from lrfinder.schedules import LearningRateSearcher

    t0 = time.perf_counter()
    ds = load(name, data_root)
    schedule = None
    if steps is not None:
        schedule = LearningRateSearcher.exponential(DEFAULT_START, DEFAULT_END, steps)
    result = find_lr(
        network(ds, seed), ds, optimizer=opt, batch_size=BATCH_SIZE, seed=seed, schedule=schedule
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    result.to_json(path)
    return name, opt, seed, time.perf_counter() - t0


def range_result(name: str, opt: str, seed: int, steps: int | None = None):
    from lrfinder.results import load_result

    return load_result(_range_path(name, opt, seed, steps))


def run_jobs(job, tasks, jobs: int, label: str) -> None:
    if job is _truth_job:
        todo = [t for t in tasks if not _truth_path(*t[:3]).exists()]
    else:
        todo = [t for t in tasks if not _range_path(*t[:3], t[4]).exists()]
    if not todo:
        return
    print(f"{label}: {len(todo)} to compute with {jobs} process(es)", file=sys.stderr, flush=True)
    if jobs == 1:
        results = map(job, todo)
    else:
        pool = ProcessPoolExecutor(jobs)
        results = pool.map(job, todo)
    for name, opt, seed, seconds in results:
        print(f"  {label} {name} {opt} seed {seed}: {seconds:.0f}s", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Score:
    regrets: list[float]  # pp, one per seed
    decades: list[float | None]  # log10(suggested / best), one per seed
    spread: float | None  # max - min log10 of the suggestions over seeds
    none: int  # seeds without a suggestion

    @property
    def median_regret(self) -> float:
        return float(np.median(self.regrets))

    @property
    def median_decades(self) -> float | None:
        found = [d for d in self.decades if d is not None]
        return float(np.median(found)) if found else None


def regret_of(lr: float | None, acc_mean: np.ndarray) -> float:
    best = float(acc_mean.max())
    if lr is None:
        return 100.0 * (best - float(acc_mean.min()))
    at = np.interp(math.log10(lr), np.log10(GRID), acc_mean)
    return 100.0 * (best - float(at))


def score(suggested: list[float | None], acc_mean: np.ndarray) -> Score:
    best_lr = GRID[int(np.argmax(acc_mean))]
    logs = [None if lr is None else math.log10(lr) for lr in suggested]
    found = [v for v in logs if v is not None]
    return Score(
        regrets=[regret_of(lr, acc_mean) for lr in suggested],
        decades=[None if v is None else v - math.log10(best_lr) for v in logs],
        spread=max(found) - min(found) if len(found) >= 2 else None,
        none=sum(v is None for v in logs),
    )


def evaluate(datasets, optimizers, seeds, methods, suggest_options, steps=None) -> dict:
    from lrfinder.analysis import suggest

    table = {}
    for name in datasets:
        for opt in optimizers:
            acc = truth(name, opt, seeds)
            acc_mean = acc.mean(axis=0)
            results = [range_result(name, opt, s, steps) for s in seeds]
            row = {
                "best_lr": float(GRID[int(np.argmax(acc_mean))]),
                "best_acc": float(acc_mean.max()),
            }
            for method in methods:
                lrs = [suggest(r, method, **suggest_options).lr for r in results]
                row[method] = score(lrs, acc_mean)
                row[method + "_lrs"] = lrs
            table[(name, opt)] = row
    return table


def _fmt_decades(value: float | None) -> str:
    return "   -" if value is None else f"{value:+.2f}"


def report(table: dict, methods, seeds) -> str:
    lines = []
    head = f"{'dataset':<11}{'optimizer':<10}{'best lr':>9}{'acc%':>7}"
    for m in methods:
        head += f" | {m:>8} pp  dec"
    if len(seeds) > 1:
        head += " | spread(auto)"
    lines.append(head)
    lines.append("-" * len(head))
    for (name, opt), row in table.items():
        line = f"{name:<11}{opt:<10}{row['best_lr']:>9.2g}{100 * row['best_acc']:>7.1f}"
        for m in methods:
            sc = row[m]
            flag = "*" if sc.none else " "
            line += f" | {sc.median_regret:>7.2f}{flag}{_fmt_decades(sc.median_decades):>6}"
        if len(seeds) > 1:
            spread = row["auto"].spread if "auto" in methods else None
            line += f" | {'-' if spread is None else f'{spread:.2f}':>12}"
        lines.append(line)
    lines.append("-" * len(head))
    by_group: dict[str, list] = {}
    for (name, _), row in table.items():
        group = name if name in EPOCHS else "small"
        by_group.setdefault(group, []).append(row)
    by_group["all"] = list(table.values())
    for group, rows in by_group.items():
        mean = f"{'mean of medians':<20}{group:<17}"
        worst = f"{'worst median':<20}{group:<17}"
        for m in methods:
            med = [r[m].median_regret for r in rows]
            mean += f" | {np.mean(med):>7.2f}      "
            worst += f" | {np.max(med):>7.2f}      "
        lines += [mean, worst]
    lines.append("pp = median regret over seeds (percentage points); dec = median decades off")
    lines.append("the best grid rate; * = some seed got no suggestion (scored as the worst rate).")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="digits,mnist", help="comma-separated names")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds for truth and range tests")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--window", type=float, default=None, help="smoothing window, decades")
    parser.add_argument(
        "--range-steps",
        type=int,
        default=None,
        help="steps of the range test (exponential 1e-7..10); default: find_lr's own",
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (1 thread each)")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/")
    parser.add_argument("--quick", action="store_true", help="digits, sgd+adam, 1 seed")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    args = parser.parse_args(argv)

    if args.quick:
        args.datasets, args.optimizers, args.seeds = "digits", "sgd,adam", 1
    datasets = [d for d in args.datasets.split(",") if d]
    optimizers = [o for o in args.optimizers.split(",") if o]
    methods = [m for m in args.methods.split(",") if m]
    seeds = range(args.seeds)
    root = data_dir(args.data_dir)
    tasks = [(d, o, s, root, args.range_steps) for d in datasets for o in optimizers for s in seeds]

    run_jobs(_range_job, tasks, args.jobs, "range test")
    run_jobs(_truth_job, tasks, args.jobs, "truth")
    options = {} if args.window is None else {"window": args.window}
    table = evaluate(datasets, optimizers, seeds, methods, options, args.range_steps)
    print(report(table, methods, seeds))
    if args.json:
        out = {
            f"{d}/{o}": {
                "best_lr": row["best_lr"],
                "best_acc": row["best_acc"],
                **{
                    m: {
                        "lrs": row[m + "_lrs"],
                        "regrets_pp": row[m].regrets,
                        "decades_off": row[m].decades,
                        "spread_decades": row[m].spread,
                    }
                    for m in methods
                },
            }
            for (d, o), row in table.items()
        }
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
