"""The one exception lrfinder raises for bad input, and the checks that raise it."""

import math
import numbers


class LRFinderError(ValueError):
    """Bad input to lrfinder.

    The message names the input, the value received and how to fix it, in one
    line. It subclasses :class:`ValueError` so callers that catch ``ValueError``
    keep working; the CLI turns it into a message on stderr and exit code 2.
    """


def check_count(name: str, value, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not a whole number >= ``minimum``.

    Booleans are refused even though Python counts them as integers. numpy's integer
    types are ``numbers.Integral`` too, so this module need not import numpy (the CLI
    imports it at start-up).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise LRFinderError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_positive(name: str, value, what: str = "a positive finite number") -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0.

    The message reads "``name`` must be ``what``, got ``value``".
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise LRFinderError(f"{name} must be {what}, got {value!r}")
    return number
