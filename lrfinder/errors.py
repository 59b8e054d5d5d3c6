"""The one exception lrfinder raises for bad input, and the one check of a number that raises it."""

from __future__ import annotations

import math
import numbers
import re

__all__ = [
    "LRFinderError",
    "LRFinderWarning",
    "check_count",
    "check_number",
    "check_positive",
    "first_batch_error",
    "first_line",
    "shown",
]

#: What a model or its loss raises on a batch it cannot take (a shape, a label out of
#: range, a wrong type); caught at the first step only, where it is bad input.
BATCH_ERRORS = (ValueError, TypeError, IndexError, RuntimeError)

#: Which ends of ``[low, high]`` each ``closed`` value allows.
_ENDS = {
    "both": (True, True),
    "left": (True, False),
    "right": (False, True),
    "neither": (False, False),
}


class LRFinderError(ValueError):
    """Bad input to lrfinder.

    The message names the input, the value received and how to fix it, in one
    line. It subclasses :class:`ValueError` so callers that catch ``ValueError``
    keep working; the CLI turns it into a message on stderr and exit code 2.
    """


class LRFinderWarning(UserWarning):
    """Input lrfinder accepts but that is probably not what the caller meant.

    The run goes on; the message says what was done instead and how to change it.
    The CLI prints it as one line, ``lrfinder: warning: ...``, on stderr.
    """


def shown(value) -> str:
    """``value`` as a message shows it: numpy scalars as plain numbers (``-1e-07``, not
    ``np.float64(-1e-07)``), anything else by its ``repr``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return repr(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(float(value))
    return repr(value)


def _bound(value: float) -> str:
    """A bound as a message shows it: ``1,000,000`` for a large whole number, else ``%g``."""
    if float(value).is_integer() and abs(value) >= 10_000:
        return f"{int(value):,}"
    return f"{value:g}"


def _allowed(low, high, closed: str) -> str:
    left, right = _ENDS[closed]
    low = None if low is None else _bound(low)
    high = None if high is None else _bound(high)
    if low is not None and high is not None:
        return f"in {'[' if left else '('}{low}, {high}{']' if right else ')'}"
    if low is not None:
        return f"{'>=' if left else '>'} {low}"
    if high is not None:
        return f"{'<=' if right else '<'} {high}"
    return ""


def check_number(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    closed: str = "both",
    integer: bool = False,
    hint: str = "",
) -> int | float:
    """Return ``value`` as an int or a float, or raise if it is not a number in range.

    In the spirit of scikit-learn's ``check_scalar``: one check, one message shape,
    for every number lrfinder takes from its caller.

    Parameters
    ----------
    name : str
        How the message names the input (``"batch_size"``, ``"--num"``).
    value
        The value received. Booleans and strings are refused even though Python can
        turn them into numbers; numpy's scalars are accepted (they are
        ``numbers.Integral`` / ``numbers.Real``, so this module needs no numpy).
    low, high : float, optional
        The bounds; None means unbounded on that side. The value must be finite.
    closed : {"both", "left", "right", "neither"}
        Which bounds are allowed values themselves.
    integer : bool
        Require a whole number and return an int.
    hint : str, optional
        The fix, appended to the message after a semicolon.

    Raises
    ------
    LRFinderError
        "``name`` must be an integer >= 1, got 0", "``name`` must be a number in
        (0, 1], got 1.5", ...
    """
    if closed not in _ENDS:
        raise ValueError(f"closed must be one of {', '.join(_ENDS)}, got {closed!r}")
    left, right = _ENDS[closed]
    kind = "an integer" if integer else "a finite number"
    allowed = _allowed(low, high, closed)
    number = None
    if not isinstance(value, (bool, str, bytes)):
        if integer and isinstance(value, numbers.Integral):
            number = int(value)
        elif not integer and isinstance(value, numbers.Real):
            number = float(value)
    ok = number is not None and math.isfinite(number)
    if ok and low is not None:
        ok = number >= low if left else number > low
    if ok and high is not None:
        ok = number <= high if right else number < high
    if not ok:
        message = f"{name} must be {kind}{' ' + allowed if allowed else ''}, got {shown(value)}"
        raise LRFinderError(f"{message}; {hint}" if hint else message)
    return number


def check_count(name: str, value, minimum: int = 1) -> int:
    """``check_number(name, value, low=minimum, integer=True)``: a whole number >= ``minimum``."""
    return check_number(name, value, low=minimum, integer=True)


def check_positive(name: str, value, what: str = "") -> float:
    """``check_number(name, value, low=0, closed="neither")``: a finite number > 0.

    ``what``, if given, is said as the fix (e.g. ``"a positive number of decades"``).
    """
    return check_number(name, value, low=0, closed="neither", hint=f"give {what}" if what else "")


def first_line(err: Exception) -> str:
    """The first line of ``err``'s message that says something: without terminal colours
    and without Keras's "Exception encountered when calling ..." preamble."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Exception encountered when")]
    return lines[0] if lines else "(no message)"


def first_batch_error(
    call: str, err: Exception, given: str, fix: str, *, what: str = "the first batch"
) -> LRFinderError:
    """One line for a first training step that failed in the user's model or loss.

    At the first step such an error almost always means the data does not fit the
    model (a shape, a label out of range). The message says that ``what`` failed in
    ``call``, gives :func:`first_line` of ``err``, what was ``given`` and the ``fix``;
    raise it ``from err`` so that the framework's own traceback stays attached.
    """
    return LRFinderError(
        f"{what} failed in {call} with {type(err).__name__}: {first_line(err)} ({given}); {fix}"
    )
