"""Train with what the finder found: constant, 1cycle and cosine, against Prodigy.

For each dataset, optimizer and seed, one range test (``find_lr`` with its default
schedule, batch 64) on ``TwoLayerNet(n_in, 128, n_out)`` initialised from the seed
gives a suggestion; the same network is then trained from those initial weights,
with the seed's batch order, for the dataset's budget, three ways:

    constant   at ``suggestion.lr`` (auto) throughout;
    onecycle   ``suggestion.one_cycle(total_steps)``: peak ``one_cycle_max_lr``;
    cosine     ``suggestion.cosine(total_steps)``: from ``suggestion.lr`` to 0.

and scored by final test accuracy. A run whose test gave no rate scores chance
(1 / classes) and is counted.

Reference (when torch and prodigyopt are installed)
    The same network in torch: ``Linear -> ReLU -> Linear`` given lrfinder's initial
    weights, trained on the very same batches (lrfinder's ``BatchSampler`` with the
    seed) for the same budget, with ``prodigyopt.Prodigy`` at its defaults (lr=1.0):
    what a user might choose instead of a finder. Beside it, torch Adam with
    ``lrfinder.torch.find_lr``'s own suggestion and the three schedules, so that the
    target is also checked within one framework.

Target
    The best lrfinder schedule with Adam matches or beats Prodigy on every dataset
    (mean over runs), in torch (same framework) and in lrfinder's NumPy network.

compare's default
    ``compare_optimizers`` at its own defaults (digits, 3 epochs, all six optimizers)
    with each ``train_schedule``, per seed: the setting its default schedule is for.

Budgets: digits 20 epochs, MNIST 1 epoch, spiral 40 epochs (batch 64). MNIST is
read from ``--data-dir``, ``$LRFINDER_DATA`` or ``../shared/data/mnist``; it is never
downloaded, and skipped with a message when absent.

Run from the repository root (about ten minutes on two cores the first time;
every run is cached in ``benchmarks/.cache/schedules``)::

    python benchmarks/schedules.py --jobs 2
    python benchmarks/schedules.py --datasets digits --optimizers adam,sgd --seeds 3
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

# one BLAS thread per process: joblib runs one process per core
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import mnist_files  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = Path(__file__).resolve().parent / ".cache" / "schedules"

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam")
SCHEDULES = ("constant", "onecycle", "cosine")
DATASETS = ("digits", "mnist", "spiral")
#: Epochs at batch 64, as in benchmarks/quality.py.
EPOCHS = {"digits": 20, "mnist": 1, "spiral": 40}
BATCH_SIZE = 64
HIDDEN = 128
#: compare_optimizers' own budget, for the table that checks its default.
COMPARE_EPOCHS = 3
#: Bumped when a run's recipe changes, so that cached runs are recomputed.
VERSION = 1


# ----------------------------------------------------------------------------- data


def mnist_dir(root: Path) -> Path | None:
    for folder in (root / "mnist", root):
        if (folder / "train-images-idx3-ubyte.gz").exists():
            return folder
    return None


def load(name: str, root: Path):
    from lrfinder import load_dataset

    if name == "mnist":
        return load_dataset("mnist", data_dir=mnist_dir(root), download=False)
    return load_dataset(name, seed=0)


# ----------------------------------------------------------------------------- caching


def _key(*parts) -> str:
    text = json.dumps([VERSION, BATCH_SIZE, HIDDEN, *parts])
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def _path(kind: str, name: str, opt: str, seed: int) -> Path:
    epochs = COMPARE_EPOCHS if kind == "compare" else EPOCHS[name]
    return CACHE / f"{kind}-{name}-{opt}-s{seed}-{_key(kind, name, opt, seed, epochs)}.json"


def _cached(path: Path, compute):
    if path.exists():
        return json.loads(path.read_text())
    record = compute()
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    tmp.replace(path)  # atomic: two workers never see half a file
    return record


# ----------------------------------------------------------------------------- lrfinder runs


def numpy_job(name: str, opt: str, seed: int, root: Path) -> dict:
    """One range test and three trainings in lrfinder's NumPy network (cached)."""

    def compute():
        from lrfinder import TwoLayerNet, find_lr, train
        from lrfinder.training import steps_per_epoch

        data = load(name, root)
        model = TwoLayerNet.for_dataset(data, HIDDEN, seed=seed)
        initial = model.state_dict()
        suggestion = find_lr(model, data, optimizer=opt, batch_size=BATCH_SIZE, seed=seed).suggest(
            "auto"
        )
        total = EPOCHS[name] * steps_per_epoch(data, BATCH_SIZE)
        record = {"lr": suggestion.lr, "one_cycle_max_lr": suggestion.one_cycle_max_lr}
        for kind in SCHEDULES:
            if suggestion.lr is None:
                record[kind] = None
                continue
            model.load_state_dict(initial)
            history = train(
                model,
                data,
                optimizer=opt,
                lr=suggestion.schedule(kind, total),
                epochs=EPOCHS[name],
                batch_size=BATCH_SIZE,
                seed=seed,
                eval_every=total,
            )
            record[kind] = {
                "accuracy": history.final_accuracy,
                "diverged": history.diverged,
                "schedule": str(history.lr),
            }
        return record

    return _cached(_path("numpy", name, opt, seed), compute)


def compare_job(kind: str, seed: int) -> dict:
    """``compare_optimizers`` at its defaults with ``train_schedule=kind`` (cached)."""

    def compute():
        from lrfinder import load_dataset
        from lrfinder.compare import compare_optimizers

        comparison = compare_optimizers(
            load_dataset("digits"), epochs=COMPARE_EPOCHS, seed=seed, train_schedule=kind
        )
        return {run.optimizer: run.final_accuracy for run in comparison.runs}

    return _cached(_path("compare", "digits", kind, seed), compute)


# ----------------------------------------------------------------------------- torch runs


def _torch_net(data, seed: int):
    """The torch twin of ``TwoLayerNet.for_dataset(data, HIDDEN, seed=seed)``: its weights."""
    import torch

    from lrfinder import TwoLayerNet

    twin = TwoLayerNet.for_dataset(data, HIDDEN, seed=seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(twin.n_in, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, twin.n_out)
    )
    with torch.no_grad():
        net[0].weight.copy_(torch.from_numpy(twin.params["W1"].T.copy()))
        net[0].bias.copy_(torch.from_numpy(twin.params["b1"]))
        net[2].weight.copy_(torch.from_numpy(twin.params["W2"].T.copy()))
        net[2].bias.copy_(torch.from_numpy(twin.params["b2"]))
    return net


class _Batches:
    """lrfinder's own batch order as torch tensors: one epoch per iteration."""

    def __init__(self, data, seed: int):
        from lrfinder.batches import BatchSampler, as_array_data

        self.sampler = BatchSampler(
            as_array_data(data), BATCH_SIZE, np.random.default_rng(seed), np.float32
        )

    def __len__(self) -> int:
        return self.sampler.batches_per_epoch

    def __iter__(self):
        import torch

        for _ in range(len(self)):
            xb, yb = self.sampler.next()
            yield torch.from_numpy(xb.copy()), torch.from_numpy(yb.astype(np.int64))


def _torch_accuracy(net, data) -> float:
    import torch

    x = torch.from_numpy(data.x_test.astype(np.float32) * np.float32(data.x_scale))
    with torch.no_grad():
        return float((net(x).argmax(1).numpy() == data.y_test).mean())


def _torch_train(net, optimizer, data, seed: int, schedule) -> dict:
    """``EPOCHS`` epochs on lrfinder's batch order; ``schedule(step)`` sets the rate (or None)."""
    import torch

    batches = _Batches(data, seed)
    criterion = torch.nn.CrossEntropyLoss()
    step, diverged = 0, False
    for _ in range(EPOCHS[data.name]):
        for xb, yb in batches:
            if schedule is not None:
                for group in optimizer.param_groups:
                    group["lr"] = schedule(step)
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(net(xb), yb)
            if not torch.isfinite(loss):
                diverged = True
                break
            loss.backward()
            optimizer.step()
            step += 1
        if diverged:
            break
    return {"accuracy": _torch_accuracy(net, data), "diverged": diverged}


def torch_job(name: str, opt: str, seed: int, root: Path) -> dict:
    """Prodigy at its defaults, or torch Adam with lrfinder.torch's suggestion (cached)."""

    def compute():
        import torch

        torch.set_num_threads(1)
        torch.manual_seed(seed)
        data = load(name, root)
        total = EPOCHS[name] * len(_Batches(data, seed))
        if opt == "prodigy":
            from prodigyopt import Prodigy

            net = _torch_net(data, seed)
            return {
                "prodigy": _torch_train(net, Prodigy(net.parameters(), lr=1.0), data, seed, None)
            }
        import lrfinder.torch

        net = _torch_net(data, seed)
        initial = {k: v.clone() for k, v in net.state_dict().items()}
        result = lrfinder.torch.find_lr(
            net,
            _Batches(data, seed),
            torch.optim.Adam(net.parameters(), lr=1e-3),
            torch.nn.CrossEntropyLoss(),
            seed=seed,
        )
        suggestion = result.suggest("auto")
        record = {"lr": suggestion.lr, "one_cycle_max_lr": suggestion.one_cycle_max_lr}
        for kind in SCHEDULES:
            if suggestion.lr is None:
                record[kind] = None
                continue
            net.load_state_dict(initial)
            schedule = suggestion.schedule(kind, total)
            rate = (lambda step, value=schedule: value) if kind == "constant" else schedule
            adam = torch.optim.Adam(net.parameters(), lr=rate(0))
            record[kind] = _torch_train(net, adam, data, seed, rate)
        return record

    return _cached(_path("torch", name, opt, seed), compute)


# ----------------------------------------------------------------------------- table


def _cell(accuracies: list[float], chance: float) -> str:
    if not accuracies:
        return "-"
    a = 100 * np.array([chance if v is None else v for v in accuracies])
    missing = sum(v is None for v in accuracies)
    text = f"{a.mean():5.2f} {a.min():5.2f} {a.max() - a.min():4.2f}"
    return text + (f" ({missing} none)" if missing else "")


def _score(record: dict | None) -> float | None:
    return None if record is None else record["accuracy"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--seeds", type=int, default=5, help="runs per cell, >= 3 [5]")
    parser.add_argument("--jobs", type=int, default=2, help="joblib processes, at most 2 [2]")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-torch", action="store_true", help="skip the torch reference")
    parser.add_argument(
        "--no-compare", action="store_true", help="skip compare_optimizers at its defaults"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the per-run scores here")
    args = parser.parse_args()

    root = mnist_files.data_root(args.data_dir)
    names = [n for n in args.datasets.split(",") if n]
    unknown = sorted(set(names) - set(EPOCHS))
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; choose from {', '.join(EPOCHS)}")
    if "mnist" in names and mnist_dir(root) is None:
        print(f"skipping mnist: no MNIST files under {root} (set $LRFINDER_DATA)", file=sys.stderr)
        names.remove("mnist")
    optimizers = [o for o in args.optimizers.split(",") if o]
    seeds = range(args.seeds)
    use_torch = not args.no_torch
    if use_torch:
        try:
            import prodigyopt  # noqa: F401
            import torch  # noqa: F401
        except ImportError as err:
            print(f"no torch reference: {err}", file=sys.stderr)
            use_torch = False

    tasks = [(numpy_job, (n, o, s, root)) for n in names for o in optimizers for s in seeds]
    if use_torch:
        tasks += [
            (torch_job, (n, t, s, root)) for n in names for t in ("prodigy", "adam") for s in seeds
        ]
    compare_tasks = (
        [] if args.no_compare else [(compare_job, (k, s)) for k in SCHEDULES for s in seeds]
    )
    from joblib import Parallel, delayed

    start = time.perf_counter()
    jobs = max(1, min(args.jobs, 2))
    # the slow MNIST jobs first, so that two workers finish at about the same time
    order = sorted(range(len(tasks)), key=lambda i: tasks[i][1][0] != "mnist")
    everything = [tasks[i] for i in order] + compare_tasks
    done = Parallel(n_jobs=jobs, verbose=2)(delayed(job)(*a) for job, a in everything)
    results = dict(zip(order, done[: len(order)], strict=True))
    compared = done[len(order) :]
    print(f"{len(tasks)} runs in {time.perf_counter() - start:.0f}s (cached runs are free)\n")

    table: dict = {}
    for i, (job, (name, opt, _seed, _)) in enumerate(tasks):
        frame = "numpy" if job is numpy_job else "torch"
        table.setdefault((name, frame, opt), []).append(results[i])

    header = f"{'dataset':8} {'framework':9} {'optimizer':9} " + " ".join(
        f"{k + ': mean worst spread':>26}" for k in SCHEDULES
    )
    print(
        f"final test accuracy (%), {len(seeds)} runs per cell; spread = best - worst run; "
        "prodigy: lr=1.0 and its other defaults, constant"
    )
    print(header)
    print("-" * len(header))
    summary = {}
    for name in names:
        chance = 1.0 / load(name, root).n_classes
        for (n, frame, opt), records in table.items():
            if n != name:
                continue
            if opt == "prodigy":
                cells = [_cell([_score(r["prodigy"]) for r in records], chance)] + ["", ""]
                label = "prodigy"
            else:
                cells = [_cell([_score(r[k]) for r in records], chance) for k in SCHEDULES]
                label = opt
            print(f"{name:8} {frame:9} {label:9} " + " ".join(f"{c:>26}" for c in cells))
        print()
        if use_torch:
            prodigy = np.mean([_score(r["prodigy"]) for r in table[(name, "torch", "prodigy")]])
            summary[name] = {"prodigy": prodigy}
            for frame in ("torch", "numpy"):
                records = table.get((name, frame, "adam"))
                if not records:
                    continue
                means = {
                    k: np.mean([chance if _score(r[k]) is None else _score(r[k]) for r in records])
                    for k in SCHEDULES
                }
                best = max(means, key=means.get)
                summary[name][frame] = (best, means[best])

    if use_torch and summary:
        print("target: the best lrfinder schedule with Adam >= Prodigy (defaults), per-run mean")
        for frame in ("torch", "numpy"):
            verdicts = []
            for name, row in summary.items():
                if frame not in row:
                    continue
                best, mean = row[frame]
                ok = mean >= row["prodigy"]
                verdicts.append(ok)
                print(
                    f"  {frame:5} {name:8} best Adam {best:8} {100 * mean:6.2f}  vs Prodigy "
                    f"{100 * row['prodigy']:6.2f}  {'met' if ok else 'NOT met'} "
                    f"({100 * (mean - row['prodigy']):+.2f} pp)"
                )
            if verdicts:
                print(f"  {frame}: target {'met' if all(verdicts) else 'NOT met'} on every dataset")
    if compared:
        print(
            f"\ncompare_optimizers at its defaults (digits, {COMPARE_EPOCHS} epochs), final "
            f"accuracy (%) by train_schedule, {len(seeds)} seeds: mean worst spread"
        )
        by: dict = {}
        for (_, (kind, _seed)), accuracies in zip(compare_tasks, compared, strict=True):
            for opt, acc in accuracies.items():
                by.setdefault(opt, {}).setdefault(kind, []).append(acc)
        print(f"  {'optimizer':9} " + " ".join(f"{k:>26}" for k in SCHEDULES))
        for opt, cells in by.items():
            print(f"  {opt:9} " + " ".join(f"{_cell(cells[k], 0.1):>26}" for k in SCHEDULES))
        means = {k: np.mean([np.mean(c[k]) for c in by.values()]) for k in SCHEDULES}
        wins = sum(np.mean(c["onecycle"]) > np.mean(c["constant"]) for c in by.values())
        print(
            "  mean over optimizers: "
            + ", ".join(f"{k} {100 * v:.2f}" for k, v in means.items())
            + f"; onecycle beats constant for {wins} of {len(by)} optimizers"
        )
    if args.json is not None:
        rows = [
            {"dataset": n, "framework": f, "optimizer": o, "runs": records}
            for (n, f, o), records in table.items()
        ]
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
