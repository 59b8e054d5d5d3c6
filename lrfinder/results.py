"""The frozen record of a range test, and its lossless JSON form.

A :class:`RangeTestResult` holds everything needed to analyse and plot a run
again without training: every recorded learning rate and raw loss, the reason
the run stopped and the settings used. ``result.to_json(path)`` and
:func:`load_result` round-trip it exactly (floats are written with ``repr``
precision; missing values, the padding after a repeat stopped early, as null).

What the analyser needs besides the curve is typed: ``slow_learner`` (the
default test saw no learning and was extended) and ``cold_start_gain`` (of the
optimizer). JSON files of schema 1 kept these only in the free-form settings;
:func:`load_result` still reads them (see :meth:`RangeTestResult.from_dict`).
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from lrfinder import imports
from lrfinder.errors import LRFinderError, shown
from lrfinder.optimizers import cold_start_gain as optimizer_cold_start_gain
from lrfinder.outputs import write_json

#: Written into every JSON file; bumped when the layout changes incompatibly.
#: 2: the typed fields ``slow_learner``, ``cold_start_gain`` and ``note``.
SCHEMA_VERSION = 2

#: Older schemas :meth:`RangeTestResult.from_dict` still reads.
OLD_SCHEMAS = (1,)


@dataclass(frozen=True, eq=False)
class RangeTestResult:
    """What a range test recorded.

    Attributes
    ----------
    lrs : ndarray of float64, shape (n,)
        The learning rate of each recorded step, in schedule order.
    losses : ndarray of float64, shape (n,)
        The training loss at each step: the raw loss of the single run, or the
        elementwise median over runs when the test was repeated.
    run_losses : ndarray of float64, shape (runs, n)
        Every run's raw loss per step; NaN after that run stopped.
    stop_reason : str
        Why the (first) run stopped, in plain words.
    stop_reasons : tuple of str
        Why each run stopped.
    settings : dict
        The settings used (optimizer, batch size, seeds, stop factor, schedule ...),
        for people; code should read the typed fields below. For now
        :func:`~lrfinder.find_lr` also writes the old keys ``extended`` (= ``note``)
        and ``cold_start_gain`` here.
    val_steps : ndarray of int, optional
        Step indices where the validation loss was measured.
    val_losses : ndarray of float64, shape (runs, len(val_steps)), optional
        The validation loss at those steps, for each run.
    slow_learner : bool
        True when :func:`~lrfinder.find_lr` saw no learning in its default test and
        this is the longer test it ran instead; the analysis then reads the curve
        as a slow learner's. False for imported curves.
    cold_start_gain : float
        The optimizer's :attr:`~lrfinder.optimizers.Optimizer.cold_start_gain`
        (how much larger its first steps from fresh state are than the settled
        steps the test took); a finite number > 0, 1.0 for imported curves.
    note : str or None
        A remark in plain words on how the test was run: why it was extended,
        when ``slow_learner``. None otherwise.
    """

    lrs: np.ndarray
    losses: np.ndarray
    run_losses: np.ndarray
    stop_reason: str
    stop_reasons: tuple[str, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    val_steps: np.ndarray | None = None
    val_losses: np.ndarray | None = None
    slow_learner: bool = False
    cold_start_gain: float = 1.0
    note: str | None = None

    def __post_init__(self) -> None:
        lrs = np.asarray(self.lrs, dtype=np.float64).reshape(-1)
        run_losses = np.atleast_2d(np.asarray(self.run_losses, dtype=np.float64))
        losses = np.asarray(self.losses, dtype=np.float64).reshape(-1)
        if not (lrs.size == losses.size == run_losses.shape[1]):
            raise LRFinderError(
                f"lrs, losses and run_losses must have one value per step, got "
                f"{lrs.size}, {losses.size} and {run_losses.shape[1]}"
            )
        object.__setattr__(self, "lrs", lrs)
        object.__setattr__(self, "losses", losses)
        object.__setattr__(self, "run_losses", run_losses)
        object.__setattr__(self, "stop_reasons", tuple(self.stop_reasons))
        if self.val_steps is not None:
            object.__setattr__(self, "val_steps", np.asarray(self.val_steps, dtype=np.int64))
            val = np.atleast_2d(np.asarray(self.val_losses, dtype=np.float64))
            object.__setattr__(self, "val_losses", val)
        for array in (self.lrs, self.losses, self.run_losses, self.val_steps, self.val_losses):
            if array is not None:
                array.setflags(write=False)
        if not isinstance(self.slow_learner, bool | np.bool_):
            raise LRFinderError(f"slow_learner must be True or False, got {self.slow_learner!r}")
        object.__setattr__(self, "slow_learner", bool(self.slow_learner))
        gain = self.cold_start_gain
        is_number = isinstance(gain, numbers.Real) and not isinstance(gain, bool | np.bool_)
        if not (is_number and math.isfinite(gain) and gain > 0):  # "10" or True is no gain
            raise LRFinderError(f"cold_start_gain must be a finite number > 0, got {gain!r}")
        object.__setattr__(self, "cold_start_gain", float(gain))
        if self.note is not None and not isinstance(self.note, str):
            raise LRFinderError(f"note must be a string or None, got {self.note!r}")

    @classmethod
    def from_curve(
        cls,
        lrs,
        losses,
        *,
        stop_reason="imported curve",
        settings=None,
        slow_learner=False,
        cold_start_gain=1.0,
        presmoothed="detect",
    ):
        """A result from a bare ``(lrs, losses)`` curve recorded elsewhere.

        Nothing is known about how it was recorded, so by default it is not a slow
        learner and has ``cold_start_gain`` 1 (no cap); give them if you know better
        (``cold_start_gain=10`` for a curve of torch's RMSProp at its default alpha).

        ``presmoothed`` says whether the losses were smoothed by an EMA during the test,
        as torch-lr-finder's and fastai's histories are: ``"detect"`` (default) checks
        (:func:`lrfinder.presmoothed.detect`), ``False`` reads the losses as raw, and a
        factor in (0, 1) un-smooths them with it (torch-lr-finder's form, without bias
        correction). An un-smoothed curve keeps the recovered raw losses,
        ``settings["presmoothed_beta"]`` (and ``"presmoothed_bias_corrected"`` for fastai's
        form) and a ``note`` that the reason repeats.
        """
        lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
        losses = np.asarray(losses, dtype=np.float64).reshape(-1)
        if lrs.size != losses.size:
            raise LRFinderError(
                f"lrs and losses must be the same length, got {lrs.size} and {losses.size}"
            )
        if lrs.size == 0:
            raise LRFinderError("the curve is empty; give at least one (lr, loss) pair")
        if not np.all(np.isfinite(lrs)) or np.any(lrs <= 0):
            raise LRFinderError("every learning rate must be a positive finite number")
        settings = dict(settings or {})
        note = None
        found = _presmoothing(lrs, losses, presmoothed)
        if found is not None:
            from lrfinder.presmoothed import unsmooth

            beta, bias_corrected, note = found
            losses = unsmooth(losses, beta, bias_corrected=bias_corrected)
            settings["presmoothed_beta"] = beta
            if bias_corrected:
                settings["presmoothed_bias_corrected"] = True
        return cls(
            lrs,
            losses,
            losses[None, :],
            stop_reason,
            (stop_reason,),
            settings,
            slow_learner=slow_learner,
            cold_start_gain=cold_start_gain,
            note=note,
        )

    # -- analysis -----------------------------------------------------------------

    @property
    def n_runs(self) -> int:
        return self.run_losses.shape[0]

    def suggest(self, method: str = "auto", **options):
        """One method's suggestion (no training). See :func:`lrfinder.suggest`.

        Without ``options`` it comes from :attr:`analysis`, which reads the curve once.
        """
        if not options:
            return self.analysis[method]
        from lrfinder.analysis import suggest

        return suggest(self, method, **options)

    @cached_property
    def analysis(self):
        """The :class:`~lrfinder.analysis.Analysis` of this result, made once.

        ``analysis.lr``, ``.reason``, ``.status`` and ``.landmarks`` are ``auto``'s;
        ``analysis["minimum"]`` is another method's suggestion.
        """
        from lrfinder.analysis import analyse

        return analyse(self)

    @property
    def suggestion(self) -> float | None:
        """The suggested learning rate (``auto``), or None when the curve gives no answer.

        ``result.analysis.reason`` says why.
        """
        return self.analysis.lr

    def plot(self, **kwargs):
        """Plot the curve; see :func:`lrfinder.plotting.plot_result`."""
        from lrfinder.plotting import plot_result

        return plot_result(self, **kwargs)

    # -- serialisation --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN and inf written as null/strings, see :func:`_encode`)."""
        data = {
            "schema": SCHEMA_VERSION,
            "lrs": _encode(self.lrs),
            "losses": _encode(self.losses),
            "run_losses": [_encode(row) for row in self.run_losses],
            "stop_reason": self.stop_reason,
            "stop_reasons": list(self.stop_reasons),
            "slow_learner": self.slow_learner,
            "cold_start_gain": self.cold_start_gain,
            "note": self.note,
            "settings": self.settings,
            "val_steps": None if self.val_steps is None else self.val_steps.tolist(),
            "val_losses": None
            if self.val_losses is None
            else [_encode(row) for row in self.val_losses],
        }
        data["suggestion"] = self.analysis.suggestion.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "result") -> RangeTestResult:
        """Rebuild a result from :meth:`to_dict` output, of this schema or an older one.

        Schema 1 had no typed fields; they are rebuilt from its settings:
        ``slow_learner`` is ``bool(settings["extended"])`` and ``note`` that
        sentence; ``cold_start_gain`` is ``settings["cold_start_gain"]`` when
        recorded, else :func:`lrfinder.optimizers.cold_start_gain` of the
        recorded optimizer name and hyperparameters (1.0 for an unknown name,
        an error for hyperparameters that do not build that optimizer).
        Every error is one line that names ``source``.
        """
        schema = data.get("schema")
        known = type(schema) is int and (schema == SCHEMA_VERSION or schema in OLD_SCHEMAS)
        if not known:
            newer = type(schema) is int and schema > SCHEMA_VERSION
            raise LRFinderError(
                f"{source} has schema {schema!r}, but this lrfinder reads schemas "
                f"{', '.join(map(str, (*OLD_SCHEMAS, SCHEMA_VERSION)))}; "
                + (
                    "it was written by a newer lrfinder, upgrade lrfinder to read it"
                    if newer
                    else "it was not written by lrfinder's --json / result.to_json()"
                )
            )
        try:
            val = data.get("val_losses")
            fields = {
                "lrs": _decode(data["lrs"]),
                "losses": _decode(data["losses"]),
                "run_losses": np.array([_decode(r) for r in data["run_losses"]]),
                "stop_reason": str(data["stop_reason"]),
                "stop_reasons": tuple(data["stop_reasons"]),
                "settings": dict(data.get("settings") or {}),
                "val_steps": data.get("val_steps"),
                "val_losses": None if val is None else np.array([_decode(r) for r in val]),
            }
            if schema == SCHEMA_VERSION:
                fields["slow_learner"] = data["slow_learner"]
                fields["cold_start_gain"] = data["cold_start_gain"]
                fields["note"] = data.get("note")
            else:
                fields.update(_typed_fields_of_v1(fields["settings"]))
            result = cls(**fields)
        except KeyError as err:
            raise LRFinderError(
                f"{source} has no {err.args[0]!r} field; is it a file written by "
                "lrfinder's --json / result.to_json()?"
            ) from None
        except (TypeError, ValueError) as err:  # LRFinderError too: the fields' own checks
            raise LRFinderError(f"{source} is not a valid lrfinder result: {err}") from None
        bad = np.flatnonzero(~(np.isfinite(result.lrs) & (result.lrs > 0)))
        if bad.size:
            i = int(bad[0])
            raise LRFinderError(
                f"{source}: lrs[{i}] = {shown(result.lrs[i])} is not a positive learning rate; "
                "the file was changed or damaged, re-create it with lrfinder search --json"
            )
        return result

    def to_json(self, path) -> Path:
        """Write the result to ``path`` as JSON and return the path."""
        return write_json(self.to_dict(), path, "result")

    def to_csv(self, path) -> Path:
        """Write the raw losses as ``step,lr,loss`` rows (``step,run,lr,loss`` for repeats).

        Non-finite losses (the steps after a run stopped) are left out. A first comment
        line, ``# lrfinder settings: {...}``, carries what the analysis reads besides the
        curve (the optimizer, its momentum lag and cold-start gain), so :func:`load_result`
        reads the file back to the same suggestion; the rest stays in the JSON.
        """
        path = Path(path)
        several = self.n_runs > 1
        typed = {"cold_start_gain": self.cold_start_gain, "slow_learner": self.slow_learner}
        lines = [imports.settings_comment({**self.settings, **typed})]
        lines.append("step,run,lr,loss" if several else "step,lr,loss")
        for run, losses in enumerate(self.run_losses.tolist()):
            for step, (lr, loss) in enumerate(zip(self.lrs.tolist(), losses, strict=True)):
                if math.isfinite(loss):
                    lines.append(
                        f"{step},{run},{lr!r},{loss!r}" if several else f"{step},{lr!r},{loss!r}"
                    )
        try:
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        except OSError as err:
            raise LRFinderError(
                f"cannot write the losses to {str(path)!r}: {err.strerror}"
            ) from None
        return path

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RangeTestResult):
            return NotImplemented
        return (
            _same(self.lrs, other.lrs)
            and _same(self.losses, other.losses)
            and _same(self.run_losses, other.run_losses)
            and self.stop_reason == other.stop_reason
            and self.stop_reasons == other.stop_reasons
            and self.settings == other.settings
            and _same(self.val_steps, other.val_steps)
            and _same(self.val_losses, other.val_losses)
            and self.slow_learner == other.slow_learner
            and self.cold_start_gain == other.cold_start_gain
            and self.note == other.note
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        lo, hi = (self.lrs.min(), self.lrs.max()) if self.lrs.size else (math.nan, math.nan)
        return (
            f"RangeTestResult({self.lrs.size} steps, lr {lo:.3g}..{hi:.3g}, runs={self.n_runs}, "
            f"stop_reason={self.stop_reason!r}, slow_learner={self.slow_learner!r}, "
            f"cold_start_gain={self.cold_start_gain!r}, suggestion={self.suggestion!r})"
        )


def _presmoothing(lrs, losses, presmoothed) -> tuple[float, bool, str] | None:
    """``(beta, bias_corrected, note)`` to un-smooth an imported curve with, or None."""
    from lrfinder import presmoothed as ema

    if presmoothed is False or presmoothed is None:
        return None
    if isinstance(presmoothed, str):
        if presmoothed != "detect":
            raise LRFinderError(
                f"presmoothed must be 'detect', False or an EMA factor in (0, 1), "
                f"got {presmoothed!r}"
            )
        found = ema.detect(lrs, losses)
        if not found.presmoothed:
            return None
        return found.recorder.beta, found.recorder.bias_corrected, ema.describe(found)
    try:
        beta = ema.check_beta(presmoothed)
    except LRFinderError:
        raise LRFinderError(
            f"presmoothed must be 'detect', False or an EMA factor in (0, 1), got {presmoothed!r}"
        ) from None
    return beta, False, ema.describe(beta)


def _typed_fields_of_v1(settings: dict[str, Any]) -> dict[str, Any]:
    """``slow_learner``, ``cold_start_gain`` and ``note`` from the settings of a schema-1 file."""
    extended = settings.get("extended")
    gain = settings.get("cold_start_gain")
    if gain is None:  # files written before find_lr recorded it
        gain = optimizer_cold_start_gain(
            settings.get("optimizer"), settings.get("optimizer_hyperparameters")
        )
    return {
        "slow_learner": bool(extended),
        "cold_start_gain": gain,
        "note": str(extended) if extended else None,
    }


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def _encode(values: np.ndarray) -> list:
    """Floats for JSON: finite values exactly, NaN as null, infinities as "inf"/"-inf"."""
    out: list = []
    for v in values.tolist():
        if math.isfinite(v):
            out.append(v)
        elif math.isnan(v):
            out.append(None)
        else:
            out.append("inf" if v > 0 else "-inf")
    return out


def _decode(values: list) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=np.float64)


def load_result(path, *, presmoothed="detect") -> RangeTestResult:
    """Load a result saved with :meth:`RangeTestResult.to_json`, or a curve recorded elsewhere.

    A file is read as JSON when it is named ``.json`` or its text starts with ``{`` or
    ``[``: lrfinder's own result (it has a ``schema`` field), or a learning-rate history,
    an object with ``lr`` and ``loss`` lists (torch-lr-finder's ``history`` saved with
    ``json.dump``). Any other file is a table of ``lr,loss`` rows from any framework
    (torch-lr-finder, fastai, Keras, ``np.savetxt``, Excel): ``,``, ``;``, tab or space
    separated, with an optional header. :mod:`lrfinder.imports` says exactly what is
    read, and when a file is refused instead (a header-less file whose lr column is not
    plain, rows whose rate falls and no step column to order them).

    A curve recorded elsewhere (not an lrfinder result) may have been smoothed during the
    test, as torch-lr-finder's ``history`` is by default; ``presmoothed`` is passed on
    to :meth:`RangeTestResult.from_curve`, which checks for that and un-smooths it.
    """
    path = Path(path)
    if path.is_dir():
        raise LRFinderError(
            f"result file {str(path)!r} is a folder; give the path of a --json file or a "
            "lr,loss CSV inside it"
        )
    if not path.is_file():
        raise LRFinderError(
            f"result file {str(path)!r} does not exist; give the path of a --json file or a "
            "lr,loss CSV"
        )
    source = f"result file {str(path)!r}"
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise LRFinderError(f"cannot read {source}: {err.strerror}") from None
    text = imports.decode(raw, source)
    if path.suffix.lower() != ".json" and not imports.looks_like_json(text):
        return _curve_from_csv(text, str(path), presmoothed)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise LRFinderError(
            f"{source} is not valid JSON (line {err.lineno}): {err.msg}; {imports.ACCEPTED}"
        ) from None
    if isinstance(data, dict) and "schema" in data:
        return RangeTestResult.from_dict(data, source=source)
    lrs, losses = imports.history_curve(data, source)
    try:
        return RangeTestResult.from_curve(
            lrs, losses, settings={"source": str(path)}, presmoothed=presmoothed
        )
    except LRFinderError as err:
        raise LRFinderError(f"{source}: {err}") from None


def _curve_from_csv(text: str, source: str, presmoothed="detect") -> RangeTestResult:
    """A delimited table of ``lr,loss`` rows (one run, or ``run`` and ``step`` columns).

    See :func:`lrfinder.imports.table_runs` for how it is read.
    """
    runs = imports.table_runs(text, source)
    recorded = imports.csv_settings(text)  # lrfinder's own export: raw losses, known optimizer
    slow = recorded.pop("slow_learner", False) is True
    gain = recorded.get("cold_start_gain", 1.0)
    settings = {**recorded, "source": source}
    if recorded and presmoothed == "detect":
        presmoothed = False
    try:
        if len(runs) == 1:
            lrs, losses = runs[0]
            return RangeTestResult.from_curve(
                lrs,
                losses,
                settings=settings,
                slow_learner=slow,
                cold_start_gain=gain,
                presmoothed=presmoothed,
            )
        return _repeats_from_runs(runs, settings, slow, gain)
    except LRFinderError as err:
        raise LRFinderError(f"{source}: {err}") from None


def _repeats_from_runs(runs: list[tuple[np.ndarray, np.ndarray]], settings, slow, gain):
    """Rebuild a repeated test from per-run rows (the ``step,run,lr,loss`` CSV)."""
    longest = max((np.asarray(lrs) for lrs, _ in runs), key=len)
    run_losses = np.full((len(runs), longest.size), np.nan)
    for index, (lrs, losses) in enumerate(runs):
        if not np.array_equal(np.asarray(lrs), longest[: len(lrs)]):
            raise LRFinderError("runs do not share one schedule; give one run per file")
        run_losses[index, : len(losses)] = losses
    base = RangeTestResult.from_curve(longest, run_losses[0])  # validates the rates
    from lrfinder.analysis import median_over_runs

    median = median_over_runs(run_losses)
    reasons = ("imported curve",) * len(runs)
    return RangeTestResult(
        base.lrs,
        median,
        run_losses,
        reasons[0],
        reasons,
        settings,
        slow_learner=slow,
        cold_start_gain=gain,
    )
