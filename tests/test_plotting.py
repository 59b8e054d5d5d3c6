"""Figures: files are valid, awkward results draw, matplotlib stays lazy."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from lrfinder import (
    LearningRateSearcher,
    LRFinderError,
    RangeTestResult,
    TrainingHistory,
    TwoLayerNet,
    find_lr,
    load_dataset,
)
from lrfinder.analysis import METHODS

matplotlib = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402

from lrfinder.plotting import (  # noqa: E402
    METHOD_LABEL,
    SAVE_SUFFIXES,
    plot_histories,
    plot_result,
    save_figure,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _range_curve(n=120, seed=0, noise=0.03, lo=-6.0, hi=1.0):
    """A classic range-test shape: plateau, fall, minimum, blow-up."""
    rng = np.random.default_rng(seed)
    lrs = np.logspace(lo, hi, n)
    x = np.log10(lrs)
    loss = 2.3 - 1.8 / (1 + np.exp(-3 * (x + 3))) + 0.5 * np.exp(3 * (x - 0.2))
    return lrs, loss + rng.normal(0.0, noise, n)


@pytest.fixture(scope="module")
def curve_result():
    return RangeTestResult.from_curve(*_range_curve())


@pytest.fixture(scope="module")
def real_result():
    """One real, tiny range test (about a second)."""
    data = load_dataset("digits")
    return find_lr(
        TwoLayerNet(64, 16, 10),
        data,
        schedule=LearningRateSearcher.exponential(1e-5, 10, 60),
    )


def _suptitle(fig) -> str:
    # Figure.get_suptitle only exists from matplotlib 3.8 on.
    return fig._suptitle.get_text() if fig._suptitle is not None else ""


def _legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def _texts(fig) -> str:
    """All text drawn in the figure: titles, labels, legend entries."""
    out = [_suptitle(fig)]
    for ax in fig.axes:
        out += [ax.get_title(), ax.get_title("left"), ax.get_xlabel(), ax.get_ylabel()]
        legend = ax.get_legend()
        if legend is not None:
            out += [t.get_text() for t in legend.get_texts()]
            out.append(legend.get_title().get_text())
        out += [t.get_text() for t in ax.texts]
    return "\n".join(out)


# --------------------------------------------------------------------------- files


def test_png_svg_pdf_are_valid(real_result, tmp_path):
    from matplotlib.image import imread

    fig = plot_result(real_result)
    png = save_figure(fig, tmp_path / "curve.png")
    svg = save_figure(fig, tmp_path / "curve.svg")
    pdf = save_figure(fig, tmp_path / "curve.pdf")

    assert png.read_bytes()[:8] == PNG_MAGIC
    image = imread(png)
    height, width = image.shape[:2]
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert 400 < width < 4000 and 300 < height < 4000 and width > height
    assert image.std() > 0.05  # not a blank canvas

    head = svg.read_text(encoding="utf-8")[:200].lstrip()
    assert head.startswith("<?xml") or head.startswith("<svg")
    assert pdf.read_bytes()[:4] == b"%PDF"


def test_path_argument_saves_and_returns_figure(curve_result, tmp_path):
    path = tmp_path / "direct.png"
    fig = plot_result(curve_result, path=path)
    assert isinstance(fig, Figure)
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_result_plot_method(curve_result):
    fig = curve_result.plot(methods=("auto",))
    assert isinstance(fig, Figure)


@pytest.mark.parametrize("name", ["curve.jpg", "curve", "curve.png.txt"])
def test_bad_suffix_names_path_and_allowed(curve_result, tmp_path, name):
    fig = plot_result(curve_result, methods="auto")
    with pytest.raises(LRFinderError) as err:
        save_figure(fig, tmp_path / name)
    message = str(err.value)
    assert name in message
    assert all(suffix in message for suffix in SAVE_SUFFIXES)


def test_missing_folder_raises(curve_result, tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "curve.png"
    with pytest.raises(LRFinderError, match="does not exist"):
        plot_result(curve_result, path=missing)
    assert not missing.parent.exists()


# --------------------------------------------------------------------------- content


def test_layout_labels_and_suggestions(curve_result):
    fig = plot_result(curve_result)
    loss_ax, slope_ax = fig.axes[:2]
    assert loss_ax.get_xscale() == "log" and slope_ax.get_xscale() == "log"
    assert slope_ax.get_xlabel() == "learning rate (log scale)"
    assert loss_ax.get_ylabel() == "loss"
    assert slope_ax.get_ylabel() == "d loss / d log10(lr)"
    text = _texts(fig)
    for method in METHODS:
        lr = curve_result.suggest(method).lr
        assert lr is not None
        assert f"{METHOD_LABEL[method]}: {lr:.1e}" in text
    # the minimum method's marker says it is minimum / 10; the minimum is a landmark
    assert "minimum/10: " in text
    assert f"lowest smoothed loss: {curve_result.analysis.landmarks.minimum:.1e}" in text
    assert f"{curve_result.suggestion:.1e}" in _suptitle(fig)


def test_ylim_ignores_diverging_tail():
    lrs, loss = _range_curve()
    loss[-10:] = np.geomspace(10, 1e8, 10)  # the blow-up at the end
    result = RangeTestResult.from_curve(lrs, loss)
    fig = plot_result(result, methods="auto")
    bottom, top = fig.axes[0].get_ylim()
    start = float(np.median(loss[:10]))
    assert start < top < start + 0.5 * (start - loss.min())
    assert bottom < loss[np.isfinite(loss)].min() + 0.05


def test_selected_methods_only(curve_result):
    fig = plot_result(curve_result, methods=("steepest", "valley"), title="mine")
    labels = _legend_labels(fig.axes[0])
    shown = {METHOD_LABEL[m]: m for m in METHODS}
    marked = [shown[label.split(":")[0]] for label in labels if label.split(":")[0] in shown]
    assert marked == ["steepest", "valley"]
    assert _suptitle(fig) == "mine"


def test_unknown_method_raises(curve_result):
    with pytest.raises(LRFinderError, match="methods"):
        plot_result(curve_result, methods=("auto", "fastest"))


def test_none_suggestion_shows_reason():
    rng = np.random.default_rng(3)
    flat = RangeTestResult.from_curve(np.logspace(-5, 0, 80), 1.0 + rng.normal(0, 0.01, 80))
    assert flat.suggestion is None
    fig = plot_result(flat)
    text = _texts(fig)
    # one legend entry says there is no answer, not one "none" per method
    labels = _legend_labels(fig.axes[0])
    assert "no suggestion (see above)" in labels
    assert not any(label.endswith(": none") for label in labels)
    assert not any(label.startswith("lowest smoothed loss") for label in labels)
    # the y-axis shows at least the drop that would have counted, not a zoom into noise
    bottom, top = fig.axes[0].get_ylim()
    assert top - bottom >= 2 * flat.analysis.reading.noise.tolerance * (1 - 1e-9)  # rounding
    assert flat.analysis.reason[:40] in text.replace("\n", " ")


@pytest.mark.parametrize("n", [1, 2, 3])
def test_very_short_curves(n, tmp_path):
    result = RangeTestResult.from_curve(np.logspace(-3, -1, n), [1.0, 0.9, 1.2][:n])
    fig = plot_result(result, path=tmp_path / "short.png")
    assert "too few points" in _texts(fig)


def test_nan_tail_and_negative_losses(tmp_path):
    lrs, loss = _range_curve()
    loss = loss - 5.0  # negative losses (e.g. a log-likelihood objective)
    loss[-15:] = np.nan
    loss[-16] = np.inf
    fig = plot_result(RangeTestResult.from_curve(lrs, loss), path=tmp_path / "neg.svg")
    bottom, top = fig.axes[0].get_ylim()
    assert np.isfinite([bottom, top]).all() and top < 0
    assert "diverging" in _texts(fig)


def test_all_nan_curve_still_draws(tmp_path):
    result = RangeTestResult.from_curve([1e-3, 1e-2], [np.nan, np.nan])
    plot_result(result, path=tmp_path / "empty.png")


def _repeated_result(runs: int, with_validation: bool) -> RangeTestResult:
    rows = []
    lrs = None
    for r in range(runs):
        lrs, loss = _range_curve(seed=r)
        stop = len(loss) - 5 * r  # later runs stop earlier: NaN padding
        loss[stop:] = np.nan
        rows.append(loss)
    rows = np.array(rows)
    val_steps = val_losses = None
    if with_validation:
        val_steps = np.arange(0, lrs.size, 4)
        val_losses = rows[:, val_steps] + 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # columns where every run stopped
        median = np.nanmedian(rows, axis=0)
    return RangeTestResult(
        lrs=lrs,
        losses=median,
        run_losses=rows,
        stop_reason="completed the schedule",
        stop_reasons=("completed the schedule",) * runs,
        val_steps=val_steps,
        val_losses=val_losses,
    )


@pytest.mark.parametrize(("runs", "envelope"), [(3, "min-max"), (6, "middle 50%")])
def test_repeats_draw_median_and_envelope(runs, envelope):
    fig = plot_result(_repeated_result(runs, with_validation=False))
    text = _texts(fig)
    assert envelope in text and f"median of {runs} runs" in text
    assert any(envelope in label for label in _legend_labels(fig.axes[0]))
    hidden = plot_result(_repeated_result(runs, False), show_runs=False)
    assert not any(envelope in label for label in _legend_labels(hidden.axes[0]))


def test_validation_curve_is_the_analysed_one(tmp_path):
    result = _repeated_result(3, with_validation=True)
    fig = plot_result(result, path=tmp_path / "val.pdf")
    text = _texts(fig)
    assert fig.axes[0].get_ylabel() == "validation loss"
    assert "training loss (raw)" in text and "validation loss (smoothed)" in text
    assert "reading the validation loss" in text.lower()


def test_draw_into_given_axes():
    fig = Figure()
    ax, slope_ax = fig.subplots(2, 1, sharex=True)
    lrs, loss = _range_curve()
    out = plot_result(RangeTestResult.from_curve(lrs, loss), ax=ax, slope_ax=slope_ax)
    assert out is fig and len(fig.axes) == 2
    assert slope_ax.get_ylabel() == "d loss / d log10(lr)"

    single = Figure()
    ax = single.add_subplot()
    assert plot_result(RangeTestResult.from_curve(lrs, loss), ax=ax) is single
    assert len(single.axes) == 1 and ax.get_xlabel() == "learning rate (log scale)"


# --------------------------------------------------------------------------- histories


def _history(lr, final_acc, diverged=False):
    steps = np.arange(0, 60, 10)
    acc = np.linspace(0.1, final_acc, steps.size)
    loss = np.linspace(2.3, 0.4, steps.size)
    if diverged:
        loss[-1] = np.nan
        loss[-2] = 1e6
    train_loss = np.r_[np.nan, loss[1:] + 0.05]
    return TrainingHistory(steps, loss, acc, train_loss, lr, diverged)


def test_plot_histories(tmp_path):
    histories = {
        "sgd": _history(0.1, 0.95),
        "adam": _history(1e-3, 0.85),
        "rmsprop": _history(1.0, 0.1, diverged=True),
    }
    path = tmp_path / "compare.png"
    fig = plot_histories(histories, path=path, target=0.9)
    assert isinstance(fig, Figure) and path.read_bytes()[:8] == PNG_MAGIC
    text = _texts(fig)
    assert "sgd (lr 1.0e-01), target at step 50" in text
    assert "adam (lr 1.0e-03), target not reached" in text
    assert "diverged" in text and "target accuracy 0.9" in text
    assert fig.axes[0].get_ylabel() == "validation accuracy"
    assert fig.axes[1].get_ylim()[1] < 10  # the diverged loss does not squash the rest
    assert fig._suptitle.get_text() == "Training with each optimizer"
    titled = plot_histories(histories, title="Each optimizer trained with a 1cycle schedule")
    assert titled._suptitle.get_text() == "Each optimizer trained with a 1cycle schedule"


def test_plot_histories_regression_and_bad_input(tmp_path):
    h = _history("cosine", 0.5)
    nan_acc = TrainingHistory(
        h.steps, h.val_loss, h.val_accuracy * np.nan, h.train_loss, 0.1, False
    )
    fig = plot_histories({"sgd": nan_acc})
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel() == "loss"
    with pytest.raises(LRFinderError, match="non-empty"):
        plot_histories({})
    with pytest.raises(LRFinderError, match="TrainingHistory"):
        plot_histories({"sgd": [1, 2, 3]})
    with pytest.raises(LRFinderError, match=r"in \(0, 1\]"):
        plot_histories({"sgd": h}, target=90)
    with pytest.raises(LRFinderError, match=".svg"):
        plot_histories({"sgd": h}, path=tmp_path / "x.gif")


# --------------------------------------------------------------------------- laziness


def test_import_does_not_import_matplotlib():
    code = (
        "import sys, lrfinder, lrfinder.plotting, lrfinder.results\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib')\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
