"""The one exception lrfinder raises for bad input."""


class LRFinderError(ValueError):
    """Bad input to lrfinder.

    The message names the input, the value received and how to fix it, in one
    line. It subclasses :class:`ValueError` so callers that catch ``ValueError``
    keep working; the CLI turns it into a message on stderr and exit code 2.
    """
