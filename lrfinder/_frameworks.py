"""What the PyTorch and Keras range tests share with the NumPy one, besides the stop rule.

:mod:`lrfinder.torch` and :mod:`lrfinder.keras` run their own training loops, but read
the schedule, extend a slow learner's test and build the :class:`RangeTestResult`
exactly as :func:`lrfinder.find_lr` does: with the same helpers of
:mod:`lrfinder.rangetest`, gathered here, plus :func:`plain` for their settings.
Nothing here imports a framework.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from lrfinder.rangetest import (  # noqa: F401  (the helpers torch and keras share)
    check_schedule,
    interrupted_reason,
    longer_schedule,
    run_extended,
    should_extend,
    slow_note,
)


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
