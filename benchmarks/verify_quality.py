"""How much does ``verify`` improve on ``auto``? Per-run regret, cost, and wall time.

Every cached range test of ``benchmarks/quality.py`` (5 initial x 2 batch-order
seeds per dataset and optimizer) is verified with :func:`lrfinder.verify` on a
network with the same initial seed, and the verified rate is scored against the
same grid-search truth as ``auto``'s (``quality.regret_of``: percentage points of
test accuracy, R^2 points for ``sine``). The probes hold out part of the training
data for scoring; the test split, on which the truth is measured, is never seen.

Run from the repository root, after ``benchmarks/quality.py`` has filled its cache::

    python benchmarks/verify_quality.py --datasets small --jobs 2   # the six small problems
    python benchmarks/verify_quality.py --datasets digits,mnist --jobs 2
    python benchmarks/verify_quality.py --timing                    # serial vs 2 jobs, 9 rounds
                                                                    # (verify, and repeats=2)
    python benchmarks/verify_quality.py --probe-seed 5000           # other probe seeds

Columns, per (dataset, optimizer) cell over its runs: mean and worst regret of
``auto`` and of the verified rate, how often verify confirmed the suggestion, and
the mean cost as a fraction of the 25-rate x 3-seed grid search at the same budget.
The summary counts the cells where verify did worse than ``auto`` on average, and of
those the ones where the gap exceeds 2 standard errors of the truth's own seed-to-seed
noise (the difference paired by truth seed): smaller gaps the truth cannot resolve.

The last column is a floor set by the truth itself: the regret of the whole grid search
when it chooses by two of the truth's seeds, as many as verify's probes (:func:`grid_floor`).
Where even that loses 2 points or more, the seeds disagree by more than the 2-point target,
and the summary counts those cells among the ones verify misses.

Under each group's summary, "search's default" scores what ``lrfinder search`` prints
without ``--verify``: the verified rate for a slow learner (a run whose default test saw no
learning and was extended), which it verifies unasked, and ``auto`` for every other run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import quality  # noqa: E402  (benchmarks/quality.py: data, cache, truth, regret)

#: The probe seeds of run ``k`` start here + 2k, away from the truth's seeds 0..2
#: (``--probe-seed`` moves them, to check that a change holds for other probe seeds).
PROBE_SEED = 1000


def _verify_run(
    name: str, opt: str, init: int, order: int, root, config_kwargs: dict, probe_seed: int
):
    from lrfinder.results import load_result
    from lrfinder.verification import VerifyConfig, verifiable, verify

    ds = quality.load(name, root)
    result = load_result(quality._range_path(name, opt, init, order))
    if not verifiable(result):
        return None  # verify needs rates to probe: the user keeps no rate
    run = init * 2 + order
    if ds.task == "regression" and config_kwargs.get("metric") == "accuracy":
        config_kwargs = {**config_kwargs, "metric": "loss"}
    v = verify(
        result,
        quality.network(ds, init),
        ds,
        seed=probe_seed + 2 * run,
        config=VerifyConfig(**config_kwargs),
    )
    return v.lr, v.confirmed, v.cost_ratio


def evaluate(
    cells, inits, orders, root, jobs: int, config_kwargs: dict, probe_seed: int = PROBE_SEED
) -> dict:
    from joblib import Parallel, delayed

    tasks = [(n, o, i, r) for n, o in cells for i in inits for r in orders]
    out = Parallel(n_jobs=jobs, verbose=0)(
        delayed(_verify_run)(n, o, i, r, root, config_kwargs, probe_seed) for n, o, i, r in tasks
    )
    table: dict = {}
    for (n, o, i, r), got in zip(tasks, out, strict=True):
        table.setdefault((n, o), []).append(((i, r), got))
    return table


#: A cell's verify is worse than auto "beyond the truth's noise" when its mean regret
#: exceeds auto's by more than this many standard errors (over the truth's seeds).
NOISE_SE = 2.0


def worse_beyond_noise(t: quality.Truth, auto_lrs, verified_lrs) -> bool:
    """True when verify's rates score below auto's, averaged over the cell's runs, by more
    than :data:`NOISE_SE` standard errors of that difference over the truth's seeds (each
    seed trains every rate from the same start, so the difference is paired by seed)."""
    diff = 100.0 * np.mean(
        [t.seed_scores(a) - t.seed_scores(v) for a, v in zip(auto_lrs, verified_lrs, strict=True)],
        axis=0,
    )  # per truth seed: > 0 where verify's rates scored lower
    se = diff.std(ddof=1) / math.sqrt(diff.size)
    return bool(diff.mean() > NOISE_SE * se + 1e-9)


def grid_floor(t: quality.Truth, seeds: int = 2) -> float:
    """The regret (points) of the truth's own grid search choosing by ``seeds`` of its seeds.

    For every choice of ``seeds`` of the truth's seeds, the best grid rate by their mean is
    scored against the truth (the mean of all its seeds). That is a full 25-rate grid at
    the whole budget, with as many seeds as verify's probes, and scored partly on the seeds
    it chose by, so it is optimistic: where even it loses 2 points or more, the truth's
    seeds disagree by more than the target, and a method that chooses by that many seeds
    of its own cannot reliably come within it.
    """
    scores = t.by_seed
    truth = t.score
    regrets = [
        100.0 * float(truth.max() - truth[np.argmax(scores[list(chosen)].mean(axis=0))])
        for chosen in itertools.combinations(range(len(scores)), seeds)
    ]
    return float(np.mean(regrets))


def report(table: dict, truth_seeds: range) -> tuple[str, dict]:
    from lrfinder.verification import COST_TARGET

    lines = [
        "per-run regret (pp) of auto and of verify; conf = runs where verify confirmed auto; "
        "cost = steps / grid search, the mean and the costliest run; 2-seed grid = the regret "
        "of the truth's own grid search choosing by two of its seeds (see grid_floor)",
        f"{'dataset':<11}{'optimizer':<9}{'best lr':>8} | {'auto mean':>9} {'worst':>6} | "
        f"{'verify mean':>11} {'worst':>6} | {'conf':>4} {'cost':>7} {'worst':>6} | "
        f"{'2-seed grid':>11}",
    ]
    lines.append("-" * len(lines[-1]))
    summary: dict = {}
    groups: dict = {}
    for (name, opt), runs in table.items():
        t = quality.truth(name, opt, truth_seeds)
        results = quality.range_results(name, opt, range(5), range(2))
        by_key = {(i, r): results[i * 2 + r] for i in range(5) for r in range(2)}
        auto, verified, confirmed, cost = [], [], [], []
        auto_lrs, verified_lrs = [], []
        slow = []  # runs that `lrfinder search` verifies unasked (slow learners)
        for key, got in runs:
            a = by_key[key].suggestion
            auto.append(quality.regret_of(a, t))
            auto_lrs.append(a)
            slow.append(_search_verifies(by_key[key]))
            if got is None:  # no suggestion and no fallback: the user keeps none
                verified.append(quality.regret_of(None, t))
                verified_lrs.append(None)
                continue
            lr, conf, ratio = got
            verified.append(quality.regret_of(lr, t))
            verified_lrs.append(lr)
            confirmed.append(bool(conf))
            cost.append(ratio)
        row = {
            "best_lr": t.best_lr,
            "auto": auto,
            "verify": verified,
            "confirmed": sum(confirmed),
            "cost": float(np.mean(cost)) if cost else math.nan,
            "cost_worst": float(np.max(cost)) if cost else math.nan,
            "cost_over": int(sum(c > COST_TARGET + 1e-12 for c in cost)),
            "worse_beyond_noise": worse_beyond_noise(t, auto_lrs, verified_lrs),
            "grid_floor": grid_floor(t),
            "slow": slow,
            "beyond": sum(
                lr is not None and not t.lrs[0] <= lr <= t.lrs[-1] for lr in verified_lrs
            ),
        }
        summary[f"{name}/{opt}"] = row
        group = "small" if name in quality.SMALL else name
        groups.setdefault(group, []).append(row)
        lines.append(
            f"{name:<11}{opt:<9}{t.best_lr:>8.2g} | {np.mean(auto):>9.2f} {np.max(auto):>6.2f} | "
            f"{np.mean(verified):>11.2f} {np.max(verified):>6.2f} | "
            f"{sum(confirmed):>2}/{len(runs):<2}{'1/' + format(1 / row['cost'], '.0f'):>6} "
            f"{'1/' + format(1 / row['cost_worst'], '.1f'):>6} | {row['grid_floor']:>11.2f}"
        )
    lines.append("-" * len(lines[1]))
    for group, rows in groups.items():
        auto = [x for row in rows for x in row["auto"]]
        ver = [x for row in rows for x in row["verify"]]
        over = [row for row in rows if np.mean(row["verify"]) >= 2.0]
        unresolved = sum(row["grid_floor"] >= 2.0 for row in over)
        worse = sum(np.mean(row["verify"]) > np.mean(row["auto"]) + 1e-9 for row in rows)
        beyond = sum(row["worse_beyond_noise"] for row in rows)
        cost = np.nanmean([row["cost"] for row in rows])
        costliest = np.nanmax([row["cost_worst"] for row in rows])
        over_target = sum(row["cost_over"] for row in rows)
        n_runs = sum(len(row["verify"]) for row in rows)
        lines.append(
            f"{group:<20} auto {np.mean(auto):6.2f} mean {np.max(auto):6.2f} worst | verify "
            f"{np.mean(ver):6.2f} mean {np.max(ver):6.2f} worst | cells >= 2 pp: {len(over)}/"
            f"{len(rows)} (where a 2-seed grid loses 2 pp too: {unresolved}), worse than auto: "
            f"{worse}/{len(rows)} (beyond the truth's noise: {beyond}) | cost 1/{1 / cost:.0f}, "
            f"costliest run 1/{1 / costliest:.1f}, runs over 1/{1 / COST_TARGET:.0f}: "
            f"{over_target}/{n_runs}"
        )
        slow = [x for row in rows for x in row["slow"]]
        search = [v if sl else a for a, v, sl in zip(auto, ver, slow, strict=True)]
        if any(slow):
            on = [(a, v) for a, v, sl in zip(auto, ver, slow, strict=True) if sl]
            detail = (
                f"on those auto {np.mean([a for a, _ in on]):.2f} mean "
                f"{max(a for a, _ in on):.2f} worst, verify {np.mean([v for _, v in on]):.2f} "
                f"mean {max(v for _, v in on):.2f} worst"
            )
        else:
            detail = "none"
        beyond = sum(row["beyond"] for row in rows)
        lines.append(
            f"{'':<20} search's default (verifies the {sum(slow)} slow learners only) "
            f"{np.mean(search):6.2f} mean {np.max(search):6.2f} worst | {detail} | verified "
            f"rates beyond the truth's rates (scored as its edge): {beyond}"
        )
    return "\n".join(lines), summary


def _search_verifies(result) -> bool:
    """Whether ``lrfinder search`` verifies this range test without ``--verify``."""
    from lrfinder.cli import Method, _slow_learner_to_verify

    return _slow_learner_to_verify(result, Method.auto)


def _spread(ratios: list[float]) -> str:
    """The median of sorted ratios and their quartiles."""
    q = len(ratios) // 4
    return f"{np.median(ratios):.2f}x ({ratios[q]:.2f}..{ratios[-1 - q]:.2f})"


def _seconds(function, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - t0


def timing(root, rounds: int = 9) -> str:
    """Wall time of a verified search: the range test once, then verify serial and with
    two jobs in each of ``rounds`` rounds (the order alternating). The machine may be
    shared, so one round's ratio varies; the report gives the median of the per-round
    ratios (each round's serial time over its own 2-job time) and their quartiles.

    Each round also measures an equal-work reference: the same verify of the suggestion
    alone, one seed against two seeds on two workers. The two seeds' probes are the
    same work side by side, with no barrier waiting on a slower job, so ``2 x one seed
    / two seeds`` shows how much two processes slow each other on these probes (shared
    caches and memory bandwidth). On probes as short as digits' its own fixed costs
    (three rungs of one job each) weigh more than verify's, so it can read lower."""
    from joblib import Parallel, delayed

    from lrfinder.rangetest import find_lr
    from lrfinder.verification import verify

    Parallel(n_jobs=2)(delayed(math.sqrt)(i) for i in range(2))  # start the workers once
    lines = [
        f"wall time in seconds, Adam, 128 hidden units; {rounds} rounds, medians, and the "
        "median (quartiles) of the per-round speed-ups"
    ]
    for name in ("digits", "mnist"):
        if name == "mnist" and not quality.mnist_available(root):
            lines.append("mnist: not found, skipped")
            continue
        ds = quality.load(name, root)
        model = quality.network(ds, 0)
        t0 = time.perf_counter()
        result = find_lr(model, ds, optimizer="adam")
        search = time.perf_counter() - t0
        verify(result, model, ds, n_jobs=2)  # warm: the workers import what verify needs
        times: dict[int, list[float]] = {1: [], 2: []}
        reference = []
        for r in range(rounds):
            for jobs in (1, 2) if r % 2 == 0 else (2, 1):
                times[jobs].append(_seconds(verify, result, model, ds, n_jobs=jobs))
            one, two = (
                _seconds(verify, result, model, ds, lrs=[result.suggestion], seeds=seeds, n_jobs=2)
                for seeds in (1, 2)
            )
            reference.append(2 * one / two)
        repeats: dict[int, list[float]] = {1: [], 2: []}  # the other parallel job: repeats
        for r in range(rounds):
            for jobs in (1, 2) if r % 2 == 0 else (2, 1):
                repeats[jobs].append(
                    _seconds(find_lr, model, ds, optimizer="adam", repeats=2, n_jobs=jobs)
                )
        alone = sorted(a / b for a, b in zip(times[1], times[2], strict=True))
        whole = sorted((search + a) / (search + b) for a, b in zip(times[1], times[2], strict=True))
        lines.append(
            f"{name:<7} range test {search:5.2f} | verify serial {np.median(times[1]):5.2f}, "
            f"--jobs 2 {np.median(times[2]):5.2f}: {_spread(alone)} | verified search: "
            f"{_spread(whole)} | equal-work reference: {_spread(sorted(reference))}"
        )
        pairs = zip(repeats[1], repeats[2], strict=True)
        lines.append(
            f"{'':<7} range test with repeats=2: serial {np.median(repeats[1]):5.2f}, --jobs 2 "
            f"{np.median(repeats[2]):5.2f}: {_spread(sorted(a / b for a, b in pairs))}"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="small", help="comma-separated, 'small' or 'all'")
    parser.add_argument("--optimizers", default=",".join(quality.OPTIMIZERS))
    parser.add_argument("--jobs", type=int, default=1, help="joblib worker processes")
    parser.add_argument("--data-dir", default=None, help="folder holding mnist/")
    parser.add_argument("--timing", action="store_true", help="only the wall-time comparison")
    parser.add_argument("--config", default="{}", help="VerifyConfig fields as JSON")
    parser.add_argument(
        "--probe-seed", type=int, default=PROBE_SEED, help="first probe seed (run k: + 2k)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the table as JSON")
    args = parser.parse_args(argv)

    root = quality.mnist_files.data_root(args.data_dir)
    if args.timing:
        print(timing(root))
        return 0
    if args.datasets == "small":
        datasets = list(quality.SMALL)
    elif args.datasets == "all":
        datasets = list(quality.ALL)
    else:
        datasets = [d for d in args.datasets.split(",") if d]
    if "mnist" in datasets and not quality.mnist_available(root):
        print(f"MNIST not found under {root}; skipping it", file=sys.stderr)
        datasets.remove("mnist")
    cells = [(d, o) for d in datasets for o in args.optimizers.split(",") if o]
    inits, orders, truth_seeds = range(5), range(2), range(3)
    quality.compute(cells, inits, orders, truth_seeds, root, args.jobs)  # a no-op when cached
    config = json.loads(args.config)
    if "rungs" in config:
        config["rungs"] = tuple(config["rungs"])
    t0 = time.perf_counter()
    table = evaluate(cells, inits, orders, root, args.jobs, config, args.probe_seed)
    text, summary = report(table, truth_seeds)
    print(text)
    print(f"({time.perf_counter() - t0:.0f}s, config {config or 'default'})", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
