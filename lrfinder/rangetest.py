"""The learning-rate range test.

Train briefly while the learning rate rises, step by step as a schedule says,
and record the loss at each rate. Stop when the loss turns non-finite or
diverges. Afterwards the model's parameters and the optimizer's state are put
back exactly (bitwise) as they were.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from lrfinder import names
from lrfinder.analysis import NO_LEARNING, median_over_runs
from lrfinder.batches import ArrayData, BatchSampler, as_array_data, param_dtype
from lrfinder.errors import (
    BATCH_ERRORS,
    LRFinderError,
    LRFinderWarning,
    check_count,
    check_number,
    check_positive,
    first_batch_error,
)
from lrfinder.optimizers import Optimizer, get_optimizer
from lrfinder.parallel import JobRunner, JobsInterrupted
from lrfinder.progress import ProgressCallback, ProgressEvent, for_run
from lrfinder.results import RangeTestResult
from lrfinder.schedules import MAX_STEPS, LearningRateSearcher

# The divergence stop (the rule and its constants) lives in lrfinder.stopping, shared with
# the PyTorch and Keras loops; its names are kept here for code that imports them from here.
from lrfinder.stopping import (  # noqa: F401
    _TO_SIGMA,
    DEFAULT_STOP_FACTOR,
    LEVEL_WINDOW,
    NOISE_FULL,
    NOISE_LAG,
    NOISE_MIN,
    NOISE_QUANTILE,
    NOISE_SIGMAS,
    NOISE_WINDOW,
    STOP_WINDOW,
    DivergenceStop,
    check_stop_factor,
    nonfinite_reason,
)

#: The default schedule spans 1e-7..10 so it covers every optimizer's useful range
#: (Adam and RMSProp near 1e-3, SGD near 0.1, Adadelta near 1).
DEFAULT_START, DEFAULT_END, DEFAULT_NUM = names.DEFAULT_START, names.DEFAULT_END, names.DEFAULT_NUM

#: Rows of the fixed held-out subset used for the validation-loss curve.
DEFAULT_VAL_SIZE = 512

#: When the default schedule saw no learning (the loss never fell measurably),
#: the test is run again with this many times more steps over the same range:
#: small problems need more steps per rate before their loss moves at all.
EXTEND_FACTOR = 5

#: ... and, unless the caller gave val_data, reads a fixed subset of the training rows
#: (val_size of them) every this many steps: 100 points over the 1000-step test.
EXTEND_VAL_EVERY = 10

#: The reason recorded when a run reaches the end of its schedule.
COMPLETED = "completed the schedule"


class RangeTestInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`find_lr`. The model is already restored; ``result`` holds
    what was recorded up to then."""

    def __init__(self, result: RangeTestResult):
        super().__init__("range test interrupted")
        self.result = result


def default_schedule() -> LearningRateSearcher:
    """Exponential from 1e-7 to 10 in 200 steps."""
    return LearningRateSearcher.exponential(DEFAULT_START, DEFAULT_END, DEFAULT_NUM)


def find_lr(
    model,
    data,
    *,
    optimizer: str | Optimizer = "sgd",
    schedule: LearningRateSearcher | None = None,
    batch_size: int = 64,
    seed: int = 0,
    stop_factor: float = DEFAULT_STOP_FACTOR,
    repeats: int = 1,
    val_data=None,
    val_every: int = 10,
    val_size: int = DEFAULT_VAL_SIZE,
    extend: bool = True,
    per: str = "step",
    zoom: RangeTestResult | None = None,
    n_jobs: int | None = None,
    callback: ProgressCallback | None = None,
) -> RangeTestResult:
    """Run the learning-rate range test and return a frozen :class:`RangeTestResult`.

    Parameters
    ----------
    model : object
        Anything that follows the model protocol: a ``params`` dict of float arrays
        updated in place, and ``loss_and_grads(x, y) -> (loss, grads)``. See
        :mod:`lrfinder.network`.
    data : Dataset or (x, y)
        Training data: a :class:`~lrfinder.datasets.Dataset` or an ``(x, y)`` pair.
    optimizer : str or Optimizer
        A name from :data:`lrfinder.optimizers.OPTIMIZERS` or an instance. An instance
        keeps its current state during the test and gets it back afterwards.
    schedule : LearningRateSearcher, optional
        The learning rate of each step. Default: :func:`default_schedule`; see
        ``extend``.
    batch_size : int
        Mini-batch size.
    seed : int
        Seeds the batch order. Run ``r`` of a repeated test uses ``seed + r``.
    stop_factor : float
        Stop when the median of the last ``STOP_WINDOW`` losses exceeds its lowest
        value by this factor (for negative losses: rises by ``factor - 1`` times its
        magnitude), *and* rises above the lowest median of ``LEVEL_WINDOW``
        consecutive losses by more than ``NOISE_SIGMAS`` robust sigmas of its noise.
        The noise is read from the loss's step-to-step changes over the last
        ``NOISE_WINDOW`` steps (not the last ``NOISE_LAG``), and held while the first
        condition holds. So noisy losses (small batches) are not taken for a
        divergence, while a blow-up still stops the test within a few steps. There is
        no such stop in the first ``LEVEL_WINDOW`` steps; a non-finite loss always
        stops the test at once. Must be > 1.
    repeats : int
        Runs of the test. Runs after the first draw new initial weights with seed
        ``seed + r`` when the model has ``reinitialize(seed)`` (as
        :class:`~lrfinder.network.TwoLayerNet` does), and always a new batch order.
        ``result.losses`` is then the median over runs, in which a run that stopped
        (it diverged) counts as worse than any loss after its last step.
    val_data : Dataset or (x, y), optional
        Held-out data. When given, a fixed subset of ``val_size`` rows is scored every
        ``val_every`` steps, and the analysis reads that curve (Smith's advice).
    val_every, val_size : int
        Steps between validation evaluations; rows in the validation subset.
    extend : bool
        With the default schedule only: when the curve shows no learning (the
        loss never fell measurably), run the test again over the same range with
        ``EXTEND_FACTOR`` times more steps and return that run; its
        ``slow_learner`` is then True and its ``note`` says why, and the analysis
        reads the curve as a slow learner's (see
        :attr:`lrfinder.analysis.AnalysisConfig.slow_backoff_weight`). Without
        ``val_data``, the longer test also records the loss of a fixed subset of
        the training rows every ``EXTEND_VAL_EVERY`` steps, and the analysis reads
        that curve, which has no batch-to-batch noise.
    per : {"step", "epoch"}
        What a step of ``schedule`` is. ``"epoch"`` is the classic tutorial's unit: each
        rate of the schedule (a ``Looper``'s ``iterations``) counts whole epochs of
        ``len(data) // batch_size`` batches, and the loss is read once per epoch, after
        its last batch, on all the training rows (or on ``val_data`` when given), so
        the analysis reads a curve free of batch-to-batch noise. ``val_every`` and
        ``val_size`` are then set by the epoch; the default schedule is not extended.
    zoom : RangeTestResult, optional
        A first, coarse run to zoom into: the schedule is then
        :func:`zoom_schedule` of it, a fine linear sweep around its band (not with
        ``schedule``). Pass the same model: it is restored after each test, so the
        zoom starts from the same fresh weights.
    n_jobs : int, optional
        With ``repeats``: run them as joblib jobs, this many at once (-1: one per
        core; the backend of an enclosing :func:`joblib.parallel_config`, e.g. a Dask
        cluster, is used). Each job works on its own copy of the model and optimizer
        with one BLAS thread, so the result is the same bits for any ``n_jobs`` and
        backend. None (the default): the runs follow each other in this process, at
        the machine's BLAS threads.
    callback : callable, optional
        Called as ``callback(event)`` after every step, with a
        :class:`lrfinder.progress.ProgressEvent` (run, runs, step, steps, lr, loss);
        with ``n_jobs`` in worker processes, once per finished run.

    Returns
    -------
    RangeTestResult

    Raises
    ------
    LRFinderError
        For invalid settings or data.
    RangeTestInterrupted
        On Ctrl-C, carrying the partial result; the model is restored first.
    """
    if not hasattr(model, "params") or not callable(getattr(model, "loss_and_grads", None)):
        raise LRFinderError(
            "model must have a `params` dict of arrays and a `loss_and_grads(x, y)` method; "
            "see the model protocol in lrfinder.network"
        )
    opt = get_optimizer(optimizer)
    if zoom is not None:
        if schedule is not None:
            raise LRFinderError("give schedule or zoom, not both: zoom builds the schedule")
        if not isinstance(zoom, RangeTestResult):
            raise LRFinderError(f"zoom must be a RangeTestResult, got {type(zoom).__name__}")
        schedule = zoom_schedule(zoom)
    schedule, lrs, is_default = check_schedule(schedule)
    stop_factor = check_stop_factor(stop_factor)
    for name, value in (("repeats", repeats), ("val_every", val_every), ("val_size", val_size)):
        check_count(name, value)
    check_number("seed", seed, low=0, integer=True, hint="give 0, 1, 2, ...")
    # Checked once here: the extended test below and every repeat reuse these arrays.
    train = as_array_data(data, name="data")
    _check_labels_fit(model, train)
    if check_count("batch_size", batch_size) > len(train.x):
        warnings.warn(
            f"batch_size={batch_size} is larger than {train.name} ({_rows(len(train.x))}): "
            f"every step uses all of it; give a batch size below the number of rows",
            LRFinderWarning,
            stacklevel=2,
        )
    held_out = None if val_data is None else as_array_data(val_data, name="val_data", split="test")
    per = check_per(per)
    read_after = per == "epoch"
    if read_after:
        epoch = max(len(train.x) // batch_size, 1)  # the batches the sampler gives an epoch
        schedule, lrs = epoch_schedule(schedule, epoch)
        is_default = False  # the caller chose the unit: a longer test is theirs to ask for
        if held_out is None:
            held_out, val_size = train, len(train.x)
        val_every = epoch
    dtype = param_dtype(model)
    val = None if held_out is None else _validation_subset(held_out, val_size, seed, dtype)
    config = RangeTestConfig(
        lrs,
        repr(schedule),
        int(batch_size),
        int(seed),
        stop_factor,
        int(repeats),
        int(val_every),
        dtype,
        per,
    )

    model_backup = {key: np.array(value, copy=True) for key, value in model.params.items()}
    opt_backup = opt.state_dict()
    runs, reasons, val_runs = [], [], []
    try:
        if n_jobs is None:
            outcomes, interrupted = _runs_here(
                model, opt, train, config, val, callback, model_backup, opt_backup
            )
        else:
            outcomes, interrupted = _runs_as_jobs(
                model, opt, train, config, val, callback, model_backup, opt_backup, n_jobs
            )
        for record, reason, val_record in outcomes:
            runs.append(record)
            reasons.append(reason)
            val_runs.append(val_record)
    finally:  # after the last run, and after any error
        _restore(model, opt, model_backup, opt_backup)

    gain = check_positive(
        f"{type(opt).__name__}.cold_start_gain", opt.cold_start_gain, "a finite number > 0"
    )
    settings = config.settings(opt, model, train.name, gain, val)
    result = _assemble(
        lrs,
        runs,
        reasons,
        val_runs if val is not None else None,
        settings,
        config.val_every,
        gain,
        first_val_step=config.first_val_step,
    )
    if interrupted:
        raise RangeTestInterrupted(result)
    if should_extend(result, is_default, extend):
        # Per-batch noise can swamp a slow learner's fall: without held-out data of the
        # caller's, the longer test also reads a fixed subset of the training data (the
        # same rows each time, so no batch-to-batch noise), which the analysis then reads.
        longer_val, longer_every, fixed_rows = held_out, val_every, None
        if val_data is None:
            longer_val, longer_every = train, EXTEND_VAL_EVERY
            fixed_rows = min(val_size, len(train.x))
        return run_extended(
            lambda: find_lr(
                model,
                train,
                optimizer=opt,
                schedule=longer_schedule(),
                batch_size=batch_size,
                seed=seed,
                stop_factor=stop_factor,
                repeats=repeats,
                val_data=longer_val,
                val_every=longer_every,
                val_size=val_size,
                n_jobs=n_jobs,
                callback=callback,
            ),
            slow_note(result, fixed_rows),
        )
    return result


def check_schedule(schedule):
    """``(schedule, lrs, is_default)``: the default schedule when None, else a checked one."""
    is_default = schedule is None
    schedule = default_schedule() if is_default else schedule
    if not isinstance(schedule, LearningRateSearcher):
        raise LRFinderError(
            f"schedule must be a LearningRateSearcher, got {type(schedule).__name__}"
        )
    lrs = schedule.steps()
    if lrs.size == 0:
        raise LRFinderError("schedule has no steps; add a Looper segment")
    return schedule, lrs, is_default


def interrupted_reason(lrs, step: int) -> str:
    """The stop reason of a run ended by Ctrl-C at ``step`` (as the NumPy test words it)."""
    return f"interrupted at lr={lrs[step]:.4g} (step {step})"


#: What a step of a schedule can be: a training step, or an epoch of them.
PER = names.PER


def check_per(per) -> str:
    """``per`` if it is one of :data:`PER`; else a one-line error."""
    if per not in PER:
        raise LRFinderError(f"per must be one of {', '.join(map(repr, PER))}, got {per!r}")
    return per


def epoch_schedule(schedule: LearningRateSearcher, steps_per_epoch: int):
    """``(schedule, lrs)`` with each step of ``schedule`` held for ``steps_per_epoch`` steps."""
    steps = len(schedule) * steps_per_epoch  # checked before any array is made
    if steps > MAX_STEPS:
        raise LRFinderError(
            f"per='epoch' makes the {len(schedule)} epochs of the schedule "
            f"{steps:,} steps ({steps_per_epoch} per epoch), more than {MAX_STEPS:,}; "
            "use fewer iterations, a larger batch_size or per='step'"
        )
    longer = schedule.per_epoch(steps_per_epoch)
    return longer, longer.steps()


def zoom_schedule(result: RangeTestResult, num: int = DEFAULT_NUM) -> LearningRateSearcher:
    """A fine linear sweep around a first run's answer: the classic tutorial's second run.

    It runs ``num`` evenly spaced rates from the low edge of the first run's band up to
    the higher of the band's top and the rate of the lowest smoothed loss (the best
    rate can lie above a cautious suggestion), but not past where the first run
    diverged. Pass it to :func:`find_lr` with fresh weights (``zoom=result`` does).
    """
    chosen = result.analysis.suggestion
    if chosen.lr is None or chosen.band is None:
        raise LRFinderError(
            f"the run to zoom into has no suggestion ({chosen.reason}); run a wider test first"
        )
    low, high = chosen.band
    marks = chosen.landmarks
    if marks.minimum is not None:
        high = max(high, marks.minimum)
    if marks.divergence is not None and marks.divergence > low:
        high = min(high, marks.divergence)
    if not high > low:
        raise LRFinderError(
            f"the run's band ({low:.3g} - {high:.3g}) is too narrow to zoom into; "
            "use a --segments schedule of your own"
        )
    return LearningRateSearcher.linear(low, high, num)


def should_extend(result: RangeTestResult, is_default: bool, extend: bool) -> bool:
    """Whether the default test saw no learning, so that a longer one is run instead."""
    return is_default and extend and result.analysis.status in NO_LEARNING


def longer_schedule() -> LearningRateSearcher:
    """The slow learner's test: the default range, EXTEND_FACTOR times the steps."""
    return LearningRateSearcher.exponential(DEFAULT_START, DEFAULT_END, DEFAULT_NUM * EXTEND_FACTOR)


def slow_note(result: RangeTestResult, fixed_rows: int | None) -> str:
    """Why the test was extended; ``fixed_rows`` training rows are read every
    EXTEND_VAL_EVERY steps (None: the caller's validation data is read instead)."""
    note = (
        f"the default {DEFAULT_NUM}-step test saw no learning ({result.analysis.reason}); "
        f"this is a {DEFAULT_NUM * EXTEND_FACTOR}-step test over the same range"
    )
    if fixed_rows is not None:
        note += (
            f", reading the loss of a fixed subset of {fixed_rows} training rows every "
            f"{EXTEND_VAL_EVERY} steps instead of the noisy per-batch loss"
        )
    return note


def run_extended(run: Callable[[], RangeTestResult], note: str) -> RangeTestResult:
    """``run()`` (the longer test), marked as a slow learner's, also when interrupted."""

    def slow(longer: RangeTestResult) -> RangeTestResult:
        # settings["extended"]: the schema-1 key, still written for code that reads settings
        extended = {**longer.settings, "extended": note}
        return replace(longer, slow_learner=True, note=note, settings=extended)

    try:
        again = run()
    except RangeTestInterrupted as stop:  # the partial longer test is a slow learner's too
        raise RangeTestInterrupted(slow(stop.result)) from None
    return slow(again)


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


def _check_labels_fit(model, train: ArrayData) -> None:
    """Class labels must index the model's outputs (checked once, for a model with ``n_out``)."""
    n_out = getattr(model, "n_out", None)
    y = train.y
    if not isinstance(n_out, int) or y.dtype.kind not in "iu" or y.size == 0:
        return
    top = int(y.max())
    if top >= n_out:
        raise LRFinderError(
            f"model {type(model).__name__} has n_out={n_out} outputs, but the labels of "
            f"{train.name} go up to {top}; build it with n_out={top + 1} (for example "
            "TwoLayerNet.for_dataset(data))"
        )


def _first_batch_error(model, err: Exception, x, y) -> LRFinderError:
    name = type(model).__name__
    return first_batch_error(
        f"{name}.loss_and_grads(x, y)",
        err,
        f"a batch of x with shape {np.shape(x)} and y with shape {np.shape(y)}",
        f"check that {name} takes rows of this width (the data's features) and these "
        "labels (0..n_classes-1 for a classifier)",
    )


def _check_grads(model, params, grads) -> None:
    """At the first step: ``loss_and_grads`` must return one gradient per parameter, same keys."""
    name = type(model).__name__
    if not hasattr(grads, "keys"):
        raise LRFinderError(
            f"{name}.loss_and_grads must return (loss, grads) with grads a dict keyed like "
            f"model.params ({', '.join(map(repr, params))}), got {type(grads).__name__}"
        )
    missing, extra = set(params) - set(grads), set(grads) - set(params)
    if missing or extra:
        said = "; ".join(
            part
            for part in (
                f"missing {', '.join(map(repr, sorted(missing)))}" if missing else "",
                f"unknown {', '.join(map(repr, sorted(extra)))}" if extra else "",
            )
            if part
        )
        raise LRFinderError(
            f"{name}.loss_and_grads returned gradients whose keys do not match model.params "
            f"({said}); return one gradient per parameter, under the same keys "
            f"({', '.join(map(repr, params))})"
        )
    for key, value in params.items():
        if np.shape(grads[key]) != np.shape(value):
            raise LRFinderError(
                f"{name}.loss_and_grads returned a gradient of shape {np.shape(grads[key])} for "
                f"{key!r}, whose parameter has shape {np.shape(value)}; they must match"
            )


def _runs_here(model, opt, train, config, val, callback, model_backup, opt_backup):
    """The runs, one after another in this process, on the caller's model (restored after).

    Returns the runs' ``(losses, reason, validation losses)``, up to one that Ctrl-C
    stopped (it is the last), and whether Ctrl-C stopped them.
    """
    outcomes = []
    for run in range(config.repeats):
        if run > 0:
            _restore(model, opt, model_backup, opt_backup)
            if callable(getattr(model, "reinitialize", None)):
                model.reinitialize(config.seed + run)
        hook = for_run(callback, run, config.repeats, config.lrs.size)
        outcomes.append(_one_run(model, opt, train, config, run, val, hook))
        if outcomes[-1][1].startswith("interrupted"):
            return outcomes, True
    return outcomes, False


def _repeat_job(model, opt, train, config, run, val, model_backup, opt_backup, hook):
    """Run ``run`` of a repeated test as a job, on its own copy of the model and optimizer."""
    model, opt = copy.deepcopy(model), copy.deepcopy(opt)
    _restore(model, opt, model_backup, opt_backup)
    if run > 0 and callable(getattr(model, "reinitialize", None)):
        model.reinitialize(config.seed + run)
    return _one_run(model, opt, train, config, run, val, hook)


def _runs_as_jobs(model, opt, train, config, val, callback, model_backup, opt_backup, n_jobs):
    """The runs as joblib jobs (:mod:`lrfinder.parallel`): the same bits for any ``n_jobs``.

    Each job copies the model and optimizer, so the caller's are never touched. A
    callback hears every step when the jobs run in this process, else one event per
    finished run. Returns the outcomes in run order and whether Ctrl-C stopped them:
    then the runs that finished, and a partial one when it was run here.
    """
    from joblib import effective_n_jobs

    here = effective_n_jobs(n_jobs) == 1
    runs, lrs = config.repeats, config.lrs

    def tasks(runner: JobRunner) -> list[tuple]:
        # large rows go to local workers as a map that is gone when the runner closes
        rows, held_out = runner.share_rows(train), runner.share_rows(val)
        return [  # run here, a job's every step reaches the callback
            (model, opt, rows, config, run, held_out, model_backup, opt_backup)
            + (for_run(callback, run, runs, lrs.size) if here else None,)
            for run in range(runs)
        ]

    def finished(run: int, outcome) -> None:
        if callback is not None and not here:
            recorded = np.flatnonzero(np.isfinite(outcome[0]))
            last = int(recorded[-1]) if recorded.size else 0
            loss = float(outcome[0][last]) if recorded.size else math.nan
            callback(ProgressEvent(run, runs, last, lrs.size, float(lrs[last]), loss))
        if outcome[1].startswith("interrupted"):  # Ctrl-C inside a job run here
            raise KeyboardInterrupt

    try:
        with JobRunner(n_jobs) as runner:
            return runner.run(_repeat_job, tasks(runner), on_result=finished), False
    except JobsInterrupted as stop:
        done = [o for o in stop.results if o is not None and not o[1].startswith("interrupted")]
        stopped = [o for o in stop.results if o is not None and o[1].startswith("interrupted")]
        if not done and not stopped:
            raise KeyboardInterrupt from None  # nothing to keep
        return done + stopped[:1], True


def _restore(model, opt: Optimizer, model_backup: dict, opt_backup: dict) -> None:
    for key, value in model.params.items():
        value[...] = model_backup[key]
    opt.load_state_dict(opt_backup)


def _validation_subset(val_data, val_size: int, seed: int, dtype) -> ArrayData:
    """A fixed, seeded subset of the held-out data, scaled to the model's dtype once."""
    held_out = as_array_data(val_data, name="val_data", split="test")
    n = len(held_out.x)
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(n, size=min(val_size, n), replace=False))
    x = held_out.x[idx].astype(dtype) * dtype.type(held_out.x_scale)
    return ArrayData(x, held_out.y[idx], 1.0, held_out.name)


def _validation_loss(model, val: ArrayData) -> float:
    if callable(getattr(model, "evaluate", None)):
        return float(model.evaluate(val.x, val.y)[0])
    return float(model.loss_and_grads(val.x, val.y)[0])


@dataclass(frozen=True)
class RangeTestConfig:
    """The checked settings of one range test, shared by its runs (run ``r`` uses seed + r).

    ``find_lr`` builds it once its arguments are checked; :meth:`settings` is what
    the result records (``RangeTestResult.settings``, and the JSON).
    """

    lrs: np.ndarray
    schedule: str
    batch_size: int
    seed: int
    stop_factor: float
    repeats: int
    val_every: int
    dtype: np.dtype
    #: "step", or "epoch": the loss is then read after the last step of each epoch
    #: (steps val_every - 1, 2 * val_every - 1, ...) instead of before steps 0,
    #: val_every, ...
    per: str = "step"

    @property
    def first_val_step(self) -> int:
        return self.val_every - 1 if self.per == "epoch" else 0

    def settings(self, opt: Optimizer, model, data_name: str, gain: float, val) -> dict:
        """The result's settings: these, the optimizer, the model and the data."""
        return {
            "optimizer": opt.name,
            "optimizer_hyperparameters": dict(opt.hyperparameters),
            # the schema-1 key (the analyser reads result.cold_start_gain), still written
            "cold_start_gain": gain,
            # read by the analyser (lrfinder.analysis reads settings["momentum_lag"])
            "momentum_lag": opt.momentum_lag,
            "schedule": self.schedule,
            "planned_steps": int(self.lrs.size),
            "batch_size": self.batch_size,
            "seed": self.seed,
            "repeats": self.repeats,
            "stop_factor": self.stop_factor,
            "model": repr(model),
            "data": data_name,
            "val_every": int(self.val_every) if val is not None else None,
            "val_size": int(len(val.x)) if val is not None else None,
            "per": self.per,
        }


def _one_run(model, opt, train, config: RangeTestConfig, run: int, val, callback):
    """Train through the schedule once; return (losses, stop reason, validation losses)."""
    lrs, stop_factor, val_every = config.lrs, config.stop_factor, config.val_every
    rng = np.random.default_rng(config.seed + run)
    sampler = BatchSampler(train, config.batch_size, rng, config.dtype)
    losses = np.full(lrs.size, np.nan)
    first = config.first_val_step
    read_before = val is not None and config.per == "step"
    read_after = val is not None and config.per == "epoch"
    val_losses = (
        np.full(len(range(first, lrs.size, val_every)), np.nan) if val is not None else None
    )
    stop = DivergenceStop(stop_factor)  # the stop rule, see lrfinder.stopping
    reason = COMPLETED
    params = model.params
    step = 0
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for step in range(lrs.size):
                lr = float(lrs[step])
                xb, yb = sampler.next()
                try:
                    loss, grads = model.loss_and_grads(xb, yb)
                except BATCH_ERRORS as err:
                    if step > 0 or isinstance(err, LRFinderError):  # a genuine failure
                        raise
                    raise _first_batch_error(model, err, xb, yb) from err
                loss = float(loss)
                if not math.isfinite(loss):
                    reason = nonfinite_reason(loss, lr=lr, step=step)
                    break
                losses[step] = loss
                if read_before and step % val_every == 0:
                    val_losses[step // val_every] = _validation_loss(model, val)
                if step == 0:
                    _check_grads(model, params, grads)
                opt.step(params, grads, lr)
                if read_after and (step + 1) % val_every == 0:  # the end of an epoch
                    val_losses[step // val_every] = _validation_loss(model, val)
                if callback is not None:
                    callback(step, lr, loss)
                stopped = stop.update(loss, lr=lr, step=step)
                if stopped is not None:
                    reason = stopped
                    break
    except KeyboardInterrupt:
        reason = interrupted_reason(lrs, step)
    return losses, reason, val_losses


def _assemble(
    lrs, runs, reasons, val_runs, settings, val_every, cold_start_gain, first_val_step=0
) -> RangeTestResult:
    """The frozen result of the runs; ``cold_start_gain`` is the optimizer's.

    Validation losses were read at steps ``first_val_step``, ``+ val_every``, ...
    """
    run_losses = np.vstack(runs)
    recorded = np.nonzero(np.any(np.isfinite(run_losses), axis=0))[0]
    n = int(recorded[-1]) + 1 if recorded.size else 0
    run_losses = run_losses[:, :n]
    losses = median_over_runs(run_losses)
    val_steps = val_losses = None
    if val_runs is not None:
        all_steps = np.arange(first_val_step, lrs.size, val_every)
        keep = all_steps < n
        val_steps = all_steps[keep]
        val_losses = np.vstack(val_runs)[:, keep]
    return RangeTestResult(
        lrs=lrs[:n].copy(),
        losses=losses,
        run_losses=run_losses,
        stop_reason=reasons[0],
        stop_reasons=tuple(reasons),
        settings=settings,
        val_steps=val_steps,
        val_losses=val_losses,
        cold_start_gain=cold_start_gain,
    )
