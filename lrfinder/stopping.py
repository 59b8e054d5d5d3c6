"""When a range test stops: the divergence rule, shared by every training loop.

:class:`DivergenceStop` is fed the raw loss of each step and answers, after each,
whether the test has diverged. The NumPy range test (:func:`lrfinder.find_lr`), the
PyTorch one (:func:`lrfinder.torch.find_lr`) and the Keras one
(:func:`lrfinder.keras.find_lr`) all use it, so they stop at the same step, with the
same reason, on the same losses::

    stop = DivergenceStop(stop_factor=4.0)
    for step, lr in enumerate(lrs):
        loss = train_one_step(lr)
        reason = stop.update(loss, lr=lr, step=step)
        if reason is not None:
            break

The rule. The *running* loss is the median of the last STOP_WINDOW losses. The test
stops when the running loss is both

* above the stop-factor line, ``best + (stop_factor - 1) * |best|`` with ``best`` its
  lowest value so far: relative to the loss's scale, the rule as it always was; and
* above the *floor* (the lowest median of LEVEL_WINDOW consecutive losses) by more
  than NOISE_SIGMAS robust sigmas of its noise: relative to the loss's noise.

The first test alone fires on noise: with small batches the running median dips to a
lucky low early on, and ordinary noise later "exceeds" four times it. A real blow-up
rises by orders of magnitude and passes both within a step or two of the first.
A non-finite loss stops the test at once (:func:`nonfinite_reason`).
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from statistics import NormalDist

from lrfinder import names
from lrfinder.errors import check_number

#: Stop when the running loss exceeds its best by this factor (``best * factor``) and its
#: floor by NOISE_SIGMAS times its noise.
DEFAULT_STOP_FACTOR = names.DEFAULT_STOP_FACTOR

#: The running loss is the median of the last this-many raw losses, so one noisy batch
#: does not end the test, and a blow-up does so on its third bad step.
STOP_WINDOW = 5

#: The floor is the lowest median of this many consecutive losses: five times the running
#: window, so its lucky lows are far shallower than a 5-median's. No divergence stop
#: before this many losses are recorded (a non-finite loss still stops at once).
LEVEL_WINDOW = 25

#: The noise is measured on the step-to-step changes of the raw loss over this many
#: steps. A change sees the batch-to-batch noise but not trends or level shifts (a drift
#: adds a constant that the median takes out; a jump is one outlier among 512).
NOISE_WINDOW = 512

#: ... over the NOISE_WINDOW steps before the last this-many: the first steps of a climb
#: change the loss by more than its noise, and must not count as noise. Once the running
#: loss is above the stop-factor line the noise is held, so a climb, or a diverged
#: stretch (noisy too), cannot raise the bar it has to clear.
NOISE_LAG = 10

#: The robust sigma of a change is (this percentile - the median of the changes) over that
#: percentile of a normal distribution: the plain sigma for Gaussian noise, and larger for
#: the right-skewed losses of small batches, whose long upper tail (a bad batch after a
#: typical one) is what the running loss's excursions are made of, and which the median
#: absolute change hides. Not higher: the 95th percentile of 512 changes (or of the ~150
#: of a 200-step test) still ignores 25 (7) outliers, such as the first spikes of an
#: instability, which must not raise the bar either.
NOISE_QUANTILE = 0.95

#: A change is the difference of two losses, sqrt(2) sigmas of one; the median of 5
#: normal values has a sigma of 0.5356 of one. So the running loss's sigma is
#: (percentile - median) * _TO_SIGMA.
_TO_SIGMA = 0.5356 / (NormalDist().inv_cdf(NOISE_QUANTILE) * math.sqrt(2.0))

#: No divergence stop before the noise is measured over this many changes; below
#: NOISE_FULL changes the percentile comes from the few largest, itself noisy, so the
#: sigma is scaled up by sqrt(NOISE_FULL / n): a calm start cannot set a low bar.
NOISE_MIN, NOISE_FULL = 10, 100

#: The rise above the floor must exceed this many robust sigmas of the running loss.
#: Ten, because over the 1e4..1e5 steps of a long test a 5-median's highest excursion
#: reaches ~4.5 sigma for Gaussian noise, the floor sits ~2 sigma below the typical level
#: (it is a minimum), and skewed losses reach further still. In simulated flat 30,000-step
#: tests (20 each) with Gaussian, Student-t(3), chi-square(10), (4) and (2) (the MSE of
#: 10, 4 or 2 errors) and log-normal(0.5) noise it never fired (at 8 sigmas all but the
#: Gaussian did); with log-normal(1) noise, losses spread by a factor e, 3 runs of 20 did.
#: A blow-up still stops as fast as before: it rises by orders of magnitude.
NOISE_SIGMAS = 10.0


def check_stop_factor(stop_factor) -> float:
    """``stop_factor`` as a float, or an :class:`LRFinderError` unless it is finite and > 1."""
    return check_number("stop_factor", stop_factor, low=1, closed="neither", hint="e.g. 4")


def nonfinite_reason(loss: float, *, lr: float, step: int) -> str | None:
    """The stop reason for a non-finite ``loss`` at ``lr`` (step ``step``), else None."""
    if math.isfinite(loss):
        return None
    return f"loss became {loss} at lr={lr:.4g} (step {step})"


class DivergenceStop:
    """The divergence rule of a range test, fed one raw loss per step.

    Parameters
    ----------
    stop_factor : float
        The stop-factor line: the running loss must exceed its lowest value by this
        factor (for negative losses: rise by ``stop_factor - 1`` times its magnitude).
        Must be > 1. See the module docstring for the noise condition.

    Notes
    -----
    The level and noise windows are each a FIFO plus the same values kept sorted, so
    their medians and percentiles are O(1) reads and an update is O(log window) plus
    a list insertion: a few microseconds, whatever the framework.
    """

    def __init__(self, stop_factor: float = DEFAULT_STOP_FACTOR):
        self.stop_factor = check_stop_factor(stop_factor)
        self._margin = self.stop_factor - 1.0
        self._recent: deque[float] = deque(maxlen=STOP_WINDOW)
        self._level_fifo: deque[float] = deque()
        self._level_sorted: list[float] = []
        self._lagged: deque[float] = deque()  # changes of the last NOISE_LAG steps,
        self._change_fifo: deque[float] = deque()  # and of the NOISE_WINDOW steps before
        self._change_sorted: list[float] = []
        self._previous = math.nan
        self._count = 0
        self.best = math.inf  #: the lowest running loss so far
        self.floor = math.inf  #: the lowest median of LEVEL_WINDOW consecutive losses so far
        self.noise = -1.0  #: the running loss's robust sigma (-1: none yet)

    def update(self, loss: float, *, lr: float, step: int) -> str | None:
        """Record the raw ``loss`` of one step; return the stop reason, or None to go on.

        ``lr`` and ``step`` only name where it stopped in the reason. A non-finite
        loss returns :func:`nonfinite_reason` at once (and is not recorded).
        """
        loss = float(loss)
        if not math.isfinite(loss):
            return nonfinite_reason(loss, lr=lr, step=step)
        recent = self._recent
        recent.append(loss)
        running = sorted(recent)[len(recent) // 2]
        if len(recent) == STOP_WINDOW:
            self.best = min(self.best, running)
        level_fifo, level_sorted = self._level_fifo, self._level_sorted
        level_fifo.append(loss)
        insort(level_sorted, loss)
        if len(level_fifo) > LEVEL_WINDOW:
            del level_sorted[bisect_left(level_sorted, level_fifo.popleft())]
        changes = self._change_sorted
        n = len(changes)
        if len(level_fifo) == LEVEL_WINDOW:
            self.floor = min(self.floor, level_sorted[LEVEL_WINDOW // 2])
            if n >= NOISE_MIN:
                spread = changes[int(NOISE_QUANTILE * (n - 1) + 0.5)] - changes[n // 2]
                sigma = spread * _TO_SIGMA * math.sqrt(max(1.0, NOISE_FULL / n))
                best = self.best
                if running - best <= self._margin * abs(best) or self.noise < 0:
                    self.noise = sigma  # held while above the stop-factor line
                elif running - self.floor > NOISE_SIGMAS * self.noise:
                    return (
                        f"loss diverged at lr={lr:.4g} (step {step}): it rose above "
                        f"{self.stop_factor:g}x its best, and by over {NOISE_SIGMAS:g} "
                        "sigmas of its noise"
                    )
        if self._count:
            lagged = self._lagged
            lagged.append(loss - self._previous)
            if len(lagged) > NOISE_LAG:
                change = lagged.popleft()
                self._change_fifo.append(change)
                insort(changes, change)
                if len(self._change_fifo) > NOISE_WINDOW:
                    del changes[bisect_left(changes, self._change_fifo.popleft())]
        self._previous = loss
        self._count += 1
        return None
