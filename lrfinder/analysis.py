"""Read a learning-rate range test: smooth the loss without lag and suggest a rate.

The range test records the training loss at every step while the learning rate
rises. This module turns that record into a :class:`Curve` (what the plot
draws), four :class:`Landmarks` and a :class:`Suggestion`. It does no plotting
and no I/O.

Why each choice
---------------
Raw losses are kept.
    Smoothing is done here, at analysis time, never during the test, so the
    same record can be read again with other settings. When a rate was held for
    several steps (a piecewise ``Looper`` schedule), the steps of that rate are
    first aggregated to their median, which one bad batch cannot move.

Centred smoothing in log10(lr).
    Classic finders smooth with a causal exponential moving average
    (``beta = 0.95`` to ``0.98``). On a schedule with ``k`` steps per decade such
    an average lags by about ``beta / (1 - beta) / k`` decades, which drags every
    feature of the curve, the minimum included, towards higher rates; rules such
    as "minimum / 10" then patch the lag with a constant. Here the curve is
    resampled onto a uniform grid in ``log10(lr)`` and smoothed with a
    Savitzky-Golay filter, a local quadratic fit over a centred window. A
    centred filter has no lag: a symmetric bump stays where it was. The window
    is given in decades (``window``, default :data:`DEFAULT_WINDOW_DECADES`), so
    the same setting means the same thing for 100 or 1000 steps.

Robust slope against log10(lr).
    Rates are chosen on a log scale and the loss responds to the factor by which
    the rate changes, so the slope is ``d loss / d log10(lr)``, not the slope
    against the step index or the raw rate. Before smoothing, a Hampel filter
    replaces points far from their running median (more than
    :data:`HAMPEL_N_SIGMAS` robust standard deviations), so a single spike can
    neither move the steepest point nor fake a minimum. The slope itself is the
    derivative of the same local quadratic fit, not a difference of neighbours.

Relative thresholds.
    Losses may be large, tiny or negative, so no threshold is absolute. The
    total drop of the smoothed loss is compared with the noise of the smoothed
    curve (estimated from the residuals by the median absolute deviation) and
    with the level of the loss; landmarks are defined by fractions of the
    steepest slope or of the total drop.

Refusing to answer.
    When the curve is too short, flat (its drop is not distinguishable from
    noise), or diverges from the first steps, :func:`suggest` returns a
    suggestion whose ``lr`` is ``None`` and whose ``reason`` says why. It never
    returns an arbitrary point.

The ``auto`` rule
-----------------
The steepest descent marks the rates that learn fastest; past the minimum of
the smoothed loss a step no longer lowers the loss. Between the two the curve
flattens into its bottom, and where exactly the lowest point of a flat bottom
falls is decided by noise. ``auto`` therefore takes the *edge* of the bottom:
the lowest rate at which the smoothed loss has come as close to its minimum as
can matter, within :data:`EDGE_NOISE_SIGMAS` standard deviations of its noise
(closer cannot be told apart) or within :data:`EDGE_DROP_FRACTION` of its total
drop (closer is not worth the risk), whichever is wider. Both thresholds are
in the curve's own units, so no constant depends on the scale of a dataset's
loss, and no fixed factor such as "minimum / 10" is involved. On a sharp
V-shaped curve the edge is next to the minimum; on a curve that levels off
long before it turns up (plain SGD on least squares, where a range test keeps
inching down past the stability limit 2/L before the blow-up shows) it is
where the levelling starts, well inside the limit.

Two corrections keep the edge safe for a run that starts from scratch, which
the test, having warmed up the model and optimizer at tiny rates, never is:

* a slow learner (the default test saw no learning and had to be extended)
  falls only near the largest stable rate, so its edge sits on the cliff;
  ``auto`` backs off towards minimum / 10 (:data:`SLOW_BACKOFF_WEIGHT`);
* an optimizer whose first steps from fresh state are larger than its settled
  ones (RMSProp, whose zero-initialised average is not bias-corrected, by
  ``1 / sqrt(1 - rho)``: see
  :attr:`lrfinder.optimizers.Optimizer.cold_start_gain`) is kept that many
  times below the rate where the test diverged.

See :func:`suggest` and ``benchmarks/quality.py`` for how it was validated.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lrfinder.errors import LRFinderError, check_positive
from lrfinder.results import median_over_runs

__all__ = [
    "METHODS",
    "STATUSES",
    "Curve",
    "Landmarks",
    "Suggestion",
    "analyse_curve",
    "suggest",
]

#: Names accepted by :func:`suggest`; ``"auto"`` is the default.
METHODS = ("auto", "steepest", "minimum", "valley")

#: :attr:`Suggestion.status` values: found, or why there is no answer.
STATUSES = ("ok", "too_short", "flat", "no_learning", "rises_at_start")

#: Width of the centred smoothing window, in decades of learning rate.
#: Half a decade averages over enough steps to tame minibatch noise on a typical
#: test (100 to 1000 steps over 5 to 8 decades) while keeping the steepest
#: descent and the minimum, which are usually a decade or more apart, distinct.
DEFAULT_WINDOW_DECADES = 0.5

#: Degree of the Savitzky-Golay local polynomial. A quadratic follows the bowl
#: around the minimum without the ringing of higher degrees.
SAVGOL_POLYORDER = 2

#: The smoothing window never has fewer points than this (odd, > polyorder).
MIN_WINDOW_POINTS = 5

#: Fewer distinct finite rates than this is too short a curve to read.
MIN_POINTS = 10

#: Half width, in points, of the Hampel filter's running median.
HAMPEL_HALF_WIDTH = 3

#: A point further than this many robust standard deviations from its running
#: median is a spike and is replaced by that median.
HAMPEL_N_SIGMAS = 3.0

#: ... and further than this fraction of the curve's descent (start level minus
#: lowest running median): on a curve with almost no noise, curvature alone
#: must not be taken for spikes.
HAMPEL_MIN_FRACTION = 0.01

#: Converts a median absolute deviation into a Gaussian standard deviation.
MAD_TO_SIGMA = 1.4826

#: The smoothed loss must drop from its first value by more than this many
#: standard deviations of the smoothed curve's noise to count as a descent;
#: below that the curve is flat. The deepest dip of pure noise, smoothed, is
#: rarely beyond 8 of them (99th percentile over 100 to 1000 points, Gaussian
#: or heavy-tailed noise), so 10 leaves a margin.
FLAT_Z = 10.0

#: The drop must also exceed this fraction of the loss level: the resolution of
#: float32 losses, so that rounding alone is never read as a descent. Being this
#: small, it keeps the answer independent of an offset added to the loss.
MIN_RELATIVE_DROP = 1e-6

#: Before smoothing, losses above ``start + DIVERGENCE_CLIP * drop`` are
#: clipped, so a blow-up to 1e10 cannot ring through the window onto the
#: minimum. The shape of the curve below the starting level is untouched.
DIVERGENCE_CLIP = 1.0

#: ... and never closer to the start than this many noise standard deviations.
CLIP_NOISE_SIGMAS = 5.0

#: The divergence point is where the smoothed loss, past its minimum, has risen
#: again by this fraction of its total drop (or the first non-finite loss).
DIVERGENCE_RISE_FRACTION = 0.5

#: The fall starts where the slope, walking down from the steepest point, is
#: still below this fraction of the steepest slope.
FALL_START_SLOPE_FRACTION = 0.1

#: The band of good rates is where the slope is below this fraction of the
#: steepest slope, up to the ``auto`` suggestion (before the cold-start cap, which
#: then moves the whole band down with the suggestion).
BAND_SLOPE_FRACTION = 0.5

#: The ``minimum`` method divides the rate at the minimum by this factor.
MINIMUM_DIVISOR = 10.0

#: ``auto`` takes the lowest rate whose smoothed loss is within this many
#: standard deviations of the smoothed curve's noise of the minimum: closer
#: than that, a rate cannot be told apart from the minimum ...
EDGE_NOISE_SIGMAS = 3.0

#: ... or within this fraction of the total drop, whichever is wider: once 95%
#: of the descent is done, the rest is not worth edging towards the cliff for.
EDGE_DROP_FRACTION = 0.05

#: A slow learner (a test that had to be extended because the default one saw no
#: learning) only shows its fall once the rate nears the largest stable one, so its
#: edge sits on the cliff, and a run from scratch at that rate is unstable. There,
#: ``auto`` backs off to the geometric mean of the edge and the classic
#: ``minimum / MINIMUM_DIVISOR``: halfway, in log10(lr), between the two readings.
SLOW_BACKOFF_WEIGHT = 0.5

#: Smith (2017), section 3.3: ``base_lr`` is a third to a quarter of ``max_lr``.
CYCLIC_RATIO = 4.0

#: The 1cycle peak rate sits this many decades below the minimum: its warm-up
#: and annealing tolerate rates close to the edge of stability.
ONE_CYCLE_MARGIN_DECADES = 0.5


@dataclass(frozen=True)
class Landmarks:
    """Learning rates where the smoothed loss changes character.

    Attributes
    ----------
    fall_start : float or None
        Where the loss starts to fall: the low end of the stretch of strong
        descent that contains the steepest point.
    steepest : float or None
        Where the smoothed loss falls fastest against ``log10(lr)``.
    minimum : float or None
        Where the smoothed loss is lowest.
    divergence : float or None
        Where the loss, past its minimum, has risen again by
        :data:`DIVERGENCE_RISE_FRACTION` of its drop (and by more than its
        noise), or the first non-finite loss. ``None`` when the test ended
        before that.
    """

    fall_start: float | None = None
    steepest: float | None = None
    minimum: float | None = None
    divergence: float | None = None


@dataclass(frozen=True, eq=False)
class Curve:
    """The range-test curve as the plot draws it, one entry per distinct rate.

    Attributes
    ----------
    lrs : ndarray of float64
        Distinct learning rates, increasing, up to the first non-finite loss.
    raw : ndarray of float64
        Median of the raw losses recorded at each rate.
    smooth : ndarray of float64
        Lag-free smoothed loss (Hampel filter, then Savitzky-Golay in log10(lr)).
    slope : ndarray of float64
        ``d smooth / d log10(lr)``.
    """

    lrs: np.ndarray
    raw: np.ndarray
    smooth: np.ndarray
    slope: np.ndarray

    def __len__(self) -> int:
        return int(self.lrs.size)


@dataclass(frozen=True)
class Suggestion:
    """A suggested learning rate and the evidence for it.

    Attributes
    ----------
    lr : float or None
        The suggested initial learning rate, or ``None`` when the curve cannot
        support one (see ``reason``).
    band : tuple of float or None
        ``(low, high)``: rates where the loss still falls strongly and which
        stay clear of the minimum.
    method : str
        One of :data:`METHODS`.
    reason : str
        Plain words: how ``lr`` was chosen, or why there is none.
    landmarks : Landmarks
        Where the loss starts to fall, falls fastest, is lowest and diverges.
    base_lr, max_lr : float or None
        Bounds for a cyclical schedule (Smith, 2017).
    one_cycle_max_lr : float or None
        Peak rate for a 1cycle schedule (Smith, 2018).
    run_lrs : tuple of (float or None)
        The same method applied to each repeat's curve (empty for one run).
    status : str
        ``"ok"`` when ``lr`` was found, else why not, in one word: one of
        :data:`STATUSES`. ``"flat"`` and ``"no_learning"`` mean the test saw no
        learning, which a longer test may fix.
    spread_decades : float or None
        ``max - min`` of ``log10`` of the non-``None`` ``run_lrs``; ``None``
        with fewer than two.
    """

    lr: float | None
    band: tuple[float, float] | None
    method: str
    reason: str
    landmarks: Landmarks = field(default_factory=Landmarks)
    base_lr: float | None = None
    max_lr: float | None = None
    one_cycle_max_lr: float | None = None
    run_lrs: tuple[float | None, ...] = ()
    spread_decades: float | None = None
    status: str = "ok"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly dict (floats, ``None``, lists, strings)."""
        return {
            "lr": self.lr,
            "band": None if self.band is None else [self.band[0], self.band[1]],
            "method": self.method,
            "reason": self.reason,
            "landmarks": {
                "fall_start": self.landmarks.fall_start,
                "steepest": self.landmarks.steepest,
                "minimum": self.landmarks.minimum,
                "divergence": self.landmarks.divergence,
            },
            "base_lr": self.base_lr,
            "max_lr": self.max_lr,
            "one_cycle_max_lr": self.one_cycle_max_lr,
            "run_lrs": list(self.run_lrs),
            "spread_decades": self.spread_decades,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Suggestion:
        """Rebuild a suggestion from :meth:`to_dict` output."""
        try:
            band = data.get("band")
            return cls(
                lr=_opt_float(data["lr"]),
                band=None if band is None else (float(band[0]), float(band[1])),
                method=str(data["method"]),
                reason=str(data["reason"]),
                landmarks=Landmarks(
                    **{k: _opt_float(v) for k, v in dict(data.get("landmarks") or {}).items()}
                ),
                base_lr=_opt_float(data.get("base_lr")),
                max_lr=_opt_float(data.get("max_lr")),
                one_cycle_max_lr=_opt_float(data.get("one_cycle_max_lr")),
                run_lrs=tuple(_opt_float(v) for v in data.get("run_lrs") or ()),
                spread_decades=_opt_float(data.get("spread_decades")),
                status=str(data.get("status", "ok" if data["lr"] is not None else "flat")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LRFinderError(
                f"suggestion data must be a dict as written by Suggestion.to_dict; "
                f"could not read it: {exc}"
            ) from None


def _opt_float(value) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- input


def _check_window(window: float) -> float:
    return check_positive("window", window, "a positive number of decades")


def _check_gain(gain) -> float:
    """A cold-start gain as a float >= 1: first steps no larger than settled ones need no cap."""
    return max(check_positive("cold_start_gain", gain, "a finite number > 0"), 1.0)


def _settings_gain(result) -> float:
    """The cold-start gain a result recorded, or the one its optimizer's name implies."""
    settings = getattr(result, "settings", None)
    if not isinstance(settings, Mapping):
        return 1.0
    if settings.get("cold_start_gain") is not None:
        return settings["cold_start_gain"]
    from lrfinder.optimizers import cold_start_gain

    return cold_start_gain(settings.get("optimizer"), settings.get("optimizer_hyperparameters"))


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise LRFinderError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return method


def _as_arrays(lrs, losses) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if lrs.ndim != 1 or losses.ndim != 1:
        raise LRFinderError(
            f"lrs and losses must be 1-D arrays, got shapes {lrs.shape} and {losses.shape}"
        )
    if lrs.shape != losses.shape:
        raise LRFinderError(
            f"lrs and losses must have the same length, got {lrs.size} and {losses.size}"
        )
    bad = ~np.isfinite(lrs) | (lrs <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise LRFinderError(
            f"learning rates must be positive and finite, got lrs[{i}] = {lrs[i]!r}"
        )
    return lrs, losses


def _finite_head(lrs: np.ndarray, losses: np.ndarray):
    """Cut at the first non-finite loss; return the head and that rate (or None)."""
    finite = np.isfinite(losses)
    if finite.all():
        return lrs, losses, None
    cut = int(np.argmin(finite))
    return lrs[:cut], losses[:cut], float(lrs[cut])


def _per_rate_median(lrs: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rates, increasing, and the median loss of the steps at each."""
    rates, inverse, counts = np.unique(lrs, return_inverse=True, return_counts=True)
    if counts.max(initial=1) == 1:
        return rates, losses[np.argsort(lrs, kind="stable")]
    order = np.argsort(inverse, kind="stable")
    groups = np.split(losses[order], np.cumsum(counts)[:-1])
    return rates, np.array([np.median(g) for g in groups])


# --------------------------------------------------------------------------- smoothing


def _running_median(y: np.ndarray, half: int, *, skip_centre: bool = False) -> np.ndarray:
    """Median of ``y[i - half : i + half + 1]`` (reflected at the ends), NaNs ignored.

    With ``skip_centre`` the point itself is left out, so a spike cannot pull
    its own reference, and on a straight stretch the reference is exactly the
    mean of the two neighbours.
    """
    if y.size < 3 or half < 1:
        return y.copy()
    half = min(half, (y.size - 1) // 2)
    padded = np.pad(y, half, mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    if skip_centre:
        windows = np.delete(windows, half, axis=1)
    if np.isnan(y).any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window stays NaN
            return np.nanmedian(windows, axis=1)
    return np.median(windows, axis=1)


def _robust_sigma(residuals: np.ndarray) -> float:
    if residuals.size == 0:
        return 0.0
    return float(MAD_TO_SIGMA * np.median(np.abs(residuals - np.median(residuals))))


def _hampel(y: np.ndarray) -> tuple[np.ndarray, float]:
    """Replace spikes by their running median; also return the noise ``sigma``.

    A point is a spike when ``|y - median| > HAMPEL_N_SIGMAS * sigma``, with
    ``sigma`` the robust standard deviation of all residuals from the running
    median (which leaves the point out). The running median follows monotone
    stretches exactly, so a steep but clean descent is left alone. A second
    pass recomputes the medians without the points flagged in the first, so a
    spike cannot get its neighbours flagged and replaced too.
    """
    med = _running_median(y, HAMPEL_HALF_WIDTH, skip_centre=True)
    sigma = _robust_sigma(y - med)
    descent = _head_level(y) - float(np.min(med))
    floor = max(HAMPEL_MIN_FRACTION * descent, np.finfo(np.float64).tiny)
    threshold = max(HAMPEL_N_SIGMAS * sigma, floor)
    suspects = np.abs(y - med) > threshold
    if suspects.any():
        med = _running_median(np.where(suspects, np.nan, y), HAMPEL_HALF_WIDTH, skip_centre=True)
        med = np.where(np.isnan(med), y, med)
    spikes = np.abs(y - med) > threshold
    # At the end of the curve a jump up cannot be told from the start of a blow-up
    # (a test that stops on divergence ends on one); reading it as one is the safe side.
    tail = slice(max(y.size - HAMPEL_HALF_WIDTH, 0), None)
    spikes[tail] &= y[tail] < med[tail]
    out = y.copy()
    out[spikes] = med[spikes]
    return out, sigma


def _head_level(y: np.ndarray) -> float:
    return float(np.median(y[: max(3, y.size // 20)]))


def _clip_blow_up(y: np.ndarray, sigma: float) -> np.ndarray:
    """Clip losses far above the starting level (see :data:`DIVERGENCE_CLIP`).

    The clip never comes closer to the start than :data:`CLIP_NOISE_SIGMAS`
    times the noise, so it cuts blow-ups, not the upper half of the noise.
    """
    start = _head_level(y)
    drop = max(start - float(np.min(_running_median(y, HAMPEL_HALF_WIDTH))), 0.0)
    return np.minimum(y, start + max(DIVERGENCE_CLIP * drop, CLIP_NOISE_SIGMAS * sigma))


def _window_points(window: float, spacing: float, n: int) -> int:
    """Odd number of grid points spanning ``window`` decades, within [5, n]."""
    points = max(int(round(window / spacing)), MIN_WINDOW_POINTS)
    points += 1 - points % 2
    largest = n if n % 2 else n - 1
    return min(points, largest)


@dataclass(frozen=True, eq=False)
class _Smoothed:
    curve: Curve
    filtered: np.ndarray  # after the Hampel filter and the clip, on curve.lrs
    window_points: int
    noise_gain: float  # std of the smoothed noise per unit std of the raw noise
    nonfinite_lr: float | None


def _smooth(lrs, losses, window: float) -> _Smoothed:
    from scipy.signal import savgol_coeffs, savgol_filter

    lrs, losses = _as_arrays(lrs, losses)
    head_lrs, head_losses, nonfinite_lr = _finite_head(lrs, losses)
    rates, raw = _per_rate_median(head_lrs, head_losses)
    n = rates.size
    if n < MIN_WINDOW_POINTS:
        empty = Curve(rates, raw, raw.copy(), np.zeros_like(raw))
        return _Smoothed(empty, raw.copy(), n, 1.0, nonfinite_lr)

    filtered = _clip_blow_up(*_hampel(raw))
    x = np.log10(rates)
    grid = np.linspace(x[0], x[-1], n)
    spacing = float(grid[1] - grid[0])
    uniform = bool(np.allclose(grid, x, rtol=0.0, atol=1e-6 * spacing))
    y = filtered if uniform else np.interp(grid, x, filtered)

    points = _window_points(window, spacing, n)
    order = min(SAVGOL_POLYORDER, points - 1)
    smooth = savgol_filter(y, points, order, mode="mirror")
    slope = savgol_filter(y, points, order, deriv=1, delta=spacing, mode="mirror")
    # a local quadratic undershoots at the sharp onset of a blow-up, which would
    # fake a minimum there; the smoothed curve never leaves the data's range
    smooth = np.clip(smooth, np.min(y), np.max(y))
    if not uniform:
        smooth = np.interp(x, grid, smooth)
        slope = np.interp(x, grid, slope)
    gain = float(np.sqrt(np.sum(savgol_coeffs(points, order) ** 2)))
    return _Smoothed(Curve(rates, raw, smooth, slope), filtered, points, gain, nonfinite_lr)


def analyse_curve(lrs, losses, *, window: float = DEFAULT_WINDOW_DECADES) -> Curve:
    """Aggregate, filter and smooth a range-test curve.

    Parameters
    ----------
    lrs : array_like of float, shape (n,)
        Learning rate of each recorded step, positive. Rates held for several
        steps repeat.
    losses : array_like of float, shape (n,)
        Raw loss of each step. Everything from the first non-finite loss on is
        dropped (the test diverged there).
    window : float, optional
        Width of the centred Savitzky-Golay window in decades of learning rate
        (default :data:`DEFAULT_WINDOW_DECADES`). It never has fewer than
        :data:`MIN_WINDOW_POINTS` points nor more than the curve.

    Returns
    -------
    Curve
        One entry per distinct rate, increasing: the median raw loss at that
        rate, the smoothed loss and its slope against ``log10(lr)``. With fewer
        than :data:`MIN_WINDOW_POINTS` rates, ``smooth`` is a copy of ``raw``
        and ``slope`` is zero.

    Raises
    ------
    LRFinderError
        If the arrays are not 1-D of equal length, a rate is not positive and
        finite, or ``window`` is not a positive number.
    """
    return _smooth(lrs, losses, _check_window(window)).curve


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, eq=False)
class _Reading:
    """Indices into the curve for one analysed run (internal)."""

    smoothed: _Smoothed
    landmarks: Landmarks
    problem: str | None  # why no rate can be suggested, or None
    status: str = "ok"  # one of STATUSES
    i_min: int = 0
    i_steep: int = 0
    i_edge: int = 0  # the edge of the curve's bottom, what ``auto`` suggests
    band: tuple[int, int] = (0, 0)
    still_falling: bool = False


def _fmt(lr: float | None) -> str:
    return "none" if lr is None else f"{lr:.3g}"


def _read(lrs, losses, window: float) -> _Reading:
    sm = _smooth(lrs, losses, window)
    c = sm.curve
    n = len(c)
    if n < MIN_POINTS:
        what = "no finite loss" if n == 0 else f"only {n} distinct rate(s) with a finite loss"
        extra = (
            f"; the loss is not finite from lr = {_fmt(sm.nonfinite_lr)}"
            if sm.nonfinite_lr is not None
            else ""
        )
        return _Reading(
            sm,
            Landmarks(divergence=sm.nonfinite_lr),
            f"the curve is too short to read: {what} (need at least {MIN_POINTS}){extra}; "
            "record more steps or start the test at a lower rate",
            status="too_short",
        )

    s, d = c.smooth, c.slope
    i_min = int(np.argmin(s))
    drop = float(s[0] - s[i_min])
    # residuals of a linear smoother have variance (1 - gain^2) sigma^2 at the centre
    sigma = _robust_sigma(sm.filtered - s) / math.sqrt(max(1.0 - sm.noise_gain**2, 0.1))
    level = max(abs(float(s[0])), abs(float(s[i_min])))
    tolerance = max(
        FLAT_Z * sigma * sm.noise_gain, MIN_RELATIVE_DROP * level, np.finfo(np.float64).tiny
    )

    rise = float(np.max(s[i_min:])) - float(s[i_min])
    diverges = sm.nonfinite_lr is not None or rise > tolerance
    divergence = _divergence(c, i_min, max(DIVERGENCE_RISE_FRACTION * drop, tolerance))
    if divergence is None:
        divergence = sm.nonfinite_lr
    early = i_min < sm.window_points // 2
    if drop <= tolerance or early:
        minimum = float(c.lrs[i_min])
        if early and diverges:
            status = "rises_at_start"
            problem = (
                f"the loss rises from the first steps (lowest at lr = {_fmt(minimum)}, "
                f"the start of the range); start the test at a lower rate"
            )
        elif diverges:
            status = "no_learning"
            problem = (
                f"the loss did not fall measurably (by {drop:.3g}, within its noise of "
                f"{tolerance:.3g}) before it turned up at lr = {_fmt(divergence)}: the test "
                "saw no learning; train longer per rate (more steps, or segments with more "
                "iterations) or use a larger batch"
            )
        else:
            status = "flat"
            problem = (
                f"the curve is flat: the smoothed loss drops by {drop:.3g}, which is "
                f"within its noise ({tolerance:.3g} needed); widen the range or train "
                "longer per rate"
            )
        return _Reading(
            sm, Landmarks(minimum=minimum, divergence=divergence), problem, status=status
        )

    i_steep = int(np.argmin(d[: i_min + 1]))
    steepest = float(d[i_steep])
    bottom = s[i_min] + max(EDGE_NOISE_SIGMAS * sigma * sm.noise_gain, EDGE_DROP_FRACTION * drop)
    i_edge = max(int(np.argmax(s[: i_min + 1] <= bottom)), i_steep)
    j = i_steep
    while j > 0 and d[j - 1] < FALL_START_SLOPE_FRACTION * steepest:
        j -= 1
    lo = i_steep
    while lo > 0 and d[lo - 1] < BAND_SLOPE_FRACTION * steepest:
        lo -= 1
    hi = i_steep
    while hi < i_min and d[hi + 1] < BAND_SLOPE_FRACTION * steepest:
        hi += 1
    landmarks = Landmarks(
        fall_start=float(c.lrs[j]),
        steepest=float(c.lrs[i_steep]),
        minimum=float(c.lrs[i_min]),
        divergence=divergence,
    )
    return _Reading(
        sm,
        landmarks,
        None,
        i_min=i_min,
        i_steep=i_steep,
        i_edge=i_edge,
        band=(lo, hi),
        still_falling=not diverges and i_min >= n - 1 - sm.window_points // 2,
    )


def _divergence(c: Curve, i_min: int, rise: float) -> float | None:
    """The first rate past the minimum where the smoothed loss is ``rise`` above it."""
    above = np.flatnonzero(c.smooth[i_min:] > c.smooth[i_min] + rise)
    return float(c.lrs[i_min + above[0]]) if above.size else None


# --------------------------------------------------------------------------- methods


def _valley_index(y: np.ndarray) -> int:
    """fastai's ``valley``: a point 1/2 of the way along the longest descent.

    ``lds[i]`` is the length of the longest decreasing subsequence ending at
    ``i``; the descent runs from ``end - lds[end]`` to ``end``, and fastai takes
    the point ``section + section // 2`` into it with ``section = length / 3``.
    """
    n = y.size
    lds = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        higher = y[:i] > y[i]
        if higher.any():
            lds[i] = int(lds[:i][higher].max()) + 1
    end = int(np.argmax(lds))
    start = max(end - int(lds[end]), 0)
    section = (end - start) / 3
    return min(start + int(section) + int(section / 2), n - 1)


def _minimum_rule(marks: Landmarks) -> float:
    """The classic reading: the rate at the minimum divided by ``MINIMUM_DIVISOR``."""
    return marks.minimum / MINIMUM_DIVISOR


def _cold_start_cap(reading: _Reading, gain: float) -> float:
    """The divergence point (or the last rate tested) divided by the cold-start gain.

    The test took settled steps; a fresh run's first steps are up to ``gain`` times
    larger (see :attr:`lrfinder.optimizers.Optimizer.cold_start_gain`), so below
    this rate they stay no larger than the steps with which the test diverged.
    """
    marks = reading.landmarks
    top = marks.divergence if marks.divergence is not None else reading.smoothed.curve.lrs[-1]
    return float(top) / gain


@dataclass(frozen=True)
class _Auto:
    """The three stages of the ``auto`` rule."""

    edge: float  # the edge of the curve's bottom
    backed: float  # backed off towards minimum / 10 for a slow learner (else the edge)
    lr: float  # capped for the optimizer's cold start: what ``auto`` suggests


def _auto(reading: _Reading, slow: bool, gain: float) -> _Auto:
    edge = float(reading.smoothed.curve.lrs[reading.i_edge])
    backed = edge
    if slow:
        w = SLOW_BACKOFF_WEIGHT
        backed = min(edge, edge ** (1.0 - w) * _minimum_rule(reading.landmarks) ** w)
    return _Auto(edge, backed, min(backed, _cold_start_cap(reading, gain)))


def _choose(
    reading: _Reading, method: str, auto: _Auto, slow: bool, gain: float
) -> tuple[float, str]:
    """The rate ``method`` reads and why."""
    c = reading.smoothed.curve
    marks = reading.landmarks
    if method == "steepest":
        return marks.steepest, (
            f"the smoothed loss falls fastest against log10(lr) at lr = {_fmt(marks.steepest)}"
        )
    if method == "minimum":
        lr = _minimum_rule(marks)
        return lr, (
            f"the smoothed loss is lowest at lr = {_fmt(marks.minimum)}; "
            f"one tenth of that is {_fmt(lr)}"
        )
    if method == "valley":
        i = _valley_index(c.smooth)
        return float(c.lrs[i]), (
            "halfway along the longest stretch of falling smoothed loss "
            f"(fastai's valley rule), at lr = {_fmt(float(c.lrs[i]))}"
        )
    reason = (
        f"the smoothed loss falls fastest at lr = {_fmt(marks.steepest)} and is lowest at "
        f"lr = {_fmt(marks.minimum)}; from lr = {_fmt(auto.edge)} on it is as good as that "
        "minimum (within its noise or 5% of the drop), so larger rates only add risk"
    )
    if slow:
        reason += (
            ". This problem learns slowly (the default test saw no learning), so its loss "
            "fell only near the largest stable rate and a run from scratch there is "
            f"unstable: backed off to {_fmt(auto.backed)}, between that edge and one tenth "
            "of the minimum"
        )
    if auto.lr < auto.backed:
        where = (
            f"where the test diverged (lr = {_fmt(marks.divergence)})"
            if marks.divergence is not None
            else f"at the last rate tested (lr = {_fmt(float(c.lrs[-1]))})"
        )
        reason += (
            f". This optimizer's first steps from fresh state are up to {gain:.3g} times "
            "the settled steps the test took, so the rate is capped at "
            f"1/{gain:.3g} of the rate {where}: {_fmt(auto.lr)}"
        )
    return auto.lr, reason


def _suggest_one(
    lrs, losses, method: str, window: float, slow: bool = False, gain: float = 1.0
) -> Suggestion:
    reading = _read(lrs, losses, window)
    if reading.problem is not None:
        return Suggestion(
            None, None, method, reading.problem, reading.landmarks, status=reading.status
        )
    c = reading.smoothed.curve
    marks = reading.landmarks
    auto = _auto(reading, slow, gain)
    lr, reason = _choose(reading, method, auto, slow, gain)
    lo, hi = reading.band
    band_low = min(float(c.lrs[lo]), auto.backed)
    if slow:  # a slow learner's good rates reach down to the classic reading
        band_low = min(band_low, _minimum_rule(marks))
    band_high = max(min(float(c.lrs[hi]), auto.backed), band_low)
    # the cold-start cap moves the whole band down with the rate
    shift = auto.lr / auto.backed
    band_low, band_high = band_low * shift, band_high * shift
    band = (min(band_low, lr), max(band_high, min(lr, auto.lr)))
    if reading.still_falling:
        reason += (
            "; the loss was still falling at the end of the test, so the minimum may lie "
            "higher: extend the range to confirm"
        )
    max_lr = band[1]
    one_cycle = marks.minimum * 10.0 ** (-ONE_CYCLE_MARGIN_DECADES)
    return Suggestion(
        lr=float(lr),
        band=(float(band[0]), float(band[1])),
        method=method,
        reason=reason,
        landmarks=marks,
        base_lr=float(max(marks.fall_start, max_lr / CYCLIC_RATIO)),
        max_lr=float(max_lr),
        one_cycle_max_lr=float(max(one_cycle, max_lr)),
    )


# --------------------------------------------------------------------------- public


def _curves_of(result, use_validation: bool):
    """Return ``(lrs, losses, [(lrs, run_losses), ...])`` from a result or a pair."""
    if isinstance(result, (tuple, list)) and len(result) == 2:
        lrs, losses = _as_arrays(*result)
        return lrs, losses, []
    try:
        lrs, losses = result.lrs, result.losses
    except AttributeError:
        raise LRFinderError(
            "suggest expects a RangeTestResult (or any object with lrs and losses) or an "
            f"(lrs, losses) pair; got {type(result).__name__}"
        ) from None
    lrs, losses = _as_arrays(lrs, losses)
    val_steps = getattr(result, "val_steps", None)
    val_losses = getattr(result, "val_losses", None)
    if use_validation and val_steps is not None and val_losses is not None:
        steps = np.asarray(val_steps, dtype=np.int64).ravel()
        runs = np.atleast_2d(np.asarray(val_losses, dtype=np.float64))
        if runs.shape[1] != steps.size or (
            steps.size and not (0 <= steps.min() <= steps.max() < lrs.size)
        ):
            raise LRFinderError(
                f"val_losses must have shape (runs, {steps.size}) and val_steps must index "
                f"lrs (length {lrs.size}); got {runs.shape} and steps "
                f"{steps.min() if steps.size else None}..{steps.max() if steps.size else None}"
            )
        lrs = lrs[steps]
        losses = median_over_runs(runs)
    else:
        run_losses = getattr(result, "run_losses", None)
        runs = None if run_losses is None else np.atleast_2d(np.asarray(run_losses, float))
        if runs is not None and runs.shape[1] != lrs.size:
            raise LRFinderError(f"run_losses must have shape (runs, {lrs.size}), got {runs.shape}")
    per_run = [] if runs is None or runs.shape[0] < 2 else [(lrs, row) for row in runs]
    return lrs, losses, per_run


def suggest(
    result,
    method: str = "auto",
    *,
    window: float = DEFAULT_WINDOW_DECADES,
    use_validation: bool = True,
    slow_learner: bool | None = None,
    cold_start_gain: float | None = None,
) -> Suggestion:
    """Suggest an initial learning rate from a range test.

    Parameters
    ----------
    result : RangeTestResult or (lrs, losses)
        Any object with ``lrs`` and ``losses`` arrays (and optionally
        ``run_losses``, ``val_steps``, ``val_losses``), or a plain pair.
    method : {"auto", "steepest", "minimum", "valley"}, optional
        ``"steepest"``: where the smoothed loss falls fastest against
        ``log10(lr)``. ``"minimum"``: the rate at the minimum of the smoothed
        loss divided by :data:`MINIMUM_DIVISOR`. ``"valley"``: fastai's rule,
        halfway along the longest stretch of falling loss. ``"auto"``
        (default): the lowest rate at which the smoothed loss is within
        :data:`EDGE_NOISE_SIGMAS` noise standard deviations, or
        :data:`EDGE_DROP_FRACTION` of the total drop, of its minimum, backed
        off for a slow learner and capped for the optimizer's cold start (see
        ``slow_learner`` and ``cold_start_gain``).
    window : float, optional
        Smoothing window in decades of lr (default
        :data:`DEFAULT_WINDOW_DECADES`); see :func:`analyse_curve`.
    use_validation : bool, optional
        When the result has a validation curve (``val_steps`` is not None),
        read it, at ``lrs[val_steps]`` with the median over runs of
        ``val_losses``, instead of the training loss (default True).
    slow_learner : bool, optional
        Whether the curve comes from a slow learner, whose loss falls only near
        the largest stable rate; ``auto`` then backs off from the edge (see
        :data:`SLOW_BACKOFF_WEIGHT`). By default (None) a result is a slow
        learner when :func:`~lrfinder.find_lr` had to extend its default test
        (``result.settings["extended"]``).
    cold_start_gain : float, optional
        How many times larger than the test's settled steps the optimizer's first
        steps from fresh state are; ``auto`` stays this many times below the
        rate where the test diverged (a gain up to 1 needs no cap). By default
        (None) it is read from ``result.settings``: recorded by
        :func:`~lrfinder.find_lr`, or derived from the optimizer's name and
        hyperparameters, else 1. See
        :attr:`lrfinder.optimizers.Optimizer.cold_start_gain`.

    Returns
    -------
    Suggestion
        ``lr`` is ``None`` when the curve is too short, flat, or diverges from
        the first steps; ``reason`` says which. With several runs, ``run_lrs``
        holds each run's suggestion and ``spread_decades`` their spread.

    Raises
    ------
    LRFinderError
        For an unknown method, a bad window, or malformed arrays.
    """
    method = _check_method(method)
    window = _check_window(window)
    lrs, losses, per_run = _curves_of(result, use_validation)
    if slow_learner is None:
        settings = getattr(result, "settings", None)
        slow_learner = isinstance(settings, Mapping) and bool(settings.get("extended"))
    slow = bool(slow_learner)
    gain = _check_gain(_settings_gain(result) if cold_start_gain is None else cold_start_gain)
    main = _suggest_one(lrs, losses, method, window, slow, gain)
    if not per_run:
        return main
    run_lrs = tuple(
        _suggest_one(r_lrs, r_losses, method, window, slow, gain).lr for r_lrs, r_losses in per_run
    )
    found = [math.log10(lr) for lr in run_lrs if lr is not None]
    spread = max(found) - min(found) if len(found) >= 2 else None
    return replace(main, run_lrs=run_lrs, spread_decades=None if spread is None else float(spread))
