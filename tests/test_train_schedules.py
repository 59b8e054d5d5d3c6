"""Training schedules (one_cycle, cosine, triangular), the Suggestion helpers that build
them, and training with them."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrfinder import TwoLayerNet, find_lr, load_dataset, train
from lrfinder.analysis import Suggestion
from lrfinder.errors import LRFinderError
from lrfinder.schedules import (
    TRAINING_SCHEDULES,
    OneCycle,
    cosine,
    one_cycle,
    triangular,
)
from lrfinder.training import steps_per_epoch

rates = st.floats(1e-6, 10.0)
totals = st.integers(1, 5000)
fractions = st.floats(0.0, 0.95)
factors = st.floats(1.0, 1e5)
REL = 1e-12


def _below_or_close(a: float, b: float) -> bool:
    return a <= b * (1 + REL) + 1e-300


# --------------------------------------------------------------------------- one_cycle


@given(rates, totals, fractions, factors, factors)
def test_one_cycle_stays_between_its_end_rate_and_its_peak(max_lr, total, frac, div, final):
    s = one_cycle(max_lr, total, warmup_fraction=frac, div_factor=div, final_div_factor=final)
    for step in {0, 1, total // 3, total // 2, total - 1, total, total + 7}:
        assert _below_or_close(s.final_lr, s(step)) and _below_or_close(s(step), max_lr)


@given(rates, totals, fractions, factors, factors)
def test_one_cycle_endpoints(max_lr, total, frac, div, final):
    s = one_cycle(max_lr, total, warmup_fraction=frac, div_factor=div, final_div_factor=final)
    start = max_lr / div if frac > 0 else max_lr
    assert s(0) == pytest.approx(start, rel=1e-12)
    assert s(total) == pytest.approx(max_lr / div / final, rel=1e-9)
    assert s(total + 1) == s(10 * total) == s(total)  # past the end: held at the end value


@given(rates, st.integers(1, 200), st.sampled_from([0.1, 0.25, 0.3, 0.5, 0.75]))
def test_one_cycle_peaks_at_the_end_of_the_warmup(max_lr, tens, frac):
    total = 20 * tens  # so that frac * total is a whole step
    s = one_cycle(max_lr, total, warmup_fraction=frac)
    peak = round(frac * total)
    assert s.peak_step == pytest.approx(peak)
    assert s(peak) == pytest.approx(max_lr, rel=1e-12)
    assert max(s.rates()) == pytest.approx(max_lr, rel=1e-12)


@given(rates, st.integers(2, 3000), fractions)
def test_one_cycle_rises_then_falls(max_lr, total, frac):
    s = one_cycle(max_lr, total, warmup_fraction=frac)
    r = s.rates(total + 1)
    peak = int(np.argmax(r))
    assert np.all(np.diff(r[: peak + 1]) >= -REL * max_lr)
    assert np.all(np.diff(r[peak:]) <= REL * max_lr)
    assert abs(peak - frac * total) <= 1


def test_one_cycle_values_and_repr():
    s = one_cycle(7e-3, 1410)
    assert repr(s) == "one_cycle(max_lr=7.0e-03, total_steps=1410)"
    assert s(0) == pytest.approx(7e-3 / 25)
    assert s(423) == pytest.approx(7e-3)  # 0.3 * 1410
    # halfway down the cosine the rate is the mean of the peak and the end rate
    assert s(423 + 987 // 2) == pytest.approx((7e-3 + 7e-3 / 25e4) / 2, rel=2e-3)
    custom = one_cycle(0.0069183, 10, warmup_fraction=0.25, div_factor=10)
    assert (
        repr(custom)
        == "one_cycle(max_lr=6.92e-03, total_steps=10, warmup_fraction=0.25, div_factor=10)"
    )


def test_one_cycle_repr_builds_the_same_schedule():
    s = one_cycle(2.5e-2, 300, warmup_fraction=0.2, final_div_factor=100)
    assert eval(repr(s), {"one_cycle": one_cycle}) == s


def test_a_schedule_is_frozen_and_pure():
    s = one_cycle(1e-2, 100)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.max_lr = 1.0
    first = [s(k) for k in range(100)]
    assert [s(k) for k in reversed(range(100))][::-1] == first  # no state between calls


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(max_lr=0, total_steps=10), "max_lr"),
        (dict(max_lr=float("nan"), total_steps=10), "max_lr"),
        (dict(max_lr=1e-3, total_steps=0), "total_steps"),
        (dict(max_lr=1e-3, total_steps=10.5), "total_steps"),
        (dict(max_lr=1e-3, total_steps=10, warmup_fraction=1.0), "warmup_fraction"),
        (dict(max_lr=1e-3, total_steps=10, warmup_fraction=-0.1), "warmup_fraction"),
        (dict(max_lr=1e-3, total_steps=10, div_factor=0.5), "div_factor"),
        (dict(max_lr=1e-3, total_steps=10, final_div_factor=math.inf), "final_div_factor"),
    ],
)
def test_one_cycle_refuses_bad_settings_naming_them(kwargs, name):
    with pytest.raises(LRFinderError, match=name):
        one_cycle(**kwargs)
    with pytest.raises(LRFinderError, match=name):  # built directly, it is checked too
        OneCycle(**kwargs)


@pytest.mark.parametrize("step", [-1, 1.5, "3", True])
def test_a_schedule_refuses_a_step_that_is_not_a_count(step):
    for s in (one_cycle(1e-2, 10), cosine(1e-2, 10), triangular(1e-3, 1e-2, 5)):
        with pytest.raises(LRFinderError, match="step must be an integer >= 0"):
            s(step)


def test_numpy_integer_steps_are_accepted():
    assert one_cycle(1e-2, 10)(np.int64(3)) == one_cycle(1e-2, 10)(3)


# --------------------------------------------------------------------------- cosine


@given(rates, totals, st.data())
def test_cosine_warms_up_then_decays_to_zero(lr, total, data):
    warmup = data.draw(st.integers(0, total - 1))
    s = cosine(lr, total, warmup_steps=warmup)
    r = s.rates(total + 3)
    assert np.all(r >= 0) and np.all(r <= lr * (1 + REL))
    assert s(warmup) == pytest.approx(lr, rel=1e-12)
    assert np.all(np.diff(r[: warmup + 1]) > 0)  # the warm-up climbs every step
    assert np.all(np.diff(r[warmup:]) <= REL * lr)
    assert s(total) == 0.0 and s(total + 5) == 0.0
    assert s(total - 1) > 0  # the last trained step still learns
    if warmup:
        assert s(0) == pytest.approx(lr / (warmup + 1))


def test_cosine_values_and_repr():
    s = cosine(0.01, 100)
    assert (s(0), s(50)) == (0.01, pytest.approx(0.005))
    assert repr(s) == "cosine(lr=1.0e-02, total_steps=100)"
    assert (
        repr(cosine(0.01, 100, warmup_steps=5))
        == "cosine(lr=1.0e-02, total_steps=100, warmup_steps=5)"
    )


@pytest.mark.parametrize(
    "args, kwargs, name",
    [
        ((-1.0, 10), {}, "lr"),
        ((1e-2, 0), {}, "total_steps"),
        ((1e-2, 10), {"warmup_steps": 10}, "warmup_steps"),
        ((1e-2, 10), {"warmup_steps": -1}, "warmup_steps"),
    ],
)
def test_cosine_refuses_bad_settings_naming_them(args, kwargs, name):
    with pytest.raises(LRFinderError, match=name):
        cosine(*args, **kwargs)


# --------------------------------------------------------------------------- triangular


@given(rates, st.floats(1.01, 100.0), st.integers(1, 500), st.integers(0, 10_000))
def test_triangular_is_periodic_and_bounded(base, ratio, size, step):
    s = triangular(base, base * ratio, size)
    assert s.period == 2 * size
    assert s(step + s.period) == pytest.approx(s(step), rel=1e-12)
    assert _below_or_close(base, s(step)) and _below_or_close(s(step), base * ratio)


@given(rates, st.floats(1.01, 100.0), st.integers(1, 200), st.integers(0, 20))
def test_triangular_is_linear_from_trough_to_peak_and_back(base, ratio, size, cycle):
    s = triangular(base, base * ratio, size)
    start = cycle * s.period
    assert s(start) == pytest.approx(base, rel=1e-12)
    assert s(start + size) == pytest.approx(base * ratio, rel=1e-12)
    up = np.diff([s(start + k) for k in range(size + 1)])
    down = np.diff([s(start + size + k) for k in range(size + 1)])
    slope = (base * ratio - base) / size
    np.testing.assert_allclose(up, slope, rtol=1e-6)
    np.testing.assert_allclose(down, -slope, rtol=1e-6)


def test_triangular_values_repr_and_checks():
    s = triangular(1e-3, 4e-3, 10)
    assert [s(k) for k in (0, 5, 10, 20)] == pytest.approx([1e-3, 2.5e-3, 4e-3, 1e-3])
    assert repr(s) == "triangular(base_lr=1.0e-03, max_lr=4.0e-03, step_size=10)"
    with pytest.raises(LRFinderError, match="max_lr must be > base_lr"):
        triangular(4e-3, 1e-3, 10)
    with pytest.raises(LRFinderError, match="step_size"):
        triangular(1e-3, 4e-3, 0)
    with pytest.raises(LRFinderError, match="rates\\(steps\\)"):
        s.rates()  # no end of its own
    assert s.rates(3).tolist() == pytest.approx([1e-3, 1.3e-3, 1.6e-3])


# --------------------------------------------------------------------------- Suggestion


def _suggestion(**kw) -> Suggestion:
    values = dict(
        lr=2e-3,
        band=(1e-3, 4e-3),
        method="auto",
        reason="test",
        base_lr=1e-3,
        max_lr=4e-3,
        one_cycle_max_lr=1.2e-2,
    )
    return Suggestion(**{**values, **kw})


def test_suggestion_builds_each_schedule_from_its_own_bound():
    s = _suggestion()
    assert s.one_cycle(500) == one_cycle(1.2e-2, 500)
    assert s.one_cycle(500, warmup_fraction=0.1) == one_cycle(1.2e-2, 500, warmup_fraction=0.1)
    assert s.cosine(500) == cosine(2e-3, 500)
    assert s.triangular(40) == triangular(1e-3, 4e-3, 40)
    assert s.schedule("constant", 500) == 2e-3
    assert s.schedule("onecycle", 500) == s.one_cycle(500)
    assert s.schedule("cosine", 500) == s.cosine(500)
    assert set(TRAINING_SCHEDULES) == {"constant", "onecycle", "cosine"}


def test_train_with_is_one_line_with_the_numbers_filled_in():
    s = _suggestion()
    assert s.train_with(1410) == "train with: one_cycle(max_lr=1.2e-02, total_steps=1410)"
    assert s.train_with(1410, "cosine") == "train with: cosine(lr=2.0e-03, total_steps=1410)"
    assert s.train_with(1410, "constant") == "train with: lr=0.002"


def test_a_suggestion_without_a_rate_refuses_to_build_a_schedule():
    s = _suggestion(
        lr=None,
        band=None,
        base_lr=None,
        max_lr=None,
        one_cycle_max_lr=None,
        status="flat",
        reason="the loss never fell",
    )
    for build in (
        lambda: s.one_cycle(10),
        lambda: s.cosine(10),
        lambda: s.triangular(5),
        lambda: s.train_with(10),
    ):
        with pytest.raises(LRFinderError, match="the loss never fell"):
            build()
    with pytest.raises(LRFinderError, match="unknown schedule 'linear'"):
        _suggestion().schedule("linear", 10)


def test_a_suggestion_whose_bounds_meet_has_no_cycle():
    with pytest.raises(LRFinderError, match="too narrow for a cycle; train at the constant lr"):
        _suggestion(lr=2e-3, base_lr=2e-3, max_lr=2e-3).triangular(10)


def test_a_real_suggestion_orders_its_bounds():
    data = load_dataset("digits")
    result = find_lr(TwoLayerNet.for_dataset(data, 32, seed=0), data, optimizer="adam")
    s = result.suggest("auto")
    assert s.base_lr <= s.lr <= s.max_lr <= s.one_cycle_max_lr
    assert s.one_cycle(100).max_lr == s.one_cycle_max_lr


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_train_records_the_schedule_and_every_steps_rate(digits):
    total = 2 * steps_per_epoch(digits, 64)
    schedule = one_cycle(5e-3, total)
    history = train(
        TwoLayerNet.for_dataset(digits, 16, seed=0), digits, optimizer="adam", lr=schedule, epochs=2
    )
    assert history.lr == repr(schedule)
    np.testing.assert_array_equal(history.step_lrs, schedule.rates())
    assert history.steps[-1] == total == len(history.step_lrs)


def test_train_at_a_constant_rate_records_it_for_every_step(digits):
    history = train(TwoLayerNet.for_dataset(digits, 16, seed=0), digits, lr=0.05, epochs=1)
    assert history.lr == 0.05
    assert history.step_lrs.tolist() == [0.05] * steps_per_epoch(digits, 64)


def test_a_plain_function_is_recorded_by_name(digits):
    def decay(step):
        return 0.05 / (1 + step)

    history = train(TwoLayerNet.for_dataset(digits, 16, seed=0), digits, lr=decay, epochs=0.5)
    assert history.lr == "decay"
    assert history.step_lrs[:3].tolist() == [0.05, 0.025, 0.05 / 3]


def test_initial_step_continues_a_schedule(digits):
    schedule = cosine(0.05, 100)
    history = train(
        TwoLayerNet.for_dataset(digits, 16, seed=0), digits, lr=schedule, epochs=1, initial_step=30
    )
    np.testing.assert_array_equal(
        history.step_lrs, schedule.rates(100)[30 : 30 + len(history.step_lrs)]
    )
    assert history.steps[0] == 0  # the history still counts its own steps
    with pytest.raises(LRFinderError, match="initial_step"):
        train(TwoLayerNet.for_dataset(digits, 16), digits, lr=schedule, initial_step=-1)


@pytest.mark.parametrize("bad", [math.nan, -1.0, math.inf])
def test_a_schedule_that_returns_a_bad_rate_is_refused(digits, bad):
    with pytest.raises(LRFinderError, match=r"lr\(2\) returned"):
        train(
            TwoLayerNet.for_dataset(digits, 16), digits, lr=lambda step: 0.01 if step < 2 else bad
        )


def test_steps_per_epoch_counts_full_batches(digits):
    assert steps_per_epoch(digits, 64) == len(digits.x_train) // 64
    assert steps_per_epoch((digits.x_train[:10], digits.y_train[:10]), 64) == 1
    with pytest.raises(LRFinderError, match="batch_size"):
        steps_per_epoch(digits, 0)


@pytest.mark.parametrize("kind", ["onecycle", "cosine"])
def test_a_schedule_from_the_finding_trains_digits(digits, kind):
    model = TwoLayerNet.for_dataset(digits, 32, seed=0)
    suggestion = find_lr(model, digits, optimizer="adam").suggest("auto")  # model restored
    total = 3 * steps_per_epoch(digits, 64)
    history = train(model, digits, optimizer="adam", lr=suggestion.schedule(kind, total), epochs=3)
    assert not history.diverged and history.final_accuracy > 0.9


def test_plot_histories_draws_the_rate_of_a_scheduled_run(digits):
    pytest.importorskip("matplotlib")
    from lrfinder.plotting import plot_histories

    total = steps_per_epoch(digits, 64)
    runs = {
        kind: train(TwoLayerNet.for_dataset(digits, 16, seed=0), digits, lr=lr, epochs=1)
        for kind, lr in (("constant", 0.05), ("onecycle", one_cycle(0.1, total)))
    }
    fig = plot_histories(runs)
    assert len(fig.axes) == 3 and fig.axes[2].get_ylabel() == "learning rate"
    lines = fig.axes[2].get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), runs["constant"].step_lrs)
    np.testing.assert_array_equal(lines[1].get_ydata(), runs["onecycle"].step_lrs)
    assert len(plot_histories({"constant": runs["constant"]}).axes) == 2  # nothing to add
