"""The learning-rate range test on a Keras 3 model, on any backend.

::

    import lrfinder.keras

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    result = lrfinder.keras.find_lr(model, x, y, batch_size=64)
    result.suggestion, result.analysis.reason

:func:`find_lr` runs ``model.fit`` with a :class:`RangeTestCallback`, which sets the
optimizer's learning rate before every batch as lrfinder's schedule says, records
the batch's raw loss (not Keras's running mean over the epoch) and stops the fit with
lrfinder's divergence rule (:class:`lrfinder.stopping.DivergenceStop`). The result
is the same :class:`~lrfinder.results.RangeTestResult` as :func:`lrfinder.find_lr`'s.
Afterwards (and after Ctrl-C) the model's variables (weights, batch-norm statistics,
seed-generator states), the optimizer's variables (its slots, iteration count and its
own learning rate) and the metrics' state are exactly as before.

Keras 3 is an optional extra: ``pip install "lrfinder[keras]"`` (with a backend:
``KERAS_BACKEND=torch`` and ``lrfinder[torch]`` needs no TensorFlow). ``import
lrfinder`` never imports it; ``import lrfinder.keras`` does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

try:
    import keras
except ImportError as err:  # pragma: no cover - the message is the point
    raise ImportError(
        "lrfinder.keras needs Keras 3; install it with: pip install 'lrfinder[keras]'"
    ) from err
if int(keras.__version__.split(".")[0]) < 3:  # pragma: no cover
    raise ImportError(f"lrfinder.keras needs Keras 3, found Keras {keras.__version__}")

from lrfinder import _frameworks
from lrfinder.errors import BATCH_ERRORS, LRFinderError, check_count, first_batch_error
from lrfinder.optimizers import RMSProp, lag_from_hyperparameters
from lrfinder.progress import ProgressCallback, for_run
from lrfinder.rangetest import (
    COMPLETED,
    DEFAULT_VAL_SIZE,
    EXTEND_VAL_EVERY,
    RangeTestInterrupted,
    _assemble,
)
from lrfinder.results import RangeTestResult
from lrfinder.schedules import LearningRateSearcher
from lrfinder.stopping import (
    DEFAULT_STOP_FACTOR,
    DivergenceStop,
    check_stop_factor,
    nonfinite_reason,
)


def _numpy(value) -> np.ndarray:
    """A copy of a variable's or tensor's value as a NumPy array."""
    value = getattr(value, "value", value)  # a keras Variable's backend tensor
    if callable(getattr(value, "detach", None)):  # torch: np.array(tensor) warns on NumPy 2
        return value.detach().cpu().numpy().copy()
    return np.array(keras.ops.convert_to_numpy(value), copy=True)


def _mean_loss(model, batches: list) -> float:
    """The row-weighted mean loss (with regularisation, as in training) over ``batches``."""
    total, rows = 0.0, 0
    for xb, yb in batches:
        y_pred = model(xb, training=False)
        loss = float(_numpy(model.compute_loss(x=xb, y=yb, y_pred=y_pred, training=False)))
        n = len(yb)
        total, rows = total + loss * n, rows + n
    return total / rows


class RangeTestCallback(keras.callbacks.Callback):
    """A Keras callback that runs a range test inside ``model.fit``.

    Before batch ``k`` it sets the optimizer's learning rate to ``lrs[k]`` (and,
    every ``val_every`` batches, records the loss on ``val`` batches); after it, it
    records the batch's loss and stops the fit when the schedule is done, the loss
    turns non-finite, or :class:`~lrfinder.stopping.DivergenceStop` says it diverged.
    Keras reports the mean loss since the epoch began, so the metrics are reset
    before each batch: the loss it reports is then that batch's alone.

    Attributes
    ----------
    losses : ndarray
        The raw loss of each step (NaN where none was recorded).
    val_losses : ndarray or None
        The validation loss every ``val_every`` steps.
    reason : str
        Why it stopped (``COMPLETED`` when the schedule ran out).
    step : int
        Steps begun.
    """

    def __init__(
        self,
        lrs,
        stop_factor: float = DEFAULT_STOP_FACTOR,
        *,
        val: list | None = None,
        val_every: int = 10,
        callback: ProgressCallback | None = None,
        run: int = 0,
        runs: int = 1,
    ):
        super().__init__()
        self.lrs = np.asarray(lrs, dtype=np.float64)
        self.stop = DivergenceStop(stop_factor)
        self.val, self.val_every = val, check_count("val_every", val_every)
        self.callback = for_run(callback, run, runs, self.lrs.size)
        self.losses = np.full(self.lrs.size, np.nan)
        n_val = len(range(0, self.lrs.size, self.val_every))
        self.val_losses = np.full(n_val, np.nan) if val is not None else None
        self.reason = COMPLETED
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        step = self.step
        if step >= self.lrs.size:  # more batches than steps: nothing left to test
            self.model.stop_training = True
            return
        if self.val is not None and step % self.val_every == 0:
            self.val_losses[step // self.val_every] = _mean_loss(self.model, self.val)
        self.model.optimizer.learning_rate = float(self.lrs[step])
        self.model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        step = self.step
        if step >= self.lrs.size:
            return
        self.step += 1
        lr = float(self.lrs[step])
        loss = float((logs or {}).get("loss", math.nan))
        if not math.isfinite(loss):
            self.reason = nonfinite_reason(loss, lr=lr, step=step)
            self.model.stop_training = True
            return
        self.losses[step] = loss
        if self.callback is not None:
            self.callback(step, lr, loss)
        stopped = self.stop.update(loss, lr=lr, step=step)
        if stopped is not None:
            self.reason = stopped
            self.model.stop_training = True
        elif self.step == self.lrs.size:
            self.model.stop_training = True


# --------------------------------------------------------------------------- data


def _array_batches(x, y, batch_size: int, rng: np.random.Generator):
    """Endless seeded mini-batches of rows, reshuffled every epoch, the last partial
    batch of each epoch dropped: the batch order of :class:`lrfinder.batches.BatchSampler`."""
    n = len(x)
    batch = min(batch_size, n)
    while True:
        order = rng.permutation(n)
        for start in range(0, n - batch + 1, batch):
            idx = order[start : start + batch]
            yield x[idx], y[idx]


def _iterate(source):
    if isinstance(source, keras.utils.PyDataset):
        return (source[i] for i in range(len(source)))
    return iter(source)


def _pair(batch):
    if isinstance(batch, tuple | list) and len(batch) >= 2:
        return batch[0], batch[1]
    raise LRFinderError(
        f"the batches of x are {type(batch).__name__}, not (inputs, targets) pairs; give "
        "x and y as arrays, or x as an iterable of (inputs, targets) batches"
    )


def _endless(source):
    """Endless ``(inputs, targets)`` from an iterable of batches, iterated again when it
    runs out."""
    while True:
        empty = True
        for batch in _iterate(source):
            empty = False
            yield _pair(batch)
        if empty:
            raise LRFinderError("x yields no batches; give at least one (inputs, targets) batch")


class _Data:
    """The training data: arrays (seeded shuffles) or an iterable of batches."""

    def __init__(self, x, y, batch_size: int):
        self.batch_size = check_count("batch_size", batch_size)
        if y is None:
            if isinstance(x, np.ndarray) or not isinstance(x, Iterable | keras.utils.PyDataset):
                raise LRFinderError(
                    "y is missing; give x and y as arrays, or x as an iterable of "
                    "(inputs, targets) batches"
                )
            self.x, self.y, self.arrays = x, None, False
            return
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y) or len(x) == 0:
            raise LRFinderError(
                f"x and y must have the same number of rows, at least one; got {len(x)} "
                f"and {len(y)}"
            )
        self.x, self.y, self.arrays = x, y, True

    def batches(self, seed: int):
        if self.arrays:
            return _array_batches(self.x, self.y, self.batch_size, np.random.default_rng(seed))
        return _endless(self.x)

    def first(self):
        """One batch's inputs, to build an unbuilt model on."""
        if self.arrays:
            return self.x[: self.batch_size]
        return _pair(next(iter(_iterate(self.x))))[0]

    def fixed(self, rows: int, seed: int) -> tuple[list, int]:
        """A fixed set of training rows: a seeded subset of the arrays, or the first
        batches of the iterable; and how many rows it holds."""
        if self.arrays:
            return _subset(self.x, self.y, rows, seed)
        batches, seen = [], 0
        for batch in _iterate(self.x):
            xb, yb = _pair(batch)
            batches.append((xb, yb))
            seen += len(yb)
            if seen >= rows:
                break
        return batches, seen


def _subset(x, y, rows: int, seed: int) -> tuple[list, int]:
    """A fixed, seeded subset of ``rows`` rows as one batch (as the NumPy test's)."""
    x, y = np.asarray(x), np.asarray(y)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(x), size=min(rows, len(x)), replace=False))
    return [(x[idx], y[idx])], int(idx.size)


# --------------------------------------------------------------------------- restore


def _torch_rng():
    if keras.backend.backend() != "torch":
        return None
    import torch

    return torch.get_rng_state()


class _Snapshot:
    """The values of every variable a fit changes, to be assigned back bitwise."""

    def __init__(self, model) -> None:
        optimizer = model.optimizer
        if not optimizer.built:  # build it now so that its fresh slots are saved too
            optimizer.build(model.trainable_variables)
        self.model = [_numpy(v) for v in model.variables]
        self.optimizer = [_numpy(v) for v in optimizer.variables]
        self.metrics = [_numpy(v) for v in model.metrics_variables]
        self.stop_training = model.stop_training
        self.had_history, self.history = hasattr(model, "history"), getattr(model, "history", None)
        self.rng = _torch_rng()

    def restore(self, model) -> None:
        for variable, value in zip(model.variables, self.model, strict=True):
            variable.assign(value)
        for variable, value in zip(model.optimizer.variables, self.optimizer, strict=True):
            variable.assign(value)
        metrics = model.metrics_variables
        if len(metrics) == len(self.metrics):
            for variable, value in zip(metrics, self.metrics, strict=True):
                variable.assign(value)
        else:  # the metrics were built during the test: they were fresh before it
            model.reset_metrics()
        model.stop_training = self.stop_training
        if self.had_history:
            model.history = self.history
        if self.rng is not None:
            import torch

            torch.set_rng_state(self.rng)


# --------------------------------------------------------------------------- the test


def _check_model(model, name: str = "model") -> None:
    if not isinstance(model, keras.Model):
        raise LRFinderError(f"{name} must be a keras.Model, got {type(model).__name__}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise LRFinderError(
            f"{name} is not compiled; compile it first, e.g. "
            "model.compile(optimizer='adam', loss='sparse_categorical_crossentropy')"
        )
    learning_rate = getattr(model.optimizer, "_learning_rate", None)
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        raise LRFinderError(
            f"{name}'s optimizer has a learning-rate schedule, which the test cannot set; "
            "compile it with a float learning rate for the test"
        )


def _cold_start_rmsprop(optimizer) -> float:
    # Keras's RMSprop keeps v = rho v + (1 - rho) g^2 from zero, without bias correction
    # (centered or not): lrfinder's RMSProp rule with the same rho.
    return RMSProp(rho=optimizer.rho).cold_start_gain


#: How much larger than its settled steps an optimizer's first steps from fresh state
#: are (see :attr:`lrfinder.optimizers.Optimizer.cold_start_gain`); 1 for the others.
COLD_START_GAINS: dict[type, Callable[[Any], float]] = {
    keras.optimizers.RMSprop: _cold_start_rmsprop,
}


def cold_start_gain(optimizer) -> float:
    """The cold-start gain of a Keras optimizer: ``1 / sqrt(1 - rho)`` for RMSprop, else 1."""
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    for cls, gain in COLD_START_GAINS.items():
        if isinstance(optimizer, cls):
            return float(gain(optimizer))
    return 1.0


def momentum_lag(optimizer) -> float:
    """How many steps late the loss answers the rate under a Keras optimizer.

    The mean age of the gradients in its moving average (see
    :attr:`lrfinder.optimizers.Optimizer.momentum_lag`): ``beta_1`` for the Adam
    family, ``momentum`` for SGD (Nesterov's one factor more) and RMSprop, 0 for
    the others.
    """
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
    names = ("beta_1", "momentum", "nesterov")
    return lag_from_hyperparameters({k: getattr(optimizer, k, None) for k in names})


def _first_batch_error(err: Exception, data: _Data) -> LRFinderError:
    if data.arrays:
        given = f"x of shape {data.x.shape}, y of shape {data.y.shape}"
    else:
        given = f"batches from a {type(data.x).__name__}"
    return first_batch_error(
        "the model or its loss",
        err,
        given,
        "check that the model's input shape and its compiled loss take this data (the "
        "labels' form and range, e.g. sparse labels 0..n_classes-1 for "
        "sparse_categorical_crossentropy)",
    )


def _build(model, data: _Data) -> None:
    if not model.built:  # its weights must exist before they are saved
        try:
            model(data.first())
        except BATCH_ERRORS as err:
            if isinstance(err, LRFinderError):
                raise
            raise _first_batch_error(err, data) from err


def _one_run(model, data: _Data, seed: int, lrs, stop_factor, val, val_every, callback, run, runs):
    """Fit through ``lrs`` once; return (losses, stop reason, validation losses)."""
    recorder = RangeTestCallback(
        lrs, stop_factor, val=val, val_every=val_every, callback=callback, run=run, runs=runs
    )
    try:
        model.fit(
            data.batches(seed),
            steps_per_epoch=int(lrs.size),
            epochs=1,
            shuffle=False,  # the batches come in lrfinder's seeded order
            verbose=0,
            callbacks=[recorder],
        )
    except KeyboardInterrupt:
        recorder.reason = _frameworks.interrupted_reason(lrs, min(recorder.step, lrs.size - 1))
    except BATCH_ERRORS as err:
        if recorder.step > 0 or isinstance(err, LRFinderError):  # a genuine failure
            raise
        raise _first_batch_error(err, data) from err
    return recorder.losses, recorder.reason, recorder.val_losses


def find_lr(
    model,
    x,
    y=None,
    *,
    batch_size: int = 64,
    schedule: LearningRateSearcher | None = None,
    seed: int = 0,
    stop_factor: float = DEFAULT_STOP_FACTOR,
    repeats: int = 1,
    model_factory: Callable[[int], Any] | None = None,
    validation_data=None,
    val_every: int = 10,
    val_size: int = DEFAULT_VAL_SIZE,
    extend: bool = True,
    callback: ProgressCallback | None = None,
) -> RangeTestResult:
    """Run the learning-rate range test on a compiled Keras 3 model.

    The rates, the stop rule and its reasons, repeats, the slow-learner extension and
    the result are those of :func:`lrfinder.find_lr`; the training step is the
    model's own (``model.fit``, with its loss, regularisation and optimizer).

    Parameters
    ----------
    model : keras.Model
        Compiled, with an optimizer whose learning rate is a float (not a schedule).
    x, y : arrays, or x an iterable of (inputs, targets) batches
        With arrays, batches of ``batch_size`` rows are drawn in a seeded order,
        reshuffled every epoch (the last partial batch dropped), as in
        :func:`lrfinder.find_lr`. Without ``y``, ``x`` (a list, generator or
        ``keras.utils.PyDataset``) gives the batches and is iterated again when it
        runs out.
    batch_size : int
        Rows per batch (arrays only).
    schedule : LearningRateSearcher, optional
        Default: :func:`lrfinder.rangetest.default_schedule`; see ``extend``.
    seed : int
        Seeds the batch order; run ``r`` uses ``seed + r``. Keras's own random
        state (dropout) is not touched.
    stop_factor : float
        The stop-factor line of :class:`lrfinder.stopping.DivergenceStop`; > 1.
    repeats : int
        Runs of the test; ``result.losses`` is their median (see
        :func:`lrfinder.analysis.median_over_runs`). With ``model_factory``, the runs
        after the first train fresh models ``model_factory(seed + r)``.
    model_factory : callable, optional
        ``model_factory(seed) -> keras.Model``, compiled, for repeats.
    validation_data : (x, y) arrays, optional
        A fixed, seeded subset of ``val_size`` rows is scored every ``val_every``
        steps, and the analysis reads that curve.
    val_every, val_size : int
        Steps between validation losses; rows in the validation subset.
    extend : bool
        With the default schedule only: when the curve shows no learning, run again
        with 5x the steps, reading a fixed subset of ``val_size`` training rows every
        10 steps unless ``validation_data`` is given (``result.slow_learner``).
    callback : callable, optional
        ``callback(event)`` after every step, with a
        :class:`lrfinder.progress.ProgressEvent` (run, runs, step, steps, lr, loss).

    Returns
    -------
    RangeTestResult

    Raises
    ------
    LRFinderError
        For invalid settings.
    lrfinder.RangeTestInterrupted
        On Ctrl-C, carrying the partial result; the model is restored first.
    """
    _check_model(model)
    schedule, lrs, is_default = _frameworks.check_schedule(schedule)
    stop_factor = check_stop_factor(stop_factor)
    for name, value in (("repeats", repeats), ("val_every", val_every), ("val_size", val_size)):
        check_count(name, value)
    seed = check_count("seed", seed, 0)
    if model_factory is not None and not callable(model_factory):
        raise LRFinderError(f"model_factory must be callable, got {type(model_factory).__name__}")
    data = _Data(x, y, batch_size)
    val = None
    if validation_data is not None:
        if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
            raise LRFinderError(
                "validation_data must be an (x, y) pair of arrays, got "
                f"{type(validation_data).__name__}"
            )
        val, _ = _subset(*validation_data, val_size, seed)
    _build(model, data)
    test = _Test(model, data, seed, stop_factor, repeats, model_factory, callback)
    result = test.run(schedule, lrs, val, val_every)
    if not _frameworks.should_extend(result, is_default, extend):
        return result
    fixed_rows = None
    if val is None:  # read a fixed subset of the training rows instead of the batch losses
        val, fixed_rows = data.fixed(val_size, seed)
        val_every = EXTEND_VAL_EVERY
    longer = _frameworks.longer_schedule()
    note = _frameworks.slow_note(result, fixed_rows)
    return _frameworks.run_extended(lambda: test.run(longer, longer.steps(), val, val_every), note)


class _Test:
    """One range test's settings, run over a schedule: the runs, the restore, the result."""

    def __init__(self, model, data: _Data, seed, stop_factor, repeats, model_factory, callback):
        self.model, self.data, self.seed = model, data, seed
        self.stop_factor, self.repeats = stop_factor, repeats
        self.model_factory, self.callback = model_factory, callback

    def run(self, schedule, lrs, val: list | None, val_every: int) -> RangeTestResult:
        model, seed = self.model, self.seed
        snapshot = _Snapshot(model)
        runs, reasons, val_runs = [], [], []
        interrupted = False
        try:
            for run in range(self.repeats):
                run_model = model
                if run > 0:
                    snapshot.restore(model)
                    if self.model_factory is not None:
                        run_model = self.model_factory(seed + run)
                        _check_model(run_model, "model_factory(seed)")
                        _build(run_model, self.data)
                record, reason, val_record = _one_run(
                    run_model,
                    self.data,
                    seed + run,
                    lrs,
                    self.stop_factor,
                    val,
                    val_every,
                    self.callback,
                    run,
                    self.repeats,
                )
                runs.append(record)
                reasons.append(reason)
                val_runs.append(val_record)
                if reason.startswith("interrupted"):
                    interrupted = True
                    break
        finally:  # after the last run, and after any error
            snapshot.restore(model)
        result = _assemble(
            lrs,
            runs,
            reasons,
            val_runs if val is not None else None,
            self.settings(schedule, lrs, val, val_every),
            val_every,
            cold_start_gain(model.optimizer),
        )
        if interrupted:
            raise RangeTestInterrupted(result)
        return result

    def settings(self, schedule, lrs, val, val_every) -> dict:
        model = self.model
        optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
        with warnings.catch_warnings():  # Keras's get_config calls np.array on a torch tensor,
            warnings.simplefilter("ignore", DeprecationWarning)  # which NumPy 2 deprecates
            config = optimizer.get_config()
        return {
            "framework": "keras",
            "keras_version": keras.__version__,
            "backend": keras.backend.backend(),
            "optimizer": f"keras.optimizers.{type(optimizer).__name__}",
            "optimizer_hyperparameters": _frameworks.plain(config, skip=("name", "learning_rate")),
            "momentum_lag": momentum_lag(optimizer),
            "schedule": repr(schedule),
            "planned_steps": int(lrs.size),
            "batch_size": int(self.data.batch_size) if self.data.arrays else None,
            "seed": int(self.seed),
            "repeats": int(self.repeats),
            "fresh_models": self.model_factory is not None,
            "stop_factor": self.stop_factor,
            "model": f"{type(model).__name__} ({model.count_params():,} parameters)",
            "val_every": int(val_every) if val is not None else None,
            "val_size": int(sum(len(b[1]) for b in val)) if val is not None else None,
        }
