"""The learning-rate range test on a PyTorch model.

::

    import lrfinder.torch

    result = lrfinder.torch.find_lr(model, loader, optimizer, criterion)
    result.suggestion, result.analysis.reason
    result.plot(path="lr.png"); result.to_json("run.json")

:func:`find_lr` trains the caller's own model with the caller's own optimizer while
the learning rate rises as lrfinder's schedule says, records every raw loss, stops
with lrfinder's divergence rule (:class:`lrfinder.stopping.DivergenceStop`), and
returns the same :class:`~lrfinder.results.RangeTestResult` as
:func:`lrfinder.find_lr`: the analyser, the plots, ``to_json`` and the ``lrfinder``
command read it unchanged. Afterwards (and after Ctrl-C) the model's and the
optimizer's ``state_dict``, the gradients, the train/eval flags and torch's random
state are exactly as before.

:func:`verify` confirms a suggestion with short runs of fresh torch models
(:func:`lrfinder.verify` through the :class:`TorchModel` and :class:`TorchOptimizer`
adapters).

PyTorch is an optional extra: ``pip install "lrfinder[torch]"``. ``import lrfinder``
never imports it; ``import lrfinder.torch`` does.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np

try:
    import torch
except ImportError as err:  # pragma: no cover - the message is the point
    raise ImportError(
        "lrfinder.torch needs PyTorch; install it with: pip install 'lrfinder[torch]'"
    ) from err

from lrfinder import _frameworks
from lrfinder.batches import ArrayData, as_array_data
from lrfinder.errors import (
    BATCH_ERRORS,
    LRFinderError,
    check_count,
    first_batch_error,
    first_line,
)
from lrfinder.optimizers import Optimizer, RMSProp, lag_from_hyperparameters
from lrfinder.progress import ProgressCallback, for_run
from lrfinder.rangetest import (
    COMPLETED,
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

#: Rows of the fixed subset of training batches a slow learner's longer test reads
#: (as :data:`lrfinder.rangetest.DEFAULT_VAL_SIZE`): whole batches, at least this many rows.
FIXED_ROWS = 512

BatchFn = Callable[[Any], tuple[Any, Any]]


# --------------------------------------------------------------------------- batches


def default_batch_fn(batch) -> tuple[Any, Any]:
    """``(inputs, targets)`` of a batch that is an ``(inputs, targets, ...)`` tuple or list."""
    if isinstance(batch, tuple | list) and len(batch) >= 2:
        return batch[0], batch[1]
    if isinstance(batch, dict):
        keys = list(batch)
        a, b = (keys + ["inputs", "targets"])[:2]
        raise LRFinderError(
            f"the loader's batches are dicts with keys {keys}; say which are the inputs and "
            f"the targets with batch_fn=lambda batch: (batch[{a!r}], batch[{b!r}])"
        )
    raise LRFinderError(
        f"the loader's batches are {type(batch).__name__}, not (inputs, targets) pairs; "
        "pass batch_fn=lambda batch: (inputs, targets)"
    )


def _to(obj, device: torch.device):
    """``obj`` (a tensor, or a tuple, list or dict of them) on ``device``."""
    if isinstance(obj, torch.Tensor):
        return obj if obj.device == device else obj.to(device, non_blocking=True)
    if isinstance(obj, tuple | list):
        return type(obj)(_to(o, device) for o in obj)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    return obj


class _Batches:
    """Endless ``(inputs, targets)`` on ``device``; the loader is iterated again when it
    runs out (a new epoch, with a new shuffle if it shuffles)."""

    def __init__(self, loader: Iterable, batch_fn: BatchFn, device: torch.device):
        self.loader, self.batch_fn, self.device = loader, batch_fn, device
        self._it = iter(loader)

    def next(self):
        try:
            batch = next(self._it)
        except StopIteration:
            self._it = iter(self.loader)
            try:
                batch = next(self._it)
            except StopIteration:
                raise LRFinderError(
                    "loader yields no batches; give a loader with at least one batch"
                ) from None
        inputs, targets = self.batch_fn(batch)
        return _to(inputs, self.device), _to(targets, self.device)


def _rows(targets) -> int:
    return int(targets.shape[0]) if hasattr(targets, "shape") else len(targets)


def _mean_loss(model, criterion, batches: Iterable, batch_fn, device, autocast) -> float:
    """The row-weighted mean loss over ``batches``, in eval mode, without gradients."""
    total, rows = 0.0, 0
    was_training = [m.training for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            for batch in batches:
                inputs, targets = batch_fn(batch)
                inputs, targets = _to(inputs, device), _to(targets, device)
                with autocast():
                    loss = float(criterion(model(inputs), targets))
                n = _rows(targets)
                total, rows = total + loss * n, rows + n
    finally:
        for module, flag in zip(model.modules(), was_training, strict=True):
            module.training = flag
    if rows == 0:
        raise LRFinderError("val_loader yields no batches; give one with at least one batch")
    return total / rows


# --------------------------------------------------------------------------- restore


class _Snapshot:
    """Everything a range test changes, copied so that it can be put back bitwise."""

    def __init__(self, model, optimizer, grad_scaler) -> None:
        self.model_state = copy.deepcopy(model.state_dict())
        self.optimizer_state = copy.deepcopy(optimizer.state_dict())
        self.grads = [None if p.grad is None else p.grad.detach().clone() for p in _params(model)]
        self.training = [m.training for m in model.modules()]
        self.scaler_state = None if grad_scaler is None else copy.deepcopy(grad_scaler.state_dict())
        self.cpu_rng = torch.get_rng_state()
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        self.cuda_rng = torch.cuda.get_rng_state_all() if cuda else None

    def restore(self, model, optimizer, grad_scaler) -> None:
        with torch.no_grad():
            model.load_state_dict(self.model_state)  # copies into the same tensors
        # a deep copy each time: load_state_dict keeps the tensors it is given, and the
        # next run updates them in place
        optimizer.load_state_dict(copy.deepcopy(self.optimizer_state))
        for p, grad in zip(_params(model), self.grads, strict=True):
            p.grad = None if grad is None else grad.clone()
        for module, flag in zip(model.modules(), self.training, strict=True):
            module.training = flag
        if grad_scaler is not None:
            grad_scaler.load_state_dict(copy.deepcopy(self.scaler_state))
        torch.set_rng_state(self.cpu_rng)
        if self.cuda_rng is not None:
            torch.cuda.set_rng_state_all(self.cuda_rng)


def _params(model) -> list:
    return list(model.parameters())


# --------------------------------------------------------------------------- optimizers


class _GroupRates:
    """Sets every param group's rate, keeping each group's ratio to the first group's
    initial rate (discriminative rates survive; the schedule is the first group's)."""

    def __init__(self, optimizer) -> None:
        rates = [float(group["lr"]) for group in optimizer.param_groups]
        if not all(math.isfinite(r) and r > 0 for r in rates):
            raise LRFinderError(
                f"every param group of the optimizer needs a learning rate > 0 (their ratios "
                f"are kept during the test), got {rates}; build it with lr=1e-3, say"
            )
        self.ratios = [r / rates[0] for r in rates]
        self.groups = optimizer.param_groups

    def set(self, lr: float) -> None:
        for group, ratio in zip(self.groups, self.ratios, strict=True):
            if isinstance(group["lr"], torch.Tensor):  # a tensor lr (capturable, fused)
                group["lr"].fill_(lr * ratio)
            else:
                group["lr"] = lr * ratio


def _cold_start_rmsprop(optimizer) -> float:
    # torch's RMSprop keeps v = alpha v + (1 - alpha) g^2 from zero, without bias
    # correction: lrfinder's RMSProp rule with rho = alpha.
    return RMSProp(rho=optimizer.defaults["alpha"]).cold_start_gain


#: How much larger than its settled steps an optimizer's first steps from fresh state
#: are (see :attr:`lrfinder.optimizers.Optimizer.cold_start_gain`); 1 for the others.
COLD_START_GAINS: dict[type, Callable[[Any], float]] = {
    torch.optim.RMSprop: _cold_start_rmsprop,
}


def cold_start_gain(optimizer) -> float:
    """The cold-start gain of a torch optimizer: ``1 / sqrt(1 - alpha)`` for RMSprop, else 1."""
    for cls, gain in COLD_START_GAINS.items():
        if isinstance(optimizer, cls):
            return float(gain(optimizer))
    return 1.0


def momentum_lag(optimizer) -> float:
    """How many steps late the loss answers the rate under a torch optimizer.

    The mean age of the gradients in its moving average (see
    :attr:`lrfinder.optimizers.Optimizer.momentum_lag`): ``betas[0]`` for the Adam
    family, ``momentum`` for SGD (Nesterov's one factor more) and RMSprop, 0 for
    the others. Read from the optimizer's defaults.
    """
    return lag_from_hyperparameters(optimizer.defaults)


def _qualified(optimizer) -> str:
    cls = type(optimizer)
    module = "torch.optim" if cls.__module__.startswith("torch.optim") else cls.__module__
    return f"{module}.{cls.__qualname__}"


def _rebuild_optimizer(optimizer, model):
    """A new optimizer of ``optimizer``'s class and defaults on ``model``'s parameters."""
    if len(optimizer.param_groups) > 1:
        raise LRFinderError(
            "the optimizer has several param groups, which a fresh model's optimizer cannot "
            "be rebuilt from; pass optimizer_factory=lambda model: <a new optimizer>"
        )
    return type(optimizer)(model.parameters(), **optimizer.defaults)


# --------------------------------------------------------------------------- the test


def _check_model_and_optimizer(model, optimizer) -> None:
    if not isinstance(model, torch.nn.Module):
        raise LRFinderError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise LRFinderError(
            f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}; "
            "build it as torch.optim.Adam(model.parameters(), lr=1e-3)"
        )
    own = {id(p) for p in model.parameters()}
    held = [p for group in optimizer.param_groups for p in group["params"]]
    if not held or any(id(p) not in own for p in held):
        raise LRFinderError(
            "the optimizer does not update this model's parameters; build it from them, "
            "e.g. torch.optim.Adam(model.parameters())"
        )


def _check_device(device) -> torch.device:
    """``device`` as a :class:`torch.device` this torch can train on."""
    try:
        out = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise LRFinderError(
            f"device={device!r} is not a torch device; give 'cpu', 'cuda' or 'cuda:1', say"
        ) from None
    if out.type == "cuda" and not torch.cuda.is_available():
        raise LRFinderError(
            f"device={device!r}, but this torch sees no CUDA device; leave device unset to "
            "train where the model is, or give device='cpu'"
        )
    return out


def _device_of(model) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _autocast_of(autocast) -> Callable[[], AbstractContextManager]:
    if autocast is None:
        return nullcontext
    if not callable(autocast):
        raise LRFinderError(
            "autocast must be a callable that returns a context manager, e.g. "
            "autocast=lambda: torch.autocast('cuda', dtype=torch.float16)"
        )
    return autocast


def _one_run(
    model,
    optimizer,
    criterion,
    batches: _Batches,
    lrs: np.ndarray,
    accumulation_steps: int,
    stop_factor: float,
    grad_scaler,
    autocast,
    val: Sequence | None,
    val_every: int,
    batch_fn,
    callback,
):
    """Train through ``lrs`` once; return (losses, stop reason, validation losses)."""
    rates = _GroupRates(optimizer)
    stop = DivergenceStop(stop_factor)
    losses = np.full(lrs.size, np.nan)
    val_losses = np.full(len(range(0, lrs.size, val_every)), np.nan) if val is not None else None
    reason = COMPLETED
    step = 0
    model.train()
    try:
        for step in range(lrs.size):
            lr = float(lrs[step])
            rates.set(lr)
            optimizer.zero_grad(set_to_none=True)
            total = 0.0
            for _ in range(accumulation_steps):
                inputs, targets = batches.next()
                try:
                    with autocast():
                        loss = criterion(model(inputs), targets)
                    part = loss / accumulation_steps if accumulation_steps > 1 else loss
                    (part if grad_scaler is None else grad_scaler.scale(part)).backward()
                except BATCH_ERRORS as err:
                    if step > 0 or isinstance(err, LRFinderError):  # a genuine failure
                        raise
                    raise _first_batch_error(err, inputs, targets) from err
                total += loss.item()
            loss = total / accumulation_steps if accumulation_steps > 1 else total
            if not math.isfinite(loss):
                reason = nonfinite_reason(loss, lr=lr, step=step)
                break
            losses[step] = loss
            if val is not None and step % val_every == 0:
                val_losses[step // val_every] = _mean_loss(
                    model, criterion, val, batch_fn, batches.device, autocast
                )
            if grad_scaler is None:
                optimizer.step()
            else:
                grad_scaler.step(optimizer)
                grad_scaler.update()
            if callback is not None:
                callback(step, lr, loss)
            stopped = stop.update(loss, lr=lr, step=step)
            if stopped is not None:
                reason = stopped
                break
    except KeyboardInterrupt:
        reason = _frameworks.interrupted_reason(lrs, step)
    return losses, reason, val_losses


def _described(obj) -> str:
    if isinstance(obj, torch.Tensor):
        dtype = str(obj.dtype).removeprefix("torch.")
        return f"a tensor of shape {tuple(obj.shape)} and dtype {dtype}"
    return f"a {type(obj).__name__}"


def _first_batch_error(err: Exception, inputs, targets) -> LRFinderError:
    return first_batch_error(
        "criterion(model(inputs), targets).backward()",
        err,
        f"inputs: {_described(inputs)}, targets: {_described(targets)}",
        "check that the loader yields (inputs, targets) that the model and criterion take, "
        "or pass batch_fn= to pick them out of each batch",
    )


def _fixed_batches(loader: Iterable, batch_fn, rows: int) -> tuple[list, int]:
    """The first whole batches of one pass of ``loader`` holding at least ``rows`` rows
    (raw, before ``batch_fn``) and their row count; torch's random state is put back."""
    state = torch.get_rng_state()
    batches, seen = [], 0
    try:
        for batch in loader:
            batches.append(batch)
            seen += _rows(batch_fn(batch)[1])
            if seen >= rows:
                break
    finally:
        torch.set_rng_state(state)
    return batches, seen


def find_lr(
    model,
    loader: Iterable,
    optimizer,
    criterion: Callable,
    *,
    schedule: LearningRateSearcher | None = None,
    device=None,
    accumulation_steps: int = 1,
    val_loader: Iterable | None = None,
    val_every: int = 10,
    repeats: int = 1,
    seed: int | None = 0,
    model_factory: Callable[[int], Any] | None = None,
    optimizer_factory: Callable[[Any], Any] | None = None,
    stop_factor: float = DEFAULT_STOP_FACTOR,
    extend: bool = True,
    grad_scaler=None,
    autocast: Callable[[], AbstractContextManager] | None = None,
    batch_fn: BatchFn | None = None,
    callback: ProgressCallback | None = None,
) -> RangeTestResult:
    """Run the learning-rate range test on a torch model; return a :class:`RangeTestResult`.

    Each step sets the learning rate, runs ``accumulation_steps`` batches forward and
    backward, records their mean loss and takes one optimizer step. The rates, the
    stop rule, the stop reasons, the slow-learner extension and the result are those
    of :func:`lrfinder.find_lr`.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in train mode; put back exactly afterwards.
    loader : iterable
        Batches, e.g. a :class:`torch.utils.data.DataLoader`; iterated again when it
        runs out. Each batch is ``(inputs, targets, ...)``, or anything ``batch_fn``
        turns into ``(inputs, targets)``.
    optimizer : torch.optim.Optimizer
        Built on ``model``'s parameters. Its state is used as it is and put back
        afterwards. Each param group's learning rate is set every step, keeping its
        ratio to the first group's initial rate; the schedule (and so the suggestion)
        is the first group's.
    criterion : callable
        ``criterion(model(inputs), targets)`` is the mean loss of a batch, a scalar tensor.
    schedule : LearningRateSearcher, optional
        Default: :func:`lrfinder.rangetest.default_schedule` (1e-7 to 10 in 200 steps),
        extended as in :func:`lrfinder.find_lr` when it sees no learning (``extend``).
    device : str or torch.device, optional
        Where to train. Default: the model's device. Another device moves the model
        (and the optimizer's state) there for the test and back afterwards.
    accumulation_steps : int
        Batches per optimizer step; the loss recorded is their mean.
    val_loader : iterable, optional
        Held-out batches: every ``val_every`` steps the mean loss over all of them is
        recorded, and the analysis reads that curve.
    val_every : int
        Steps between validation losses.
    repeats : int
        Runs of the test; ``result.losses`` is then the median over runs (see
        :func:`lrfinder.analysis.median_over_runs`). Run ``r`` is seeded with
        ``seed + r``. With ``model_factory`` the runs after the first train fresh
        models ``model_factory(seed + r)`` (with ``optimizer_factory(new_model)``);
        without it, each run starts from the given model's weights.
    seed : int or None
        ``torch.manual_seed(seed + r)`` before run ``r``, so a DataLoader that
        shuffles with torch's default generator (and dropout) is reproducible; the
        random state is put back afterwards. None leaves torch's random state alone.
    model_factory : callable, optional
        ``model_factory(seed) -> torch.nn.Module``: a fresh model, for repeats.
    optimizer_factory : callable, optional
        ``optimizer_factory(model) -> torch.optim.Optimizer`` for a fresh model.
        Default: ``optimizer``'s class with its ``defaults`` (one param group only).
    stop_factor : float
        The stop-factor line of :class:`lrfinder.stopping.DivergenceStop`; > 1.
    extend : bool
        With the default schedule only: when the curve shows no learning, run the
        test again with 5x the steps, reading a fixed subset of training batches
        (at least :data:`FIXED_ROWS` rows) every 10 steps unless ``val_loader`` is
        given; the result's ``slow_learner`` is then True.
    grad_scaler : torch.amp.GradScaler, optional
        For mixed precision: losses are scaled before ``backward`` and the step is
        ``grad_scaler.step(optimizer)`` then ``update()``. Its state is put back too.
    autocast : callable, optional
        ``autocast()`` returns the context the forward pass and loss run in, e.g.
        ``lambda: torch.autocast("cuda", dtype=torch.float16)``.
    batch_fn : callable, optional
        ``batch_fn(batch) -> (inputs, targets)``, e.g. for dict batches.
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
        On Ctrl-C, carrying the partial result; everything is restored first.
    """
    _check_model_and_optimizer(model, optimizer)
    if not callable(criterion):
        raise LRFinderError(f"criterion must be callable, got {type(criterion).__name__}")
    if not isinstance(loader, Iterable):
        raise LRFinderError(
            f"loader must be an iterable of batches (a DataLoader), got {type(loader).__name__}"
        )
    if val_loader is not None and not isinstance(val_loader, Iterable):
        raise LRFinderError(
            f"val_loader must be an iterable of batches, got {type(val_loader).__name__}"
        )
    schedule, lrs, is_default = _frameworks.check_schedule(schedule)
    stop_factor = check_stop_factor(stop_factor)
    for name, value in (
        ("accumulation_steps", accumulation_steps),
        ("repeats", repeats),
        ("val_every", val_every),
    ):
        check_count(name, value)
    if seed is not None:
        seed = check_count("seed", seed, 0)
    for name, value in (("model_factory", model_factory), ("optimizer_factory", optimizer_factory)):
        if value is not None and not callable(value):
            raise LRFinderError(f"{name} must be callable, got {type(value).__name__}")
    if batch_fn is not None and not callable(batch_fn):
        raise LRFinderError(f"batch_fn must be callable, got {type(batch_fn).__name__}")
    batch_fn = default_batch_fn if batch_fn is None else batch_fn
    autocast = _autocast_of(autocast)
    gain = cold_start_gain(optimizer)
    _GroupRates(optimizer)  # check the rates before anything trains
    home = _device_of(model)
    device = home if device is None else _check_device(device)

    snapshot = _Snapshot(model, optimizer, grad_scaler)
    runs, reasons, val_runs = [], [], []
    interrupted = False
    try:
        if device != home:
            model.to(device)
            optimizer.load_state_dict(copy.deepcopy(snapshot.optimizer_state))  # its state too
        for run in range(repeats):
            run_model, run_optimizer = model, optimizer
            if run > 0:
                _restore_on(snapshot, model, optimizer, grad_scaler, device, home)
                if model_factory is not None:
                    run_model, run_optimizer = _fresh(
                        model_factory, optimizer_factory, optimizer, (seed or 0) + run, device
                    )
            if seed is not None:
                torch.manual_seed(seed + run)
            record, reason, val_record = _one_run(
                run_model,
                run_optimizer,
                criterion,
                _Batches(loader, batch_fn, device),
                lrs,
                accumulation_steps,
                stop_factor,
                grad_scaler,
                autocast,
                val_loader,
                val_every,
                batch_fn,
                for_run(callback, run, repeats, lrs.size),
            )
            runs.append(record)
            reasons.append(reason)
            val_runs.append(val_record)
            if reason.startswith("interrupted"):
                interrupted = True
                break
    finally:  # after the last run, and after any error
        if device != home:
            model.to(home)
        snapshot.restore(model, optimizer, grad_scaler)

    n_params = sum(p.numel() for p in model.parameters())
    settings = {
        "framework": "torch",
        "torch_version": torch.__version__,
        "optimizer": _qualified(optimizer),
        "optimizer_hyperparameters": _frameworks.plain(optimizer.defaults, skip=("lr",)),
        "momentum_lag": momentum_lag(optimizer),
        "param_group_lr_ratios": _GroupRates(optimizer).ratios,
        "schedule": repr(schedule),
        "planned_steps": int(lrs.size),
        "batch_size": getattr(loader, "batch_size", None),
        "accumulation_steps": int(accumulation_steps),
        "seed": seed,
        "repeats": int(repeats),
        "fresh_models": model_factory is not None,
        "stop_factor": stop_factor,
        "model": f"{type(model).__name__} ({n_params:,} parameters)",
        "loader": type(loader).__name__,
        "device": str(device),
        "mixed_precision": grad_scaler is not None or autocast is not nullcontext,
        "val_every": int(val_every) if val_loader is not None else None,
    }
    result = _assemble(
        lrs,
        runs,
        reasons,
        val_runs if val_loader is not None else None,
        settings,
        val_every,
        gain,
    )
    if interrupted:
        raise RangeTestInterrupted(result)
    if not _frameworks.should_extend(result, is_default, extend):
        return result
    longer_val, longer_every, fixed_rows = val_loader, val_every, None
    if val_loader is None:
        longer_val, fixed_rows = _fixed_batches(loader, batch_fn, FIXED_ROWS)
        longer_every = EXTEND_VAL_EVERY
    note = _frameworks.slow_note(result, fixed_rows)
    return _frameworks.run_extended(
        lambda: find_lr(
            model,
            loader,
            optimizer,
            criterion,
            schedule=_frameworks.longer_schedule(),
            device=device,
            accumulation_steps=accumulation_steps,
            val_loader=longer_val,
            val_every=longer_every,
            repeats=repeats,
            seed=seed,
            model_factory=model_factory,
            optimizer_factory=optimizer_factory,
            stop_factor=stop_factor,
            grad_scaler=grad_scaler,
            autocast=None if autocast is nullcontext else autocast,
            batch_fn=batch_fn,
            callback=callback,
        ),
        note,
    )


def _fresh(model_factory, optimizer_factory, optimizer, seed: int, device):
    """A fresh model ``model_factory(seed)`` on ``device`` and its optimizer."""
    model = model_factory(seed)
    if not isinstance(model, torch.nn.Module):
        raise LRFinderError(
            f"model_factory(seed) must return a torch.nn.Module, got {type(model).__name__}"
        )
    model.to(device)
    if optimizer_factory is None:
        fresh = _rebuild_optimizer(optimizer, model)
    else:
        fresh = optimizer_factory(model)
    try:
        _check_model_and_optimizer(model, fresh)
    except LRFinderError as err:
        raise LRFinderError(f"optimizer_factory(model): {err}") from None
    return model, fresh


def _restore_on(snapshot: _Snapshot, model, optimizer, grad_scaler, device, home) -> None:
    """Put everything back, then (when the test runs elsewhere) move it to ``device``."""
    if device != home:
        model.to(home)
    snapshot.restore(model, optimizer, grad_scaler)
    if device != home:
        model.to(device)
        optimizer.load_state_dict(copy.deepcopy(snapshot.optimizer_state))


# --------------------------------------------------------------------------- verify


class _ParamViews(dict):
    """Name -> NumPy view of a CPU parameter (writes go into the tensor), and the module."""

    module: Any = None


class TorchModel:
    """A torch module and its loss as an lrfinder protocol model (see :mod:`lrfinder.network`).

    ``params`` are NumPy views of the module's (CPU) parameters, so writing into them
    writes the weights; ``loss_and_grads(x, y)`` runs forward and backward and returns
    the loss and NumPy views of the gradients. Pair it with :class:`TorchOptimizer`:
    the torch optimizer then takes the steps. This is what lets :func:`lrfinder.verify`
    probe torch models; training stays in torch.

    Parameters
    ----------
    module : torch.nn.Module
        On the CPU, float parameters.
    criterion : callable
        ``criterion(module(x), y)`` is the mean batch loss.
    input_shape : tuple of int, optional
        The shape of one input; rows of the 2-D arrays are reshaped to it (a CNN on
        flattened images: ``(1, 8, 8)``).
    """

    def __init__(self, module, criterion: Callable, input_shape: Sequence[int] | None = None):
        if not isinstance(module, torch.nn.Module):
            raise LRFinderError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if _device_of(module).type != "cpu":
            raise LRFinderError(
                f"TorchModel needs a model on the CPU, got one on {_device_of(module)}; "
                "verify's probes run on the CPU"
            )
        self.module, self.criterion = module, criterion
        self.input_shape = None if input_shape is None else tuple(int(n) for n in input_shape)
        self._views: _ParamViews | None = None

    @property
    def params(self) -> _ParamViews:
        if self._views is None:
            views = _ParamViews(
                (name, p.detach().numpy()) for name, p in self.module.named_parameters()
            )
            views.module = self.module
            self._views = views
        return self._views

    def _inputs(self, x) -> torch.Tensor:
        xb = torch.from_numpy(np.ascontiguousarray(x))
        return xb if self.input_shape is None else xb.reshape(-1, *self.input_shape)

    @staticmethod
    def _targets(y) -> torch.Tensor:
        y = np.asarray(y)
        return torch.from_numpy(y.astype(np.int64) if y.dtype.kind in "iub" else y)

    def loss_and_grads(self, x, y):
        module = self.module
        module.train()
        for p in module.parameters():
            p.grad = None
        loss = self.criterion(module(self._inputs(x)), self._targets(y))
        loss.backward()
        grads = {
            name: (np.zeros_like(view) if p.grad is None else p.grad.numpy())
            for (name, p), view in zip(module.named_parameters(), self.params.values(), strict=True)
        }
        return loss.item(), grads

    def evaluate(self, x, y) -> tuple[float, float | None]:
        """Held-out (loss, accuracy); accuracy None unless the outputs are class scores."""
        module = self.module
        was_training = [m.training for m in module.modules()]
        module.eval()
        try:
            with torch.no_grad():
                targets = self._targets(y)
                out = module(self._inputs(x))
                loss = float(self.criterion(out, targets))
        finally:
            for m, flag in zip(module.modules(), was_training, strict=True):
                m.training = flag
        accuracy = None
        if out.ndim == 2 and targets.ndim == 1 and not targets.is_floating_point():
            accuracy = float((out.argmax(dim=1) == targets).double().mean())
        return loss, accuracy

    def __getstate__(self):
        return {**self.__dict__, "_views": None}  # views are rebuilt on the copy's tensors

    def __repr__(self) -> str:
        n = sum(p.numel() for p in self.module.parameters())
        return f"TorchModel({type(self.module).__name__}, {n:,} parameters)"


class TorchOptimizer(Optimizer):
    """A torch optimizer behind lrfinder's :class:`~lrfinder.optimizers.Optimizer` protocol.

    ``factory(module)`` builds it, on the first :meth:`step`, for the module of the
    :class:`TorchModel` whose ``params`` it is given; each step sets the learning rate
    of every param group (keeping their ratios, as :func:`find_lr` does) and calls the
    torch optimizer's ``step()`` on the gradients ``loss_and_grads`` left. Its state
    is the torch optimizer's ``state_dict``.
    """

    def __init__(
        self,
        factory: Callable[[Any], Any],
        *,
        name: str = "torch",
        hyperparameters: dict | None = None,
        cold_start_gain: float | None = None,
    ):
        super().__init__()
        if not callable(factory):
            raise LRFinderError(
                "factory must be a callable module -> torch optimizer, e.g. "
                "lambda model: torch.optim.Adam(model.parameters())"
            )
        self.factory, self.name = factory, name
        self._hyperparameters = dict(hyperparameters or {})
        self._gain = cold_start_gain
        self._torch = None
        self._rates: _GroupRates | None = None
        self._pending = None

    @property
    def hyperparameters(self) -> dict:
        return dict(self._hyperparameters)

    @property
    def cold_start_gain(self) -> float:
        if self._gain is not None:
            return self._gain
        return 1.0 if self._torch is None else cold_start_gain(self._torch)

    def step(self, params, grads, lr: float) -> None:
        if self._torch is None:
            module = getattr(params, "module", None)
            if module is None:
                raise LRFinderError(
                    "TorchOptimizer steps only the params of a TorchModel; wrap the module "
                    "as lrfinder.torch.TorchModel(module, criterion)"
                )
            self._torch = self.factory(module)
            _check_model_and_optimizer(module, self._torch)
            self._rates = _GroupRates(self._torch)
            if self._pending is not None:
                self._torch.load_state_dict(copy.deepcopy(self._pending))
                self._pending = None
        self.t += 1
        self._rates.set(float(lr))
        self._torch.step()

    def state_dict(self) -> dict:
        state = self._pending if self._torch is None else self._torch.state_dict()
        return {"t": self.t, "torch": copy.deepcopy(state)}

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["t"])
        if self._torch is None:
            self._pending = copy.deepcopy(state["torch"])
        elif state["torch"] is not None:
            self._torch.load_state_dict(copy.deepcopy(state["torch"]))

    def reset(self) -> None:
        super().reset()
        self._torch, self._rates, self._pending = None, None, None

    def __repr__(self) -> str:
        return f"TorchOptimizer({self.name})"


class _ModelFactory:
    """``seed -> TorchModel``: picklable, so that verify's probes can run in workers."""

    def __init__(self, model_factory, criterion, input_shape) -> None:
        self.model_factory, self.criterion, self.input_shape = model_factory, criterion, input_shape

    def __call__(self, seed: int) -> TorchModel:
        torch.manual_seed(seed)  # dropout and anything else drawn from torch's generator
        module = self.model_factory(seed)
        if not isinstance(module, torch.nn.Module):
            raise LRFinderError(
                f"model_factory(seed) must return a torch.nn.Module, got {type(module).__name__}"
            )
        return TorchModel(module, self.criterion, self.input_shape)

    def check_fits(self, data: ArrayData) -> None:
        """Score the first rows of ``data`` once, so that rows the model or the criterion
        cannot take fail here, in one line, before any probe trains."""
        x = data.x[:2].astype(np.float32) * np.float32(data.x_scale)
        model = self(0)
        try:
            model.evaluate(x, data.y[:2])
        except BATCH_ERRORS as err:
            if isinstance(err, LRFinderError):
                raise
            shape = "" if self.input_shape is None else f", input_shape={self.input_shape}"
            raise LRFinderError(
                f"data does not fit model_factory's model or the criterion: "
                f"{type(err).__name__}: {first_line(err)} (x of shape {data.x.shape}, y of shape "
                f"{data.y.shape}{shape}); give rows the model takes, or input_shape= to "
                "reshape each row (e.g. (1, 8, 8) for a CNN)"
            ) from err


class _RecordedOptimizer:
    """``module -> optimizer`` of the class and hyperparameters a result recorded."""

    def __init__(self, cls, hyperparameters: dict) -> None:
        self.cls, self.hyperparameters = cls, hyperparameters

    def __call__(self, module):
        return self.cls(module.parameters(), **self.hyperparameters)


def _recorded_optimizer(result) -> _RecordedOptimizer:
    settings = getattr(result, "settings", {}) or {}
    name = str(settings.get("optimizer", ""))
    cls = getattr(torch.optim, name.removeprefix("torch.optim."), None)
    if settings.get("framework") != "torch" or not name.startswith("torch.optim.") or cls is None:
        raise LRFinderError(
            f"the result does not record a torch.optim optimizer (got {name!r}); pass "
            "optimizer_factory=lambda model: torch.optim.Adam(model.parameters())"
        )
    return _RecordedOptimizer(cls, dict(settings.get("optimizer_hyperparameters") or {}))


def _as_arrays(data):
    """``(x, y)`` with tensors turned into NumPy arrays; anything else as it is."""
    if isinstance(data, tuple | list) and len(data) == 2:
        return tuple(d.detach().cpu().numpy() if isinstance(d, torch.Tensor) else d for d in data)
    return data


def verify(
    result: RangeTestResult,
    data,
    *,
    model_factory: Callable[[int], Any],
    criterion: Callable,
    optimizer_factory: Callable[[Any], Any] | None = None,
    input_shape: Sequence[int] | None = None,
    val_data=None,
    **options,
):
    """:func:`lrfinder.verify` for torch models: short runs from scratch around the suggestion.

    Each probe trains ``model_factory(seed)`` (on the CPU) with
    ``optimizer_factory(model)`` at one constant rate, in torch, and is scored on
    held-out rows, exactly as :func:`lrfinder.verify` describes.

    Parameters
    ----------
    result : RangeTestResult
        From :func:`find_lr`; its suggestion, band and batch size are used.
    data : (x, y) arrays or tensors, or a Dataset
        Training rows, ``x`` 2-D (one row per example; see ``input_shape``).
    model_factory : callable
        ``model_factory(seed) -> torch.nn.Module``, a fresh model.
    criterion : callable
        ``criterion(model(x), y)``, the mean batch loss.
    optimizer_factory : callable, optional
        ``optimizer_factory(model) -> torch.optim.Optimizer``. Default: the recorded
        ``torch.optim`` class and hyperparameters of ``result``.
    input_shape : tuple of int, optional
        Reshape each row of ``x`` to this before the forward pass (a CNN).
    val_data : (x, y), optional
        Held-out rows to score on.
    **options
        Passed to :func:`lrfinder.verify` (``lrs``, ``steps``, ``seeds``, ``n_jobs``,
        ``batch_size``, ``config``, ``callback`` ...).

    Returns
    -------
    lrfinder.verification.Verification
    """
    from lrfinder.verification import verify as verify_numpy

    if not callable(model_factory):
        raise LRFinderError("model_factory must be a callable seed -> torch.nn.Module")
    settings = getattr(result, "settings", {}) or {}
    factory = optimizer_factory if optimizer_factory is not None else _recorded_optimizer(result)
    optimizer = TorchOptimizer(
        factory,
        name=str(settings.get("optimizer", "torch")),
        hyperparameters=dict(settings.get("optimizer_hyperparameters") or {}),
        cold_start_gain=getattr(result, "cold_start_gain", None),
    )
    fresh = _ModelFactory(model_factory, criterion, input_shape)
    data = as_array_data(_as_arrays(data), name="data")  # checked once, here
    fresh.check_fits(data)
    return verify_numpy(
        result,
        None,
        data,
        model_factory=fresh,
        optimizer=optimizer,
        val_data=None if val_data is None else _as_arrays(val_data),
        **options,
    )
