"""How good is each single suggestion? Per-run regret against a grid-searched truth.

A user runs the range test once and trains with the number it prints, so every
run is scored on its own: a median over seeds would hide the runs that fail.

Truth
    For each dataset and optimizer, ``TwoLayerNet(n_in, 128, n_out)`` is trained
    from scratch at every constant rate of a log grid (1e-5 to 10, 4 points per
    decade) for a fixed budget, with ``--truth-seeds`` seeds, and scored on the
    test split: accuracy, or R^2 (clipped at 0) for the regression ``sine``. The
    truth curve is the mean score over those seeds; a rate at which any seed's
    training turned non-finite is marked as diverging. Where the best grid rate is
    the grid's top one, the truth is cut off there, so for that cell it goes on up
    to 100 (:data:`ABOVE`).

Runs
    Each run is one range test (``find_lr`` with its default schedule, batch 64)
    on a network initialised with one of ``--seeds`` initial seeds and one of
    ``--orders`` batch-order seeds. Every method of
    :func:`lrfinder.analysis.suggest` reads the same curve.

Scores, per (dataset, optimizer) cell
    regret   ``best mean score - truth(suggested lr)``, in percentage points (R^2
             points for ``sine``); the truth is interpolated linearly in log10(lr)
             and held flat beyond its rates (the summary counts such runs). No
             suggestion scores the worst grid rate.
    mean, worst
             mean and maximum regret over the cell's runs (the headline);
    spread   max - min of log10(suggested lr) over the runs, in decades;
    median   the median regret over runs (secondary: it hides failing runs);
    band     share of runs whose band contains the best grid rate;
    div      runs whose suggestion lies at or above the lowest grid rate at which
             a from-scratch run diverged.

Run from the repository root::

    python benchmarks/quality.py --jobs 2                      # digits and mnist
    python benchmarks/quality.py --datasets all --jobs 2       # every dataset
    python benchmarks/quality.py --quick                       # digits, sgd+adam, 2 runs
    python benchmarks/quality.py --config good_quantile=0.5    # a variant of the reading

Range tests and truth are cached in ``benchmarks/.cache`` (delete it after changing
the range test). MNIST is read from ``--data-dir``, ``$LRFINDER_DATA`` or the
repository's ``../shared/data``; it is never downloaded here, and skipped when absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# one BLAS thread per process: joblib runs one process per core
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import mnist_files  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"

#: The truth grid: 1e-5 .. 10, four points per decade (25 rates).
GRID = 10.0 ** np.arange(-5.0, 1.0 + 1e-9, 0.25)

#: The rates the truth goes on to for a cell whose best grid rate is the grid's top one
#: (in files of their own, so the grid's cache stays valid): there a rate above the grid
#: would otherwise be scored as the top rate, however it does (AdaDelta on spiral is
#: best at 18 to 32). Only there: every extra rate is one more chance for the truth's
#: best to be a lucky seed (AdaGrad on wine scores 100% at 56, one test row above the
#: 99.4% it holds from 0.03 to 32).
ABOVE = 10.0 ** np.arange(1.25, 2.0 + 1e-9, 0.25)

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

LARGE = ("digits", "mnist")
SMALL = ("double-arc", "spiral", "moons", "wine", "cancer", "sine")
ALL = LARGE + SMALL

#: Bumped when the range test changes, so that cached range tests are recomputed.
RANGE_VERSION = 5


# ----------------------------------------------------------------------------- data


def mnist_available(root: Path) -> bool:
    return (root / "mnist" / "train-images-idx3-ubyte.gz").exists() or (
        root / "train-images-idx3-ubyte.gz"
    ).exists()


def load(name: str, data_root: Path | None):
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
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(
            tmp,
            x=((x_tr - mean) / std).astype(np.float32),
            y=y_tr,
            x_test=((x_te - mean) / std).astype(np.float32),
            y_test=y_te,
        )
        tmp.replace(path)
    return path


def epochs_for(name: str) -> int:
    return EPOCHS.get(name, SMALL_EPOCHS)


def network(ds, seed: int):
    from lrfinder.network import TwoLayerNet

    return TwoLayerNet.for_dataset(ds, n_hidden=HIDDEN, seed=seed)


def test_score(model, ds) -> float:
    """Test accuracy, or R^2 clipped at 0 for regression; 0 for a broken model."""
    if ds.task != "regression":
        _, acc = model.evaluate(ds.x_test, ds.y_test, ds.x_scale)
        return float(acc) if acc is not None and math.isfinite(acc) else 0.0
    x = ds.x_test.astype(np.float32) * np.float32(ds.x_scale)
    with np.errstate(all="ignore"):
        pred = np.asarray(model.predict(x), dtype=np.float64).reshape(ds.y_test.shape)
        y = np.asarray(ds.y_test, dtype=np.float64)
        r2 = 1.0 - np.mean((pred - y) ** 2) / np.var(y)
    return float(max(r2, 0.0)) if math.isfinite(r2) else 0.0


# ---------------------------------------------------------------------------- truth


def _key(*parts) -> str:
    text = json.dumps([str(p) for p in parts] + [GRID.round(12).tolist()])
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _truth_path(name: str, opt: str, seed: int) -> Path:
    key = _key(name, opt, seed, epochs_for(name), BATCH_SIZE, HIDDEN, "score-v2")
    return CACHE / f"truth-{name}-{opt}-s{seed}-{key}.npz"


def _above_path(name: str, opt: str, seed: int) -> Path:
    key = _key(name, opt, seed, epochs_for(name), BATCH_SIZE, HIDDEN, ABOVE.round(12).tolist())
    return CACHE / f"truth-above-{name}-{opt}-s{seed}-{key}.npz"


def _train_at(name: str, opt: str, seed: int, rates, data_root: Path, path: Path) -> float:
    """Train from scratch at each of ``rates``, score each on the test split, save to
    ``path``; the seconds it took (0 when ``path`` was there)."""
    if path.exists():
        return 0.0
    from lrfinder.training import train

    t0 = time.perf_counter()
    ds = load(name, data_root)
    score = np.empty(len(rates))
    diverged = np.zeros(len(rates), dtype=bool)
    for i, lr in enumerate(rates):
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
        diverged[i] = history.diverged
        score[i] = 0.0 if history.diverged else test_score(model, ds)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, grid=np.asarray(rates), score=score, diverged=diverged)
    tmp.replace(path)
    return time.perf_counter() - t0


def _truth_job(name: str, opt: str, seed: int, data_root: Path) -> float:
    return _train_at(name, opt, seed, GRID, data_root, _truth_path(name, opt, seed))


def _above_job(name: str, opt: str, seed: int, data_root: Path) -> float:
    return _train_at(name, opt, seed, ABOVE, data_root, _above_path(name, opt, seed))


def _top_is_best(grid_scores) -> bool:
    """Whether the best grid rate (by the mean of the seeds' grid scores) is the top one."""
    return int(np.argmax(np.mean(grid_scores, axis=0))) == GRID.size - 1


def _best_at_top(name: str, opt: str, seeds: range) -> bool:
    """:func:`_top_is_best` for a cell whose grid truth is cached."""
    return _top_is_best([np.load(_truth_path(name, opt, s))["score"] for s in seeds])


@dataclass(frozen=True)
class Truth:
    lrs: np.ndarray  # (rates,) GRID, then ABOVE where the best grid rate is the top one
    by_seed: np.ndarray  # (seeds, rates) test score of each truth seed
    diverged: np.ndarray  # (rates,) True where any seed diverged

    @property
    def score(self) -> np.ndarray:
        """(rates,) the mean test score over the truth seeds."""
        return self.by_seed.mean(axis=0)

    @property
    def best_lr(self) -> float:
        return float(self.lrs[int(np.argmax(self.score))])

    @property
    def best(self) -> float:
        return float(self.score.max())

    @property
    def diverge_lr(self) -> float:
        """The lowest rate at which a from-scratch run diverged (inf if none)."""
        hit = np.flatnonzero(self.diverged)
        return float(self.lrs[hit[0]]) if hit.size else math.inf

    def seed_scores(self, lr: float | None) -> np.ndarray:
        """Each truth seed's score at ``lr``, interpolated in log10(lr) as :func:`regret_of`
        does (each seed's score at the worst rate of the mean when ``lr`` is None)."""
        if lr is None:
            return self.by_seed[:, int(np.argmin(self.score))]
        x = np.log10(self.lrs)
        return np.array([np.interp(math.log10(lr), x, row) for row in self.by_seed])


def truth(name: str, opt: str, seeds: range) -> Truth:
    files = [[np.load(_truth_path(name, opt, s))] for s in seeds]  # each seed's files
    above = _top_is_best([pair[0]["score"] for pair in files])
    if above:
        for s, pair in zip(seeds, files, strict=True):
            pair.append(np.load(_above_path(name, opt, s)))
    return Truth(
        lrs=np.concatenate([GRID, ABOVE]) if above else GRID,
        by_seed=np.array([np.concatenate([f["score"] for f in pair]) for pair in files]),
        diverged=np.any([np.concatenate([f["diverged"] for f in pair]) for pair in files], axis=0),
    )


# ----------------------------------------------------------------------- range tests


def _range_path(name: str, opt: str, init: int, order: int) -> Path:
    key = _key(name, opt, init, order, BATCH_SIZE, HIDDEN, RANGE_VERSION)
    return CACHE / f"range-{name}-{opt}-i{init}-o{order}-{key}.json"


def _range_job(name: str, opt: str, init: int, order: int, data_root: Path) -> float:
    path = _range_path(name, opt, init, order)
    if path.exists():
        return 0.0
    from lrfinder.rangetest import find_lr

    t0 = time.perf_counter()
    ds = load(name, data_root)
    result = find_lr(network(ds, init), ds, optimizer=opt, batch_size=BATCH_SIZE, seed=order)
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    result.to_json(tmp)
    tmp.replace(path)
    return time.perf_counter() - t0


def range_results(name: str, opt: str, inits: range, orders: range) -> list:
    from lrfinder.results import load_result

    return [load_result(_range_path(name, opt, i, o)) for i in inits for o in orders]


def compute(cells, inits: range, orders: range, truth_seeds: range, root, jobs: int) -> None:
    """Fill the cache for every cell, in parallel with joblib."""
    from joblib import Parallel, delayed

    todo = [
        (_range_job, (name, opt, i, o, root))
        for name, opt in cells
        for i in inits
        for o in orders
        if not _range_path(name, opt, i, o).exists()
    ]
    todo += [
        (_truth_job, (name, opt, s, root))
        for name, opt in cells
        for s in truth_seeds
        if not _truth_path(name, opt, s).exists()
    ]
    for above in (False, True):  # which cells go on above the grid needs the grid's truth
        if above:
            todo = [
                (_above_job, (name, opt, s, root))
                for name, opt in cells
                if _best_at_top(name, opt, truth_seeds)
                for s in truth_seeds
                if not _above_path(name, opt, s).exists()
            ]
        if not todo:
            continue
        print(f"computing {len(todo)} range tests / truths with {jobs} job(s)", file=sys.stderr)
        t0 = time.perf_counter()
        Parallel(n_jobs=jobs, verbose=5)(delayed(job)(*args) for job, args in todo)
        print(f"  done in {time.perf_counter() - t0:.0f}s", file=sys.stderr)


# ---------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class CellScore:
    """One method on one (dataset, optimizer) cell: a score per run."""

    lrs: list[float | None]
    regrets: list[float]  # pp, one per run
    in_band: list[bool]
    at_risk: list[bool]  # at or above a rate where a from-scratch run diverged

    @property
    def mean(self) -> float:
        return float(np.mean(self.regrets))

    @property
    def worst(self) -> float:
        return float(np.max(self.regrets))

    @property
    def median(self) -> float:
        return float(np.median(self.regrets))

    @property
    def spread(self) -> float | None:
        found = [math.log10(lr) for lr in self.lrs if lr is not None]
        return max(found) - min(found) if len(found) >= 2 else None

    @property
    def none(self) -> int:
        return sum(lr is None for lr in self.lrs)


def regret_of(lr: float | None, t: Truth) -> float:
    if lr is None:
        return 100.0 * (t.best - float(t.score.min()))
    at = np.interp(math.log10(lr), np.log10(t.lrs), t.score)
    return 100.0 * (t.best - float(at))


def score_cell(suggestions, t: Truth) -> CellScore:
    lrs = [s.lr for s in suggestions]
    return CellScore(
        lrs=lrs,
        regrets=[regret_of(lr, t) for lr in lrs],
        in_band=[s.band is not None and s.band[0] <= t.best_lr <= s.band[1] for s in suggestions],
        at_risk=[lr is not None and lr >= t.diverge_lr for lr in lrs],
    )


def analysis_config(pairs: list[str]):
    """An ``AnalysisConfig`` with the ``FIELD=VALUE`` overrides of ``--config``."""
    from dataclasses import fields

    from lrfinder.analysis import DEFAULT_CONFIG, AnalysisConfig

    known = [f.name for f in fields(AnalysisConfig)]
    changes = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in known:
            _usage_error(
                f"--config {pair!r}: give FIELD=VALUE with FIELD one of {', '.join(known)}"
            )
        default = getattr(DEFAULT_CONFIG, name)
        try:
            changes[name] = (
                tuple(float(v) for v in value.split(","))
                if isinstance(default, tuple)
                else type(default)(value)
            )
        except ValueError:
            _usage_error(f"--config {pair!r}: {value!r} is not a {type(default).__name__}")
    try:
        return AnalysisConfig(**changes)
    except ValueError as err:  # LRFinderError: a value out of range
        _usage_error(f"--config: {err}")


def _usage_error(message: str):
    print(f"quality.py: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def evaluate(cells, inits, orders, truth_seeds, methods, suggest_options) -> dict:
    from lrfinder.analysis import suggest

    table = {}
    for name, opt in cells:
        t = truth(name, opt, truth_seeds)
        results = range_results(name, opt, inits, orders)
        row = {"truth": t}
        for method in methods:
            row[method] = score_cell([suggest(r, method, **suggest_options) for r in results], t)
        table[(name, opt)] = row
    return table


def _group(name: str) -> str:
    return name if name in LARGE else "small"


def report(table: dict, methods, runs: int) -> str:
    lines = [f"per-run regret (pp) over {runs} runs per cell: mean / worst / spread in decades"]
    head = f"{'dataset':<11}{'optimizer':<9}{'best lr':>8}{'score':>6}"
    for m in methods:
        head += f" | {m:^22}"
    head += " | auto median band div"
    lines += [head, "-" * len(head)]
    for (name, opt), row in table.items():
        t = row["truth"]
        line = f"{name:<11}{opt:<9}{t.best_lr:>8.2g}{100 * t.best:>6.1f}"
        for m in methods:
            sc = row[m]
            spread = "-" if sc.spread is None else f"{sc.spread:.2f}"
            flag = "*" if sc.none else " "
            line += f" | {sc.mean:>6.2f} {sc.worst:>6.2f}{flag}{spread:>6}  "
        auto = row.get("auto")
        if auto is not None:
            band = 100 * np.mean(auto.in_band)
            line += f" | {auto.median:>11.2f} {band:>3.0f}% {sum(auto.at_risk):>2}"
        lines.append(line)
    lines.append("-" * len(head))
    groups: dict[str, list] = {}
    for (name, _), row in table.items():
        groups.setdefault(_group(name), []).append(row)
        if _group(name) != name:
            groups.setdefault(name, []).append(row)
    lines.append(
        f"{'group':<12}{'method':<10}{'mean':>7}{'worst':>7}{'max spread':>11}"
        f"{'cells>0.5':>10}{'median':>8}{'band':>6}{'div':>5}{'none':>5}"
    )
    for group, rows in groups.items():
        for m in methods:
            regrets = [r for row in rows for r in row[m].regrets]
            spreads = [row[m].spread for row in rows if row[m].spread is not None]
            lines.append(
                f"{group:<12}{m:<10}{np.mean(regrets):>7.2f}{np.max(regrets):>7.2f}"
                f"{max(spreads, default=math.nan):>11.2f}"
                f"{sum(s > 0.5 for s in spreads):>5}/{len(rows):<4}"
                f"{np.median(regrets):>8.2f}"
                f"{100 * np.mean([b for row in rows for b in row[m].in_band]):>5.0f}%"
                f"{sum(sum(row[m].at_risk) for row in rows):>5}"
                f"{sum(row[m].none for row in rows):>5}"
            )
    lines.append(
        "pp = percentage points of test accuracy (R^2 points for sine); * = a run got no "
        "suggestion (scored as the worst grid rate); band = runs whose band holds the best "
        "grid rate; div = runs suggesting a rate at or above one that diverged from scratch."
    )
    return "\n".join(lines)


def export_truth(path: Path, cells, truth_seeds: range) -> None:
    """The grid-search truth of ``cells`` as JSON, for the test suite's calibration check."""
    out = {
        "about": (
            "Grid-search truth from benchmarks/quality.py: mean test score over "
            f"{len(truth_seeds)} seeds of TwoLayerNet(n_in, {HIDDEN}, n_out) trained from scratch "
            f"at each constant rate, batch {BATCH_SIZE}; diverged = any seed's loss turned "
            "non-finite."
        ),
        "grid": GRID.tolist(),
        "epochs": {name: epochs_for(name) for name, _ in cells},
        "cells": {},
    }
    for name, opt in cells:
        t = truth(name, opt, truth_seeds)
        on_grid = slice(0, GRID.size)  # the export keeps one grid for every cell
        out["cells"][f"{name}/{opt}"] = {
            "score": [round(float(v), 6) for v in t.score[on_grid]],
            "diverged": [bool(v) for v in t.diverged[on_grid]],
        }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1) + "\n")


# ------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="digits,mnist", help="comma-separated, or 'all'")
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--seeds", type=int, default=5, help="initial-weight seeds per cell")
    parser.add_argument("--orders", type=int, default=2, help="batch-order seeds per cell")
    parser.add_argument("--truth-seeds", type=int, default=3, help="seeds of the grid search")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--window", type=float, default=None, help="smoothing window, decades")
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="score an AnalysisConfig variant on the same runs, e.g. --config good_quantile=0.5 "
        "(repeatable; the cached range tests are reused, only the reading changes)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="joblib worker processes")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/")
    parser.add_argument("--quick", action="store_true", help="digits, sgd+adam, 2 runs")
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    parser.add_argument(
        "--export-truth",
        type=Path,
        default=None,
        help="write the truth of these cells as JSON (tests/data/calibration_truth.json)",
    )
    args = parser.parse_args(argv)

    if args.quick:
        args.datasets, args.optimizers, args.seeds, args.orders = "digits", "sgd,adam", 1, 2
    datasets = list(ALL) if args.datasets == "all" else [d for d in args.datasets.split(",") if d]
    root = mnist_files.data_root(args.data_dir)
    if "mnist" in datasets and not mnist_available(root):
        print(f"MNIST not found under {root}; skipping it", file=sys.stderr)
        datasets.remove("mnist")
    optimizers = [o for o in args.optimizers.split(",") if o]
    methods = [m for m in args.methods.split(",") if m]
    cells = [(d, o) for d in datasets for o in optimizers]
    inits, orders, truth_seeds = range(args.seeds), range(args.orders), range(args.truth_seeds)

    compute(cells, inits, orders, truth_seeds, root, args.jobs)
    options = {} if args.window is None else {"window": args.window}
    if args.config:
        options["config"] = analysis_config(args.config)
    table = evaluate(cells, inits, orders, truth_seeds, methods, options)
    print(report(table, methods, len(inits) * len(orders)))
    if args.export_truth:
        export_truth(args.export_truth, cells, truth_seeds)
    if args.json:
        out = {
            f"{d}/{o}": {
                "best_lr": row["truth"].best_lr,
                "best_score": row["truth"].best,
                **{
                    m: {
                        "lrs": row[m].lrs,
                        "regrets_pp": row[m].regrets,
                        "in_band": row[m].in_band,
                        "at_risk": row[m].at_risk,
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
