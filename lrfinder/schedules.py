"""Learning-rate schedules for the range test.

A schedule only answers two questions: how many training steps there are, and
what the learning rate is at each of them. It never trains anything; the range
test reads it.

``Looper`` is one segment: a linear run of rates ``start, start + step, ...``
up to ``end``, each held for ``iterations`` steps. ``LearningRateSearcher``
chains segments, for example a coarse sweep through each decade followed by a
fine zoom on the interesting one::

    searcher = LearningRateSearcher()
    for decade in (1e-4, 1e-3, 1e-2, 1e-1):
        searcher.add(Looper(decade, decade, 10))      # 1x, 2x, ... 10x the decade
    searcher.add(Looper(0.5, 0.01, 20, 1.0))          # 51 fine rates in [0.5, 1]
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator

import numpy as np

from lrfinder.errors import LRFinderError, check_count, check_number, check_positive

#: A rate within this fraction of ``step`` past ``end`` still counts as ``end``.
#: It absorbs the rounding in ``(end - start) / step`` and nothing more.
END_TOLERANCE = 1e-9

#: A segment may have at most this many training steps; more is surely a typo in
#: ``step`` (1e-9 instead of 1e-3, say) and would exhaust memory.
MAX_STEPS = 1_000_000

#: Two rates closer than this (relative) are the same rate when segments join.
JOIN_RTOL = 1e-9


class Looper:
    """One segment of rates ``start + k*step`` for ``k = 0, 1, ...`` up to ``end``.

    Parameters
    ----------
    start : float
        First learning rate, > 0.
    step : float
        Increment between consecutive rates, > 0.
    iterations : int
        Training steps each rate is held for, >= 1.
    end : float, optional
        Last rate, inclusive, >= ``start``. Defaults to ``start * 10``: one decade.

    Notes
    -----
    Rate ``k`` is computed as ``start + k * step`` from the integer ``k``, never by
    repeated addition, so no floating-point drift accumulates. ``end`` is included
    when it lies within ``END_TOLERANCE * step`` (or a few ulps of ``end``, the
    rounding of ``end - start``) of a grid point.

    Examples
    --------
    >>> Looper(1e-4, 1e-4, 10).rates.size, len(Looper(1e-4, 1e-4, 10))
    (10, 100)
    >>> Looper(0.5, 0.01, 20, 1.0).rates.size
    51
    """

    def __init__(self, start: float, step: float, iterations: int, end: float | None = None):
        self.start = check_positive("start", start)
        self.step = check_positive("step", step)
        self.iterations = check_count("iterations", iterations)
        self.end = self.start * 10 if end is None else check_positive("end", end)
        if self.end < self.start:
            raise LRFinderError(
                f"end must be >= start, got start={self.start!r} and end={self.end!r}"
            )
        # ``end - start`` carries the rounding of the larger rate, a few ulps of ``end``;
        # without that slack an end written as ``start + n * step`` can miss point n.
        rounding = 4 * math.ulp(self.end) / self.step
        if rounding > 0.5:
            raise LRFinderError(
                f"step={self.step!r} is too small to tell rates near end={self.end!r} apart "
                "in floating point; use a larger step"
            )
        n_rates = math.floor((self.end - self.start) / self.step + END_TOLERANCE + rounding) + 1
        if n_rates * self.iterations > MAX_STEPS:
            raise LRFinderError(
                f"step={self.step!r} from {self.start!r} to {self.end!r} gives "
                f"{n_rates * self.iterations:.3g} steps, more than {MAX_STEPS:,}; use a larger "
                "step or fewer iterations"
            )
        self.rates = self.start + np.arange(n_rates, dtype=np.float64) * self.step

    def __len__(self) -> int:
        return self.rates.size * self.iterations

    def steps(self) -> np.ndarray:
        """The learning rate of every training step of this segment."""
        return np.repeat(self.rates, self.iterations)

    def __repr__(self) -> str:
        return (
            f"Looper(start={self.start!r}, step={self.step!r}, "
            f"iterations={self.iterations}, end={self.end!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Looper):
            return NotImplemented
        return (self.start, self.step, self.iterations, self.end) == (
            other.start,
            other.step,
            other.iterations,
            other.end,
        )

    def __hash__(self) -> int:
        return hash((self.start, self.step, self.iterations, self.end))


class _Steps:
    """A segment given directly as one rate per step (exponential and linear ranges)."""

    def __init__(self, rates: np.ndarray, label: str):
        self.rates = np.asarray(rates, dtype=np.float64)
        self.iterations = 1
        self.label = label

    def __len__(self) -> int:
        return self.rates.size

    def steps(self) -> np.ndarray:
        return self.rates.copy()

    def __repr__(self) -> str:
        return self.label


def _check_num(num) -> int:
    """The number of rates of an exponential or linear sweep: 2 to :data:`MAX_STEPS`."""
    return check_number(
        "num", num, low=2, high=MAX_STEPS, integer=True, hint="use fewer rates (as for segments)"
    )


class LearningRateSearcher:
    """A chain of schedule segments, played in the order given.

    When a segment starts on the rate where the previous one ended, that rate is
    not repeated: the later segment's first rate (and its ``iterations`` steps)
    is dropped.

    Parameters
    ----------
    loopers : iterable of Looper
        Initial segments; more can be appended with :meth:`add`.
    """

    def __init__(self, loopers: Iterable[Looper] = ()):
        self._segments: list[Looper | _Steps] = []
        for looper in loopers:
            self.add(looper)

    def add(self, looper: Looper) -> LearningRateSearcher:
        """Append a segment and return the searcher, so calls can be chained."""
        if not isinstance(looper, (Looper, _Steps)):
            raise LRFinderError(
                f"add() takes a Looper segment, got {type(looper).__name__}; "
                "build one with Looper(start, step, iterations, end)"
            )
        self._segments.append(looper)
        self.__dict__.pop("_cached_steps", None)
        return self

    @property
    def segments(self) -> tuple:
        return tuple(self._segments)

    def steps(self) -> np.ndarray:
        """The learning rate of every training step, in order (1-D float64 array)."""
        cached = self.__dict__.get("_cached_steps")
        if cached is None:
            parts = []
            last = None
            for seg in self._segments:
                rates = seg.steps()
                if (
                    last is not None
                    and rates.size
                    and math.isclose(rates[0], last, rel_tol=JOIN_RTOL)
                ):
                    rates = rates[seg.iterations :]
                if rates.size:
                    last = rates[-1]
                parts.append(rates)
            cached = np.concatenate(parts) if parts else np.empty(0)
            cached.setflags(write=False)
            self.__dict__["_cached_steps"] = cached
        return cached

    def __len__(self) -> int:
        return self.steps().size

    def __iter__(self) -> Iterator[float]:
        return iter(self.steps().tolist())

    def __repr__(self) -> str:
        return f"LearningRateSearcher([{', '.join(map(repr, self._segments))}])"

    @classmethod
    def exponential(cls, start: float, end: float, num: int = 100) -> LearningRateSearcher:
        """``num`` rates spaced evenly in log10 from ``start`` to ``end``, both included."""
        start, end = check_positive("start", start), check_positive("end", end)
        num = _check_num(num)
        if end <= start:
            raise LRFinderError(f"end must be > start, got start={start!r} and end={end!r}")
        rates = np.geomspace(start, end, num)
        return cls().add(_Steps(rates, f"exponential({start!r}, {end!r}, {num})"))

    @classmethod
    def linear(cls, start: float, end: float, num: int = 100) -> LearningRateSearcher:
        """``num`` rates spaced evenly from ``start`` to ``end``, both included."""
        start, end = check_positive("start", start), check_positive("end", end)
        num = _check_num(num)
        if end <= start:
            raise LRFinderError(f"end must be > start, got start={start!r} and end={end!r}")
        rates = np.linspace(start, end, num)
        return cls().add(_Steps(rates, f"linear({start!r}, {end!r}, {num})"))

    @classmethod
    def parse(cls, spec: str) -> LearningRateSearcher:
        """Build a searcher from ``"START:STEP:ITERS[:END],..."``.

        Examples
        --------
        >>> len(LearningRateSearcher.parse("1e-4:1e-4:10,1e-3:1e-3:10"))
        190
        """
        if not isinstance(spec, str) or not spec.strip():
            raise LRFinderError(
                "segment spec is empty; give START:STEP:ITERS[:END] segments separated "
                "by commas, e.g. 1e-4:1e-4:10,1e-3:1e-3:10"
            )
        searcher = cls()
        for number, text in enumerate(spec.split(","), start=1):
            searcher.add(_parse_segment(text.strip(), number))
        return searcher


_FIELDS = ("START", "STEP", "ITERS", "END")
_INT = re.compile(r"^[+-]?\d+$")


def _parse_segment(text: str, number: int) -> Looper:
    where = f"segment {number} {text!r}"
    fields = text.split(":")
    if not text or not 2 < len(fields) < 5:
        raise LRFinderError(
            f"{where} must be START:STEP:ITERS[:END], e.g. 1e-4:1e-4:10 or 0.5:0.01:20:1.0"
        )
    values: list[float | int] = []
    for name, field in zip(_FIELDS, fields, strict=False):
        field = field.strip()
        if name == "ITERS":
            if not _INT.match(field):
                raise LRFinderError(f"{where}: ITERS must be a whole number >= 1, got {field!r}")
            values.append(int(field))
            continue
        try:
            values.append(float(field))
        except ValueError:
            raise LRFinderError(
                f"{where}: {name} must be a number such as 1e-3, got {field!r}"
            ) from None
    try:
        return Looper(*values)
    except LRFinderError as err:
        raise LRFinderError(f"{where}: {err}") from None
