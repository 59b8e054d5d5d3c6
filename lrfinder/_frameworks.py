"""What the PyTorch and Keras range tests share with the NumPy one, besides the stop rule.

:mod:`lrfinder.torch` and :mod:`lrfinder.keras` run their own training loops, but read
the schedule, extend a slow learner's test and build the :class:`RangeTestResult`
exactly as :func:`lrfinder.find_lr` does, through the helpers here (which themselves
reuse :mod:`lrfinder.rangetest`). Nothing here imports a framework.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from lrfinder.errors import LRFinderError
from lrfinder.rangetest import (
    DEFAULT_END,
    DEFAULT_NUM,
    DEFAULT_START,
    EXTEND_FACTOR,
    EXTEND_VAL_EVERY,
    NO_LEARNING,
    RangeTestInterrupted,
    default_schedule,
)
from lrfinder.results import RangeTestResult
from lrfinder.schedules import LearningRateSearcher


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


def plain(values: Mapping[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON-plain entries of ``values``: finite numbers, bools, strings, None, and
    tuples or lists of numbers (as lists, so that a JSON round trip compares equal).

    Framework hyperparameters hold other things too (tensors, callables); they are
    left out of the record rather than written as text that reads back differently.
    """

    def number(v) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)

    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in skip:
            continue
        if value is None or isinstance(value, bool | str):
            out[str(key)] = value
        elif number(value):
            out[str(key)] = value if isinstance(value, int) else float(value)
        elif isinstance(value, tuple | list) and value and all(number(v) for v in value):
            out[str(key)] = [float(v) for v in value]
    return out


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
        # settings["extended"]: the old key, kept until the analyser reads slow_learner
        extended = {**longer.settings, "extended": note}
        return replace(longer, slow_learner=True, note=note, settings=extended)

    try:
        again = run()
    except RangeTestInterrupted as stop:  # the partial longer test is a slow learner's too
        raise RangeTestInterrupted(slow(stop.result)) from None
    return slow(again)
