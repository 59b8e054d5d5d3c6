"""The optimizer comparison: find each optimizer's rate, then train with it.

For every optimizer the same network, starting from the same initial weights and
seeing the same batch order, is first put through the range test; the suggested
rate is then used to train it for a few epochs, at that constant rate or along a
schedule built from it (``train_schedule``: 1cycle peaking at the suggestion's
``one_cycle_max_lr``, or a cosine decay from its ``lr``). The result says, per optimizer,
which rate was found, how validation loss and accuracy moved epoch by epoch, and
after how many steps a target accuracy was first reached.

This module returns data and prints nothing; ``lrfinder compare`` formats it.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lrfinder import names
from lrfinder.analysis import METHODS, Suggestion
from lrfinder.errors import LRFinderError, check_count, check_number
from lrfinder.network import TwoLayerNet
from lrfinder.optimizers import OPTIMIZERS, get_optimizer
from lrfinder.outputs import write_json
from lrfinder.parallel import JobsInterrupted, run_jobs
from lrfinder.rangetest import DEFAULT_STOP_FACTOR, default_schedule, find_lr
from lrfinder.results import RangeTestResult
from lrfinder.schedules import TRAINING_SCHEDULES, LearningRateSearcher
from lrfinder.training import TrainingHistory, steps_per_epoch, train

#: Validation accuracy the comparison counts steps to (the classic MNIST bar), the
#: epochs each optimizer trains for at its suggested rate, and how it trains there
#: (one of :data:`lrfinder.schedules.TRAINING_SCHEDULES`): defined in lrfinder.names,
#: which the command line reads too.
DEFAULT_TARGET = names.DEFAULT_TARGET
DEFAULT_EPOCHS = names.DEFAULT_EPOCHS
DEFAULT_TRAIN_SCHEDULE = names.DEFAULT_TRAIN_SCHEDULE

#: Validation evaluations per epoch. More than one, so "steps to the target"
#: is not rounded up to a whole epoch; each one scores the full test split.
EVALS_PER_EPOCH = 10

#: ``progress(optimizer, phase, step, total)``; ``phase`` is one of these.
PHASES = ("range test", "training")

ComparisonProgress = Callable[[str, str, int, int], None]


@dataclass(frozen=True, eq=False)
class OptimizerRun:
    """One optimizer's part of a comparison.

    Attributes
    ----------
    optimizer : str
        Name from :data:`lrfinder.optimizers.OPTIMIZERS`.
    result : RangeTestResult
        Its range test.
    suggestion : Suggestion
        The analysis of that test with the comparison's method.
    history : TrainingHistory or None
        Training with ``train_schedule`` built from the suggestion (its ``lr`` is
        the schedule's repr, or the constant rate); None when the test gave no rate.
    epoch_steps : ndarray of int
        The step at the end of each epoch (empty without training).
    train_schedule : str
        One of :data:`lrfinder.schedules.TRAINING_SCHEDULES`.
    """

    optimizer: str
    result: RangeTestResult
    suggestion: Suggestion
    history: TrainingHistory | None
    epoch_steps: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    train_schedule: str = "constant"

    @property
    def lr(self) -> float | None:
        """The suggested rate (``suggestion.lr``)."""
        return self.suggestion.lr

    @property
    def peak_lr(self) -> float | None:
        """The highest rate training used: ``one_cycle_max_lr`` for 1cycle, else ``lr``."""
        if self.suggestion.lr is None:
            return None
        if self.train_schedule == "onecycle":
            return self.suggestion.one_cycle_max_lr
        return self.suggestion.lr

    @property
    def trained_with(self) -> str | None:
        """How it was trained, e.g. ``one_cycle(max_lr=1.83e-02, total_steps=66)``."""
        if self.history is None:
            return None
        lr = self.history.lr
        return f"constant lr={lr:.3g}" if isinstance(lr, float) else str(lr)

    def epoch_rows(self) -> list[tuple[int, float, float]]:
        """``(epoch, val_loss, val_accuracy)`` after each epoch, starting at epoch 1."""
        if self.history is None:
            return []
        rows = []
        for epoch, step in enumerate(self.epoch_steps.tolist(), start=1):
            at = np.nonzero(self.history.steps == step)[0]
            if at.size:
                i = int(at[-1])
                rows.append(
                    (epoch, float(self.history.val_loss[i]), float(self.history.val_accuracy[i]))
                )
        return rows

    @property
    def final_accuracy(self) -> float | None:
        return None if self.history is None else self.history.final_accuracy

    @property
    def final_loss(self) -> float | None:
        return None if self.history is None else float(self.history.val_loss[-1])

    def steps_to(self, target: float) -> int | None:
        """First evaluated step with validation accuracy >= ``target`` (None: never)."""
        return None if self.history is None else self.history.steps_to_accuracy(target)


@dataclass(frozen=True, eq=False)
class Comparison:
    """Every optimizer's range test and training run on one dataset and network.

    Attributes
    ----------
    runs : tuple of OptimizerRun
        In the order the optimizers were given.
    target : float
        The validation accuracy whose first step is reported.
    epochs : int
        Epochs of training per optimizer.
    settings : dict
        Dataset, network, batch size, seed, method, the range test's schedule and
        the training's ``train_schedule``.
    """

    runs: tuple[OptimizerRun, ...]
    target: float
    epochs: int
    settings: dict[str, Any]

    def histories(self) -> dict[str, TrainingHistory]:
        """Training histories by optimizer name, for :func:`lrfinder.plotting.plot_histories`."""
        return {run.optimizer: run.history for run in self.runs if run.history is not None}

    def to_json(self, path) -> Path:
        """Write :meth:`to_dict` to ``path`` as JSON and return the path."""
        return write_json(self.to_dict(), path, "comparison")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers as None)."""
        return {
            "target": self.target,
            "epochs": self.epochs,
            "settings": self.settings,
            "optimizers": [
                {
                    "optimizer": run.optimizer,
                    "lr": run.lr,
                    "train_schedule": run.train_schedule,
                    "peak_lr": run.peak_lr,
                    "trained_with": run.trained_with,
                    "suggestion": run.suggestion.to_dict(),
                    "stop_reason": run.result.stop_reason,
                    "steps_to_target": run.steps_to(self.target),
                    "final_accuracy": _finite_or_none(run.final_accuracy),
                    "final_loss": _finite_or_none(run.final_loss),
                    "diverged": None if run.history is None else run.history.diverged,
                    "epochs": [
                        {
                            "epoch": epoch,
                            "val_loss": _finite_or_none(loss),
                            "val_accuracy": _finite_or_none(acc),
                        }
                        for epoch, loss, acc in run.epoch_rows()
                    ],
                    "history": None if run.history is None else _history_dict(run.history),
                }
                for run in self.runs
            ],
        }


class ComparisonInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`compare_optimizers`; ``comparison`` holds the optimizers that
    had finished (``settings["interrupted"]`` says how many)."""

    def __init__(self, comparison: Comparison):
        super().__init__("interrupted")
        self.comparison = comparison


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _history_dict(history: TrainingHistory) -> dict[str, Any]:
    return {
        "steps": history.steps.tolist(),
        "val_loss": [_finite_or_none(v) for v in history.val_loss.tolist()],
        "val_accuracy": [_finite_or_none(v) for v in history.val_accuracy.tolist()],
        "train_loss": [_finite_or_none(v) for v in history.train_loss.tolist()],
        "lr": history.lr,
        "step_lrs": history.step_lrs.tolist(),
    }


def _check_optimizers(optimizers: Sequence[str]) -> tuple[str, ...]:
    if isinstance(optimizers, str):
        optimizers = [optimizers]
    chosen = tuple(get_optimizer(name).name for name in optimizers)
    if not chosen:
        raise LRFinderError(f"optimizers is empty; give one or more of {', '.join(OPTIMIZERS)}")
    repeated = sorted({name for name in chosen if chosen.count(name) > 1})
    if repeated:
        raise LRFinderError(
            f"optimizers lists {', '.join(repeated)} more than once; give each once"
        )
    return chosen


def _concatenate(parts: list[TrainingHistory]) -> TrainingHistory:
    """Join per-epoch histories whose steps are already offset.

    Row 0 of every epoch after the first scores the weights the previous epoch
    ended on, which that epoch's last row already did, so it is dropped.
    """
    fields = ("steps", "val_loss", "val_accuracy", "train_loss")
    step_lrs = np.concatenate([p.step_lrs for p in parts])
    joined = {
        name: np.concatenate([getattr(parts[0], name)] + [getattr(p, name)[1:] for p in parts[1:]])
        for name in fields
    }
    return TrainingHistory(**joined, lr=parts[0].lr, diverged=parts[-1].diverged, step_lrs=step_lrs)


def _train_epochs(model, data, optimizer, lr, epochs, batch_size, seed, on_step):
    """Train epoch by epoch so that every epoch ends on an evaluation.

    Epoch ``e`` shuffles with ``seed + e``; the optimizer instance, and so its
    state, carries over from epoch to epoch, and a schedule ``lr`` runs on across
    them (each epoch starts at the step the previous one ended on). Returns the
    joined history and the step at which each epoch ended.
    """
    eval_every = max(1, steps_per_epoch(data, batch_size) // EVALS_PER_EPOCH)
    opt = get_optimizer(optimizer)
    parts, ends, offset = [], [], 0
    for epoch in range(epochs):
        part = train(
            model,
            data,
            optimizer=opt,
            lr=lr,
            epochs=1,
            batch_size=batch_size,
            seed=seed + epoch,
            eval_every=eval_every,
            callback=lambda step, loss, offset=offset: on_step(offset + step),
            initial_step=offset,
        )
        parts.append(replace(part, steps=part.steps + offset))
        offset += int(part.steps[-1])
        ends.append(offset)
        if part.diverged:
            break
    return _concatenate(parts), np.array(ends, dtype=np.int64)


@dataclass(frozen=True)
class _Plan:
    """What every optimizer's job of a comparison shares."""

    data: Any
    model: TwoLayerNet  # the network, copied by each job
    initial: dict  # its initial weights
    schedule: LearningRateSearcher | None
    batch_size: int
    seed: int
    stop_factor: float
    extend: bool
    method: str
    epochs: int
    train_schedule: str


def _compare_one(plan: _Plan, name: str, report: ComparisonProgress | None) -> OptimizerRun:
    """One optimizer's range test, then training with what it suggests (a job)."""
    report = report or (lambda name, phase, step, total: None)
    model = copy.deepcopy(plan.model)
    model.load_state_dict(plan.initial)
    test_steps = len(default_schedule() if plan.schedule is None else plan.schedule)
    train_steps = steps_per_epoch(plan.data, plan.batch_size) * plan.epochs
    result = find_lr(
        model,
        plan.data,
        optimizer=name,
        schedule=plan.schedule,
        batch_size=plan.batch_size,
        seed=plan.seed,
        stop_factor=plan.stop_factor,
        extend=plan.extend,
        callback=lambda event: report(name, PHASES[0], event.step + 1, test_steps),
    )
    suggestion = result.suggest(plan.method)
    history, ends = None, np.empty(0, np.int64)
    if suggestion.lr is not None:
        model.load_state_dict(plan.initial)  # every optimizer trains from the same weights
        history, ends = _train_epochs(
            model,
            plan.data,
            name,
            suggestion.schedule(plan.train_schedule, train_steps),
            plan.epochs,
            plan.batch_size,
            plan.seed,
            lambda step: report(name, PHASES[1], step, train_steps),
        )
    return OptimizerRun(name, result, suggestion, history, ends, plan.train_schedule)


def compare_optimizers(
    data,
    optimizers: Sequence[str] = tuple(OPTIMIZERS),
    *,
    n_hidden: int = 128,
    activation: str = "relu",
    epochs: int = DEFAULT_EPOCHS,
    target: float = DEFAULT_TARGET,
    batch_size: int = 64,
    seed: int = 0,
    schedule: LearningRateSearcher | None = None,
    stop_factor: float = DEFAULT_STOP_FACTOR,
    method: str = "auto",
    extend: bool = True,
    n_jobs: int | None = None,
    progress: ComparisonProgress | None = None,
    train_schedule: str = DEFAULT_TRAIN_SCHEDULE,
) -> Comparison:
    """Find each optimizer's learning rate, then train the same network with it.

    Parameters
    ----------
    data : Dataset
        From :func:`lrfinder.load_dataset`; its test split scores the training.
    optimizers : sequence of str
        Names from :data:`lrfinder.optimizers.OPTIMIZERS`, each at most once.
        Default: all six.
    n_hidden, activation :
        The :class:`~lrfinder.network.TwoLayerNet` built for ``data``.
    epochs : int
        Epochs of training with the suggestion, >= 1.
    target : float
        Validation accuracy in (0, 1] whose first step is reported.
    batch_size, seed :
        As for :func:`lrfinder.find_lr`. ``seed`` draws the initial weights, which
        every optimizer starts from, and the batch order, which every optimizer sees.
    schedule : LearningRateSearcher, optional
        The range-test schedule (default :func:`lrfinder.rangetest.default_schedule`).
        It is passed on to :func:`lrfinder.find_lr` as given, so that with the
        default a test that sees no learning is extended, as in ``find_lr``.
    stop_factor : float
        Divergence threshold of the range test.
    method : str
        How the rate is read from each test, one of :data:`lrfinder.analysis.METHODS`.
    extend : bool
        Passed on to :func:`lrfinder.find_lr`: with the default schedule, run a
        test that saw no learning again with more steps (slow learners such as
        ``spiral``). False keeps every test at the default length.
    n_jobs : int, optional
        Optimizers to run at once, as for :class:`joblib.Parallel` (-1: one per
        core), through :func:`lrfinder.parallel.run_jobs` and the backend of
        :func:`joblib.parallel_config`. The comparison is the same for any number.
    progress : callable, optional
        ``progress(optimizer, phase, step, total)`` after every step; ``phase`` is
        one of :data:`PHASES` and ``step`` counts from 1. With workers
        (``n_jobs`` > 1), once per optimizer, when it is done.
    train_schedule : {"onecycle", "constant", "cosine"}
        How each optimizer trains, built from its own suggestion over the
        ``epochs`` of training (:meth:`Suggestion.schedule`): ``"onecycle"``
        (default, :data:`DEFAULT_TRAIN_SCHEDULE`) peaks at ``one_cycle_max_lr``;
        ``"constant"`` holds ``lr``; ``"cosine"`` decays from ``lr`` to 0. Not to
        be confused with ``schedule``, the range test's rates.

    Returns
    -------
    Comparison
        An optimizer whose test gave no rate has ``history=None``; the
        suggestion's ``reason`` says why.

    Raises
    ------
    LRFinderError
        For an unknown optimizer or method, or invalid settings or data.
    """
    optimizer_names = _check_optimizers(optimizers)
    if method not in METHODS:
        raise LRFinderError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if train_schedule not in TRAINING_SCHEDULES:
        raise LRFinderError(
            f"unknown train_schedule {train_schedule!r}; choose one of "
            f"{', '.join(TRAINING_SCHEDULES)}"
        )
    check_count("epochs", epochs)
    target = check_number("target", target, low=0, high=1, closed="right", hint="e.g. 0.91")
    if not hasattr(data, "x_train"):
        raise LRFinderError(
            f"data must be a Dataset from load_dataset(), got {type(data).__name__}"
        )
    # The schedule goes to find_lr as given: building the default here would make it a
    # caller's schedule to find_lr, which then never extends a test that saw no learning.
    model = TwoLayerNet.for_dataset(data, n_hidden, activation=activation, seed=seed)
    initial = model.state_dict()
    train_steps = steps_per_epoch(data, batch_size) * int(epochs)
    report = progress or (lambda name, phase, step, total: None)

    # Each optimizer is one job (see lrfinder.parallel). A progress callback can only be
    # called from inside a job that runs in this process; with workers, it hears of
    # each optimizer when it is done.
    from joblib import effective_n_jobs

    in_process = effective_n_jobs(n_jobs) == 1
    plan = _Plan(
        data,
        model,
        initial,
        schedule,
        batch_size,
        seed,
        stop_factor,
        extend,
        method,
        int(epochs),
        train_schedule,
    )
    tasks = [(plan, name, report if in_process else None) for name in optimizer_names]

    def finished(index: int, run: OptimizerRun) -> None:
        if not in_process:
            report(run.optimizer, PHASES[1], train_steps, train_steps)

    def comparison(finished_runs) -> Comparison:
        return Comparison(tuple(finished_runs), target, int(epochs), settings)

    settings = {
        "data": data.name,
        "model": repr(model),
        "batch_size": int(batch_size),
        "seed": int(seed),
        "method": method,
        "stop_factor": float(stop_factor),
        "schedule": repr(default_schedule() if schedule is None else schedule),
        "extend": bool(extend),
        "evals_per_epoch": EVALS_PER_EPOCH,
        "train_schedule": train_schedule,
    }
    try:
        runs = run_jobs(_compare_one, tasks, n_jobs=n_jobs, on_result=finished)
    except JobsInterrupted as stop:  # keep the optimizers that had finished
        done = [run for run in stop.results if run is not None]
        partial = comparison(done)
        partial.settings["interrupted"] = (
            f"interrupted after {len(done)} of {len(optimizer_names)} optimizers"
        )
        raise ComparisonInterrupted(partial) from None
    return comparison(runs)
