"""Plain mini-batch training at a constant (or scheduled) learning rate.

This is what a suggestion is *for*: the optimizer comparison, the notebooks and
the quality benchmark's grid-search truth all train with :func:`train`. Unlike
the range test it does not restore the model afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lrfinder.batches import BatchSampler, as_array_data, param_dtype
from lrfinder.errors import LRFinderError, check_positive
from lrfinder.optimizers import Optimizer, get_optimizer


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
        The constant learning rate, or a description of the schedule.
    diverged : bool
        True when the training loss became non-finite, which ends training early;
        the last evaluation then scores the broken model.
    """

    steps: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    train_loss: np.ndarray
    lr: float | str
    diverged: bool

    @property
    def final_accuracy(self) -> float:
        return float(self.val_accuracy[-1])

    def steps_to_accuracy(self, target: float) -> int | None:
        """The first evaluated step at which validation accuracy reached ``target``."""
        hit = np.nonzero(self.val_accuracy >= target)[0]
        return int(self.steps[hit[0]]) if hit.size else None


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
        A constant learning rate, or ``lr(step) -> float`` for a decaying schedule.
    epochs : float
        Passes over the training data (fractions allowed).
    eval_every : int, optional
        Steps between validation evaluations. Default: once per epoch.
    callback : callable, optional
        ``callback(step, loss)`` after every step.
    """
    opt = get_optimizer(optimizer)
    if not callable(lr):
        check_positive("lr", lr, "a positive number")
    if not (isinstance(epochs, (int, float)) and epochs > 0):
        raise LRFinderError(f"epochs must be a number > 0, got {epochs!r}")
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

    steps, val_loss, val_acc, train_loss = [], [], [], []

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
            opt.step(model.params, grads, rate(step - 1))
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
        lr=float(lr) if not callable(lr) else getattr(lr, "__name__", "schedule"),
        diverged=diverged,
    )
