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

import dataclasses
import math
import numbers
import re
from collections.abc import Iterable, Iterator

import numpy as np

from lrfinder import names
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

    def per_epoch(self, steps_per_epoch: int) -> LearningRateSearcher:
        """This schedule with each of its steps held for ``steps_per_epoch`` training steps.

        ``find_lr(..., per="epoch")`` uses it, so that a ``Looper``'s ``iterations``
        count epochs, as in the classic tutorial.
        """
        steps_per_epoch = check_count("steps_per_epoch", steps_per_epoch)
        rates = np.repeat(self.steps(), steps_per_epoch)
        label = f"{self!r}.per_epoch({steps_per_epoch})"
        return type(self)().add(_Steps(rates, label))

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


# --------------------------------------------------------------------------- training schedules
#
# The range test finds the rates; these schedules train with them. Each is a pure
# ``step -> lr`` callable (as in optax): a small frozen dataclass that holds its
# settings, answers ``schedule(step)`` from the integer step alone, and has a repr
# that reads like the call which built it. ``train(..., lr=one_cycle(...))`` plays it.
#
# Steps count from 0, as ``train`` calls them. A schedule with ``total_steps`` is
# read as a function of the position ``step / total_steps`` in [0, 1], as fastai
# does: step 0 is the start value, and the end value belongs to step
# ``total_steps``, the first step *after* training. The last trained step,
# ``total_steps - 1``, is one step short of the end. Past ``total_steps`` the rate
# stays at the end value, so a run longer than its schedule learns (almost) nothing
# more: build the schedule with the run's own step count.


def _rate_text(value: float) -> str:
    """A rate for a repr: three significant digits in e-notation, trailing zeros cut."""
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0")
    if mantissa.endswith("."):
        mantissa += "0"
    return f"{mantissa}e{exponent}"


def _check_step(step) -> int:
    if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
        raise LRFinderError(f"step must be an integer >= 0 (steps count from 0), got {step!r}")
    return int(step)


def _check_fraction(name: str, value, fix: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not 0.0 <= number < 1.0:
        raise LRFinderError(f"{name} must be a number in [0, 1), got {value!r}; {fix}")
    return number


def _check_factor(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not (math.isfinite(number) and number >= 1.0):
        raise LRFinderError(
            f"{name} must be a finite number >= 1 (the start or end rate is the peak divided "
            f"by it), got {value!r}"
        )
    return number


def _cosine_between(start: float, end: float, fraction: float) -> float:
    """From ``start`` at fraction 0 to ``end`` at fraction 1 along half a cosine.

    Written as a weighted mean so that both ends are exact, and clipped so that
    rounding never takes it outside ``[start, end]``.
    """
    weight = 0.5 * (1.0 + math.cos(math.pi * fraction))
    value = weight * start + (1.0 - weight) * end
    return min(max(value, min(start, end)), max(start, end))


class _TrainingSchedule:
    """What the three training schedules share: ``rates()`` and the repr."""

    _defaults: dict = {}

    def __call__(self, step: int) -> float:  # pragma: no cover - each schedule defines it
        raise NotImplementedError

    def rates(self, steps: int | None = None) -> np.ndarray:
        """The rate of steps ``0 .. steps - 1`` (default ``total_steps``), as float64."""
        steps = getattr(self, "total_steps", None) if steps is None else steps
        if steps is None:
            raise LRFinderError(
                f"{type(self).__name__.lower()} has no total_steps; give rates(steps)"
            )
        steps = check_count("steps", steps)
        return np.array([self(k) for k in range(steps)], dtype=np.float64)

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name in self._defaults and value == self._defaults[f.name]:
                continue
            if f.name.endswith("lr"):
                text = _rate_text(value)
            elif isinstance(value, float):
                text = f"{value:g}"
            else:
                text = str(value)
            parts.append(f"{f.name}={text}")
        return f"{self._name}({', '.join(parts)})"


@dataclasses.dataclass(frozen=True, repr=False)
class OneCycle(_TrainingSchedule):
    """Smith's 1cycle schedule (2018): cosine up to ``max_lr``, then down. See :func:`one_cycle`."""

    max_lr: float
    total_steps: int
    warmup_fraction: float = 0.3
    div_factor: float = 25.0
    final_div_factor: float = 1e4

    _name = "one_cycle"
    _defaults = {"warmup_fraction": 0.3, "div_factor": 25.0, "final_div_factor": 1e4}

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_lr", check_positive("max_lr", self.max_lr))
        object.__setattr__(self, "total_steps", check_count("total_steps", self.total_steps))
        fraction = _check_fraction(
            "warmup_fraction",
            self.warmup_fraction,
            "it is the share of the steps spent rising to max_lr, e.g. 0.3",
        )
        object.__setattr__(self, "warmup_fraction", fraction)
        object.__setattr__(self, "div_factor", _check_factor("div_factor", self.div_factor))
        object.__setattr__(
            self, "final_div_factor", _check_factor("final_div_factor", self.final_div_factor)
        )

    @property
    def initial_lr(self) -> float:
        """The rate at step 0: ``max_lr / div_factor``."""
        return self.max_lr / self.div_factor

    @property
    def final_lr(self) -> float:
        """The rate at ``total_steps`` and after: ``initial_lr / final_div_factor``."""
        return self.initial_lr / self.final_div_factor

    @property
    def peak_step(self) -> float:
        """Where the rate is ``max_lr``: ``warmup_fraction * total_steps`` (maybe between steps)."""
        return self.warmup_fraction * self.total_steps

    def __call__(self, step: int) -> float:
        position = min(_check_step(step), self.total_steps) / self.total_steps
        if position < self.warmup_fraction:
            return _cosine_between(self.initial_lr, self.max_lr, position / self.warmup_fraction)
        fraction = (position - self.warmup_fraction) / (1.0 - self.warmup_fraction)
        return _cosine_between(self.max_lr, self.final_lr, fraction)


@dataclasses.dataclass(frozen=True, repr=False)
class Cosine(_TrainingSchedule):
    """Cosine decay to 0 after an optional linear warm-up. See :func:`cosine`."""

    lr: float
    total_steps: int
    warmup_steps: int = 0

    _name = "cosine"
    _defaults = {"warmup_steps": 0}

    def __post_init__(self) -> None:
        object.__setattr__(self, "lr", check_positive("lr", self.lr))
        total = check_count("total_steps", self.total_steps)
        object.__setattr__(self, "total_steps", total)
        warmup = check_count("warmup_steps", self.warmup_steps, minimum=0)
        if warmup >= total:
            raise LRFinderError(
                f"warmup_steps must be < total_steps={total}, got {warmup}; "
                "leave some steps for the decay"
            )
        object.__setattr__(self, "warmup_steps", warmup)

    def __call__(self, step: int) -> float:
        step = min(_check_step(step), self.total_steps)
        if step < self.warmup_steps:
            return self.lr * (step + 1) / (self.warmup_steps + 1)
        fraction = (step - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return _cosine_between(self.lr, 0.0, fraction)


@dataclasses.dataclass(frozen=True, repr=False)
class Triangular(_TrainingSchedule):
    """Smith's cyclical triangular schedule (2017). See :func:`triangular`."""

    base_lr: float
    max_lr: float
    step_size: int

    _name = "triangular"

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_lr", check_positive("base_lr", self.base_lr))
        object.__setattr__(self, "max_lr", check_positive("max_lr", self.max_lr))
        if self.max_lr <= self.base_lr:
            raise LRFinderError(
                f"max_lr must be > base_lr, got base_lr={self.base_lr!r} and "
                f"max_lr={self.max_lr!r}; swap them, or use a constant rate"
            )
        object.__setattr__(self, "step_size", check_count("step_size", self.step_size))

    @property
    def period(self) -> int:
        """Steps in one cycle, up and down: ``2 * step_size``."""
        return 2 * self.step_size

    def __call__(self, step: int) -> float:
        # distance from the nearest peak, in half-cycles: 0 at a peak, 1 at a trough
        phase = _check_step(step) % self.period
        x = abs(phase / self.step_size - 1.0)
        return self.base_lr + (self.max_lr - self.base_lr) * (1.0 - x)


def one_cycle(
    max_lr: float,
    total_steps: int,
    *,
    warmup_fraction: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> OneCycle:
    """Smith's 1cycle schedule (2018) as a ``step -> lr`` callable.

    With ``p = min(step, total_steps) / total_steps`` and ``w = warmup_fraction``::

        lr = cos_anneal(max_lr / div_factor, max_lr, p / w)             for p < w
        lr = cos_anneal(max_lr, max_lr / div_factor / final_div_factor,
                        (p - w) / (1 - w))                              for p >= w
        cos_anneal(a, b, f) = b + (a - b) * (1 + cos(pi * f)) / 2

    so the rate rises along half a cosine from ``max_lr / div_factor`` at step 0
    to ``max_lr`` at step ``w * total_steps``, then falls along half a cosine to
    ``max_lr / (div_factor * final_div_factor)`` at step ``total_steps``, where it
    stays. These are the defaults of fastai's ``fit_one_cycle`` and torch's
    ``OneCycleLR``.

    Parameters
    ----------
    max_lr : float
        Peak rate, > 0: :attr:`lrfinder.analysis.Suggestion.one_cycle_max_lr`.
    total_steps : int
        Training steps, >= 1: ``epochs * steps_per_epoch``
        (:func:`lrfinder.training.steps_per_epoch`).
    warmup_fraction : float
        Share of the steps spent rising, in [0, 1). 0 starts at the peak.
    div_factor, final_div_factor : float
        >= 1. The start rate is ``max_lr / div_factor``; the end rate is the start
        rate divided by ``final_div_factor``.

    Examples
    --------
    >>> schedule = one_cycle(7e-3, 1000)
    >>> schedule
    one_cycle(max_lr=7.0e-03, total_steps=1000)
    >>> [round(schedule(step), 12) for step in (0, 300, 1000)]
    [0.00028, 0.007, 2.8e-08]
    """
    return OneCycle(max_lr, total_steps, warmup_fraction, div_factor, final_div_factor)


def cosine(lr: float, total_steps: int, *, warmup_steps: int = 0) -> Cosine:
    """Cosine decay from ``lr`` to 0 after an optional linear warm-up, a ``step -> lr`` callable.

    With ``w = warmup_steps`` and ``T = total_steps``::

        lr(t) = lr * (t + 1) / (w + 1)                        for t < w
        lr(t) = lr * (1 + cos(pi * (t - w) / (T - w))) / 2    for w <= t <= T
        lr(t) = 0                                             for t > T

    The warm-up reaches ``lr`` at step ``w`` without spending a step at rate 0.
    The decay reaches 0 at step ``T``, the first step after training; the last
    trained step, ``T - 1``, gets a small positive rate.

    Parameters
    ----------
    lr : float
        Peak rate, > 0: :attr:`lrfinder.analysis.Suggestion.lr`.
    total_steps : int
        Training steps, >= 1: ``epochs * steps_per_epoch``.
    warmup_steps : int
        Steps of linear warm-up, 0 <= warmup_steps < total_steps.

    Examples
    --------
    >>> schedule = cosine(0.01, 100)
    >>> [round(schedule(step), 12) for step in (0, 50, 100)]
    [0.01, 0.005, 0.0]
    """
    return Cosine(lr, total_steps, warmup_steps)


def triangular(base_lr: float, max_lr: float, step_size: int) -> Triangular:
    """Smith's cyclical triangular schedule (2017) as a ``step -> lr`` callable.

    The rate climbs linearly from ``base_lr`` at step 0 to ``max_lr`` at step
    ``step_size``, falls back to ``base_lr`` at ``2 * step_size``, and repeats
    for ever (there is no end)::

        x = |(t mod 2s) / s - 1|,    lr(t) = base_lr + (max_lr - base_lr) * (1 - x)

    Smith suggests ``step_size`` of 2 to 10 epochs, and ending training at the
    end of a cycle (a multiple of ``2 * step_size``), where the rate is lowest.

    Parameters
    ----------
    base_lr, max_lr : float
        The bounds, 0 < base_lr < max_lr: :attr:`lrfinder.analysis.Suggestion.base_lr`
        and :attr:`~lrfinder.analysis.Suggestion.max_lr`.
    step_size : int
        Steps in half a cycle, >= 1.

    Examples
    --------
    >>> schedule = triangular(1e-3, 4e-3, 10)
    >>> schedule(0), schedule(5), schedule(10), schedule(20)
    (0.001, 0.0025, 0.004, 0.001)
    """
    return Triangular(base_lr, max_lr, step_size)


#: The training schedules by the name ``compare_optimizers(train_schedule=...)`` takes.
TRAINING_SCHEDULES = names.TRAIN_SCHEDULES
