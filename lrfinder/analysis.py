"""Read a learning-rate range test: smooth the loss without lag and suggest a rate.

The range test records the training loss at every step while the learning rate
rises. This module reads that record in named stages, each a small function
with its own tests, and does no plotting and no I/O::

    smooth -> estimate_noise -> classify -> find_landmarks -> good_region
           -> a rule from RULES -> corrections (auto only) -> Suggestion

* :func:`smooth`: per-rate medians, a Hampel filter for spikes, a clip of the
  blow-up, and a centred Savitzky-Golay filter in ``log10(lr)``: the
  :class:`Curve` the plot draws.
* :func:`estimate_noise`: the noise of the recorded losses and of the smoothed
  curve, from the filter's residuals (a :class:`Noise`).
* :func:`classify`: ``"ok"``, or why there is no answer (:data:`STATUSES`).
* :func:`find_landmarks`: where the loss starts to fall, falls fastest, is
  lowest and diverges (:class:`Landmarks`).
* :func:`good_region`: how good every rate is, as a weight on ``log10(lr)``.
* :data:`RULES`: the methods, pure functions ``(reading, config) -> Proposal``.
* :func:`correct`: ``auto``'s corrections for a run from scratch, in one step.

:func:`analyse` runs them once on a result and keeps everything in an
:class:`Analysis`; :func:`suggest` returns one method's :class:`Suggestion`.
Every constant lives in :class:`AnalysisConfig`, with the reason for its value.

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
    Savitzky-Golay filter, a local quadratic fit over a centred window, which
    has no lag. The window is given in decades, so the same setting means the
    same thing for 100 or 1000 steps.

Relative thresholds.
    Losses may be large, tiny or negative, so no threshold is absolute: the
    total drop of the smoothed loss is compared with its noise, and the rules
    measure the loss in fractions of that drop.

Refusing to answer.
    When the curve is too short, flat (its drop is not distinguishable from
    noise), or diverges from the first steps, the suggestion's ``lr`` is
    ``None`` and its ``reason`` says why. It never returns an arbitrary point.

The ``auto`` rule
-----------------
A single range test is noisy, and a rule that takes the first crossing of a
threshold (such as "the lowest rate within 5% of the minimum") jumps by a
decade when a small change in the curve moves a hump above or below the line.
``auto`` weighs the whole curve instead. Every rate gets the weight
``exp(-excess / temperature)``, where ``excess`` is how far its smoothed loss
lies above the bottom and ``temperature`` is
:attr:`AnalysisConfig.good_temperature` of the total drop. The bottom is the
lowest level the curve holds over a whole smoothing window
(:func:`held_minimum`), so a dip narrower than the window, which the smoothing
cannot resolve, does not lower it. The rates of the bottom count fully, a
rate that has done only part of the descent counts little, and a short dip
just before the blow-up counts only as much as it is wide. ``auto`` suggests
the :attr:`AnalysisConfig.good_quantile` quantile of that weight along
``log10(lr)``, its median: the middle of the good region.
Read as how likely each rate is to be the best, the median is the estimate
with the least expected error in decades. The rule is continuous in the
curve, so noise of the curve's own size moves it little (a tested property).

Three corrections then read the test as a run from scratch would see it. They
are applied in one visible step, :func:`correct`, and only to ``auto``:

* an optimizer that steps along a moving average of its gradients (Momentum,
  Adam) answers each rate ``beta / (1 - beta)`` steps late while the rate
  rises, so its whole curve sits too high; the rate is read back that many
  steps along the schedule (see
  :attr:`lrfinder.optimizers.Optimizer.momentum_lag`);
* a slow learner (the default test saw no learning and had to be extended)
  falls only near the largest stable rate, so ``auto`` backs off towards
  minimum / 10 (:attr:`AnalysisConfig.slow_backoff_weight`);
* an optimizer whose first steps from fresh state are larger than its settled
  ones (RMSProp, by ``1 / sqrt(1 - rho)``: see
  :attr:`lrfinder.optimizers.Optimizer.cold_start_gain`) is kept that many
  times below the rate where the test diverged.

``benchmarks/quality.py`` scores every single run against a grid search of
constant rates trained from scratch; README's "How the suggestion is made"
gives its figures.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from lrfinder.errors import LRFinderError, check_count, check_number, check_positive
from lrfinder.savgol import savgol_coeffs, savgol_filter

__all__ = [
    "METHODS",
    "NO_LEARNING",
    "RULES",
    "STATUSES",
    "Analysis",
    "AnalysisConfig",
    "Corrections",
    "Curve",
    "GoodRegion",
    "Landmarks",
    "Noise",
    "Proposal",
    "Reading",
    "Suggestion",
    "analyse",
    "analyse_curve",
    "classify",
    "correct",
    "estimate_noise",
    "find_landmarks",
    "good_region",
    "held_minimum",
    "median_over_runs",
    "read",
    "read_back",
    "smooth",
    "suggest",
]

#: :attr:`Suggestion.status` values: found, or why there is no answer.
STATUSES = ("ok", "too_short", "flat", "no_learning", "rises_at_start")

#: The statuses that mean the test saw no learning (a longer test may fix them).
NO_LEARNING = ("flat", "no_learning")

#: Converts a median absolute deviation into a Gaussian standard deviation.
MAD_TO_SIGMA = 1.4826


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class AnalysisConfig:
    """Every constant of the analysis, each with the reason for its value.

    Pass one to :func:`suggest` or :func:`analyse` to read a curve differently,
    e.g. ``suggest(result, config=AnalysisConfig(window=1.0))``.
    """

    #: Width of the centred smoothing window, in decades of learning rate. Half a
    #: decade tames minibatch noise on a typical test (100 to 1000 steps over 5 to
    #: 8 decades) while keeping the steepest descent and the minimum, usually a
    #: decade or more apart, distinct.
    window: float = 0.5
    #: Degree of the Savitzky-Golay local polynomial: a quadratic follows the bowl
    #: around the minimum without the ringing of higher degrees.
    polyorder: int = 2
    #: The smoothing window never has fewer points than this (odd, > polyorder).
    min_window_points: int = 5
    #: Fewer distinct finite rates than this is too short a curve to read.
    min_points: int = 10
    #: Half width, in points, of the Hampel filter's running median.
    hampel_half_width: int = 3
    #: A point further than this many robust standard deviations from its running
    #: median is a spike and is replaced by that median ...
    hampel_sigmas: float = 3.0
    #: ... and further than this fraction of the curve's descent: on a curve with
    #: almost no noise, curvature alone must not be taken for spikes.
    hampel_min_fraction: float = 0.01
    #: The smoothed loss must drop by more than this many standard deviations of
    #: the smoothed curve's noise to count as a descent. The deepest dip of pure
    #: noise, smoothed, is rarely beyond 8 of them (99th percentile over 100 to
    #: 1000 points, Gaussian or heavy-tailed noise), so 10 leaves a margin.
    flat_sigmas: float = 10.0
    #: The drop must also exceed this fraction of the loss level, the resolution of
    #: float32 losses, so that rounding alone is never read as a descent.
    min_relative_drop: float = 1e-6
    #: Before smoothing, losses above ``start + divergence_clip * drop`` are clipped,
    #: so a blow-up to 1e10 cannot ring through the window onto the minimum ...
    divergence_clip: float = 1.0
    #: ... and the clip never comes closer to the start than this many noise
    #: standard deviations, so it cuts blow-ups, not the upper half of the noise.
    clip_sigmas: float = 5.0
    #: The divergence landmark is where the smoothed loss, past its minimum, has
    #: risen again by this fraction of its total drop (or the first non-finite loss).
    divergence_rise_fraction: float = 0.5
    #: The fall starts where the slope, walking down from the steepest point, is
    #: still below this fraction of the steepest slope.
    fall_start_slope_fraction: float = 0.1
    #: ``auto`` weighs each rate by ``exp(-excess / (good_temperature * drop))``:
    #: a rate whose smoothed loss lies this fraction of the total drop above the
    #: bottom (the lowest level held over a smoothing window, :func:`held_minimum`)
    #: counts 1/e as much as the bottom. As a fraction of the drop it is
    #: above the smoothed curve's noise on every curve that is not flat (the drop
    #: exceeds ``flat_sigmas`` of it), so the weight follows the curve, not noise.
    good_temperature: float = 0.15
    #: ``auto`` suggests this quantile of that weight along log10(lr). Read as how
    #: likely each rate is to be the best, the median is the estimate with the least
    #: expected error in decades, the unit in which a wrong rate costs. A lower
    #: quantile is not safer: it lands on the unfinished descent of slow problems.
    #: Momentum's late response, which made the good region look higher than it is,
    #: is corrected separately (:func:`correct`).
    good_quantile: float = 0.5
    #: The band is at least this many decades either side of the suggestion: the
    #: spread between single runs of the same test that the quality benchmark
    #: measures (``benchmarks/quality.py``), so that the band is honest about it.
    band_decades: float = 0.5
    #: ... and reaches over this part of the good region (its weighted quantiles).
    band_quantiles: tuple[float, float] = (0.05, 0.5)
    #: A step between two tested rates is a gap, across which nothing is smoothed, when
    #: it is wider than the smoothing window and than this many times the median
    #: spacing of the rates around it: a piecewise schedule's rates are spaced unevenly
    #: (1x, 2x, ... 10x a decade: steps of 0.3 to 0.05 decades), a gap is far wider.
    gap_spacings: float = 4.0
    #: Two parts of the good region (weight above 1/e) count as separate when a gap
    #: wider than the smoothing window lies between them and the smaller holds at
    #: least this share of the weight; ``reason`` then says the curve is ambiguous.
    ambiguous_share: float = 0.2
    #: A bottom within this many noise standard deviations of its minimum over more
    #: than ``flat_bottom_decades`` cannot place the best rate: ``reason`` says so.
    flat_bottom_sigmas: float = 3.0
    flat_bottom_decades: float = 1.5
    #: The ``minimum`` method divides the rate at the minimum by this factor.
    minimum_divisor: float = 10.0
    #: A slow learner backs off to ``edge**(1 - w) * (minimum / minimum_divisor)**w``:
    #: halfway, in log10(lr), between ``auto``'s reading and the classic one.
    slow_backoff_weight: float = 0.5
    #: Smith (2017), section 3.3: ``base_lr`` is a third to a quarter of ``max_lr``.
    cyclic_ratio: float = 4.0
    #: The 1cycle peak rate sits this many decades below the minimum: its warm-up
    #: and annealing tolerate rates close to the edge of stability.
    one_cycle_margin_decades: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("polyorder", "min_window_points", "min_points", "hampel_half_width"):
                check_count(f"AnalysisConfig.{f.name}", value)
            elif f.name == "band_quantiles":
                ok = (
                    isinstance(value, tuple)
                    and len(value) == 2
                    and all(isinstance(q, (int, float)) for q in value)
                    and 0.0 <= value[0] <= value[1] <= 1.0
                )
                if not ok:
                    raise LRFinderError(
                        f"AnalysisConfig.band_quantiles must be a pair 0 <= low <= high <= 1, "
                        f"got {value!r}"
                    )
            elif f.name in ("good_quantile", "slow_backoff_weight", "ambiguous_share"):
                number = check_positive(f"AnalysisConfig.{f.name}", value, "a number in (0, 1]")
                if number > 1.0:
                    raise LRFinderError(
                        f"AnalysisConfig.{f.name} must be a number in (0, 1], got {value!r}"
                    )
            elif f.name == "min_relative_drop":
                if not (isinstance(value, (int, float)) and 0.0 <= value < 1.0):
                    raise LRFinderError(
                        f"AnalysisConfig.min_relative_drop must be in [0, 1), got {value!r}"
                    )
            else:
                check_positive(f"AnalysisConfig.{f.name}", value, "a positive finite number")
        if self.min_window_points <= self.polyorder:
            raise LRFinderError(
                f"AnalysisConfig.min_window_points ({self.min_window_points}) must exceed "
                f"polyorder ({self.polyorder})"
            )


#: The configuration used when none is given.
DEFAULT_CONFIG = AnalysisConfig()
#: The default smoothing window, in decades (``DEFAULT_CONFIG.window``).
DEFAULT_WINDOW_DECADES = DEFAULT_CONFIG.window
#: The smallest smoothing window, in points (``DEFAULT_CONFIG.min_window_points``).
MIN_WINDOW_POINTS = DEFAULT_CONFIG.min_window_points


# --------------------------------------------------------------------------- records


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
        :attr:`AnalysisConfig.divergence_rise_fraction` of its drop (and by more
        than its noise), or the first non-finite loss. ``None`` when the test
        ended before that.
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
        ``(low, high)``: the rates a single range test cannot tell apart from
        ``lr``. For ``auto`` it holds the benchmark's best constant rate in most
        runs (README gives the share).
    method : str
        One of :data:`METHODS`.
    reason : str
        Plain words: how ``lr`` was chosen, or why there is none; it also says
        when the curve is ambiguous.
    landmarks : Landmarks
        Where the loss starts to fall, falls fastest, is lowest and diverges.
    base_lr, max_lr : float or None
        Bounds for a cyclical schedule (Smith, 2017).
    one_cycle_max_lr : float or None
        Peak rate for a 1cycle schedule (Smith, 2018).
    run_lrs : tuple of (float or None)
        The same method applied to each repeat's curve (empty for one run).
    spread_decades : float or None
        ``max - min`` of ``log10`` of the non-``None`` ``run_lrs``; ``None``
        with fewer than two.
    status : str
        ``"ok"`` when ``lr`` was found, else why not, in one word: one of
        :data:`STATUSES`. ``"flat"`` and ``"no_learning"`` mean the test saw no
        learning, which a longer test may fix.
    ambiguous : bool
        True when the curve has two separate good regions or a bottom flatter
        than its noise, so that where in it the best rate lies is uncertain.
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
    ambiguous: bool = False

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
            "ambiguous": self.ambiguous,
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
                ambiguous=bool(data.get("ambiguous", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LRFinderError(
                f"suggestion data must be a dict as written by Suggestion.to_dict; "
                f"could not read it: {exc}"
            ) from None

    # -- training with the suggestion -------------------------------------------------

    def _bound(self, name: str) -> float:
        value = getattr(self, name)
        if value is None:
            raise LRFinderError(
                f"this suggestion has no {name} to build a schedule from "
                f"(status {self.status!r}): {self.reason}"
            )
        return value

    def one_cycle(self, total_steps: int, **kwargs):
        """A 1cycle schedule peaking at :attr:`one_cycle_max_lr`.

        ``kwargs`` go to :func:`lrfinder.schedules.one_cycle` (``warmup_fraction``,
        ``div_factor``, ``final_div_factor``). Raises :class:`LRFinderError` when
        the curve gave no rate.
        """
        from lrfinder.schedules import one_cycle

        return one_cycle(self._bound("one_cycle_max_lr"), total_steps, **kwargs)

    def cosine(self, total_steps: int, **kwargs):
        """A cosine decay from :attr:`lr` (``kwargs``: ``warmup_steps``)."""
        from lrfinder.schedules import cosine

        return cosine(self._bound("lr"), total_steps, **kwargs)

    def triangular(self, step_size: int):
        """Smith's cyclical schedule between :attr:`base_lr` and :attr:`max_lr`.

        When the two bounds coincide (a very narrow good region), there is no
        cycle to run; train at the constant :attr:`lr` instead.
        """
        from lrfinder.schedules import triangular

        base_lr, max_lr = self._bound("base_lr"), self._bound("max_lr")
        if base_lr >= max_lr:
            raise LRFinderError(
                f"this suggestion's base_lr and max_lr are both {max_lr:.3g}: its good region "
                "is too narrow for a cycle; train at the constant lr instead"
            )
        return triangular(base_lr, max_lr, step_size)

    def schedule(self, kind: str, total_steps: int):
        """The rate, or schedule, to train with: ``kind`` is one of
        :data:`lrfinder.schedules.TRAINING_SCHEDULES`.

        ``"constant"`` is :attr:`lr` itself (a float), ``"onecycle"`` is
        :meth:`one_cycle` and ``"cosine"`` is :meth:`cosine`.
        """
        from lrfinder.schedules import TRAINING_SCHEDULES

        if kind == "constant":
            return self._bound("lr")
        if kind == "onecycle":
            return self.one_cycle(total_steps)
        if kind == "cosine":
            return self.cosine(total_steps)
        raise LRFinderError(
            f"unknown schedule {kind!r}; choose one of {', '.join(TRAINING_SCHEDULES)}"
        )

    def train_with(self, total_steps: int, schedule: str = "onecycle") -> str:
        """One line on how to train with this suggestion, e.g.
        ``"train with: one_cycle(max_lr=7.0e-03, total_steps=1410)"``.

        ``total_steps`` is the training's length (``epochs * steps_per_epoch``,
        see :func:`lrfinder.training.steps_per_epoch`); ``schedule`` as for
        :meth:`schedule`. Raises :class:`LRFinderError` when the curve gave no rate.
        """
        chosen = self.schedule(schedule, total_steps)
        text = f"lr={chosen:.3g}" if schedule == "constant" else repr(chosen)
        return f"train with: {text}"


def _opt_float(value) -> float | None:
    return None if value is None else float(value)


def _fmt(lr: float | None) -> str:
    return "none" if lr is None else f"{lr:.3g}"


# --------------------------------------------------------------------------- input


def _check_config(config) -> AnalysisConfig:
    if config is None:
        return DEFAULT_CONFIG
    if not isinstance(config, AnalysisConfig):
        raise LRFinderError(
            f"config must be an lrfinder.analysis.AnalysisConfig, got {type(config).__name__}"
        )
    return config


def _with_window(config: AnalysisConfig, window) -> AnalysisConfig:
    if window is None:
        return config
    return replace(config, window=check_positive("window", window, "a positive number of decades"))


def _check_gain(gain) -> float:
    """A cold-start gain as a float >= 1: first steps no larger than settled ones need no cap."""
    return max(check_positive("cold_start_gain", gain, "a finite number > 0"), 1.0)


def _from_settings(result, key: str, unknown: float) -> float:
    """``settings[key]`` of a result, else rebuilt from its optimizer's name and
    hyperparameters (:mod:`lrfinder.optimizers`), else ``unknown`` (a bare curve)."""
    settings = getattr(result, "settings", None)
    if not isinstance(settings, Mapping):
        return unknown
    if settings.get(key) is not None:
        return settings[key]
    from lrfinder import optimizers

    rebuild = getattr(optimizers, key)  # cold_start_gain or momentum_lag
    return rebuild(settings.get("optimizer"), settings.get("optimizer_hyperparameters"))


def _recorded_gain(result) -> float:
    """The cold-start gain a result recorded (typed field, else its settings), else 1."""
    gain = getattr(result, "cold_start_gain", None)
    return gain if gain is not None else _from_settings(result, "cold_start_gain", 1.0)


def _check_lag(lag) -> float:
    """A momentum lag as a float >= 0, in steps."""
    return float(check_number("momentum_lag", lag, low=0.0, hint="a number of steps >= 0"))


def _recorded_lag(result) -> float:
    """The momentum lag a result recorded in its settings (rebuilt from the optimizer's
    name and hyperparameters for older files), else 0."""
    return _from_settings(result, "momentum_lag", 0.0)


def _recorded_slow(result) -> bool:
    """Whether find_lr had to extend the test (typed field, else the old settings key)."""
    slow = getattr(result, "slow_learner", None)
    if slow is not None:
        return bool(slow)
    settings = getattr(result, "settings", None)
    return isinstance(settings, Mapping) and bool(settings.get("extended"))


def _recorded_notes(result) -> tuple[str, ...]:
    """What a result says about how its curve was obtained, for the reason to repeat.

    That is its ``note``, except for a slow learner's, which :func:`correct` words itself;
    for an imported curve it says that the curve was un-smoothed before reading
    (:mod:`lrfinder.presmoothed`).
    """
    note = getattr(result, "note", None)
    if not isinstance(note, str) or not note or _recorded_slow(result):
        return ()
    return (note,)


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
            f"learning rates must be positive and finite, got lrs[{i}] = {float(lrs[i])!r}"
        )
    return lrs, losses


def median_over_runs(run_losses) -> np.ndarray:
    """The elementwise median over runs (rows), where a run that stopped early counts as +inf.

    A run stops before the others only when its loss blew up, so after its last
    recorded step it is worse than any loss: the median diverges where most runs
    had diverged, not where the last survivor did. Other NaNs (a step with no
    loss inside a run) are ignored. A single run is returned as a copy; a column
    that is NaN in every run stays NaN.
    """
    rows = np.atleast_2d(np.asarray(run_losses, dtype=np.float64))
    if rows.shape[0] == 1:
        return rows[0].copy()
    recorded = ~np.isnan(rows)
    length = np.where(recorded.any(axis=1), rows.shape[1] - np.argmax(recorded[:, ::-1], axis=1), 0)
    rows = np.where(np.arange(rows.shape[1]) >= length[:, None], np.inf, rows)
    rows[:, length.max() :] = np.nan  # past the longest run nothing was recorded
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy warns on all-NaN columns
        return np.nanmedian(rows, axis=0)


# --------------------------------------------------------------------------- stage 0: split


@dataclass(frozen=True, eq=False)
class Pieces:
    """Stage 0's output: the curve cut into stretches that can be smoothed on their own.

    Attributes
    ----------
    parts : tuple of (lrs, losses)
        Each stretch in recorded order, its rates never falling; a non-finite
        tail (the test diverged there) stays on the stretch it ends.
    main : int
        The stretch the suggestion reads: the first with enough rates.
    notes : tuple of str
        What was cut or skipped, and why, in words.
    """

    parts: tuple[tuple[np.ndarray, np.ndarray], ...]
    main: int
    notes: tuple[str, ...]


def split(lrs, losses, config: AnalysisConfig = DEFAULT_CONFIG) -> Pieces:
    """Stage 0: skip non-finite losses inside the curve and cut it where it cannot be smoothed.

    * Non-finite losses followed by finite ones (two NaN rows in an exported
      history) are skipped, and the points after them are read. A non-finite
      tail is where the test diverged, and stays.
    * Rates that only fall are refused: a range test's rates rise.
    * Where the rates go back down (a zoom after a sweep, a cyclic schedule), or
      leave a gap (:attr:`AnalysisConfig.gap_spacings`), the curve is cut: no
      smoothing or slope is ever taken across either.
    """
    lrs, losses = _as_arrays(lrs, losses)
    notes = []
    finite = np.isfinite(losses)
    tail = int(np.flatnonzero(finite)[-1]) + 1 if finite.any() else 0
    inside = np.flatnonzero(~finite[:tail])
    if inside.size:
        notes.append(
            f"{inside.size} non-finite loss(es) between lr = {_fmt(float(lrs[inside[0]]))} "
            f"and lr = {_fmt(float(lrs[inside[-1]]))} were skipped and the points after them read"
        )
        keep = np.ones(lrs.size, dtype=bool)
        keep[inside] = False
        lrs, losses = lrs[keep], losses[keep]
    steps = np.diff(lrs)
    if steps.size and np.all(steps <= 0) and np.any(steps < 0):
        raise LRFinderError(
            f"the learning rates fall, from lr = {_fmt(float(lrs[0]))} to "
            f"lr = {_fmt(float(lrs[-1]))}, but a range test's rates rise: reverse the rows, "
            "or check that the lr column holds the learning rate"
        )
    parts, cuts = [], []
    down = [0, *(np.flatnonzero(steps < 0) + 1).tolist(), lrs.size]
    for a, b in zip(down[:-1], down[1:], strict=True):
        if a > 0:
            cuts.append(
                f"the rates go back down from lr = {_fmt(float(lrs[a - 1]))} "
                f"to lr = {_fmt(float(lrs[a]))}"
            )
        spacing = np.diff(np.unique(np.log10(lrs[a:b])))
        typical = float(np.median(spacing)) if spacing.size else 0.0
        wide = max(config.window, config.gap_spacings * typical)
        gaps = [0, *(np.flatnonzero(np.diff(np.log10(lrs[a:b])) > wide) + 1).tolist(), b - a]
        for c, d in zip(gaps[:-1], gaps[1:], strict=True):
            if c > 0:
                cuts.append(
                    f"no rate was tested between lr = {_fmt(float(lrs[a + c - 1]))} and "
                    f"lr = {_fmt(float(lrs[a + c]))}, a gap wider than the "
                    f"{config.window:g}-decade smoothing window and than "
                    f"{config.gap_spacings:g} times the usual spacing of the rates"
                )
            parts.append((lrs[a + c : a + d], losses[a + c : a + d]))
    counts = [np.unique(p_lrs[np.isfinite(p_losses)]).size for p_lrs, p_losses in parts]
    enough = [i for i, k in enumerate(counts) if k >= config.min_points]
    main = enough[0] if enough else int(np.argmax(counts))
    if cuts:
        lo, hi = parts[main][0][0], parts[main][0][-1]
        notes.append(
            "; ".join(cuts) + f": each stretch is read on its own, and this is the reading of lr = "
            f"{_fmt(float(lo))} to {_fmt(float(hi))}"
        )
    return Pieces(tuple(parts), main, tuple(notes))


# --------------------------------------------------------------------------- stage 1: smooth


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


def _head_level(y: np.ndarray) -> float:
    return float(np.median(y[: max(3, y.size // 20)]))


def _hampel(y: np.ndarray, config: AnalysisConfig) -> tuple[np.ndarray, float]:
    """Replace spikes by their running median; also return the noise ``sigma``.

    A point is a spike when ``|y - median| > hampel_sigmas * sigma``, with
    ``sigma`` the robust standard deviation of all residuals from the running
    median (which leaves the point out). The running median follows monotone
    stretches exactly, so a steep but clean descent is left alone. A second
    pass recomputes the medians without the points flagged in the first, so a
    spike cannot get its neighbours flagged and replaced too.
    """
    half = config.hampel_half_width
    med = _running_median(y, half, skip_centre=True)
    sigma = _robust_sigma(y - med)
    descent = _head_level(y) - float(np.min(med))
    floor = max(config.hampel_min_fraction * descent, np.finfo(np.float64).tiny)
    threshold = max(config.hampel_sigmas * sigma, floor)
    suspects = np.abs(y - med) > threshold
    if suspects.any():
        med = _running_median(np.where(suspects, np.nan, y), half, skip_centre=True)
        med = np.where(np.isnan(med), y, med)
    spikes = np.abs(y - med) > threshold
    # At the end of the curve a jump up cannot be told from the start of a blow-up
    # (a test that stops on divergence ends on one); reading it as one is the safe side.
    tail = slice(max(y.size - half, 0), None)
    spikes[tail] &= y[tail] < med[tail]
    out = y.copy()
    out[spikes] = med[spikes]
    return out, sigma


def _clip_blow_up(y: np.ndarray, sigma: float, config: AnalysisConfig) -> np.ndarray:
    """Clip losses far above the starting level (see :attr:`AnalysisConfig.divergence_clip`)."""
    start = _head_level(y)
    drop = max(start - float(np.min(_running_median(y, config.hampel_half_width))), 0.0)
    return np.minimum(y, start + max(config.divergence_clip * drop, config.clip_sigmas * sigma))


def _window_points(window: float, spacing: float, n: int, config: AnalysisConfig) -> int:
    """Odd number of grid points spanning ``window`` decades, within [min_window_points, n]."""
    points = max(int(round(window / spacing)), config.min_window_points)
    points += 1 - points % 2
    largest = n if n % 2 else n - 1
    return min(points, largest)


@dataclass(frozen=True, eq=False)
class Smoothed:
    """Stage 1's output: the :class:`Curve` and what the later stages need of the filter."""

    curve: Curve
    filtered: np.ndarray  # after the Hampel filter and the clip, on curve.lrs
    window_points: int
    noise_gain: float  # std of the smoothed noise per unit std of the raw noise
    nonfinite_lr: float | None  # the first rate with a non-finite loss
    # an uneven curve's std of (raw - smoothed) per unit raw noise, at each rate; None
    # when the rates are evenly spaced in log10(lr), where it is sqrt(1 - noise_gain**2)
    residual_scale: np.ndarray | None = None
    # half the smoothing window, in decades of lr (window_points counts the grid's points)
    half_window_decades: float = 0.0
    # rates whose loss the blow-up clip lowered: they carry no noise information
    clipped: np.ndarray | None = None


def smooth(lrs, losses, config: AnalysisConfig = DEFAULT_CONFIG) -> Smoothed:
    """Stage 1: per-rate medians, spike filter, clipped blow-up, centred smoothing.

    Everything from the first non-finite loss on is dropped (the test diverged
    there). With fewer than ``config.min_window_points`` rates the curve is
    returned unsmoothed.
    """
    lrs, losses = _as_arrays(lrs, losses)
    head_lrs, head_losses, nonfinite_lr = _finite_head(lrs, losses)
    rates, raw = _per_rate_median(head_lrs, head_losses)
    n = rates.size
    if n < config.min_window_points:
        empty = Curve(rates, raw, raw.copy(), np.zeros_like(raw))
        return Smoothed(empty, raw.copy(), n, 1.0, nonfinite_lr)

    despiked, spike_sigma = _hampel(raw, config)
    filtered = _clip_blow_up(despiked, spike_sigma, config)
    x = np.log10(rates)
    even = np.linspace(x[0], x[-1], n)
    uniform = bool(np.allclose(even, x, rtol=0.0, atol=1e-3 * float(even[1] - even[0])))
    if uniform:  # an exponential schedule: the filter runs on the points themselves
        grid, y = x, filtered
    else:  # resample at the median spacing, so the densest stretch keeps its detail
        grid = _even_grid(x)
        y = np.interp(grid, x, filtered)
    spacing = float(grid[1] - grid[0])
    points = _window_points(config.window, spacing, grid.size, config)
    order = min(config.polyorder, points - 1)
    level = savgol_filter(y, points, order)
    slope = savgol_filter(y, points, order, deriv=1, delta=spacing)
    # a local quadratic undershoots at the sharp onset of a blow-up, which would
    # fake a minimum there; the smoothed curve never leaves the data's range
    level = np.clip(level, np.min(y), np.max(y))
    if uniform:
        gain = float(np.sqrt(np.sum(savgol_coeffs(points, order) ** 2)))
        residual_scale = None
    else:
        level = np.interp(x, grid, level)
        slope = np.interp(x, grid, slope)
        gain, residual_scale = _noise_response(x, grid, points, order)
    return Smoothed(
        Curve(rates, raw, level, slope),
        filtered,
        points,
        gain,
        nonfinite_lr,
        residual_scale,
        half_window_decades=(points // 2) * spacing,
        clipped=filtered < despiked,
    )


#: The resampling grid of an unevenly spaced curve never has more points than this.
MAX_GRID_POINTS = 20_000

#: Unit-noise draws that measure how an uneven curve's smoothing passes noise through.
NOISE_PROBES = 32


def _even_grid(x: np.ndarray) -> np.ndarray:
    """An even grid over ``x`` at its median spacing (a linear schedule is dense at the top)."""
    span = float(x[-1] - x[0])
    spacing = max(float(np.median(np.diff(x))), span / (MAX_GRID_POINTS - 1))
    return np.linspace(x[0], x[-1], max(int(round(span / spacing)) + 1, x.size))


def _noise_response(x, grid, points: int, order: int) -> tuple[float, np.ndarray]:
    """How the resample-smooth-resample pipeline passes white noise, at each point.

    Returns the median, over points, of the standard deviation of the smoothed
    noise per unit of raw noise, and each point's standard deviation of the
    residual (raw minus smoothed). The pipeline is linear, so fixed unit-noise
    draws measure both exactly in expectation, whatever the spacing of the rates.
    """
    noise = np.random.default_rng(0).standard_normal((x.size, NOISE_PROBES))
    on_grid = np.stack([np.interp(grid, x, col) for col in noise.T], axis=1)
    smoothed_grid = savgol_filter(on_grid, points, order, axis=0)
    smoothed = np.stack([np.interp(x, grid, col) for col in smoothed_grid.T], axis=1)
    gain = float(np.median(np.sqrt(np.mean(smoothed**2, axis=1))))
    residual_scale = np.sqrt(np.mean((noise - smoothed) ** 2, axis=1))
    return gain, np.maximum(residual_scale, 1e-3)


def analyse_curve(lrs, losses, *, window: float | None = None, config=None) -> Curve:
    """Aggregate, filter and smooth a range-test curve (stage 1, :func:`smooth`).

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
        (default :attr:`AnalysisConfig.window`).
    config : AnalysisConfig, optional
        Every other constant.

    Returns
    -------
    Curve
        One entry per distinct rate, increasing: the median raw loss at that
        rate, the smoothed loss and its slope against ``log10(lr)``.

    Raises
    ------
    LRFinderError
        If the arrays are not 1-D of equal length, a rate is not positive and
        finite, or ``window`` is not a positive number.
    """
    config = _with_window(_check_config(config), window)
    pieces = split(lrs, losses, config)
    return smooth(*pieces.parts[pieces.main], config).curve


# --------------------------------------------------------------------------- stage 2: noise


@dataclass(frozen=True)
class Noise:
    """How noisy the curve is (stage 2).

    Attributes
    ----------
    sigma : float
        Standard deviation of the recorded (per-rate) losses about the smooth curve.
    smoothed_sigma : float
        Standard deviation of the noise left in the smoothed curve.
    tolerance : float
        The smallest drop (or rise) that counts as real:
        :attr:`AnalysisConfig.flat_sigmas` times ``smoothed_sigma``, and never
        below the resolution of the loss.
    """

    sigma: float
    smoothed_sigma: float
    tolerance: float


def estimate_noise(sm: Smoothed, config: AnalysisConfig = DEFAULT_CONFIG) -> Noise:
    """Stage 2: the noise, from the robust spread of the residuals of the smoother.

    A linear smoother's residuals have variance ``(1 - gain**2) sigma**2`` at
    the centre of its window, so their spread is scaled back up by that factor;
    on an unevenly spaced curve (a linear schedule) each residual is scaled by
    its own factor, measured by :func:`_noise_response`, so the estimate is the
    same whatever the spacing of the rates.
    """
    s = sm.curve.smooth
    if s.size == 0:
        return Noise(0.0, 0.0, np.finfo(np.float64).tiny)
    if sm.residual_scale is None:
        residuals = (sm.filtered - s) / math.sqrt(max(1.0 - sm.noise_gain**2, 0.1))
    else:  # each residual in units of its own expected size
        residuals = (sm.filtered - s) / sm.residual_scale
    informative = ~sm.clipped if sm.clipped is not None else np.ones(s.size, dtype=bool)
    if np.count_nonzero(informative) >= config.min_window_points:
        residuals = residuals[informative]  # a clipped blow-up is flat, not quiet
    sigma = _robust_sigma(residuals)
    smoothed_sigma = sigma * sm.noise_gain
    level = max(abs(float(s[0])), abs(float(np.min(s))))
    tolerance = max(
        config.flat_sigmas * smoothed_sigma,
        config.min_relative_drop * level,
        np.finfo(np.float64).tiny,
    )
    return Noise(float(sigma), float(smoothed_sigma), float(tolerance))


# --------------------------------------------------------------------------- stage 3: status


def _divergence(curve: Curve, i_min: int, rise: float) -> float | None:
    """The first rate past the minimum where the smoothed loss is ``rise`` above it."""
    above = np.flatnonzero(curve.smooth[i_min:] > curve.smooth[i_min] + rise)
    return float(curve.lrs[i_min + above[0]]) if above.size else None


def _divergence_landmark(sm: Smoothed, noise: Noise, config: AnalysisConfig) -> float | None:
    s = sm.curve.smooth
    i_min = int(np.argmin(s))
    drop = float(s[0] - s[i_min])
    rise = max(config.divergence_rise_fraction * drop, noise.tolerance)
    found = _divergence(sm.curve, i_min, rise)
    if found is None and float(s[-1] - s[i_min]) > noise.tolerance:
        # the test ended rising beyond the noise (it stopped on the blow-up): the
        # blow-up is visible from where the loss last left the noise above its minimum
        inside = np.flatnonzero(s[i_min:] <= s[i_min] + noise.tolerance)
        found = float(sm.curve.lrs[i_min + int(inside[-1]) + 1])
    return sm.nonfinite_lr if found is None else found


def classify(
    sm: Smoothed, noise: Noise, config: AnalysisConfig = DEFAULT_CONFIG
) -> tuple[str, str | None]:
    """Stage 3: ``("ok", None)``, or a status from :data:`STATUSES` and why, in words.

    * ``too_short``: fewer than ``config.min_points`` rates with a finite loss;
    * ``flat``: the smoothed loss never drops by more than its noise tolerance;
    * ``no_learning``: it did not drop measurably before it turned up;
    * ``rises_at_start``: it is lowest within half a window of the first rate.
    """
    c = sm.curve
    n = len(c)
    if n < config.min_points:
        what = "no finite loss" if n == 0 else f"only {n} distinct rate(s) with a finite loss"
        extra = (
            f"; the loss is not finite from lr = {_fmt(sm.nonfinite_lr)}"
            if sm.nonfinite_lr is not None
            else ""
        )
        return "too_short", (
            f"the curve is too short to read: {what} (need at least {config.min_points})"
            f"{extra}; record more steps or start the test at a lower rate"
        )
    s = c.smooth
    i_min = int(np.argmin(s))
    drop = float(s[0] - s[i_min])
    rise = float(np.max(s[i_min:])) - float(s[i_min])
    diverges = sm.nonfinite_lr is not None or rise > noise.tolerance
    x = np.log10(c.lrs)
    early = x[i_min] - x[0] < sm.half_window_decades * (1 - 1e-9)
    if drop > noise.tolerance and not early:
        return "ok", None
    if early and diverges:
        return "rises_at_start", (
            f"the loss rises from the first steps (lowest at lr = {_fmt(float(c.lrs[i_min]))}, "
            "the start of the range); start the test at a lower rate"
        )
    if diverges:
        return "no_learning", (
            f"the loss did not fall measurably (by {drop:.3g}, within its noise of "
            f"{noise.tolerance:.3g}) before it turned up at lr = "
            f"{_fmt(_divergence_landmark(sm, noise, config))}: the test saw no learning; "
            "train longer per rate (more steps, or segments with more iterations) or use "
            "a larger batch"
        )
    return "flat", (
        f"the curve is flat: the smoothed loss drops by {drop:.3g}, which is within its "
        f"noise ({noise.tolerance:.3g} needed); widen the range or train longer per rate"
    )


# --------------------------------------------------------------------------- stage 4: landmarks


def find_landmarks(
    sm: Smoothed, noise: Noise, config: AnalysisConfig = DEFAULT_CONFIG
) -> Landmarks:
    """Stage 4: where the loss starts to fall, falls fastest, is lowest and diverges."""
    c = sm.curve
    if len(c) == 0:
        return Landmarks(divergence=sm.nonfinite_lr)
    s, d = c.smooth, c.slope
    i_min = int(np.argmin(s))
    divergence = _divergence_landmark(sm, noise, config)
    i_steep = int(np.argmin(d[: i_min + 1]))
    if not d[i_steep] < 0:  # no descent: only the minimum and the divergence mean anything
        return Landmarks(minimum=float(c.lrs[i_min]), divergence=divergence)
    j = i_steep
    while j > 0 and d[j - 1] < config.fall_start_slope_fraction * d[i_steep]:
        j -= 1
    return Landmarks(
        fall_start=float(c.lrs[j]),
        steepest=float(c.lrs[i_steep]),
        minimum=float(c.lrs[i_min]),
        divergence=divergence,
    )


# --------------------------------------------------------------------------- stage 5: good region


@dataclass(frozen=True, eq=False)
class GoodRegion:
    """How good each rate is (stage 5): a weight on ``log10(lr)`` and its distribution.

    Attributes
    ----------
    x : ndarray
        ``log10`` of the curve's rates.
    weight : ndarray
        ``exp(-max(smooth - bottom, 0) / (good_temperature * drop))``, where
        ``bottom`` is :func:`held_minimum` of the smoothed curve: 1 at the bottom.
    cdf : ndarray
        The weight integrated along ``x`` (trapezoids), normalised to end at 1.
    """

    x: np.ndarray
    weight: np.ndarray
    cdf: np.ndarray

    def quantile(self, q: float) -> float:
        """The rate below which a share ``q`` of the weight lies."""
        return float(10.0 ** np.interp(q, self.cdf, self.x))


def held_minimum(x: np.ndarray, s: np.ndarray, half_width: float) -> float:
    """The lowest level ``s`` holds over a whole window: ``min_i max_{|x_j - x_i| <= h} s_j``.

    A dip narrower than the window (``2 * half_width`` in ``x``) cannot lower it: the
    smoothing does not resolve such a feature, so it is not the curve's bottom.
    """
    slack = half_width * (1 + 1e-9)
    starts = np.searchsorted(x, x - slack, side="left")
    stops = np.searchsorted(x, x + slack, side="right")
    return min(float(np.max(s[a:b])) for a, b in zip(starts, stops, strict=True))


def good_region(sm: Smoothed, config: AnalysisConfig = DEFAULT_CONFIG) -> GoodRegion:
    """Stage 5: weigh every rate by how close its smoothed loss comes to the bottom."""
    s = sm.curve.smooth
    x = np.log10(sm.curve.lrs)
    bottom = held_minimum(x, s, sm.half_window_decades)
    drop = float(s[0] - bottom)
    temperature = config.good_temperature * max(drop, np.finfo(np.float64).tiny)
    weight = np.exp(-np.maximum(s - bottom, 0.0) / temperature)
    mass = np.concatenate([[0.0], np.cumsum(0.5 * (weight[1:] + weight[:-1]) * np.diff(x))])
    if not mass[-1] > 0:  # a single rate
        return GoodRegion(x, weight, np.linspace(0.0, 1.0, x.size))
    return GoodRegion(x, weight, mass / mass[-1])


def _ambiguity(region: GoodRegion, sm: Smoothed, noise: Noise, config: AnalysisConfig):
    """Why the curve is ambiguous, in words, or None."""
    x, w, s = region.x, region.weight, sm.curve.smooth
    good = w >= math.exp(-1.0)
    idx = np.flatnonzero(good)
    # parts of the good region, joined across gaps no wider than the smoothing window
    parts, start = [], idx[0]
    for a, b in zip(idx[:-1], idx[1:], strict=True):
        if x[b] - x[a] > config.window:
            parts.append((start, a))
            start = b
    parts.append((start, idx[-1]))
    if len(parts) >= 2:
        masses = [float(np.sum(w[a : b + 1])) for a, b in parts]
        share = sorted(masses)[-2] / sum(masses)
        if share >= config.ambiguous_share:
            where = " and ".join(f"{_fmt(10 ** x[a])} to {_fmt(10 ** x[b])}" for a, b in parts)
            return (
                f"the curve is ambiguous: it has {len(parts)} separate good regions "
                f"(lr = {where}); the suggestion weighs them all, and a longer test or "
                "repeats would tell which is real"
            )
    flat = np.flatnonzero(s - np.min(s) <= config.flat_bottom_sigmas * noise.smoothed_sigma)
    width = float(x[flat[-1]] - x[flat[0]])
    if width > config.flat_bottom_decades:
        return (
            f"the curve is ambiguous: its bottom is flat within its noise over {width:.1f} "
            f"decades (lr = {_fmt(10 ** x[flat[0]])} to {_fmt(10 ** x[flat[-1]])}), so where "
            "in it the best rate lies cannot be read from one test"
        )
    return None


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, eq=False)
class Reading:
    """One curve read through every stage: what the rules are given.

    Attributes
    ----------
    smoothed : Smoothed
        Stage 1. ``smoothed.curve`` is the :class:`Curve`.
    noise : Noise
        Stage 2.
    status : str
        Stage 3: ``"ok"`` or why there is no answer; ``problem`` says it in words.
    problem : str or None
    landmarks : Landmarks
        Stage 4.
    region : GoodRegion or None
        Stage 5 (``None`` unless ``status == "ok"``).
    still_falling : bool
        The loss was still falling at the end of the test: the minimum may lie higher.
    ambiguity : str or None
        Why the curve is ambiguous, in words, or None.
    notes : tuple of str
        What stage 0 (:func:`split`) cut or skipped.
    others : tuple of Reading
        The other stretches of the curve, each read on its own.
    """

    smoothed: Smoothed
    noise: Noise
    status: str
    problem: str | None
    landmarks: Landmarks
    region: GoodRegion | None = None
    still_falling: bool = False
    ambiguity: str | None = None
    notes: tuple[str, ...] = ()
    others: tuple[Reading, ...] = ()

    @property
    def curve(self) -> Curve:
        return self.smoothed.curve


def read(lrs, losses, config: AnalysisConfig = DEFAULT_CONFIG) -> Reading:
    """Stages 0 to 5: split the curve, then read its main stretch and each other one."""
    pieces = split(lrs, losses, config)
    readings = [_read_piece(p_lrs, p_losses, config) for p_lrs, p_losses in pieces.parts]
    main = readings.pop(pieces.main)
    return replace(main, notes=pieces.notes, others=tuple(readings))


def _read_piece(lrs, losses, config: AnalysisConfig) -> Reading:
    """Stages 1 to 5 on one stretch whose rates never fall."""
    sm = smooth(lrs, losses, config)
    noise = estimate_noise(sm, config)
    status, problem = classify(sm, noise, config)
    if status == "too_short":
        return Reading(sm, noise, status, problem, Landmarks(divergence=sm.nonfinite_lr))
    marks = find_landmarks(sm, noise, config)
    if status != "ok":
        return Reading(
            sm,
            noise,
            status,
            problem,
            Landmarks(minimum=marks.minimum, divergence=marks.divergence),
        )
    s = sm.curve.smooth
    i_min = int(np.argmin(s))
    x = np.log10(sm.curve.lrs)
    rise = float(np.max(s[i_min:])) - float(s[i_min])
    diverges = sm.nonfinite_lr is not None or rise > noise.tolerance
    region = good_region(sm, config)
    return Reading(
        sm,
        noise,
        status,
        None,
        marks,
        region=region,
        still_falling=not diverges and x[-1] - x[i_min] <= sm.half_window_decades * (1 + 1e-9),
        ambiguity=_ambiguity(region, sm, noise, config),
    )


# --------------------------------------------------------------------------- stage 6: rules


@dataclass(frozen=True)
class Proposal:
    """What a rule reads off a curve: a rate, the rates it cannot tell from it, and why."""

    lr: float
    band: tuple[float, float]
    reason: str


def _band_around(lr: float, config: AnalysisConfig) -> tuple[float, float]:
    factor = 10.0**config.band_decades
    return lr / factor, lr * factor


def _rule_auto(reading: Reading, config: AnalysisConfig) -> Proposal:
    region, marks = reading.region, reading.landmarks
    lr = region.quantile(config.good_quantile)
    low, high = _band_around(lr, config)
    q_low, q_high = config.band_quantiles
    band = (min(low, region.quantile(q_low)), max(high, region.quantile(q_high)))
    if marks.divergence is not None:  # never past the point where the test diverged
        band = (band[0], max(min(band[1], marks.divergence), lr))
    reason = (
        f"the smoothed loss falls fastest at lr = {_fmt(marks.steepest)} and is lowest at "
        f"lr = {_fmt(marks.minimum)}; weighing each rate by how close its loss comes to "
        "the bottom it holds over a smoothing window (a rate "
        f"{config.good_temperature:.0%} of the drop above it counts 1/e as much), "
        f"{config.good_quantile:.0%} of the weight lies below lr = {_fmt(lr)}"
        + (": the middle of the good region" if config.good_quantile == 0.5 else "")
    )
    return Proposal(lr, band, reason)


def _rule_steepest(reading: Reading, config: AnalysisConfig) -> Proposal:
    lr = reading.landmarks.steepest
    return Proposal(
        lr,
        _band_around(lr, config),
        f"the smoothed loss falls fastest against log10(lr) at lr = {_fmt(lr)}",
    )


def _minimum_rule(marks: Landmarks, config: AnalysisConfig) -> float:
    """The classic reading: the rate at the minimum divided by ``minimum_divisor``."""
    return marks.minimum / config.minimum_divisor


def _rule_minimum(reading: Reading, config: AnalysisConfig) -> Proposal:
    marks = reading.landmarks
    lr = _minimum_rule(marks, config)
    return Proposal(
        lr,
        _band_around(lr, config),
        f"the smoothed loss is lowest at lr = {_fmt(marks.minimum)}; that divided by "
        f"{config.minimum_divisor:g} is {_fmt(lr)}",
    )


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


def _rule_valley(reading: Reading, config: AnalysisConfig) -> Proposal:
    c = reading.curve
    lr = float(c.lrs[_valley_index(c.smooth)])
    return Proposal(
        lr,
        _band_around(lr, config),
        "halfway along the longest stretch of falling smoothed loss "
        f"(fastai's valley rule), at lr = {_fmt(lr)}",
    )


#: The methods: pure rules ``(reading, config) -> Proposal``, as fastai's ``suggest_funcs``.
#: ``auto`` is the default; only it gets :func:`correct`'s corrections.
RULES: Mapping[str, Callable[[Reading, AnalysisConfig], Proposal]] = MappingProxyType(
    {
        "auto": _rule_auto,
        "steepest": _rule_steepest,
        "minimum": _rule_minimum,
        "valley": _rule_valley,
    }
)

#: Names accepted by :func:`suggest`; ``"auto"`` is the default.
METHODS = tuple(RULES)


# --------------------------------------------------------------------------- stage 7: corrections


def _cold_start_cap(reading: Reading, gain: float) -> float:
    """The divergence point (or the last rate tested) divided by the cold-start gain.

    The test took settled steps; a fresh run's first steps are up to ``gain`` times
    larger (see :attr:`lrfinder.optimizers.Optimizer.cold_start_gain`), so below
    this rate they stay no larger than the steps with which the test diverged.
    """
    marks = reading.landmarks
    top = marks.divergence if marks.divergence is not None else reading.curve.lrs[-1]
    return float(top) / gain


def read_back(lr: float, step_lrs, steps: float) -> float:
    """The rate the schedule applied ``steps`` steps before it last rose to ``lr``.

    ``step_lrs`` are the rates of the test's steps, in order. The position of ``lr``
    is where the schedule last crossed it going up, interpolated in ``log10(lr)``
    between the two steps around it; ``steps`` earlier the rate is again
    interpolated. A rate the schedule never rose to (at or below its first) is
    returned as it is.
    """
    x = np.log10(np.asarray(step_lrs, dtype=np.float64).ravel())
    target = math.log10(lr)
    up = np.flatnonzero((x[:-1] < target) & (x[1:] >= target))
    if steps <= 0 or not up.size:
        return float(lr)
    i = int(up[-1])
    at = i + (target - x[i]) / (x[i + 1] - x[i])
    back = max(at - steps, 0.0)
    j = min(int(back), x.size - 2)
    frac = back - j
    return float(min(10.0 ** ((1.0 - frac) * x[j] + frac * x[j + 1]), lr))


def correct(
    proposal: Proposal,
    reading: Reading,
    *,
    slow_learner: bool,
    cold_start_gain: float,
    momentum_lag: float = 0.0,
    step_lrs=None,
    config: AnalysisConfig = DEFAULT_CONFIG,
) -> Proposal:
    """Stage 7: make ``auto``'s rate safe for a run from scratch, and say so.

    * An optimizer that steps along a moving average of its gradients responds
      ``momentum_lag`` steps late (see
      :attr:`lrfinder.optimizers.Optimizer.momentum_lag`): the rate is read back
      that many steps along ``step_lrs``, the rates of the test's steps
      (:func:`read_back`).
    * A slow learner backs off to ``lr**(1 - w) * (minimum / divisor)**w``
      (``w = slow_backoff_weight``), never above ``lr``; its band reaches down to
      ``minimum / divisor``.
    * Then the rate is capped at the divergence point (or the last rate tested)
      over ``cold_start_gain``.

    The band's lower end moves down with the rate, by the same factor; its top
    moves with the slow-learner and cold-start corrections only.
    """
    marks, c = reading.landmarks, reading.curve
    lr, (low, high), reason = proposal.lr, proposal.band, proposal.reason
    lagged = lr
    if momentum_lag > 0 and step_lrs is not None:
        lagged = read_back(lr, step_lrs, momentum_lag)
        if lagged < lr:
            reason += (
                ". This optimizer steps along an average of its last gradients, "
                f"{momentum_lag:.3g} steps old on average, so the loss answers each rate that "
                "many steps late: read back along the schedule to the rate "
                f"{momentum_lag:.3g} steps earlier, {_fmt(lagged)}"
            )
    backed = lagged
    if slow_learner:
        w = config.slow_backoff_weight
        classic = _minimum_rule(marks, config)
        backed = min(backed, backed ** (1.0 - w) * classic**w)
        low = min(low, classic)
        reason += (
            ". This problem learns slowly (the default test saw no learning), so its loss "
            "fell only near the largest stable rate and a run from scratch there is "
            f"unstable: backed off to {_fmt(backed)}, {w:.0%} of the way in log10(lr) to the "
            f"minimum divided by {config.minimum_divisor:g}"
        )
    final = min(backed, _cold_start_cap(reading, cold_start_gain))
    if final < backed:
        where = (
            f"where the test diverged (lr = {_fmt(marks.divergence)})"
            if marks.divergence is not None
            else f"at the last rate tested (lr = {_fmt(float(c.lrs[-1]))})"
        )
        reason += (
            f". This optimizer's first steps from fresh state are up to {cold_start_gain:.3g} "
            "times the settled steps the test took, so the rate is capped at "
            f"1/{cold_start_gain:.3g} of the rate {where}: {_fmt(final)}"
        )
    # The band reaches down with the rate. Its top keeps the rate before the read-back
    # (how late the loss answers is a model, not a measurement) but moves down with
    # the two safety corrections, never reaching above their rate by more than the width.
    low = min(low * final / lr, final)
    high = max(high * final / lagged, final)
    if final < lagged:
        high = min(high, final * 10.0**config.band_decades)
    return Proposal(final, (low, high), reason)


# --------------------------------------------------------------------------- assembling


@dataclass(frozen=True, eq=False)
class Corrections:
    """What :func:`correct` needs besides the curve: how the test was run."""

    slow_learner: bool = False
    cold_start_gain: float = 1.0
    momentum_lag: float = 0.0
    step_lrs: np.ndarray | None = None


def _suggestion(
    reading: Reading, method: str, fix: Corrections, config: AnalysisConfig
) -> Suggestion:
    if reading.status != "ok":
        problem = reading.problem + _notes(reading, method, fix, config)
        return Suggestion(None, None, method, problem, reading.landmarks, status=reading.status)
    marks = reading.landmarks
    proposal = RULES[method](reading, config)
    if method == "auto":
        proposal = correct(
            proposal,
            reading,
            slow_learner=fix.slow_learner,
            cold_start_gain=fix.cold_start_gain,
            momentum_lag=fix.momentum_lag,
            step_lrs=fix.step_lrs,
            config=config,
        )
    reason = proposal.reason
    if reading.still_falling:
        reason += (
            "; the loss was still falling at the end of the test, so the minimum may lie "
            "higher: extend the range to confirm"
        )
    if reading.ambiguity is not None:
        reason += f". Note: {reading.ambiguity}"
    reason += _notes(reading, method, fix, config)
    low, high = proposal.band
    max_lr = max(min(high, marks.minimum), proposal.lr)
    one_cycle = marks.minimum * 10.0 ** (-config.one_cycle_margin_decades)
    return Suggestion(
        lr=float(proposal.lr),
        band=(float(low), float(high)),
        method=method,
        reason=reason,
        landmarks=marks,
        base_lr=float(min(max(marks.fall_start, max_lr / config.cyclic_ratio), proposal.lr)),
        max_lr=float(max_lr),
        one_cycle_max_lr=float(max(one_cycle, max_lr)),
        ambiguous=reading.ambiguity is not None,
    )


def _notes(reading: Reading, method: str, fix: Corrections, config) -> str:
    """What stage 0 cut or skipped, and what each other stretch reads, as reason text."""
    text = "".join(f". Note: {note}" for note in reading.notes)
    for other in reading.others:
        c = other.curve
        where = f"lr = {_fmt(float(c.lrs[0]))} to {_fmt(float(c.lrs[-1]))}" if len(c) else "it"
        answer = _suggestion(other, method, fix, config)
        said = (
            f"suggests {_fmt(answer.lr)}"
            if answer.lr is not None
            else f"gives no answer ({answer.status})"
        )
        text += f"; the stretch {where}, read on its own, {said}"
    return text


def _with_training_divergence(reading: Reading, result, config: AnalysisConfig) -> Reading:
    """A validation reading, given the blow-up the training loss shows after its last rate.

    The validation loss is read every few steps (each epoch, with ``per="epoch"``). A test
    that stops on divergence between two readings leaves the validation curve still
    falling at its end, and reading it alone would say "extend the range" of a test that
    diverged. The training loss, recorded at every step, saw the blow-up; a divergence it
    shows above the last validation rate is the curve's divergence too (one at or below it
    is left alone: the validation loss saw past it).
    """
    trained = read(*_as_arrays(result.lrs, result.losses), config)
    at = trained.landmarks.divergence
    if at is None or at <= float(reading.curve.lrs[-1]):
        return reading
    note = f"the training loss diverged at lr = {_fmt(at)}, after the last validation reading"
    return replace(
        reading,
        landmarks=replace(reading.landmarks, divergence=at),
        still_falling=False,
        notes=(*reading.notes, note),
    )


def _curves_of(result, use_validation: bool):
    """Return ``(lrs, losses, [(lrs, run_losses), ...], is_validation)``."""
    if isinstance(result, (tuple, list)) and len(result) == 2:
        lrs, losses = _as_arrays(*result)
        return lrs, losses, [], False
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
    validation = bool(use_validation and val_steps is not None and val_losses is not None)
    if validation:
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
    return lrs, losses, per_run, validation


#: The decay tried on a curve whose optimizer is unknown, to see whether its momentum
#: matters: the default beta1 of Adam in torch and Keras, and the usual SGD momentum.
COMMON_MOMENTUM = 0.9


@dataclass(frozen=True, eq=False)
class Analysis:
    """A result analysed once: the reading of its curve and a suggestion per method.

    ``analysis["minimum"]`` is one method's :class:`Suggestion`, computed on
    first use from the same reading; ``lr``, ``reason``, ``status`` and
    ``landmarks`` are those of ``auto``, the default.

    Attributes
    ----------
    reading : Reading
        The curve the analysis read (the median over runs, or the validation
        curve), through every stage.
    run_readings : tuple of Reading
        Each repeat's own reading (empty for a single run).
    config : AnalysisConfig
    validation : bool
        True when the validation curve was read instead of the training loss.
    slow_learner : bool
    cold_start_gain : float
    momentum_lag : float
        The corrections :func:`correct` applies to ``auto``.
    step_lrs : ndarray or None
        The rates of the test's steps, along which the momentum lag is read back.
    """

    reading: Reading
    run_readings: tuple[Reading, ...]
    config: AnalysisConfig
    validation: bool
    slow_learner: bool
    cold_start_gain: float
    momentum_lag: float = 0.0
    step_lrs: np.ndarray | None = field(default=None, repr=False)
    momentum_unknown: bool = False
    _cache: dict = field(default_factory=dict, repr=False)

    def __getitem__(self, method: str) -> Suggestion:
        method = _check_method(method)
        if method not in self._cache:
            fix = Corrections(
                self.slow_learner, self.cold_start_gain, self.momentum_lag, self.step_lrs
            )
            args = (fix, self.config)
            s = _suggestion(self.reading, method, *args)
            if self.run_readings:
                run_lrs = tuple(_suggestion(r, method, *args).lr for r in self.run_readings)
                found = [math.log10(lr) for lr in run_lrs if lr is not None]
                spread = float(max(found) - min(found)) if len(found) >= 2 else None
                s = replace(s, run_lrs=run_lrs, spread_decades=spread)
            if method == "auto" and self.momentum_unknown and s.lr is not None:
                s = replace(s, reason=s.reason + _unknown_momentum_note(s, self._lagged_auto()))
            self._cache[method] = s
        return self._cache[method]

    def _lagged_auto(self, beta: float = COMMON_MOMENTUM) -> Suggestion:
        """``auto`` as if the optimizer had a momentum or beta1 of ``beta`` (computed once
        per ``beta``: ``auto``'s reason and :func:`momentum_sensitivity` both read it)."""
        key = ("auto", "momentum", beta)
        if key not in self._cache:
            from lrfinder.optimizers import average_lag

            fix = Corrections(
                self.slow_learner, self.cold_start_gain, average_lag(beta), self.step_lrs
            )
            self._cache[key] = _suggestion(self.reading, "auto", fix, self.config)
        return self._cache[key]

    @property
    def suggestions(self) -> Mapping[str, Suggestion]:
        """Every method's suggestion."""
        return MappingProxyType({m: self[m] for m in METHODS})

    @property
    def curve(self) -> Curve:
        return self.reading.curve

    @property
    def suggestion(self) -> Suggestion:
        """``auto``'s suggestion."""
        return self["auto"]

    @property
    def lr(self) -> float | None:
        return self.suggestion.lr

    @property
    def reason(self) -> str:
        return self.suggestion.reason

    @property
    def status(self) -> str:
        return self.suggestion.status

    @property
    def landmarks(self) -> Landmarks:
        return self.reading.landmarks


def analyse(
    result,
    *,
    config: AnalysisConfig | None = None,
    window: float | None = None,
    use_validation: bool = True,
    slow_learner: bool | None = None,
    cold_start_gain: float | None = None,
    momentum_lag: float | None = None,
) -> Analysis:
    """Read a range test once (stages 0 to 5, for the curve and each repeat).

    Parameters are those of :func:`suggest`, less ``method``; each method's
    suggestion is then ``analysis[method]``.
    """
    config = _with_window(_check_config(config), window)
    lrs, losses, per_run, validation = _curves_of(result, use_validation)
    slow = _recorded_slow(result) if slow_learner is None else bool(slow_learner)
    gain = _check_gain(_recorded_gain(result) if cold_start_gain is None else cold_start_gain)
    lag = _check_lag(_recorded_lag(result) if momentum_lag is None else momentum_lag)
    # the rates of every step (lrs is at the validation steps only, when it is read)
    step_lrs = np.asarray(result[0] if isinstance(result, (tuple, list)) else result.lrs, float)
    main = read(lrs, losses, config)
    if validation and main.landmarks.divergence is None:
        main = _with_training_divergence(main, result, config)
    if notes := _recorded_notes(result):
        main = replace(main, notes=(*notes, *main.notes))
    runs = tuple(read(r_lrs, r_losses, config) for r_lrs, r_losses in per_run)
    unknown = momentum_lag is None and momentum_unknown(result)
    return Analysis(main, runs, config, validation, slow, gain, lag, step_lrs, unknown)


def suggest(
    result,
    method: str = "auto",
    *,
    config: AnalysisConfig | None = None,
    window: float | None = None,
    use_validation: bool = True,
    slow_learner: bool | None = None,
    cold_start_gain: float | None = None,
    momentum_lag: float | None = None,
) -> Suggestion:
    """Suggest an initial learning rate from a range test.

    Parameters
    ----------
    result : RangeTestResult or (lrs, losses)
        Any object with ``lrs`` and ``losses`` arrays (and optionally
        ``run_losses``, ``val_steps``, ``val_losses``, ``slow_learner``,
        ``cold_start_gain``), or a plain pair.
    method : {"auto", "steepest", "minimum", "valley"}, optional
        ``"auto"`` (default): the middle of the good region (see the
        module docstring), corrected for a slow learner and the optimizer's
        cold start. ``"steepest"``: where the smoothed loss falls fastest
        against ``log10(lr)``. ``"minimum"``: the rate at the minimum of the
        smoothed loss divided by :attr:`AnalysisConfig.minimum_divisor`.
        ``"valley"``: fastai's rule, halfway along the longest stretch of
        falling loss.
    config : AnalysisConfig, optional
        Every constant of the analysis (default :data:`DEFAULT_CONFIG`).
    window : float, optional
        Shorthand for ``config.window``: the smoothing window in decades.
    use_validation : bool, optional
        When the result has a validation curve (``val_steps`` is not None),
        read it, at ``lrs[val_steps]`` with the median over runs of
        ``val_losses``, instead of the training loss (default True).
    slow_learner : bool, optional
        Whether the curve comes from a slow learner; by default
        ``result.slow_learner`` (True when :func:`~lrfinder.find_lr` had to
        extend its default test).
    cold_start_gain : float, optional
        How many times larger than the test's settled steps the optimizer's
        first steps from fresh state are; by default ``result.cold_start_gain``
        (1 for a bare curve). A gain up to 1 needs no cap. See
        :attr:`lrfinder.optimizers.Optimizer.cold_start_gain`.
    momentum_lag : float, optional
        How many steps late the loss answers the rate (the mean age of the
        gradients in the optimizer's moving average, 9 for momentum 0.9); ``auto``
        is read back that many steps along ``result.lrs``. By default
        ``result.settings["momentum_lag"]`` (0 for a bare curve). See
        :attr:`lrfinder.optimizers.Optimizer.momentum_lag`.

    Returns
    -------
    Suggestion
        ``lr`` is ``None`` when the curve is too short, flat, or diverges from
        the first steps; ``reason`` says which. With several runs, ``run_lrs``
        holds each run's suggestion and ``spread_decades`` their spread.

    Raises
    ------
    LRFinderError
        For an unknown method, a bad window or config, or malformed arrays.
    """
    method = _check_method(method)
    return analyse(
        result,
        config=config,
        window=window,
        use_validation=use_validation,
        slow_learner=slow_learner,
        cold_start_gain=cold_start_gain,
        momentum_lag=momentum_lag,
    )[method]


# --------------------------------------------------------------------------
# A curve whose optimizer is unknown
# --------------------------------------------------------------------------


def momentum_unknown(result) -> bool:
    """True when nothing says which optimizer recorded ``result``, nor its momentum lag:
    a plain ``(lrs, losses)`` pair, or a curve read from a CSV or another tool's history."""
    settings = getattr(result, "settings", None)
    if not isinstance(settings, Mapping):
        return True
    return not settings.get("optimizer") and settings.get("momentum_lag") is None


def momentum_sensitivity(
    result,
    *,
    beta: float = COMMON_MOMENTUM,
    config: AnalysisConfig | None = None,
    window: float | None = None,
    use_validation: bool = True,
) -> tuple[Suggestion, Suggestion] | None:
    """``auto`` read without momentum and with momentum ``beta``, when that choice matters.

    For a curve whose optimizer is unknown (:func:`momentum_unknown`) ``auto`` cannot
    know its momentum lag, and assumes none. With a momentum or Adam's ``beta1`` of 0.9 the
    loss answers each rate 9 steps late; on a short exponential test (100 steps over
    eight decades) that moves the answer 0.7 decades. The choice matters when either
    reading lies outside the other's band: the answer then depends on something the
    curve cannot tell, and the caller should ask (the CLI's ``--momentum``).

    Returns
    -------
    (Suggestion, Suggestion) or None
        The readings without momentum and with ``beta``; None when the optimizer is
        known, when either reading has no rate, or when each lies in the other's band.
    """
    if not momentum_unknown(result):
        return None
    analysis = analyse(result, config=config, window=window, use_validation=use_validation)
    without, with_ = analysis.suggestion, analysis._lagged_auto(beta)
    if without.lr is None or with_.lr is None or not _disagree(without, with_):
        return None
    return without, with_


def _disagree(a: Suggestion, b: Suggestion) -> bool:
    """Either rate lies outside the other's band."""
    return not (a.band[0] <= b.lr <= a.band[1] and b.band[0] <= a.lr <= b.band[1])


def _unknown_momentum_note(plain: Suggestion, lagged: Suggestion) -> str:
    """Added to ``auto``'s reason for a curve of unknown optimizer, when its momentum matters."""
    if lagged.lr is None or not _disagree(plain, lagged):
        return ""
    return (
        ". The optimizer that recorded this curve is unknown, and this assumes it had no "
        f"momentum: with a momentum or Adam's beta1 of {COMMON_MOMENTUM:g} its loss answers "
        f"each rate late, and auto reads {_fmt(lagged.lr)} instead, outside this band; give "
        "momentum_lag (lrfinder analyze --momentum) to choose"
    )
