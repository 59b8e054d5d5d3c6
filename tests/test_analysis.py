"""The analyser on synthetic curves whose right answer is known."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from lrfinder.analysis import (
    METHODS,
    Curve,
    Suggestion,
    analyse,
    analyse_curve,
    read,
    suggest,
)
from lrfinder.errors import LRFinderError
from lrfinder.results import RangeTestResult

#: The synthetic descent is a logistic step in log10(lr) centred here ...
CENTRE = -3.0
#: ... and the loss blows up from about here (its minimum lies ~0.5 decade below).
BLOW_UP = -0.5


def descent(n=300, lo=1e-6, hi=10.0, noise=0.0, seed=0, start=2.3, floor=0.3):
    """A smooth descent from ``start`` to ``floor`` then an exponential blow-up."""
    lrs = np.logspace(math.log10(lo), math.log10(hi), n)
    x = np.log10(lrs)
    loss = floor + (start - floor) / (1 + np.exp((x - CENTRE) / 0.4))
    loss = loss + 0.5 * np.exp((x - BLOW_UP) / 0.15)
    loss = loss + noise * np.random.default_rng(seed).standard_normal(n)
    return lrs, loss


def log_lr(s: Suggestion) -> float:
    assert s.lr is not None, s.reason
    return math.log10(s.lr)


@dataclass(frozen=True)
class FakeResult:
    """Anything with the fields of RangeTestResult is accepted."""

    lrs: np.ndarray
    losses: np.ndarray
    run_losses: np.ndarray
    val_steps: np.ndarray | None = None
    val_losses: np.ndarray | None = None


# ----------------------------------------------------------------------- clean descent


@pytest.fixture(scope="module")
def clean():
    return {m: suggest(descent(), m) for m in METHODS}


def test_clean_landmarks_are_where_the_curve_put_them(clean):
    marks = clean["auto"].landmarks
    assert math.log10(marks.steepest) == pytest.approx(CENTRE, abs=0.1)
    assert -1.5 < math.log10(marks.minimum) < BLOW_UP
    assert math.log10(marks.fall_start) < math.log10(marks.steepest)
    assert math.log10(marks.minimum) < math.log10(marks.divergence) <= 0.5


def test_each_method_on_a_clean_descent(clean):
    marks = clean["auto"].landmarks
    steep, low = math.log10(marks.steepest), math.log10(marks.minimum)
    assert log_lr(clean["steepest"]) == pytest.approx(steep)
    assert log_lr(clean["minimum"]) == pytest.approx(low - 1)
    # auto: the edge of the bottom, past the steepest point and not past the minimum
    assert steep < log_lr(clean["auto"]) <= low
    # fastai's valley is somewhere inside the descent
    assert math.log10(marks.fall_start) <= log_lr(clean["valley"]) <= low


def test_band_and_schedules_are_consistent(clean):
    s = clean["auto"]
    low, high = s.band
    # the band holds the rate and never reaches past the point where the test diverged
    assert low <= s.lr <= high <= s.landmarks.divergence
    assert s.base_lr < s.max_lr
    # a cyclic schedule's peak is the band's top, but never past the minimum
    assert s.max_lr == pytest.approx(min(high, s.landmarks.minimum))
    assert s.max_lr <= s.one_cycle_max_lr <= s.landmarks.minimum
    assert "fastest" in s.reason and "lowest" in s.reason


def test_centred_smoothing_has_no_lag():
    # a bowl whose minimum is at 1e-2: a causal EMA would put it at higher lr
    lrs = np.logspace(-5, 1, 301)
    x = np.log10(lrs)
    curve = analyse_curve(lrs, 1 + (x + 2) ** 2)
    assert math.log10(curve.lrs[np.argmin(curve.smooth)]) == pytest.approx(-2, abs=0.03)
    i = np.searchsorted(x, -3.5)
    assert curve.slope[i] == pytest.approx(2 * (x[i] + 2), rel=1e-6)


def test_curve_is_per_rate_and_increasing():
    lrs, loss = descent(n=50)
    c = analyse_curve(lrs, loss)
    assert isinstance(c, Curve)
    assert np.all(np.diff(c.lrs) > 0)
    for name in ("lrs", "raw", "smooth", "slope"):
        assert getattr(c, name).dtype == np.float64
        assert getattr(c, name).shape == (50,)
    np.testing.assert_array_equal(c.raw, loss)


# ------------------------------------------------------------------- noise and spikes


@pytest.mark.parametrize("seed", range(5))
def test_heavy_noise_moves_the_answer_little(clean, seed):
    # noise of a quarter of the total drop on every point
    noisy = descent(noise=0.5, seed=seed)
    assert log_lr(suggest(noisy, "minimum")) == pytest.approx(log_lr(clean["minimum"]), abs=0.5)
    # auto weighs the whole good region, so even this much noise moves it by little
    shift = log_lr(suggest(noisy, "auto")) - log_lr(clean["auto"])
    assert abs(shift) <= 0.35
    assert log_lr(suggest(noisy, "steepest")) == pytest.approx(CENTRE, abs=0.75)


@pytest.mark.parametrize("where", [-4.0, CENTRE, -2.0, -1.2])
def test_a_single_spike_does_not_move_the_answer(clean, where):
    for sign in (1, -1):
        lrs, loss = descent()
        i = int(np.searchsorted(np.log10(lrs), where))
        loss[i] += sign * 50.0
        for method in METHODS:
            spiked = log_lr(suggest((lrs, loss), method))
            assert spiked == pytest.approx(log_lr(clean[method]), abs=0.05), (method, sign)


def test_many_spikes_on_a_noisy_curve(clean):
    lrs, loss = descent(noise=0.1, seed=3)
    rng = np.random.default_rng(4)
    loss[rng.choice(np.flatnonzero(lrs < 0.1), 8, replace=False)] += 20.0
    assert log_lr(suggest((lrs, loss))) == pytest.approx(log_lr(clean["auto"]), abs=0.3)


# -------------------------------------------------------------- curves without an answer


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("noise", [0.0, 1e-3, 0.1])
def test_flat_curve_gives_none_with_a_reason(method, noise):
    lrs = np.logspace(-6, 1, 300)
    loss = 2.3 + noise * np.random.default_rng(0).standard_normal(lrs.size)
    s = suggest((lrs, loss), method)
    assert s.lr is None and s.band is None and s.max_lr is None
    assert "flat" in s.reason
    assert s.method == method


def test_pure_noise_is_flat_for_many_seeds():
    lrs = np.logspace(-6, 1, 200)
    for seed in range(30):
        loss = 1.0 + 0.2 * np.random.default_rng(seed).standard_normal(lrs.size)
        assert suggest((lrs, loss)).lr is None, seed


@pytest.mark.parametrize("method", METHODS)
def test_immediate_divergence_gives_none(method):
    lrs = np.logspace(-1, 2, 200)
    loss = 2.3 * np.exp(np.log10(lrs) + 1)
    loss[150:] = np.inf
    s = suggest((lrs, loss), method)
    assert s.lr is None
    assert "rises from the first steps" in s.reason and "lower rate" in s.reason


@pytest.mark.parametrize("n", [0, 1, 2, 5, 9])
def test_too_short_gives_none(n):
    lrs, loss = descent(n=n) if n else (np.array([]), np.array([]))
    s = suggest((lrs, loss))
    assert s.lr is None and "too short" in s.reason
    assert len(analyse_curve(lrs, loss)) == n


def test_all_nan_gives_none():
    lrs = np.logspace(-5, 0, 100)
    s = suggest((lrs, np.full(100, np.nan)))
    assert s.lr is None and "too short" in s.reason and "not finite" in s.reason
    assert s.landmarks.divergence == pytest.approx(1e-5)


# ---------------------------------------------------------------- awkward but readable


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_tail_is_cut_off(clean, bad):
    lrs, loss = descent()
    first = int(np.searchsorted(np.log10(lrs), 0.0))
    loss[first:] = bad
    for method in METHODS:
        assert log_lr(suggest((lrs, loss), method)) == pytest.approx(log_lr(clean[method]), abs=0.1)
    s = suggest((lrs, loss))
    assert s.landmarks.divergence <= lrs[first]
    assert len(analyse_curve(lrs, loss)) == first


@pytest.mark.parametrize(("offset", "scale"), [(-10.0, 1.0), (-1e4, 1.0), (0.0, 1e-4), (0, 1e4)])
def test_negative_and_rescaled_losses_give_the_same_answer(clean, offset, scale):
    lrs, loss = descent(noise=0.05, seed=1)
    reference = suggest((lrs, loss))
    moved = suggest((lrs, offset + scale * loss))
    assert log_lr(moved) == pytest.approx(log_lr(reference), abs=1e-6)


def test_still_falling_at_the_end_says_so():
    lrs, loss = descent(hi=1e-2)
    s = suggest((lrs, loss))
    assert s.lr is not None and "still falling" in s.reason
    assert s.landmarks.steepest <= s.lr <= s.landmarks.minimum


def piecewise(noise=0.0, seed=0, hold=10):
    """Looper-style schedule: 1x..9x each decade, each rate held ``hold`` steps."""
    rates = np.concatenate([d * np.arange(1, 10) for d in 10.0 ** np.arange(-6, 1)])
    lrs = np.repeat(rates, hold)
    x = np.log10(lrs)
    loss = 0.3 + 2.0 / (1 + np.exp((x - CENTRE) / 0.4)) + 0.5 * np.exp((x - BLOW_UP) / 0.15)
    return lrs, loss + noise * np.random.default_rng(seed).standard_normal(lrs.size)


def test_piecewise_schedule_aggregates_per_rate(clean):
    lrs, loss = piecewise()
    c = analyse_curve(lrs, loss)
    assert c.lrs.size == 63
    np.testing.assert_allclose(c.raw, loss[::10])
    # 1x, 2x, ... 9x leaves a gap of log10(2) = 0.3 decade after each power of ten,
    # and the blow-up is sharp on such a grid: answers are known to a grid step or two
    assert log_lr(suggest((lrs, loss), "steepest")) == pytest.approx(CENTRE, abs=0.35)
    assert log_lr(suggest((lrs, loss))) == pytest.approx(log_lr(clean["auto"]), abs=0.5)


@pytest.mark.parametrize("seed", range(3))
def test_noisy_piecewise_with_spikes(clean, seed):
    lrs, loss = piecewise(noise=0.5, seed=seed)
    loss[np.random.default_rng(seed).choice(lrs.size, 10, replace=False)] *= 30
    # against the same schedule without noise: the grid is coarse near the blow-up
    shift = log_lr(suggest((lrs, loss))) - log_lr(suggest(piecewise()))
    assert -0.75 <= shift <= 0.5


# -------------------------------------------------------------- results, runs, validation


def test_result_with_repeats_reports_each_run_and_the_spread():
    lrs, _ = descent()
    runs = np.stack([descent(noise=0.2, seed=s)[1] for s in range(3)])
    runs[2] = 2.3  # one run that learned nothing
    runs[1, 250:] = np.nan  # one that stopped early
    result = FakeResult(lrs, np.nanmedian(runs, axis=0), runs)
    s = suggest(result)
    assert len(s.run_lrs) == 3 and s.run_lrs[2] is None
    assert all(r is not None for r in s.run_lrs[:2])
    expected = abs(math.log10(s.run_lrs[0]) - math.log10(s.run_lrs[1]))
    assert s.spread_decades == pytest.approx(expected)
    one = suggest(FakeResult(lrs, runs[0], runs[:1]))
    assert one.run_lrs == () and one.spread_decades is None


def test_validation_curve_is_read_when_present():
    lrs, loss = descent()
    steps = np.arange(0, lrs.size, 3)
    flat_train = np.full(lrs.size, 2.3)
    result = FakeResult(lrs, flat_train, flat_train[None], steps, loss[steps][None])
    s = suggest(result)
    assert s.lr is not None
    assert log_lr(s) == pytest.approx(log_lr(suggest((lrs[steps], loss[steps]))))
    assert suggest(result, use_validation=False).lr is None


def test_suggestion_round_trips_through_json():
    lrs, _ = descent()
    runs = np.stack([descent(noise=0.2, seed=s)[1] for s in range(3)])
    for s in (suggest(FakeResult(lrs, runs[0], runs)), suggest((lrs, np.ones_like(lrs)))):
        assert Suggestion.from_dict(json.loads(json.dumps(s.to_dict()))) == s


@dataclass(frozen=True)
class ExtendedResult:
    """A result whose default test had to be extended: a slow learner."""

    lrs: np.ndarray
    losses: np.ndarray
    settings: dict


def test_a_slow_learner_backs_off_from_the_edge_towards_minimum_over_ten():
    lrs, loss = descent()
    edge = suggest((lrs, loss))
    slow = suggest(ExtendedResult(lrs, loss, {"extended": "the default test saw no learning"}))
    classic = edge.landmarks.minimum / 10
    # halfway, in log10(lr), between the edge and the classic minimum / 10
    assert log_lr(slow) == pytest.approx((log_lr(edge) + math.log10(classic)) / 2)
    assert slow.lr < edge.lr and "learns slowly" in slow.reason
    # the band reaches down to at least the classic reading and holds the backed-off rate
    assert slow.band[0] <= classic and slow.band[0] <= slow.lr <= slow.band[1]
    assert slow.band[1] <= edge.band[1]
    # the flag can be given by hand, both ways
    assert suggest((lrs, loss), slow_learner=True).lr == pytest.approx(slow.lr)
    assert suggest(ExtendedResult(lrs, loss, {"extended": "x"}), slow_learner=False) == edge
    # other methods keep their own rule
    assert suggest(ExtendedResult(lrs, loss, {"extended": "x"}), "minimum").lr == pytest.approx(
        classic
    )


def test_a_slow_learner_never_moves_above_the_edge():
    # a bottom four decades wide that tilts down to its minimum near lr = 1: minimum / 10
    # already lies above the middle of the good region
    lrs = np.logspace(-6, 1, 300)
    x = np.log10(lrs)
    loss = 0.3 + 2.0 / (1 + np.exp((x + 4.0) / 0.2)) + 0.5 * np.exp((x - 0.5) / 0.15)
    loss = loss - 0.01 * (x + 4.0)
    edge = suggest((lrs, loss))
    assert edge.landmarks.minimum / 10 > edge.lr
    assert suggest((lrs, loss), slow_learner=True).lr == pytest.approx(edge.lr)


def test_a_cold_start_gain_caps_auto_below_the_divergence():
    lrs, loss = descent()
    edge = suggest((lrs, loss))
    divergence = edge.landmarks.divergence
    # a gain the edge already respects changes nothing
    assert edge.lr < divergence / 10
    assert suggest((lrs, loss), cold_start_gain=10) == edge
    capped = suggest((lrs, loss), cold_start_gain=100)
    assert capped.lr == pytest.approx(divergence / 100)
    # the band moves down with the rate, by the same factor, and still holds it
    shift = capped.lr / edge.lr
    assert capped.band[0] == pytest.approx(edge.band[0] * shift)
    assert capped.band[0] <= capped.lr <= capped.band[1] <= edge.band[1] * shift * (1 + 1e-12)
    assert "first steps from fresh state are up to 100 times" in capped.reason
    # the corrections are auto's alone: the classic methods keep their rule and band
    for method in ("steepest", "minimum", "valley"):
        assert suggest((lrs, loss), method, cold_start_gain=100) == suggest((lrs, loss), method)


def test_without_divergence_the_cap_is_the_last_rate_over_the_gain():
    lrs = np.logspace(-6, -1, 300)
    loss = 0.3 + 2.0 / (1 + np.exp((np.log10(lrs) + 4.0) / 0.3))
    s = suggest((lrs, loss), cold_start_gain=1e4)
    assert s.landmarks.divergence is None
    assert s.lr == pytest.approx(lrs[-1] / 1e4) and "last rate tested" in s.reason


@pytest.mark.parametrize(
    "settings",
    [
        {"cold_start_gain": 100.0},
        # results saved before the gain was recorded: derived from the optimizer
        {"optimizer": "rmsprop", "optimizer_hyperparameters": {"rho": 0.9999, "eps": 1e-8}},
        # what find_lr recorded wins over the name
        {"optimizer": "sgd", "optimizer_hyperparameters": {}, "cold_start_gain": 100.0},
    ],
)
def test_the_cold_start_gain_is_read_from_the_settings(settings):
    lrs, loss = descent()
    expected = suggest((lrs, loss), cold_start_gain=100)
    assert suggest(ExtendedResult(lrs, loss, settings)).lr == pytest.approx(expected.lr)


@pytest.mark.parametrize("gain", [0, -1, float("nan"), float("inf"), "ten"])
def test_bad_cold_start_gain_is_refused(gain):
    lrs, loss = descent()
    with pytest.raises(LRFinderError, match="cold_start_gain must be a finite number > 0"):
        suggest((lrs, loss), cold_start_gain=gain)
    # a corrupt value in a saved result is refused the same way
    with pytest.raises(LRFinderError, match="cold_start_gain must be a finite number > 0"):
        suggest(ExtendedResult(lrs, loss, {"cold_start_gain": gain}))


def test_a_gain_below_one_needs_no_cap():
    # first steps smaller than the settled ones (as Momentum's) are never a risk
    lrs, loss = descent()
    assert suggest((lrs, loss), cold_start_gain=0.1) == suggest((lrs, loss))


# ----------------------------------------------------------------------------- bad input


def test_unknown_method_lists_the_methods():
    with pytest.raises(LRFinderError, match="auto, steepest, minimum, valley"):
        suggest(descent(), "fastest")


@pytest.mark.parametrize(
    ("lrs", "losses", "match"),
    [
        (np.ones(5), np.ones(4), "same length"),
        (np.ones((2, 5)), np.ones((2, 5)), "1-D"),
        (np.array([1e-3, -1e-2, 1e-1]), np.ones(3), "positive"),
        (np.array([1e-3, np.nan, 1e-1]), np.ones(3), "positive"),
    ],
)
def test_malformed_arrays_are_refused(lrs, losses, match):
    with pytest.raises(LRFinderError, match=match):
        suggest((lrs, losses))
    with pytest.raises(LRFinderError, match=match):
        analyse_curve(lrs, losses)


@pytest.mark.parametrize("window", [0, -1, np.nan, "wide"])
def test_bad_window_is_refused(window):
    with pytest.raises(LRFinderError, match="window"):
        suggest(descent(), window=window)


def test_not_a_result_is_refused():
    with pytest.raises(LRFinderError, match="RangeTestResult"):
        suggest(42)


# ------------------------------------------------------- a user model: least squares


class LeastSquares:
    """``0.5 * mean((x @ w - y)^2)`` through the model protocol."""

    def __init__(self, d: int):
        self.params = {"w": np.zeros(d)}

    def loss_and_grads(self, x, y):
        r = x @ self.params["w"] - y
        return 0.5 * float(np.mean(r * r)), {"w": x.T @ r / len(y)}


@pytest.mark.parametrize("batch_size", [64, 1024])
def test_sgd_on_least_squares_suggests_a_rate_below_the_stability_limit(batch_size):
    from lrfinder.rangetest import find_lr

    rng = np.random.default_rng(0)
    n, d = 1024, 10
    x = rng.standard_normal((n, d)) * np.linspace(0.5, 3.0, d)
    y = x @ rng.standard_normal(d) + 0.1 * rng.standard_normal(n)
    limit = 2.0 / np.linalg.eigvalsh(x.T @ x / n).max()  # SGD diverges above 2/L
    result = find_lr(LeastSquares(d), (x, y), optimizer="sgd", batch_size=batch_size, seed=0)
    s = suggest(result)
    # Gradient descent on a quadratic converges fastest at 2 / (L + mu), just below the
    # limit here (condition number 36); above the limit it diverges. The loss grows
    # slowly just past the limit, so the test's own minimum lies above it.
    assert limit / 10 < s.lr < limit, (s.lr, limit)
    assert s.band[0] < limit / 2


def test_flat_then_rising_says_no_learning_was_seen_and_where_it_turned_up():
    lrs = np.logspace(-7, 1, 200)
    x = np.log10(lrs)
    noise = 0.05 * np.random.default_rng(0).standard_normal(lrs.size)
    loss = 0.7 + noise + np.where(x > -0.5, 3.0 * (x + 0.5), 0.0)
    s = suggest((lrs, loss))
    assert s.lr is None
    assert "did not fall measurably" in s.reason and "first steps" not in s.reason
    assert -0.5 <= math.log10(s.landmarks.divergence) <= 0.0


def test_a_flat_noisy_curve_has_no_divergence_landmark():
    lrs = np.logspace(-7, 1, 200)
    loss = 0.7 + 0.05 * np.random.default_rng(1).standard_normal(lrs.size)
    s = suggest((lrs, loss))
    assert s.lr is None and "flat" in s.reason
    assert s.landmarks.divergence is None


def test_a_blow_up_on_the_last_held_rate_is_divergence_not_a_spike():
    # a Looper-style test that stops on divergence ends with one rate far above the rest
    lrs, loss = piecewise(hold=10)
    keep = np.log10(lrs) <= -1.0  # the floor, before the synthetic blow-up ...
    lrs, loss = lrs[keep], loss[keep].copy()
    loss[-10:] = 25.0  # ... then the test stops on one rate that blew up
    s = suggest((lrs, loss))
    assert s.landmarks.divergence is not None
    assert s.landmarks.minimum < s.landmarks.divergence <= lrs[-1]
    assert "still falling" not in s.reason


# ------------------------------------------------------------------------ ambiguity


def two_good_regions(n=400):
    lrs = np.logspace(-7, 1, n)
    x = np.log10(lrs)
    loss = 0.4 + 1.9 / (1 + np.exp((x + 4.5) / 0.2))
    loss = loss + 0.8 * np.exp(-(((x + 2.5) / 0.4) ** 2))  # a wide hump between them
    return lrs, loss + 0.5 * np.exp((x + 0.3) / 0.1)


def test_two_separate_good_regions_are_called_ambiguous():
    s = suggest(two_good_regions())
    assert s.ambiguous and s.lr is not None
    assert "2 separate good regions" in s.reason
    # the regions are named: one below the hump (10**-2.5), one above it
    assert "7.36e-05 to 0.00123" in s.reason


def test_a_bottom_flat_within_its_noise_over_decades_is_called_ambiguous():
    lrs = np.logspace(-7, 1, 400)
    x = np.log10(lrs)
    loss = 0.4 + 1.9 / (1 + np.exp((x + 5) / 0.2)) + 0.5 * np.exp((x - 0.5) / 0.1)
    loss = loss + 0.03 * np.random.default_rng(0).standard_normal(lrs.size)
    s = suggest((lrs, loss))
    assert s.ambiguous and "flat within its noise over" in s.reason


def test_a_clean_descent_is_not_ambiguous(clean):
    assert not any(s.ambiguous for s in clean.values())
    assert "ambiguous" not in clean["auto"].reason


# ------------------------------------------------------------ uneven spacing (linear schedules)


@pytest.mark.parametrize("seed", range(3))
def test_the_noise_is_measured_alike_on_linear_and_exponential_schedules(seed):
    from lrfinder.analysis import estimate_noise, smooth

    answers, sigmas = [], []
    for lrs in (np.logspace(-7, 1, 400), np.linspace(1e-7, 10, 400)):
        x = np.log10(lrs)
        loss = 0.3 + 2.0 / (1 + np.exp((x + 0.8) / 0.3)) + 0.5 * np.exp((x - 0.6) / 0.1)
        loss = loss + 0.05 * np.random.default_rng(seed).standard_normal(lrs.size)
        sigmas.append(estimate_noise(smooth(lrs, loss)).sigma)
        answers.append(log_lr(suggest((lrs, loss))))
    # a linear schedule puts 90% of its points in the last decade: the noise is still
    # measured per point, not inflated by the sparse stretch nor hidden by the dense one
    assert 0.03 < sigmas[0] < 0.07 and 0.03 < sigmas[1] < 0.08, sigmas
    assert abs(answers[0] - answers[1]) <= 0.25, answers


# ------------------------------------------------- stage 0: gaps, falling rates, NaN rows


def test_falling_rates_are_refused_not_sorted():
    lrs, loss = descent()
    with pytest.raises(LRFinderError, match="the learning rates fall.*reverse the rows"):
        suggest((lrs[::-1], loss[::-1]))
    with pytest.raises(LRFinderError, match="the learning rates fall"):
        analyse_curve(lrs[::-1], loss[::-1])


def test_nan_rows_inside_the_curve_are_skipped_and_the_rest_is_read(clean):
    # two NaN rows early on used to cut everything after them: three decades too low
    lrs, loss = descent()
    loss[[60, 61]] = np.nan
    s = suggest((lrs, loss))
    assert log_lr(s) == pytest.approx(log_lr(clean["auto"]), abs=0.05)
    assert "2 non-finite loss(es) between lr = " in s.reason
    # a non-finite tail is still where the test diverged
    cut = int(np.searchsorted(np.log10(lrs), -1.0))
    tail = loss.copy()
    tail[cut:] = np.inf
    marks = suggest((lrs, tail)).landmarks
    assert marks.minimum < marks.divergence <= lrs[cut]


def test_a_zoom_after_the_sweep_is_read_as_its_own_stretch(clean):
    # the README's old example: a sweep to 10, then a fine zoom back at 1e-3..1e-2
    lrs, loss = descent()
    zoom = np.linspace(1e-3, 1e-2, 60)
    both_lrs = np.concatenate([lrs, zoom])
    both_loss = np.concatenate([loss, np.full(zoom.size, 0.31)])
    s = suggest((both_lrs, both_loss))
    assert s.lr == pytest.approx(clean["auto"].lr)  # the sweep, unchanged by the zoom
    assert "the rates go back down from lr = 10 to lr = 0.001" in s.reason
    assert "the stretch lr = 0.001 to 0.01, read on its own" in s.reason


def test_no_smoothing_across_a_gap_wider_than_the_window():
    # measured below 1e-4 and above 1e-1 only: nothing is read into the three empty decades
    lrs, loss = descent()
    keep = (lrs < 1e-4) | (lrs > 1e-1)
    s = suggest((lrs[keep], loss[keep]))
    assert "no rate was tested between lr = " in s.reason and "smoothing window" in s.reason
    curve = analyse_curve(lrs[keep], loss[keep])
    assert curve.lrs.max() < 1e-4 or curve.lrs.min() > 1e-1  # one stretch, not both


def test_a_test_that_ends_on_its_blow_up_has_a_divergence_landmark():
    # the rise at the end is beyond the noise but short of half the drop (the test
    # stopped on it): the divergence is where the loss last left the noise above its minimum
    lrs = np.logspace(-7, 0, 200)
    x = np.log10(lrs)
    loss = 0.3 + 2.0 / (1 + np.exp((x + 3.0) / 0.3)) + 0.02 * np.exp((x + 0.3) / 0.12)
    loss = loss + 0.01 * np.random.default_rng(0).standard_normal(lrs.size)
    s = suggest((lrs, loss))
    rise = analyse_curve(lrs, loss).smooth
    assert rise[-1] - rise.min() < 0.5 * (rise[0] - rise.min())  # short of half the drop
    assert s.landmarks.divergence is not None
    assert s.landmarks.minimum < s.landmarks.divergence < lrs[-1]


# ------------------------------------------------------------ momentum lag and the bottom


def test_read_back_moves_the_rate_back_along_the_steps():
    from lrfinder.analysis import read_back

    lrs = np.logspace(-6, 0, 601)  # 100 steps per decade
    assert read_back(1e-2, lrs, 9) == pytest.approx(1e-2 / 10**0.09)
    assert read_back(1e-2, lrs, 0) == 1e-2
    # half-way between two steps, then 2.5 steps back
    assert read_back(10**-2.005, lrs, 2.5) == pytest.approx(10**-2.03)
    # never before the first step
    assert read_back(1e-5, lrs, 1000) == pytest.approx(1e-6)
    # a rate held for 10 steps: 9 steps back from the first step at 10 is the rate before
    held = np.repeat([1.0, 10.0, 100.0], 10)
    assert read_back(10.0, held, 9) == pytest.approx(1.0)
    # a piecewise schedule that starts again lower: its last rise to the rate counts
    again = np.concatenate([np.logspace(-6, 0, 61), np.logspace(-3, -1, 201)])
    assert read_back(1e-2, again, 10) == pytest.approx(1e-2 / 10**0.1)


def test_a_momentum_lag_reads_auto_back_and_keeps_the_band_top():
    from lrfinder.analysis import read_back

    lrs, loss = descent()
    plain = suggest((lrs, loss))
    lagged = suggest((lrs, loss), momentum_lag=9)
    assert lagged.lr == pytest.approx(read_back(plain.lr, lrs, 9))
    assert lagged.lr < plain.lr
    assert lagged.band[0] == pytest.approx(plain.band[0] * lagged.lr / plain.lr)
    assert lagged.band[1] == pytest.approx(plain.band[1])
    assert "9 steps old on average" in lagged.reason
    # only auto is corrected
    for method in ("steepest", "minimum", "valley"):
        assert suggest((lrs, loss), method, momentum_lag=9) == suggest((lrs, loss), method)


@pytest.mark.parametrize("bad", [-1, float("nan"), "nine"])
def test_a_bad_momentum_lag_is_refused(bad):
    with pytest.raises(LRFinderError, match="momentum_lag"):
        suggest(descent(), momentum_lag=bad)


def test_a_range_test_records_its_momentum_lag_and_auto_reads_it():
    from lrfinder import TwoLayerNet, find_lr, load_dataset

    data = load_dataset("digits", seed=0)
    result = find_lr(TwoLayerNet.for_dataset(data, n_hidden=32, seed=0), data, optimizer="momentum")
    assert result.settings["momentum_lag"] == pytest.approx(9.0)
    assert suggest(result) == suggest(result, momentum_lag=9.0)
    assert suggest(result).lr < suggest(result, momentum_lag=0).lr
    # a file that predates the setting: rebuilt from the optimizer's hyperparameters
    del result.settings["momentum_lag"]
    assert suggest(result).lr == suggest(result, momentum_lag=9.0).lr


TORCH_LR_FINDER_HISTORY = Path(__file__).parent / "data" / "torch_lr_finder_history.json"


def test_an_unknown_momentum_matters_on_a_short_test_of_unknown_optimizer():
    """torch-lr-finder's default test, 100 steps over 8 decades: 9 steps are 0.7 decades,
    and each reading lies outside the other's band, so the answer depends on the optimizer."""
    from lrfinder.analysis import momentum_sensitivity, momentum_unknown
    from lrfinder.results import load_result

    result = load_result(TORCH_LR_FINDER_HISTORY)
    assert momentum_unknown(result)
    without, with_ = momentum_sensitivity(result)
    plain = suggest(result, momentum_lag=0)
    assert (without.lr, without.band) == (plain.lr, plain.band)
    assert with_ == suggest(result, momentum_lag=9)
    assert with_.lr < without.band[0]
    # the Python answer says what it assumed, and what the other reading is
    assert without == result.analysis.suggestion
    assert (
        "recorded this curve is unknown" in without.reason and f"{with_.lr:.3g}" in without.reason
    )
    assert "is unknown" not in plain.reason
    # once the optimizer is known, nothing is left to ask
    known = replace(result, settings={**result.settings, "optimizer": "adam"})
    assert not momentum_unknown(known) and momentum_sensitivity(known) is None
    told = replace(result, settings={**result.settings, "momentum_lag": 0.0})
    assert momentum_sensitivity(told) is None


def test_an_unknown_momentum_does_not_matter_on_a_slow_sweep():
    """2000 steps over the same 8 decades: 9 steps are 0.04 decades, inside the band."""
    from lrfinder.analysis import momentum_sensitivity

    lrs, loss = descent(n=2000, lo=1e-7, noise=0.02)
    assert suggest((lrs, loss)).lr is not None
    assert momentum_sensitivity((lrs, loss)) is None
    assert "is unknown" not in suggest((lrs, loss)).reason  # nothing to warn of


def test_the_bottom_ignores_a_dip_narrower_than_the_window():
    from lrfinder.analysis import held_minimum

    x = np.linspace(-6, 0, 601)
    s = 1.0 + (x + 3) ** 2 / 10
    narrow = s - 0.5 * (np.abs(x + 1) < 0.1)  # 0.2 decades wide
    wide = s - 0.5 * (np.abs(x + 1) < 0.4)  # 0.8 decades wide
    assert held_minimum(x, s, 0.25) == pytest.approx(1.0 + 0.25**2 / 10)
    assert held_minimum(x, narrow, 0.25) == pytest.approx(held_minimum(x, s, 0.25))
    assert held_minimum(x, wide, 0.25) < 1.0


def _validated(every: int, blow_up_after_last_reading: bool) -> RangeTestResult:
    """A test held at each rate for ``every`` steps, its validation loss read at the end of
    each hold; the training loss blows up (and the test stops) part-way into the last hold."""
    rates = np.logspace(-5, 0, 26)
    lrs = np.repeat(rates, every)
    x = np.log10(lrs)
    train = 0.3 + 2.0 / (1 + np.exp((x + 3) / 0.4)) + 0.01 * np.cos(np.arange(lrs.size))
    if blow_up_after_last_reading:
        cut = lrs.size - every // 2  # stopped in the middle of the last hold
        train[cut - 3 : cut] = [3.0, 8.0, 20.0]
        lrs, train = lrs[:cut], train[:cut]
    steps = np.arange(every - 1, lrs.size, every)
    val = 0.3 + 2.0 / (1 + np.exp((np.log10(lrs[steps]) + 3) / 0.4))
    return RangeTestResult(
        lrs,
        train,
        train[None, :],
        "loss diverged",
        ("loss diverged",),
        val_steps=steps,
        val_losses=val[None, :],
    )


def test_a_blow_up_between_validation_readings_is_the_divergence():
    """Read every few steps, the validation loss is still falling when the test stops on a
    blow-up between two readings; the training loss saw it, and the reading says so instead
    of asking to extend the range."""
    result = _validated(10, blow_up_after_last_reading=True)
    assert read(result.lrs[result.val_steps], result.val_losses[0]).still_falling
    analysis = analyse(result)
    assert analysis.validation
    last_read = result.lrs[result.val_steps[-1]]
    assert analysis.landmarks.divergence is not None
    assert last_read < analysis.landmarks.divergence <= result.lrs[-1]
    assert "extend the range" not in analysis.reason
    assert "after the last validation reading" in analysis.reason
    assert analysis.suggestion.band[1] <= analysis.landmarks.divergence


def test_a_validation_curve_without_a_blow_up_after_it_is_read_alone():
    result = _validated(10, blow_up_after_last_reading=False)
    analysis = analyse(result)
    assert analysis.landmarks.divergence is None
    assert "after the last validation reading" not in analysis.reason
