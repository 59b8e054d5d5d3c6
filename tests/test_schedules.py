import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrfinder import LearningRateSearcher, Looper
from lrfinder.errors import LRFinderError


def test_looper_one_decade_by_default():
    looper = Looper(1e-4, 1e-4, 10)
    np.testing.assert_allclose(looper.rates, np.arange(1, 11) * 1e-4, rtol=1e-12)
    assert looper.rates.size == 10
    assert len(looper) == 100
    assert looper.end == pytest.approx(1e-3)


def test_looper_end_is_inclusive_without_drift():
    looper = Looper(0.5, 0.01, 20, 1.0)
    assert looper.rates.size == 51
    assert looper.rates[0] == 0.5
    assert looper.rates[-1] == pytest.approx(1.0, abs=1e-15)
    # rate k is start + k*step exactly, never a running sum
    assert looper.rates[37] == 0.5 + 37 * 0.01
    assert len(looper) == 51 * 20


def test_looper_end_between_grid_points_is_excluded():
    assert Looper(1.0, 0.3, 1, 2.0).rates.tolist() == pytest.approx([1.0, 1.3, 1.6, 1.9])


def test_looper_start_equal_end_is_one_rate():
    looper = Looper(0.1, 0.05, 3, 0.1)
    assert looper.rates.tolist() == [0.1]
    assert looper.steps().tolist() == [0.1, 0.1, 0.1]


def test_steps_hold_each_rate_for_iterations():
    steps = Looper(1.0, 1.0, 3, 3.0).steps()
    assert steps.tolist() == [1, 1, 1, 2, 2, 2, 3, 3, 3]


@pytest.mark.parametrize(
    "args, field",
    [
        ((0, 1e-4, 10), "start"),
        ((-1e-3, 1e-4, 10), "start"),
        ((1e-3, 0, 10), "step"),
        ((1e-3, -1e-4, 10), "step"),
        ((1e-3, 1e-4, 0), "iterations"),
        ((1e-3, 1e-4, 2.5), "iterations"),
        ((1e-3, 1e-4, 10, 1e-4), "end"),
        ((float("nan"), 1e-4, 10), "start"),
        ((1e-3, float("inf"), 10), "step"),
    ],
)
def test_looper_rejects_bad_fields(args, field):
    with pytest.raises(ValueError, match=field):
        Looper(*args)


def test_searcher_join_does_not_repeat_shared_rate():
    searcher = LearningRateSearcher([Looper(1e-4, 1e-4, 10), Looper(1e-3, 1e-3, 10)])
    steps = searcher.steps()
    assert len(searcher) == 100 + 90 == steps.size
    # the boundary: the last steps of segment one are 1e-3, then segment two goes on at 2e-3
    np.testing.assert_allclose(steps[90:100], 1e-3)
    np.testing.assert_allclose(steps[100], 2e-3)
    assert np.count_nonzero(np.isclose(steps, 1e-3, rtol=1e-9)) == 10


def test_searcher_keeps_segments_that_do_not_touch():
    searcher = LearningRateSearcher().add(Looper(1e-3, 1e-3, 2)).add(Looper(0.5, 0.01, 1, 0.52))
    steps = searcher.steps()
    assert steps.size == 20 + 3
    assert steps[19] == pytest.approx(1e-2)
    assert steps[20:].tolist() == pytest.approx([0.5, 0.51, 0.52])


def test_searcher_plays_segments_in_given_order():
    searcher = LearningRateSearcher([Looper(0.5, 0.1, 1, 0.6), Looper(1e-3, 1e-3, 1, 2e-3)])
    assert searcher.steps().tolist() == pytest.approx([0.5, 0.6, 1e-3, 2e-3])


def test_searcher_is_pure_and_read_only():
    searcher = LearningRateSearcher([Looper(1e-2, 1e-2, 2)])
    first = searcher.steps().copy()
    with pytest.raises(ValueError):
        searcher.steps()[0] = 5.0
    assert np.array_equal(searcher.steps(), first)


def test_exponential_and_linear_include_both_ends():
    exp = LearningRateSearcher.exponential(1e-7, 10, 9).steps()
    assert exp.size == 9
    assert exp[0] == pytest.approx(1e-7) and exp[-1] == pytest.approx(10)
    np.testing.assert_allclose(np.diff(np.log10(exp)), 1.0)
    lin = LearningRateSearcher.linear(0.1, 1.0, 10).steps()
    np.testing.assert_allclose(lin, np.linspace(0.1, 1.0, 10))


@pytest.mark.parametrize("args", [(0, 1, 10), (1, 0.5, 10), (1e-3, 1, 1), (1e-3, 1, 0)])
def test_ranges_reject_bad_input(args):
    with pytest.raises(LRFinderError):
        LearningRateSearcher.exponential(*args)
    with pytest.raises(LRFinderError):
        LearningRateSearcher.linear(*args)


def test_parse_matches_explicit_loopers():
    parsed = LearningRateSearcher.parse("1e-4:1e-4:10, 1e-3:1e-3:10, 0.5:0.01:20:1.0")
    built = LearningRateSearcher(
        [Looper(1e-4, 1e-4, 10), Looper(1e-3, 1e-3, 10), Looper(0.5, 0.01, 20, 1.0)]
    )
    assert np.array_equal(parsed.steps(), built.steps())
    assert parsed.segments == built.segments


@pytest.mark.parametrize(
    "spec, words",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1e-3", "START:STEP:ITERS"),
        ("1e-3:1e-3", "START:STEP:ITERS"),
        ("1e-3:1e-3:10:1:2", "START:STEP:ITERS"),
        ("a:1e-3:10", "START must be a number"),
        ("1e-3:b:10", "STEP must be a number"),
        ("1e-3:1e-3:ten", "ITERS must be a whole number"),
        ("1e-3:1e-3:1.5", "ITERS must be a whole number"),
        ("1e-3:1e-3:0", "iterations must be an integer >= 1"),
        ("-1e-3:1e-3:10", "start must be a finite number > 0"),
        ("1e-3:1e-3:10:1e-4", "end must be >= start"),
        ("1e-3:1e-3:10,", "segment 2"),
        ("1e-3:1e-3:10,,1e-2:1e-2:1", "segment 2"),
    ],
)
def test_parse_errors_name_the_segment_and_field(spec, words):
    with pytest.raises(LRFinderError, match=words) as info:
        LearningRateSearcher.parse(spec)
    assert "\n" not in str(info.value)


positive = st.floats(min_value=1e-8, max_value=10.0, allow_nan=False, allow_infinity=False)


@given(start=positive, step=positive, iters=st.integers(1, 50), span=st.floats(0, 200))
def test_parse_round_trips_any_valid_segment(start, step, iters, span):
    end = start + span * step
    spec = f"{start!r}:{step!r}:{iters}:{end!r}"
    parsed = LearningRateSearcher.parse(spec)
    looper = Looper(start, step, iters, end)
    assert np.array_equal(parsed.steps(), looper.steps())
    rates = looper.rates
    assert rates[0] == start
    slack = step * 1e-9 + 4 * math.ulp(end)  # END_TOLERANCE, and the rounding of end - start
    assert rates[-1] <= end + slack
    assert rates[-1] + step > end - slack  # the next grid rate is past the end
    assert len(parsed) == rates.size * iters


def test_an_end_written_as_start_plus_n_steps_is_included_despite_rounding():
    # found by hypothesis: (1.0 + 1e-8 - 1.0) / 1e-8 is 0.99999999392..., not 1
    assert Looper(1.0, 1e-8, 1, 1.0 + 1e-8).rates.size == 2
    assert Looper(1.0, 1e-8, 1, 1.0 + 3 * 1e-8).rates.size == 4


def test_a_step_below_float_resolution_is_refused():
    with pytest.raises(LRFinderError, match="step=.*too small.*larger step"):
        Looper(1.0, 1e-17, 1, 2.0)


@given(st.text(max_size=30))
def test_parse_never_crashes_on_garbage(spec):
    try:
        searcher = LearningRateSearcher.parse(spec)
    except LRFinderError as err:
        assert "\n" not in str(err)
    else:
        assert len(searcher) > 0
        assert np.all(searcher.steps() > 0)


def test_absurd_segment_is_refused_before_allocating():
    with pytest.raises(LRFinderError, match="larger step"):
        Looper(1.0, 1e-9, 1)
