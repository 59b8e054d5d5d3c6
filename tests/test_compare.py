"""``compare_optimizers``: the range test inside it behaves as ``find_lr`` does on its own."""

from __future__ import annotations

import pytest

from lrfinder import TwoLayerNet, find_lr, load_dataset
from lrfinder.compare import compare_optimizers


@pytest.fixture(scope="module")
def spiral():
    return load_dataset("spiral", seed=0)


def test_a_slow_learner_is_extended_inside_compare_as_in_find_lr(spiral):
    """spiral with Adam sees no learning in the default 200 steps; find_lr extends the test.

    compare used to build the default schedule itself, which find_lr then took for a
    caller's schedule and never extended: compare got no rate and skipped training.
    """
    alone = find_lr(TwoLayerNet.for_dataset(spiral, 128, seed=0), spiral, optimizer="adam")
    assert alone.slow_learner and alone.suggestion is not None
    run = compare_optimizers(spiral, ["adam"], epochs=1).runs[0]
    assert run.result.slow_learner
    assert run.lr == alone.suggestion
    assert run.history is not None


def test_extend_false_keeps_the_default_length(spiral):
    run = compare_optimizers(spiral, ["adam"], epochs=1, extend=False).runs[0]
    assert not run.result.slow_learner
    assert run.lr is None and run.history is None
    assert run.suggestion.status in ("flat", "no_learning")
