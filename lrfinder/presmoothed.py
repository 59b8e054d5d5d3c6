"""Curves recorded elsewhere that were smoothed during the test, and how to undo it.

torch-lr-finder's ``LRFinder.history["loss"]`` is not the loss of each step: by default
(``smooth_f=0.05``) it is an exponential moving average,

.. math::  s_0 = y_0, \\qquad s_t = \\beta\\, s_{t-1} + (1 - \\beta)\\, y_t, \\qquad \\beta = 0.95,

and fastai's recorder keeps ``avg_t = beta * avg_{t-1} + (1 - beta) * y_t`` with ``beta = 0.98``
and the bias correction ``s_t = avg_t / (1 - beta**(t + 1))``. Both averages lag by about
``beta / (1 - beta)`` steps (19 and 49), which on a 100-step test over eight decades moves
every feature of the curve 1.5 to 4 decades towards higher rates. lrfinder then smooths the
curve again, without lag but on top of that lag, and suggests rates that are far too high.
So a curve read from another tool (:func:`lrfinder.load_result` of a history or a table,
:meth:`~lrfinder.results.RangeTestResult.from_curve`) is checked, and un-smoothed when it
was smoothed. lrfinder's own results are never touched: they hold raw losses.

The rule
--------
*Where the loss barely moves, a raw range test is white noise.* At the start of the sweep
the rates are too small for the model to change, so the losses of successive steps are
independent draws of the mini-batch loss about a level that drifts only slowly. Their
first differences ``d_t = y_t - y_{t-1}`` have a lag-1 autocorrelation of ``-1/2`` (each
``y_t`` enters two neighbouring differences with opposite signs), and over ``k``
differences the sample value scatters about it with standard deviation ``sqrt(1/(2k))``
(Bartlett's formula for that process). An EMA changes both parts of the differences: their
noise becomes the innovations ``(1 - beta)(y_t - s_{t-1})``, some 20 times smaller and with
a lag-1 autocorrelation of ``-(1 - beta)/2``, nearly 0, while the slow drift of the level
(the first part of the fall) is kept whole, and its differences are correlated from step
to step. So on a smoothed curve the statistic lies near 0 or above; on a raw one near
``-1/2``. The test:

1. the *head* of the curve is the stretch before its running median
   (:data:`RUNNING_MEDIAN_HALF`) first falls by :data:`HEAD_DROP_FRACTION` of its total
   drop: the plateau and the very start of the fall;
2. the curve is pre-smoothed when the head's statistic ``r`` lies more than
   ``z * sqrt(1/(2k))`` above ``-1/2``, with ``z`` the one-sided normal quantile of
   :data:`FALSE_ALARM` (white noise of that length goes beyond it once in 100,000 curves);
3. and when the curve, un-smoothed with ``beta``, has a head (found again: the EMA's lag
   made the smoothed one longer) whose differences look white again, within the same
   ``z`` bound for its length either side of ``-1/2``. A smooth curve with little noise
   (a validation loss, an analytic curve) also has positively correlated differences, but
   un-smoothing cannot make them white, since any inverse of an EMA of a smooth curve is
   smooth; it is left alone.

Measured on torch-lr-finder 0.2.2's default tests (digits and MNIST, six optimizers, three
seeds: ``benchmarks/imported_quality.py``), ``(r + 1/2) / sqrt(1/(2k))`` is 4.9 to 15.7 on
the 36 histories and at most 3.4 on the raw losses of the same runs; on lrfinder's own raw
curves (digits, six optimizers, 200 steps) at most 1.5. The limit: a raw curve whose start
is very quiet (noise under about 0.5% of the drop per step) and whose fall begins slowly
inside the head can be taken for a smoothed one, as on synthetic curves of that kind.

The factor is not measured; the tool is. On a 100-step curve EMAs of white noise with
``beta`` 0.9, 0.95 or 0.99 differ only at lags of 10 to 100 steps, as long as the plateau
itself: the root of the lag-1 statistic, a fit of the first ten autocorrelations and the
Gaussian likelihood of ``beta`` were tried on those histories (true factor 0.95), and their
estimates spread over 0.57 to 0.999. The two tools' forms, though, differ plainly at the
start: fastai's bias-corrected average of the first steps is a plain mean of few losses,
whose differences are far larger than the later ones, and each form's inverse applied to
the other's curve distorts the noise of the first :data:`EARLY_STEPS` steps by a factor of
2 to 50 (:func:`_recorder_of`). So the curve is un-smoothed with the :data:`RECORDERS`
entry whose inverse gives its first steps the noise of the rest of the head: beta = 0.95
without bias correction (torch-lr-finder's default ``smooth_f=0.05``), or 0.98 with it
(fastai's). For a bias-corrected average the statistic weighs each difference by
``1 - beta**(t + 1)``, which evens out those first differences, and the bound is taken for
the effective number of differences. Pass the factor when you know it is another.

Inverting
---------
:func:`unsmooth` inverts either form exactly: ``y_t = (s_t - beta * s_{t-1}) / (1 - beta)``,
with ``y_0 = s_0``; with ``bias_corrected=True`` it first multiplies the bias correction back
in (``avg_t = s_t * (1 - beta**(t + 1))``). Each stretch of finite values is inverted on its
own, since a missing value leaves its successor's average unknown: the first value of
each stretch is kept as recorded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from lrfinder.errors import LRFinderError

__all__ = [
    "DEFAULT_BETA",
    "FALSE_ALARM",
    "RECORDERS",
    "Presmoothing",
    "Recorder",
    "check_beta",
    "detect",
    "describe",
    "lag1_of_differences",
    "unsmooth",
]

#: The EMA factor assumed for a pre-smoothed curve: torch-lr-finder's ``1 - smooth_f``.
DEFAULT_BETA = 0.95

#: The chance that white noise of any length is taken for a pre-smoothed curve. Taking a
#: raw curve for a smoothed one moves it about ``beta / (1 - beta)`` steps towards lower
#: rates and multiplies its noise by some ``1 / (1 - beta)``, so this is kept tiny; the
#: smoothed histories measured (module docstring) still lie beyond it with a margin.
FALSE_ALARM = 1e-5

#: The lag-1 autocorrelation of the first differences of white noise.
WHITE_LAG1 = -0.5

#: The head ends where the running median has fallen by this share of its total drop.
HEAD_DROP_FRACTION = 0.1

#: Half width, in points, of the running median that finds the head.
RUNNING_MEDIAN_HALF = 5

#: A head with fewer differences than this is not tested (the bound would be too wide).
MIN_HEAD_POINTS = 20


@dataclass(frozen=True)
class Recorder:
    """A tool that smooths the loss during its range test, and how."""

    name: str
    #: Its default EMA factor.
    beta: float
    #: Whether it divides the average by ``1 - beta**(t + 1)``.
    bias_corrected: bool


#: The tools whose recorded curves are smoothed, with their defaults.
RECORDERS = (
    Recorder("torch-lr-finder", DEFAULT_BETA, bias_corrected=False),
    Recorder("fastai", 0.98, bias_corrected=True),
)

#: How many first differences are compared with the rest of the head to tell the forms apart.
EARLY_STEPS = 10


@dataclass(frozen=True)
class Presmoothing:
    """What :func:`detect` found.

    Attributes
    ----------
    presmoothed : bool
        True when the curve looks smoothed by an EMA during the test.
    recorder : Recorder or None
        The tool whose form of the EMA it matches, whose factor and form it is
        un-smoothed with (None when not pre-smoothed).
    statistic, inverted : float
        The lag-1 autocorrelation of the head's first differences, as given and after
        un-smoothing with ``beta`` (NaN when not computed).
    bound : float
        How far from ``-1/2`` white noise of this head's length may lie.
    head : int
        The number of points of the head.
    why : str
        In plain words, why the curve was or was not taken for pre-smoothed.
    """

    presmoothed: bool
    recorder: Recorder | None
    statistic: float
    inverted: float
    bound: float
    head: int
    why: str


def check_beta(beta) -> float:
    ok = isinstance(beta, (int, float)) and not isinstance(beta, bool)
    if not (ok and math.isfinite(beta) and 0.0 < beta < 1.0):
        raise LRFinderError(f"the EMA factor beta must be a number in (0, 1), got {beta!r}")
    return float(beta)


def unsmooth(losses, beta: float = DEFAULT_BETA, *, bias_corrected: bool = False) -> np.ndarray:
    """The raw losses behind an EMA-smoothed curve (see the module docstring).

    Parameters
    ----------
    losses : array_like of float
        The smoothed curve, in recorded order; non-finite values stay where they are.
    beta : float
        The EMA's factor, in (0, 1) (torch-lr-finder: ``1 - smooth_f``).
    bias_corrected : bool
        True for fastai's form, divided by ``1 - beta**(t + 1)``.
    """
    beta = check_beta(beta)
    s = np.asarray(losses, dtype=np.float64).reshape(-1)
    out = s.copy()
    finite = np.isfinite(s)
    edges = np.flatnonzero(np.diff(np.r_[0, finite.astype(np.int8), 0]))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        run = s[a:b]
        if bias_corrected:  # back to the running averages, counted from the first step
            run = run * (1.0 - beta ** np.arange(a + 1, b + 1))
        out[a + 1 : b] = (run[1:] - beta * run[:-1]) / (1.0 - beta)
    return out


def lag1_of_differences(values, weights=None) -> float:
    """The lag-1 autocorrelation of the first differences (NaN when they are all equal).

    ``weights`` (one per difference) scale them first: a deterministic, slowly varying
    weight leaves white noise's ``-1/2`` as it is.
    """
    d = np.diff(np.asarray(values, dtype=np.float64))
    if weights is not None:
        d = d * weights
    d = d - d.mean() if d.size else d
    den = float(np.sum(d * d))
    if d.size < 3 or not den > 0.0:
        return math.nan
    return float(np.sum(d[1:] * d[:-1]) / den)


def _head(y: np.ndarray) -> int:
    """Points before the running median first falls by HEAD_DROP_FRACTION of its drop."""
    half = min(RUNNING_MEDIAN_HALF, (y.size - 1) // 2)
    if half < 1:
        return y.size
    padded = np.pad(y, half, mode="reflect")
    level = np.median(np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1), axis=1)
    top = float(np.median(y[: 2 * half]))
    below = np.flatnonzero(level < top - HEAD_DROP_FRACTION * (top - float(level.min())))
    return int(below[0]) if below.size else int(y.size)


def _not(head: int, statistic: float, bound: float, why: str, inverted=math.nan):
    return Presmoothing(False, None, statistic, inverted, bound, head, why)


def _early_log_excess(raw: np.ndarray, k: int) -> float:
    """How much larger, in mean log, the first steps' differences are than the rest's."""
    d = np.abs(np.diff(raw[:k]))
    early, later = d[:EARLY_STEPS], d[EARLY_STEPS:]
    early, later = early[early > 0], later[later > 0]
    if not (early.size and later.size):
        return math.inf
    return float(np.mean(np.log(early)) - np.mean(np.log(later)))


def _recorder_of(y: np.ndarray) -> Recorder:
    """The recorder whose inverse gives the first steps the noise of the rest of the head.

    The wrong form leaves the first ``1/(1 - beta)`` steps off: torch-lr-finder's inverse
    of fastai's bias-corrected average blows their noise up (by ``beta**(t+1) / (1 -
    beta**(t+1))``, 49 times at the first step), fastai's inverse of torch-lr-finder's
    shrinks it (by ``1 - beta**(t+1)``, to 2% at the first step).
    """

    def misfit(recorder: Recorder) -> float:
        raw = unsmooth(y, recorder.beta, bias_corrected=recorder.bias_corrected)
        return abs(_early_log_excess(raw, _head(raw)))

    return min(RECORDERS, key=misfit)


def _weights(recorder: Recorder, k: int) -> np.ndarray:
    """Per difference of the head: 1, or for a bias-corrected average ``1 - beta**(t+1)``,
    which makes the differences of its first steps (an average of few losses, so large)
    as large as the later ones."""
    if not recorder.bias_corrected:
        return np.ones(k - 1)
    return 1.0 - recorder.beta ** np.arange(2, k + 1)


def _effective_count(weights: np.ndarray) -> float:
    """How many equally weighted differences carry as much information as these."""
    w2 = weights**2
    return float(np.sum(w2) ** 2 / np.sum(w2**2))


def detect(lrs, losses) -> Presmoothing:
    """Whether an imported curve was smoothed by an EMA during the test, and by which tool.

    Only a sweep with one step per rate, rising, is tested (that is what the tools that
    smooth record); the head is read on the finite values before the first missing one.
    """
    lrs = np.asarray(lrs, dtype=np.float64).reshape(-1)
    y = np.asarray(losses, dtype=np.float64).reshape(-1)
    if lrs.size != y.size or lrs.size < 2 or not np.all(np.diff(lrs) > 0):
        return _not(0, math.nan, math.nan, "the rates do not rise one step per rate")
    finite = np.isfinite(y)
    stop = int(np.argmin(finite)) if not finite.all() else y.size
    y = y[:stop]
    if y.size < MIN_HEAD_POINTS + 1:
        return _not(y.size, math.nan, math.nan, "the curve is too short to tell")
    k = _head(y)
    if k < MIN_HEAD_POINTS + 1:
        return _not(k, math.nan, math.nan, "its flat start is too short to tell")
    recorder = _recorder_of(y)
    weights = _weights(recorder, k)
    z = NormalDist().inv_cdf(1.0 - FALSE_ALARM)
    bound = z * math.sqrt(1.0 / (2 * _effective_count(weights)))
    r = lag1_of_differences(y[:k], weights)
    if not math.isfinite(r) or r <= WHITE_LAG1 + bound:
        return _not(k, r, bound, "its start varies from step to step as raw losses do")
    raw = unsmooth(y, recorder.beta, bias_corrected=recorder.bias_corrected)
    k_raw = _head(raw)  # the EMA's lag made the smoothed head longer than the raw one
    r_inv = lag1_of_differences(raw[:k_raw])
    bound_raw = z * math.sqrt(1.0 / (2 * max(k_raw - 1, 1)))
    if not (math.isfinite(r_inv) and abs(r_inv - WHITE_LAG1) <= bound_raw):
        return _not(
            k, r, bound, "it is smooth, but un-smoothing it does not give raw losses", r_inv
        )
    return Presmoothing(True, recorder, r, r_inv, bound, k, "an EMA of raw losses")


def describe(found: Presmoothing | float) -> str:
    """The plain-words note of a curve that was un-smoothed.

    ``found`` is what :func:`detect` found, or the factor the caller gave.
    """
    if not isinstance(found, Presmoothing):
        return (
            f"the curve was un-smoothed with the EMA factor given, beta = {found:g}, before reading"
        )
    rec = found.recorder
    form = "with its bias correction, " if rec.bias_corrected else ""
    return (
        f"the curve looks pre-smoothed by an EMA, as {rec.name} records it (its flat start is "
        f"far smoother than raw mini-batch losses); it was un-smoothed with {rec.name}'s "
        f"default beta = {rec.beta:g} {form}before reading"
    )
