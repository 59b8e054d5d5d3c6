"""The divergence rule on its own, fed losses directly (no model, no schedule)."""

import math

import numpy as np
import pytest

from lrfinder import LearningRateSearcher, Looper, find_lr
from lrfinder.errors import LRFinderError
from lrfinder.stopping import (
    LEVEL_WINDOW,
    DivergenceStop,
    check_stop_factor,
    nonfinite_reason,
)


def first_stop(losses, stop_factor=4.0):
    """(step, reason) of the first stop, or (None, None)."""
    stop = DivergenceStop(stop_factor)
    for step, loss in enumerate(losses):
        reason = stop.update(loss, lr=1e-3, step=step)
        if reason is not None:
            return step, reason
    return None, None


class Replay:
    """A protocol model whose loss at call k is ``losses[k]``; its gradients are zero."""

    def __init__(self, losses):
        self.losses, self.calls = np.asarray(losses, dtype=float), 0
        self.params = {"w": np.zeros(1)}

    def loss_and_grads(self, x, y):
        loss = self.losses[self.calls]
        self.calls += 1
        return loss, {"w": np.zeros(1)}


def test_flat_noise_never_stops():
    rng = np.random.default_rng(0)
    assert first_stop(rng.lognormal(0.0, 0.5, 20_000)) == (None, None)


def test_a_blow_up_stops_on_its_third_bad_step_with_the_reason():
    losses = np.r_[np.ones(100), 10.0 ** np.arange(1, 20)]
    step, reason = first_stop(losses)
    assert step == 102  # the 5-median moves on the third bad step
    assert reason == (
        "loss diverged at lr=0.001 (step 102): it rose above 4x its best, "
        "and by over 10 sigmas of its noise"
    )


def test_no_divergence_stop_before_the_level_window_is_full():
    losses = np.r_[np.ones(3), np.full(LEVEL_WINDOW, 1e6)]
    stop = DivergenceStop()
    reasons = [stop.update(x, lr=1.0, step=i) for i, x in enumerate(losses)]
    assert all(r is None for r in reasons[: LEVEL_WINDOW - 1])


def test_a_non_finite_loss_stops_at_once():
    stop = DivergenceStop()
    assert stop.update(1.0, lr=0.1, step=0) is None
    assert stop.update(math.inf, lr=0.25, step=1) == "loss became inf at lr=0.25 (step 1)"
    assert nonfinite_reason(math.nan, lr=1.0, step=3) == "loss became nan at lr=1 (step 3)"
    assert nonfinite_reason(2.0, lr=1.0, step=3) is None


@pytest.mark.parametrize("seed", range(4))
def test_it_stops_where_the_numpy_range_test_stops(seed):
    # the NumPy loop is built on this class: same losses, same step, same reason
    rng = np.random.default_rng(seed)
    losses = rng.chisquare(2, 3000) / 2 * 1.05 ** np.clip(np.arange(3000) - 1500, 0, 400)
    step, reason = first_stop(losses)
    data = (np.zeros((20, 1)), np.linspace(0.0, 1.0, 20))
    schedule = LearningRateSearcher([Looper(1e-3, 1e-3, losses.size, 1e-3)])
    result = find_lr(Replay(losses), data, schedule=schedule)
    assert step is not None
    assert (len(result.lrs) - 1, result.stop_reason) == (step, reason)


@pytest.mark.parametrize("bad", [1, 0.5, -2, math.nan, math.inf, "4x", None])
def test_bad_stop_factor_names_the_input(bad):
    with pytest.raises(LRFinderError, match="stop_factor must be a finite number > 1"):
        DivergenceStop(bad)
    with pytest.raises(LRFinderError, match="stop_factor"):
        check_stop_factor(bad)


def test_the_constants_are_still_importable_from_rangetest():
    from lrfinder import rangetest, stopping

    for name in ("DEFAULT_STOP_FACTOR", "STOP_WINDOW", "LEVEL_WINDOW", "NOISE_SIGMAS"):
        assert getattr(rangetest, name) == getattr(stopping, name)
