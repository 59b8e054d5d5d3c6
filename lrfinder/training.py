"""Plain mini-batch training at a constant (or scheduled) learning rate.

This is what a suggestion is *for*: the optimizer comparison, the notebooks and
the quality benchmark's grid-search truth all train with :func:`train`. Unlike
the range test it does not restore the model afterwards.

To train with a schedule built from a suggestion::

    total = epochs * steps_per_epoch(data, batch_size)
    train(model, data, optimizer="adam", lr=suggestion.one_cycle(total), epochs=epochs)
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lrfinder.batches import BatchSampler, as_array_data, param_dtype
from lrfinder.errors import LRFinderError, check_count, check_number, check_positive
from lrfinder.optimizers import Optimizer, get_optimizer

__all__ = ["TrainingHistory", "steps_per_epoch", "train"]


@dataclass(frozen=True)
class TrainingHistory:
    """Validation scores measured during :func:`train`.

    Attributes
    ----------
    steps : ndarray of int
        Training steps done when each evaluation was taken (0 = before training).
    val_loss, val_accuracy : ndarray of float
        Loss and accuracy on the validation data at those steps (accuracy NaN for
        regression).
    train_loss : ndarray of float
        Mean training loss over the steps since the previous evaluation (NaN at step 0).
    lr : float or str
        The constant learning rate, or the schedule's repr (such as
        ``one_cycle(max_lr=7.0e-03, total_steps=1410)``; a plain function's name).
    diverged : bool
        True when the training loss became non-finite, which ends training early;
        the last evaluation then scores the broken model.
    step_lrs : ndarray of float
        The rate each training step used, in order (step ``k`` of the run is
        ``step_lrs[k - 1]``); empty for a history built without it.
    """

    steps: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    train_loss: np.ndarray
    lr: float | str
    diverged: bool
    step_lrs: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def final_accuracy(self) -> float:
        return float(self.val_accuracy[-1])

    def steps_to_accuracy(self, target: float) -> int | None:
        """The first evaluated step at which validation accuracy reached ``target``."""
        hit = np.nonzero(self.val_accuracy >= target)[0]
        return int(self.steps[hit[0]]) if hit.size else None


def steps_per_epoch(data, batch_size: int = 64) -> int:
    """Training steps in one epoch of :func:`train` (a final partial batch is dropped).

    ``epochs * steps_per_epoch(data, batch_size)`` is the ``total_steps`` to build a
    schedule with, e.g. ``suggestion.one_cycle(total_steps)``.
    """
    batch_size = check_count("batch_size", batch_size)
    if hasattr(data, "x_train"):
        n = len(data.x_train)
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        n = len(data[0])  # counting rows needs no validation of the labels
    else:
        n = len(as_array_data(data, name="data").x)
    return max(1, n // min(batch_size, max(n, 1)))


def _lr_label(lr) -> str:
    """A schedule's repr; a plain function's name (its repr holds an address)."""
    if inspect.isfunction(lr) or inspect.isbuiltin(lr) or inspect.ismethod(lr):
        return getattr(lr, "__name__", "schedule")
    return repr(lr)


def train(
    model,
    data,
    *,
    optimizer: str | Optimizer = "sgd",
    lr: float | Callable[[int], float] = 0.01,
    epochs: float = 1,
    batch_size: int = 64,
    seed: int = 0,
    val_data=None,
    eval_every: int | None = None,
    callback: Callable[[int, float], None] | None = None,
    initial_step: int = 0,
) -> TrainingHistory:
    """Train ``model`` in place and return its validation history.

    Parameters
    ----------
    model : TwoLayerNet
        A model with ``params``, ``loss_and_grads`` and ``evaluate(x, y, x_scale)``.
    data : Dataset or (x, y)
        Training data. With a Dataset and no ``val_data``, its test split is used
        for validation.
    optimizer : str or Optimizer
        Name or instance; it is trained from its current state.
    lr : float or callable
        A constant learning rate, or ``lr(step) -> float``: a schedule such as
        :func:`lrfinder.schedules.one_cycle` (steps count from 0). Its repr is
        kept in the history, with the rate of every step.
    epochs : float
        Passes over the training data (fractions allowed).
    eval_every : int, optional
        Steps between validation evaluations. Default: once per epoch.
    callback : callable, optional
        ``callback(step, loss)`` after every step.
    initial_step : int
        The schedule's step at the first step of this call, >= 0: training that
        continues a run (say, epoch by epoch) reads ``lr(initial_step + k)``.
        The history's ``steps`` still count from 0.

    Raises
    ------
    LRFinderError
        For bad settings, or a schedule that returns a negative or non-finite rate.
    """
    opt = get_optimizer(optimizer)
    initial_step = check_count("initial_step", initial_step, minimum=0)
    if not callable(lr):
        check_positive("lr", lr, "a positive number")
    epochs = check_number("epochs", epochs, low=0, closed="neither")
    train_data = as_array_data(data, name="data")
    if val_data is None:
        if not hasattr(data, "x_test"):
            raise LRFinderError("val_data is needed when data is an (x, y) pair")
        val_data = data
    val = as_array_data(val_data, name="val_data", split="test")
    sampler = BatchSampler(train_data, batch_size, np.random.default_rng(seed), param_dtype(model))
    total = max(1, int(round(epochs * sampler.batches_per_epoch)))
    every = eval_every or sampler.batches_per_epoch
    rate = lr if callable(lr) else (lambda step, value=float(lr): value)

    steps, val_loss, val_acc, train_loss, step_lrs = [], [], [], [], []

    def evaluate(step: int, mean_train: float) -> None:
        loss, acc = model.evaluate(val.x, val.y, val.x_scale)
        steps.append(step)
        val_loss.append(loss)
        val_acc.append(math.nan if acc is None else acc)
        train_loss.append(mean_train)

    evaluate(0, math.nan)
    running, count, diverged = 0.0, 0, False
    # a diverging run overflows on purpose; its NaN loss is the record, not a warning
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        for step in range(1, total + 1):
            xb, yb = sampler.next()
            loss, grads = model.loss_and_grads(xb, yb)
            if not math.isfinite(loss):
                diverged = True
                break
            step_lr = float(rate(initial_step + step - 1))
            if not (math.isfinite(step_lr) and step_lr >= 0):
                raise LRFinderError(
                    f"lr({initial_step + step - 1}) returned {step_lr!r}; a schedule must "
                    "return a finite rate >= 0 at every step"
                )
            opt.step(model.params, grads, step_lr)
            step_lrs.append(step_lr)
            running += loss
            count += 1
            if callback is not None:
                callback(step, loss)
            if step % every == 0 or step == total:
                evaluate(step, running / count)
                running, count = 0.0, 0
        if diverged:  # score the broken model as it is: NaN loss, chance-level accuracy
            evaluate(step, math.nan)
    return TrainingHistory(
        steps=np.array(steps),
        val_loss=np.array(val_loss),
        val_accuracy=np.array(val_acc),
        train_loss=np.array(train_loss),
        lr=float(lr) if not callable(lr) else _lr_label(lr),
        diverged=diverged,
        step_lrs=np.array(step_lrs, dtype=np.float64),
    )
