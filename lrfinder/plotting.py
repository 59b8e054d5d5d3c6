"""Figures of a range test and of training histories, drawn with matplotlib.

Only this module uses matplotlib, and it imports it inside the functions, so
``import lrfinder`` (and ``lrfinder --help``) never pays for it. Figures are
built as :class:`matplotlib.figure.Figure` objects, not through ``pyplot``: no
global state, no GUI backend, so everything works headless and a figure is
saved with one call to :func:`save_figure` (or the ``path=`` argument).

The range-test figure is written for people learning deep learning: the
suggested rate is in the title and in the legend with its value, the reason for
it (or for the lack of one) is printed under the title, and the y-axis is cut a
little above the starting loss so a diverging tail cannot squash the part of the
curve that matters.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from lrfinder.analysis import (
    METHODS,
    MIN_WINDOW_POINTS,
    Analysis,
    Curve,
    Suggestion,
    analyse,
)
from lrfinder.errors import LRFinderError, check_number
from lrfinder.outputs import FIGURE_SUFFIXES, check_output_path

__all__ = ["SAVE_SUFFIXES", "plot_histories", "plot_result", "plot_verification", "save_figure"]

#: File types :func:`save_figure` writes, chosen by the path's suffix.
SAVE_SUFFIXES = FIGURE_SUFFIXES

#: Size in inches of the figures this module creates (room for a legend on the right).
RESULT_FIGSIZE = (10.0, 6.5)
HISTORY_FIGSIZE = (10.0, 6.5)
#: Inches added below :func:`plot_histories` for its learning-rate panel.
RATE_PANEL_HEIGHT = 2.5

#: Resolution of saved PNG files.
PNG_DPI = 150

#: The loss axis ends this fraction of the loss's drop above the starting level,
#: and starts this fraction of it below the lowest point.
Y_HEADROOM = 0.12
Y_FOOTROOM = 0.06

#: The top of the loss axis is at least this percentile of the raw losses before
#: the minimum, so the noisy starting plateau is not cut off by single spikes.
Y_TOP_PERCENTILE = 95.0

#: If more than this fraction of the raw losses before the divergence point
#: would lie above the top, the top is raised to their
#: :data:`Y_TOP_PERCENTILE` percentile instead.
Y_MAX_HIDDEN_FRACTION = 0.05

#: With at least this many runs the band across runs is the 25-75 % range
#: (the middle half); with fewer, quartiles mean little and it is min-max.
QUARTILE_MIN_RUNS = 5

#: Characters per line of the small explanation under the title.
REASON_WIDTH = 120
LEGEND_REASON_WIDTH = 48

#: The slope panel shows rising slopes up to this multiple of the steepest descent.
SLOPE_RISE_CAP = 1.0

#: Faint lines (raw loss, training loss under a validation curve).
RAW_ALPHA = 0.35

#: One colour and marker per suggestion method; the band takes the colour of the
#: first method plotted.
METHOD_STYLE = {
    "auto": ("tab:green", "o"),
    "steepest": ("tab:orange", "v"),
    "minimum": ("tab:purple", "s"),
    "valley": ("tab:brown", "D"),
}
#: What the legend calls each method's rate: ``minimum`` suggests the minimum / 10,
#: and the minimum itself is marked as a landmark of its own.
METHOD_LABEL = {"auto": "auto", "steepest": "steepest", "minimum": "minimum/10", "valley": "valley"}
LOSS_COLOR = "tab:blue"
TRAIN_COLOR = "0.45"
DIVERGED_COLOR = "tab:red"


# --------------------------------------------------------------------------- saving


def _check_save_path(path) -> Path:
    return check_output_path(path, "figure", SAVE_SUFFIXES)


def save_figure(fig, path) -> Path:
    """Save ``fig`` to ``path`` as PNG, SVG or PDF (chosen by the suffix).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, e.g. from :func:`plot_result` or :func:`plot_histories`.
    path : str or Path
        Where to write it; the suffix must be one of :data:`SAVE_SUFFIXES`.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    LRFinderError
        If the suffix is not ``.png``, ``.svg`` or ``.pdf``, the folder does not
        exist, or the file cannot be written.
    """
    path = _check_save_path(path)
    try:
        fig.savefig(path, dpi=PNG_DPI, format=path.suffix.lower()[1:])
    except OSError as err:
        raise LRFinderError(
            f"cannot save a figure to {str(path)!r}: {err.strerror or err}"
        ) from None
    return path


def _new_figure(figsize):
    """A figure that belongs to no pyplot window: headless under any backend."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


# --------------------------------------------------------------------------- helpers


def _per_rate(lrs: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rates, increasing, and the NaN-median of each row's steps at each rate.

    A piecewise schedule holds a rate for several steps; plotting per step would
    draw vertical zigzags at each held rate.
    """
    rows = np.atleast_2d(rows)
    rates, inverse = np.unique(lrs, return_inverse=True)
    if rates.size == lrs.size:
        order = np.argsort(lrs, kind="stable")
        return rates, rows[:, order]
    out = np.full((rows.shape[0], rates.size), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for k in range(rates.size):
            out[:, k] = np.nanmedian(rows[:, inverse == k], axis=1)
    return rates, out


def _fmt_lr(lr: float | None) -> str:
    return "none" if lr is None else f"{lr:.1e}"


def _check_methods(methods) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise LRFinderError(
            f"methods must be taken from {', '.join(METHODS)}; got {', '.join(map(repr, unknown))}"
        )
    return methods


def _analysed(result):
    """The curve the analysis reads: ``(lrs, run rows, is_validation)``.

    With a validation curve (``val_steps`` set) that is the validation loss at
    ``lrs[val_steps]``, as :func:`lrfinder.analysis.suggest` reads it.
    """
    if result.val_steps is not None and result.val_losses is not None:
        steps = np.asarray(result.val_steps, dtype=np.int64)
        return result.lrs[steps], np.atleast_2d(result.val_losses), True
    return result.lrs, np.atleast_2d(result.run_losses), False


def _analysis_of(result) -> Analysis:
    """The result's own analysis (made once and kept), or a new one for a stand-in."""
    analysis = getattr(result, "analysis", None)
    return analysis if isinstance(analysis, Analysis) else analyse(result)


def _loss_limits(curve: Curve, divergence: float | None) -> tuple[float, float] | None:
    """y-limits that show the fall and the minimum and cut the diverging tail.

    Only the points before the divergence point count (all of them when it
    comes within the first quarter of the curve, so an early rise stays
    visible). The top is the highest smoothed loss among them or the
    :data:`Y_TOP_PERCENTILE` percentile of the raw loss before the minimum
    (the noisy starting plateau), whichever is higher, plus
    :data:`Y_HEADROOM` of the visible span; the bottom is the lowest loss
    minus :data:`Y_FOOTROOM` of it. The smoothed curve comes from clipped
    losses (see :func:`lrfinder.analysis.analyse_curve`), so a blow-up to
    1e10 cannot reach it.
    """
    lrs, raw, smooth = curve.lrs, curve.raw, curve.smooth
    keep = np.isfinite(raw) & np.isfinite(smooth)
    if divergence is not None:
        before = keep & (lrs < divergence)
        if before.sum() >= max(3, lrs.size // 4):
            keep = before
    if not keep.any():
        return None
    raw, smooth = raw[keep], smooth[keep]
    i_min = int(np.argmin(smooth))
    low = float(min(raw.min(), smooth.min()))
    top = max(float(smooth.max()), float(np.percentile(raw[: i_min + 1], Y_TOP_PERCENTILE)))
    if np.mean(raw > top) > Y_MAX_HIDDEN_FRACTION:
        # No divergence point cuts off the rise (e.g. a loss that rises from the
        # first step): what rises is the information, so show most of it.
        top = float(np.percentile(raw, Y_TOP_PERCENTILE))
    span = top - low
    if not span > 0:
        span = 0.05 * max(abs(top), 1.0)
    return low - Y_FOOTROOM * span, top + Y_HEADROOM * span


def _padded_xlim(lrs: np.ndarray) -> tuple[float, float] | None:
    if lrs.size == 0:
        return None
    lo, hi = float(lrs.min()), float(lrs.max())
    if hi / lo < 1.0 + 1e-9:  # one rate: give it a decade either side
        return lo / 10.0, hi * 10.0
    pad = (hi / lo) ** 0.02  # 2 % of the range in log space
    return lo / pad, hi * pad


def _marker_y(curve: Curve, lr: float) -> float | None:
    ok = np.isfinite(curve.smooth)
    if not ok.any():
        return None
    return float(np.interp(math.log10(lr), np.log10(curve.lrs[ok]), curve.smooth[ok]))


def _default_title(result, primary: Suggestion | None) -> str:
    optimizer = result.settings.get("optimizer") if isinstance(result.settings, dict) else None
    head = "Learning-rate range test" + (f" ({optimizer})" if optimizer else "")
    if primary is None:
        return head
    if primary.lr is None:
        return f"{head}: no suggestion ({primary.method})"
    return f"{head}: suggested lr {primary.lr:.1e} ({primary.method})"


def _explanation(result, primary: Suggestion | None, n_points: int, validation: bool) -> str:
    """The small text under the title: why this rate (or why none), and what was read."""
    parts = []
    if primary is not None:
        parts.append(f"{primary.method}: {primary.reason}.")
    notes = []
    if validation:
        notes.append(f"reading the validation loss ({n_points} points)")
    if result.n_runs > 1:
        runs = f"median of {result.n_runs} runs"
        if primary is not None and primary.spread_decades is not None:
            runs += f"; per-run suggestions span {primary.spread_decades:.2g} decades"
        notes.append(runs)
    notes.append(f"range test: {result.stop_reason}")
    parts.append("; ".join(notes).capitalize() + ".")
    return "\n".join(textwrap.fill(p, REASON_WIDTH) for p in parts)


# --------------------------------------------------------------------------- range test


def plot_result(
    result,
    ax=None,
    *,
    methods: Sequence[str] | str = METHODS,
    path=None,
    title: str | None = None,
    show_runs: bool = True,
    slope_ax=None,
):
    """Plot a range test: loss against learning rate, suggestions, band and slope.

    The top panel shows the loss against the learning rate on a log10 axis: the
    raw loss faint, the smoothed loss (what the analysis reads) solid, a marker
    and dashed line for each method's suggestion with its value in the legend,
    the suggested band shaded, and the diverging tail hatched. With repeats
    the solid curve is the median over runs and a shaded envelope shows their
    spread. When the result has a validation curve, that is the analysed curve
    and the training loss is drawn faint behind it. The bottom panel shows
    ``d loss / d log10(lr)``; the steepest descent is its lowest point.

    Parameters
    ----------
    result : RangeTestResult
        From :func:`lrfinder.find_lr`, :func:`lrfinder.load_result` or
        :meth:`RangeTestResult.from_curve`.
    ax : matplotlib.axes.Axes, optional
        Draw the loss panel into this axes (the slope panel only if
        ``slope_ax`` is given too). By default a new figure with both panels is
        created, without pyplot, so it works headless.
    methods : sequence of str or str, optional
        Which suggestions to mark, from :data:`lrfinder.analysis.METHODS`
        (default: all). The first one gives the title, the band and the text
        under the title.
    path : str or Path, optional
        Also save the figure there (``.png``, ``.svg`` or ``.pdf``).
    title : str, optional
        Replaces the default title (which names the optimizer and the first
        method's suggested rate).
    show_runs : bool, optional
        With repeats, shade the spread across runs (default True): the 25-75 %
        range with :data:`QUARTILE_MIN_RUNS` runs or more, min-max below that.
    slope_ax : matplotlib.axes.Axes, optional
        Where to draw the slope panel when ``ax`` is given.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn into (``ax.figure`` when ``ax`` was given).

    Raises
    ------
    LRFinderError
        For an unknown method, or a ``path`` with a wrong suffix or a missing
        folder (checked before drawing).
    """
    methods = _check_methods(methods)
    save_path = None if path is None else _check_save_path(path)

    lrs, rows, validation = _analysed(result)
    analysis = _analysis_of(result)
    curve = analysis.curve
    suggestions = [analysis[m] for m in methods]
    primary = suggestions[0] if suggestions else None
    # Landmarks do not depend on the method; read them even when no method is plotted.
    landmarks = analysis.landmarks

    if ax is None:
        fig = _new_figure(RESULT_FIGSIZE)
        ax, slope_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 1.2]})
        owns_figure = True
    else:
        fig = ax.figure
        owns_figure = False

    ax.set_xscale("log")
    label = "validation loss" if validation else "loss"
    median = f", median of {result.n_runs} runs" if result.n_runs > 1 else ""

    if validation:
        train_lrs, train_rows = _per_rate(result.lrs, result.losses)
        ax.plot(
            train_lrs,
            train_rows[0],
            color=TRAIN_COLOR,
            alpha=RAW_ALPHA,
            lw=1.0,
            label="training loss (raw)",
        )
    if show_runs and rows.shape[0] > 1:
        _draw_run_envelope(ax, lrs, rows)
    ax.plot(
        curve.lrs,
        curve.raw,
        color=LOSS_COLOR,
        alpha=RAW_ALPHA,
        lw=1.0,
        marker="." if len(curve) < 30 else None,
        label=f"{label} (raw{median})",
    )
    smoothed = len(curve) >= MIN_WINDOW_POINTS
    # Past the divergence point the smoothed curve follows clipped losses and means
    # only "up": draw it thin there so the eye stays on the informative part.
    solid = (
        len(curve)
        if landmarks.divergence is None
        else int(np.searchsorted(curve.lrs, landmarks.divergence, side="right"))
    )
    ax.plot(
        curve.lrs[:solid],
        curve.smooth[:solid],
        color=LOSS_COLOR,
        lw=2.2,
        marker=None if smoothed else "o",
        label=f"{label} (smoothed)" if smoothed else f"{label} (too few points to smooth)",
    )
    if solid < len(curve):
        ax.plot(
            curve.lrs[max(solid - 1, 0) :],
            curve.smooth[max(solid - 1, 0) :],
            color=LOSS_COLOR,
            lw=1.2,
            ls=":",
        )

    band_owner = next((s for s in suggestions if s.band is not None), None)
    if band_owner is not None:
        low, high = band_owner.band
        if high <= low:  # a one-point band still deserves to be seen
            low, high = low / 1.05, high * 1.05
        color = METHOD_STYLE[band_owner.method][0]
        ax.axvspan(
            low,
            high,
            color=color,
            alpha=0.15,
            lw=0,
            label=f"band ({band_owner.method}): {_fmt_lr(low)} - {_fmt_lr(high)}",
        )
    xlim = _padded_xlim(result.lrs)
    if landmarks.divergence is not None:
        right = xlim[1] if xlim else landmarks.divergence * 10.0
        ax.axvspan(
            landmarks.divergence,
            max(right, landmarks.divergence * 1.01),
            facecolor=DIVERGED_COLOR,
            alpha=0.08,
            hatch="//",
            edgecolor=DIVERGED_COLOR,
            lw=0,
            label=f"diverging (lr >= {_fmt_lr(landmarks.divergence)})",
        )

    if landmarks.minimum is not None and analysis.status == "ok":
        y = _marker_y(curve, landmarks.minimum)
        ax.plot(
            [landmarks.minimum],
            [np.nan if y is None else y],
            color="black",
            marker="o",
            mfc="none",
            ms=10,
            ls="none",
            zorder=4,
            label=f"lowest smoothed loss: {_fmt_lr(landmarks.minimum)}",
        )
    if suggestions and all(s.lr is None for s in suggestions):
        # one entry, not one "none" per method: the reason is in the text above
        ax.plot([], [], color="0.3", ls="none", marker="x", label="no suggestion (see above)")
    for s in suggestions:
        color, marker = METHOD_STYLE[s.method]
        if s.lr is None:
            if any(other.lr is not None for other in suggestions):
                # a legend entry even without a rate, so a missing answer is visible
                name = METHOD_LABEL[s.method]
                ax.plot([], [], color=color, ls="none", marker="x", label=f"{name}: none")
            continue
        ax.axvline(s.lr, color=color, ls="--", lw=1.2, alpha=0.9)
        y = _marker_y(curve, s.lr)
        ax.plot(
            [s.lr],
            [np.nan if y is None else y],
            color=color,
            marker=marker,
            ms=9,
            mec="white",
            mew=1.2,
            ls="none",
            zorder=5,
            label=f"{METHOD_LABEL[s.method]}: {_fmt_lr(s.lr)}",
        )

    if xlim is not None:
        ax.set_xlim(*xlim)
    ylim = _loss_limits(curve, landmarks.divergence)
    if ylim is not None and analysis.status != "ok":
        # no answer: never zoom into the noise; show at least the drop that would count
        middle, need = 0.5 * (ylim[0] + ylim[1]), analysis.reading.noise.tolerance
        ylim = (min(ylim[0], middle - need), max(ylim[1], middle + need))
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set_ylabel(label)
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", axis="x", alpha=0.1)

    header = title if title is not None else _default_title(result, primary)
    explanation = _explanation(result, primary, len(curve), validation)
    if owns_figure:
        fig.suptitle(header, fontsize=13, fontweight="bold")
        ax.set_title(explanation, fontsize=8.5, color="0.25", loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=9)
    else:
        ax.set_title(header, fontsize=11)
        legend_title = None
        if primary is not None and primary.lr is None:
            legend_title = textwrap.fill(primary.reason, LEGEND_REASON_WIDTH)
        legend = ax.legend(loc="best", fontsize=8, title=legend_title, title_fontsize=7.5)
        legend.get_title().set_multialignment("left")

    if slope_ax is not None:
        _draw_slope(slope_ax, curve, suggestions, landmarks.divergence, xlim)
        if ax.get_shared_x_axes().joined(ax, slope_ax):  # the slope panel labels the axis
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel("learning rate (log scale)")
    else:
        ax.set_xlabel("learning rate (log scale)")

    if save_path is not None:
        save_figure(fig, save_path)
    return fig


def _draw_run_envelope(ax, lrs: np.ndarray, rows: np.ndarray) -> None:
    rates, per_rate = _per_rate(lrs, rows)
    n = rows.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # columns where every run stopped
        if n >= QUARTILE_MIN_RUNS:
            low, high = np.nanpercentile(per_rate, [25.0, 75.0], axis=0)
            label = f"middle 50% of {n} runs"
        else:
            low, high = np.nanmin(per_rate, axis=0), np.nanmax(per_rate, axis=0)
            label = f"range of {n} runs (min-max)"
    ok = np.isfinite(low) & np.isfinite(high)
    ax.fill_between(rates, low, high, where=ok, color=LOSS_COLOR, alpha=0.18, lw=0, label=label)


def _draw_slope(ax, curve: Curve, suggestions, divergence, xlim) -> None:
    ax.set_xscale("log")
    ax.axhline(0.0, color="0.5", lw=0.8)
    smoothed = len(curve) >= MIN_WINDOW_POINTS
    if smoothed:
        ax.plot(curve.lrs, curve.slope, color=LOSS_COLOR, lw=1.6)
    for s in suggestions:
        if s.lr is not None:
            ax.axvline(s.lr, color=METHOD_STYLE[s.method][0], ls="--", lw=1.2, alpha=0.9)
    if divergence is not None and xlim is not None:
        ax.axvspan(
            divergence,
            max(xlim[1], divergence * 1.01),
            facecolor=DIVERGED_COLOR,
            alpha=0.08,
            hatch="//",
            edgecolor=DIVERGED_COLOR,
            lw=0,
        )
    if xlim is not None:
        ax.set_xlim(*xlim)
    if not smoothed:
        ax.text(
            0.5,
            0.5,
            f"too few points to estimate a slope (need {MIN_WINDOW_POINTS})",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="0.4",
        )
    else:
        # The informative part is the descent (negative slope). Past the divergence
        # point, and on the way up to it, the slope only says "rising"; letting that
        # spike set the scale would flatten the descent, so the top is capped at the
        # size of the steepest descent.
        keep = curve.lrs < divergence if divergence is not None else np.ones(len(curve), bool)
        shown = curve.slope[keep & np.isfinite(curve.slope)]
        if shown.size >= 2 and np.ptp(shown) > 0:
            lo, hi = min(float(shown.min()), 0.0), max(float(shown.max()), 0.0)
            if lo < 0:
                hi = min(hi, SLOPE_RISE_CAP * -lo)
            pad = 0.1 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("learning rate (log scale)")
    ax.set_ylabel("d loss / d log10(lr)")
    ax.grid(True, which="major", alpha=0.3)


# --------------------------------------------------------------------------- histories


def _check_histories(histories) -> dict:
    if not isinstance(histories, Mapping) or not histories:
        raise LRFinderError(
            "histories must be a non-empty dict of name -> TrainingHistory, "
            f"got {type(histories).__name__}"
            + (" (empty)" if isinstance(histories, Mapping) else "")
        )
    for name, history in histories.items():
        if not all(hasattr(history, a) for a in ("steps", "val_loss", "val_accuracy")):
            raise LRFinderError(
                f"histories[{name!r}] must be a TrainingHistory (from lrfinder.train), "
                f"got {type(history).__name__}"
            )
    return dict(histories)


def _check_target(target) -> float | None:
    if target is None:
        return None
    return check_number("target", target, low=0, high=1, closed="right", hint="e.g. 0.9 for 90%")


def _history_label(name: str, history, target: float | None) -> str:
    lr = history.lr
    label = f"{name} (lr {lr:.1e})" if isinstance(lr, (int, float)) else f"{name} ({lr})"
    if getattr(history, "diverged", False):
        label += ", diverged"
    if target is not None and callable(getattr(history, "steps_to_accuracy", None)):
        reached = history.steps_to_accuracy(target)
        label += ", target not reached" if reached is None else f", target at step {reached}"
    return label


def _step_rates(history) -> np.ndarray:
    """The rate of each step a history recorded (empty when it recorded none)."""
    return np.asarray(getattr(history, "step_lrs", ()), dtype=float).ravel()


#: The title of :func:`plot_histories` when none is given.
HISTORIES_TITLE = "Training with each optimizer"


def plot_histories(
    histories: Mapping, path=None, target: float | None = None, title: str | None = None
):
    """Compare training runs: validation accuracy and loss against steps.

    Parameters
    ----------
    histories : dict of str to TrainingHistory
        One history per optimizer (or per learning rate), e.g. from
        :func:`lrfinder.train`. The key is the legend label.
    path : str or Path, optional
        Also save the figure there (``.png``, ``.svg`` or ``.pdf``).
    target : float, optional
        A target validation accuracy in (0, 1]: drawn as a horizontal line, and
        the legend says at which step each run first reached it.
    title : str, optional
        The figure's title (default :data:`HISTORIES_TITLE`).

    Returns
    -------
    matplotlib.figure.Figure
        Validation accuracy on top (left out when no run has an accuracy, as
        for regression) and loss below: validation solid, training dashed. A
        diverged run ends with an ``x``. When a run followed a schedule (its
        ``step_lrs`` vary), a third panel draws every run's rate per step.

    Raises
    ------
    LRFinderError
        For an empty or malformed ``histories``, a ``target`` outside (0, 1],
        or a bad ``path``.
    """
    histories = _check_histories(histories)
    target = _check_target(target)
    save_path = None if path is None else _check_save_path(path)

    has_accuracy = any(
        np.isfinite(np.asarray(h.val_accuracy, float)).any() for h in histories.values()
    )
    rates = {name: _step_rates(h) for name, h in histories.items()}
    scheduled = any(r.size > 1 and np.ptp(r) > 0 for r in rates.values())
    panels = 1 + has_accuracy + scheduled
    width, height = HISTORY_FIGSIZE
    fig = _new_figure((width, height + (RATE_PANEL_HEIGHT if scheduled else 0.0)))
    axes = list(np.atleast_1d(fig.subplots(panels, 1, sharex=True)))
    acc_ax = axes.pop(0) if has_accuracy else None
    loss_ax = axes.pop(0)
    rate_ax = axes.pop(0) if scheduled else None

    from matplotlib.lines import Line2D

    starts, lows, accs = [], [], []
    for k, (name, h) in enumerate(histories.items()):
        color = f"C{k % 10}"
        steps = np.asarray(h.steps)
        val_loss = np.asarray(h.val_loss, float)
        train_loss = np.asarray(getattr(h, "train_loss", np.full(steps.shape, np.nan)), float)
        label = _history_label(name, h, target)
        diverged = bool(getattr(h, "diverged", False))
        if acc_ax is not None:
            acc = np.asarray(h.val_accuracy, float)
            acc_ax.plot(steps, acc, color=color, lw=1.8, marker=".", ms=4, label=label)
            if diverged and acc.size:
                acc_ax.plot(steps[-1], acc[-1], color=color, marker="x", ms=10, mew=2)
            accs.append(acc[np.isfinite(acc)])
        loss_ax.plot(steps, val_loss, color=color, lw=1.8, label=None if acc_ax else label)
        loss_ax.plot(steps, train_loss, color=color, lw=1.0, ls="--", alpha=0.6)
        finite = val_loss[np.isfinite(val_loss)]
        if finite.size:
            starts.append(float(finite[0]))
            lows.append(float(finite.min()))
        if diverged and steps.size:
            last = np.flatnonzero(np.isfinite(val_loss))
            if last.size:
                i = int(last[-1])
                loss_ax.plot(steps[i], val_loss[i], color=color, marker="x", ms=10, mew=2)

    if acc_ax is not None:
        if target is not None:
            acc_ax.axhline(
                target, color="black", ls=":", lw=1.3, label=f"target accuracy {target:g}"
            )
        shown = np.concatenate(accs) if accs else np.array([])
        if shown.size:
            low = float(shown.min()) if target is None else min(float(shown.min()), target)
            high = float(shown.max()) if target is None else max(float(shown.max()), target)
            pad = 0.04 * max(high - low, 0.05)
            acc_ax.set_ylim(max(0.0, low - pad), min(1.0, high) + pad)
        acc_ax.set_ylabel("validation accuracy")
        acc_ax.grid(True, alpha=0.3)
        acc_ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=9)
        acc_ax.set_title("Validation accuracy", fontsize=10, loc="left")

    # Cut the loss axis a little above the highest starting loss, so one diverging
    # optimizer does not flatten everyone else's curve.
    if starts:
        top, low = max(starts), min(lows)
        if top > low:
            span = top - low
            loss_ax.set_ylim(low - Y_FOOTROOM * span, top + Y_HEADROOM * span)
    style = [
        Line2D([], [], color="0.3", lw=1.8, label="validation loss"),
        Line2D([], [], color="0.3", lw=1.0, ls="--", alpha=0.6, label="training loss"),
    ]
    handles = style if acc_ax is not None else loss_ax.get_legend_handles_labels()[0] + style
    loss_ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=9
    )
    loss_ax.set_xlabel("" if rate_ax is not None else "training step")
    loss_ax.set_ylabel("loss")
    loss_ax.grid(True, alpha=0.3)
    loss_ax.set_title("Loss", fontsize=10, loc="left")
    if rate_ax is not None:
        for k, r in enumerate(rates.values()):
            # a rate of 0 (where a cosine ends) has no place on a log axis: left out
            positive = np.where(r > 0, r, np.nan)
            rate_ax.plot(np.arange(1, r.size + 1), positive, color=f"C{k % 10}", lw=1.5)
        rate_ax.set_yscale("log")
        rate_ax.set_xlabel("training step")
        rate_ax.set_ylabel("learning rate")
        rate_ax.grid(True, which="major", alpha=0.3)
        rate_ax.set_title("Learning rate at each step", fontsize=10, loc="left")
    fig.suptitle(title or HISTORIES_TITLE, fontsize=13, fontweight="bold")

    if save_path is not None:
        save_figure(fig, save_path)
    return fig


# --------------------------------------------------------------------------- verification

#: Figure size of :func:`plot_verification` with the range test above the probes.
VERIFY_FIGSIZE = (10.0, 8.0)
#: The chosen rate's colour and the rung lines' colour map.
CHOSEN_COLOR = "black"
RUNG_CMAP = "viridis"
#: Room left of the lowest and right of the highest candidate, in decades.
PROBE_PAD_DECADES = 0.15


def plot_verification(verification, result=None, path=None):
    """Plot a verification: each probe's score against its learning rate.

    With ``result`` (the range test that was verified) its loss panel is drawn
    on top and the probes below it on the same log10(lr) axis, so the verified
    rate can be read against the curve it came from.

    Parameters
    ----------
    verification : Verification
        From :func:`lrfinder.verify` or :func:`lrfinder.verification.load_verification`.
    result : RangeTestResult, optional
        The range test; draws the upper panel.
    path : str or Path, optional
        Also save the figure there (``.png``, ``.svg`` or ``.pdf``).

    Returns
    -------
    matplotlib.figure.Figure
        One line per rung (the mean over seeds at that many steps), each seed's
        score as a faint dot, diverged candidates as red crosses, the chosen
        rate marked and, when it is not the same, the range test's suggestion.
    """
    save_path = None if path is None else _check_save_path(path)
    if result is None:
        fig = _new_figure(RESULT_FIGSIZE)
        ax = fig.subplots(1, 1)
    else:
        fig = _new_figure(VERIFY_FIGSIZE)
        top, ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.6, 1.4]})
        plot_result(result, ax=top, methods=("auto",))
        top.tick_params(labelbottom=True)
        top.set_xlabel("")
    _draw_probes(ax, verification)
    if save_path is not None:
        save_figure(fig, save_path)
    return fig


def _draw_probes(ax, verification) -> None:
    from matplotlib import colormaps

    metric = verification.metric
    cmap = colormaps[RUNG_CMAP]
    # every step a probe was scored at: the rungs, and where the cost target stopped a
    # confirmation or a stand-in short of one
    budgets = sorted({s for p in verification.probes if not p.diverged for s in p.steps if s > 0})
    for k, budget in enumerate(budgets):
        color = cmap(k / max(len(budgets) - 1, 1) * 0.85)
        means = verification.scores_at(budget)
        if not means:
            continue
        lrs = sorted(means)
        decided = " (decided here)" if budget == verification.decided_at else ""
        ax.plot(
            lrs,
            [means[lr] for lr in lrs],
            color=color,
            marker="o",
            lw=1.6,
            label=f"{budget} steps, mean of seeds{decided}",
        )
        for p in verification.probes:
            value = p.score_at(budget, metric)
            if value is not None and math.isfinite(value) and not p.diverged:
                ax.plot([p.lr], [value], color=color, marker=".", alpha=0.45, ls="none")
    diverged = [row["lr"] for row in verification.rows() if row["diverged"]]
    if diverged:
        ax.plot(
            diverged,
            np.zeros(len(diverged)),
            ls="none",
            marker="x",
            ms=10,
            mew=2,
            color=DIVERGED_COLOR,
            transform=ax.get_xaxis_transform(),
            label="diverged",
            clip_on=False,
        )
    if verification.suggestion is not None:
        ax.axvline(
            verification.suggestion,
            color=METHOD_STYLE["auto"][0],
            ls="--",
            lw=1.2,
            label=f"range-test suggestion: {_fmt_lr(verification.suggestion)}",
        )
    if verification.lr is not None:
        ax.axvline(
            verification.lr,
            color=CHOSEN_COLOR,
            lw=2.4,
            alpha=0.8,
            label=f"verified: {_fmt_lr(verification.lr)}",
        )
    ax.set_xscale("log")
    if verification.candidates:  # the probes may reach past the range test's last rate
        low, high = ax.get_xlim()
        pad = 10**PROBE_PAD_DECADES
        lowest, highest = min(verification.candidates), max(verification.candidates)
        ax.set_xlim(min(low, lowest / pad), max(high, highest * pad))
    ax.set_ylabel(f"held-out {metric}")
    ax.set_xlabel("learning rate (log scale)")
    ax.grid(True, which="major", alpha=0.3)
    confirmed = {True: "confirmed", False: "not confirmed", None: "not probed"}
    ax.set_title(
        f"Probes from scratch ({len(verification.candidates)} rates, "
        f"{verification.steps_spent} steps): the suggestion is "
        f"{confirmed[verification.confirmed]}",
        fontsize=10,
        loc="left",
    )
    ax.legend(loc="best", fontsize=8)
