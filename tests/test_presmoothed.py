"""Curves smoothed by an EMA during the test (torch-lr-finder, fastai) are found and undone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lrfinder.errors import LRFinderError
from lrfinder.presmoothed import DEFAULT_BETA, RECORDERS, describe, detect, unsmooth
from lrfinder.results import RangeTestResult, load_result
from tests.cli_run import run_cli

DATA = Path(__file__).parent / "data"
#: torch-lr-finder 0.2.2's default range test (smooth_f=0.05) of Adam on digits, json.dump'ed.
HISTORY = DATA / "torch_lr_finder_history.json"
#: The same tool with smooth_f=0: raw losses, stopped by a blow-up to 6x the best loss.
RAW_BLOW_UP = DATA / "torch_lr_finder_raw_blowup.json"

N = 100
LRS = np.logspace(-7, 1, N)


def trend() -> np.ndarray:
    """Flat, a fall of 2 around lr = 1e-3, a bottom, then a rise from lr = 0.3."""
    x = np.log10(LRS)
    return 2.3 - 2.0 / (1 + np.exp(-(x + 3) * 3)) + 1.5 * np.maximum(x + 0.5, 0) ** 2


def raw_curve(sigma: float, seed: int) -> np.ndarray:
    return trend() + sigma * np.random.default_rng(seed).standard_normal(N)


def ema(y: np.ndarray, beta: float, *, bias_corrected: bool = False) -> np.ndarray:
    """torch-lr-finder's smoothing (``s_0 = y_0``) or fastai's (bias-corrected)."""
    out = np.empty_like(y)
    if bias_corrected:
        avg = 0.0
        for t, v in enumerate(y):
            avg = beta * avg + (1 - beta) * v
            out[t] = avg / (1 - beta ** (t + 1))
        return out
    out[0] = y[0]
    for t in range(1, y.size):
        out[t] = beta * out[t - 1] + (1 - beta) * y[t]
    return out


@pytest.mark.parametrize("sigma", [0.02, 0.1, 0.3])
@pytest.mark.parametrize("seed", range(5))
def test_raw_noisy_curves_are_not_flagged(sigma, seed):
    found = detect(LRS, raw_curve(sigma, seed))
    assert not found.presmoothed, found
    result = RangeTestResult.from_curve(LRS, raw_curve(sigma, seed))
    assert result.note is None and "presmoothed_beta" not in result.settings
    np.testing.assert_array_equal(result.losses, raw_curve(sigma, seed))


@pytest.mark.parametrize("beta", [0.9, 0.95, 0.98])
@pytest.mark.parametrize("sigma", [0.02, 0.05])
@pytest.mark.parametrize("seed", range(3))
def test_ema_smoothed_curves_are_flagged(beta, sigma, seed):
    """Noise of 1% and 2.5% of the drop (real flat starts: 0.3% to 1%; see the report)."""
    raw = raw_curve(sigma, seed)
    for smoothed in (ema(raw, beta), ema(raw, beta, bias_corrected=True)):
        found = detect(LRS, smoothed)
        assert found.presmoothed, found
        assert found.recorder in RECORDERS
        assert found.statistic > -0.5 + found.bound
        assert abs(found.inverted + 0.5) <= found.bound * 1.5


@pytest.mark.parametrize("sigma", [0.02, 0.05])
@pytest.mark.parametrize("seed", range(3))
def test_the_tools_defaults_are_recovered_from_the_form_of_their_average(sigma, seed):
    """torch-lr-finder's 0.95 without bias correction, fastai's 0.98 with it."""
    raw = raw_curve(sigma, seed)
    for name, beta, corrected in (("torch-lr-finder", 0.95, False), ("fastai", 0.98, True)):
        smoothed = ema(raw, beta, bias_corrected=corrected)
        found = detect(LRS, smoothed)
        assert found.presmoothed and found.recorder.name == name, found
        assert (found.recorder.beta, found.recorder.bias_corrected) == (beta, corrected)
        result = RangeTestResult.from_curve(LRS, smoothed)
        np.testing.assert_allclose(result.losses, raw, rtol=0, atol=1e-9)
        assert result.settings["presmoothed_beta"] == beta
        assert f"as {name} records it" in result.analysis.reason


@pytest.mark.parametrize("beta", [0.9, 0.95, 0.98])
def test_unsmoothing_with_the_true_factor_gives_the_raw_curve_back(beta):
    raw = raw_curve(0.1, 0)
    np.testing.assert_allclose(unsmooth(ema(raw, beta), beta), raw, rtol=0, atol=1e-9)
    fastai = ema(raw, beta, bias_corrected=True)
    np.testing.assert_allclose(unsmooth(fastai, beta, bias_corrected=True), raw, rtol=0, atol=1e-9)
    # a factor given by the caller is used as is, and said so
    result = RangeTestResult.from_curve(LRS, ema(raw, beta), presmoothed=beta)
    np.testing.assert_allclose(result.losses, raw, rtol=0, atol=1e-9)
    assert result.settings["presmoothed_beta"] == beta
    assert result.note == describe(beta)


def test_detected_curve_is_read_from_the_recovered_raw_losses():
    raw = raw_curve(0.1, 1)
    result = RangeTestResult.from_curve(LRS, ema(raw, DEFAULT_BETA))
    np.testing.assert_allclose(result.losses, raw, rtol=0, atol=1e-9)
    assert "un-smoothed" in result.note and "un-smoothed" in result.analysis.reason
    plain = RangeTestResult.from_curve(LRS, raw, presmoothed=False)
    assert result.suggestion == pytest.approx(plain.suggestion, rel=1e-9)
    # the twice-smoothed reading lags towards higher rates
    twice = RangeTestResult.from_curve(LRS, ema(raw, DEFAULT_BETA), presmoothed=False)
    assert twice.suggestion > 2 * plain.suggestion
    assert "un-smoothed" not in twice.analysis.reason


@pytest.mark.parametrize("sigma", [0.0, 1e-6, 1e-4])
def test_smooth_low_noise_raw_curve_is_not_flagged(sigma):
    """A validation-like curve: its differences are correlated, but it is no EMA."""
    y = raw_curve(sigma, 0) if sigma else trend()
    found = detect(LRS, y)
    assert not found.presmoothed, found
    np.testing.assert_array_equal(RangeTestResult.from_curve(LRS, y).losses, y)


def test_curves_that_cannot_be_tested_are_read_as_given():
    y = ema(raw_curve(0.1, 0), 0.95)
    repeated = np.repeat(LRS[::10], 10)  # a piecewise schedule: several steps per rate
    assert not detect(repeated, y).presmoothed
    assert not detect(LRS[:15], y[:15]).presmoothed  # too short to tell
    early_fall = np.r_[np.full(5, 2.3), np.linspace(2.3, 0.3, 95)]  # no flat start
    assert not detect(LRS, ema(early_fall, 0.95)).presmoothed


def test_missing_values_split_the_inversion():
    raw = raw_curve(0.1, 2)
    s = ema(raw, 0.95)
    s[40:42] = np.nan
    out = unsmooth(s, 0.95)
    assert np.isnan(out[40:42]).all()
    np.testing.assert_allclose(out[:40], raw[:40], atol=1e-9)
    assert out[42] == s[42]  # its predecessor's average is unknown: kept as recorded
    np.testing.assert_allclose(out[43:], raw[43:], atol=1e-9)


@pytest.mark.parametrize("bad", ["yes", 1.0, 0.0, -0.5, float("nan"), True])
def test_bad_factor_is_refused(bad):
    with pytest.raises(LRFinderError, match="presmoothed|beta"):
        RangeTestResult.from_curve(LRS, trend(), presmoothed=bad)


def test_own_results_are_never_unsmoothed(tmp_path):
    """A result built as find_lr builds it, or read back from its JSON, is left alone."""
    smooth = ema(raw_curve(0.1, 0), 0.95)
    own = RangeTestResult(LRS, smooth, smooth[None, :], "done", ("done",), {})
    assert own.note is None and "un-smoothed" not in own.analysis.reason
    path = own.to_json(tmp_path / "own.json")
    back = load_result(path)
    np.testing.assert_array_equal(back.losses, smooth)
    # an un-smoothed import keeps its note, and its reason, through its own JSON
    imported = RangeTestResult.from_curve(LRS, smooth)
    again = load_result(imported.to_json(tmp_path / "imported.json"))
    assert again == imported and "un-smoothed" in again.analysis.reason


def test_real_torch_lr_finder_history_is_unsmoothed():
    history = json.loads(HISTORY.read_text())
    result = load_result(HISTORY)
    assert result.settings["presmoothed_beta"] == 0.95
    np.testing.assert_allclose(result.losses, unsmooth(history["loss"], 0.95))
    as_given = load_result(HISTORY, presmoothed=False)
    np.testing.assert_array_equal(as_given.losses, history["loss"])
    assert result.suggestion < as_given.suggestion  # the lag pushed it up


def test_cli_analyze_says_the_history_was_unsmoothed():
    out = run_cli(["analyze", HISTORY, "--momentum", "0.9"])
    assert out.exit_code == 0, out.output
    assert "pre-smoothed by an EMA" in out.output and "un-smoothed" in out.output


def test_raw_history_ending_in_a_blow_up_keeps_its_divergence():
    """torch-lr-finder with smooth_f=0 stops on a jump to 6x its best loss: a blow-up."""
    history = json.loads(RAW_BLOW_UP.read_text())
    assert history["loss"][-1] > 5 * min(history["loss"])
    result = load_result(RAW_BLOW_UP)
    assert result.note is None  # raw losses: not un-smoothed
    analysis = result.analysis
    assert analysis.status == "ok"
    assert analysis.landmarks.divergence is not None
    assert analysis.landmarks.divergence <= history["lr"][-1]
    assert "still falling" not in analysis.reason
    assert analysis.lr < analysis.landmarks.divergence


def test_lrfinder_own_raw_curve_exported_and_imported_is_read_as_given(tmp_path):
    """``to_csv`` writes raw losses; read back as a curve from elsewhere, they stay raw."""
    from lrfinder import TwoLayerNet, find_lr, load_dataset

    data = load_dataset("digits")
    result = find_lr(TwoLayerNet(64, 32, 10, seed=0), data, optimizer="adam", seed=0)
    back = load_result(result.to_csv(tmp_path / "run.csv"))
    assert back.note is None and "presmoothed_beta" not in back.settings
    np.testing.assert_array_equal(back.losses, result.losses[np.isfinite(result.losses)])
