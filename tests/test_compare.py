"""``compare_optimizers``: the range test inside it behaves as ``find_lr`` does on its own."""

from __future__ import annotations

import numpy as np
import pytest

from lrfinder import TwoLayerNet, find_lr, load_dataset
from lrfinder.compare import compare_optimizers
from lrfinder.errors import LRFinderError


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


def test_two_jobs_give_the_same_comparison():
    from lrfinder import LearningRateSearcher

    data = load_dataset("digits")
    schedule = LearningRateSearcher.exponential(1e-4, 10, 60)
    kwargs = dict(n_hidden=8, epochs=1, schedule=schedule)
    serial = compare_optimizers(data, ["sgd", "adam"], **kwargs)
    events = []
    parallel = compare_optimizers(
        data, ["sgd", "adam"], n_jobs=2, progress=lambda *event: events.append(event), **kwargs
    )
    assert [r.optimizer for r in parallel.runs] == ["sgd", "adam"]
    assert parallel.to_dict() == serial.to_dict()
    assert sorted(e[0] for e in events) == ["adam", "sgd"]  # with workers: once per optimizer


def test_cli_compare_jobs_prints_the_same_lines():
    from typer.testing import CliRunner

    from lrfinder.cli import app

    args = ["compare", "--optimizer", "sgd", "--optimizer", "adam", "--epochs", "1", "-q"]
    args += ["--num", "60", "--start", "1e-4", "--hidden", "8"]
    serial = CliRunner().invoke(app, args)
    parallel = CliRunner().invoke(app, [*args, "--jobs", "2"])
    assert serial.exit_code == parallel.exit_code == 0, serial.output + parallel.output
    assert parallel.stdout == serial.stdout
    assert len(serial.stdout.splitlines()) == 2


@pytest.fixture(scope="module")
def digits_runs():
    """Adam on digits, two epochs, with each training schedule (a short range test)."""
    from lrfinder import LearningRateSearcher

    data = load_dataset("digits")
    schedule = LearningRateSearcher.exponential(1e-4, 10, 60)
    return data, {
        kind: compare_optimizers(
            data, ["adam"], n_hidden=16, epochs=2, schedule=schedule, train_schedule=kind
        )
        for kind in ("constant", "onecycle", "cosine")
    }


def test_onecycle_is_the_default_and_runs_across_the_epochs(digits_runs):
    from lrfinder.compare import DEFAULT_TRAIN_SCHEDULE
    from lrfinder.training import steps_per_epoch

    data, runs = digits_runs
    assert DEFAULT_TRAIN_SCHEDULE == "onecycle"
    run = runs["onecycle"].runs[0]
    total = 2 * steps_per_epoch(data, 64)
    expected = run.suggestion.one_cycle(total)
    assert run.train_schedule == "onecycle" and run.peak_lr == run.suggestion.one_cycle_max_lr
    assert run.history.lr == repr(expected) == run.trained_with
    # one schedule over both epochs: the second epoch goes on where the first ended
    np.testing.assert_array_equal(run.history.step_lrs, expected.rates())
    assert runs["onecycle"].settings["train_schedule"] == "onecycle"


def test_constant_and_cosine_start_from_the_suggested_rate(digits_runs):
    data, runs = digits_runs
    constant, cosine = runs["constant"].runs[0], runs["cosine"].runs[0]
    assert constant.suggestion.lr == cosine.suggestion.lr  # the same range test
    assert set(constant.history.step_lrs.tolist()) == {constant.lr}
    assert constant.trained_with == f"constant lr={constant.lr:.3g}"
    np.testing.assert_array_equal(
        cosine.history.step_lrs, cosine.suggestion.cosine(cosine.history.step_lrs.size).rates()
    )
    assert cosine.peak_lr == cosine.lr


def test_the_schedule_is_in_the_json(digits_runs):
    _, runs = digits_runs
    entry = runs["cosine"].to_dict()["optimizers"][0]
    assert entry["train_schedule"] == "cosine"
    assert entry["trained_with"].startswith("cosine(lr=")
    assert entry["history"]["lr"] == entry["trained_with"]
    assert entry["history"]["step_lrs"] == runs["cosine"].runs[0].history.step_lrs.tolist()
    assert runs["cosine"].to_dict()["settings"]["train_schedule"] == "cosine"


def test_an_unknown_train_schedule_is_refused():
    with pytest.raises(LRFinderError, match="unknown train_schedule 'linear'.*onecycle"):
        compare_optimizers(load_dataset("digits"), ["adam"], train_schedule="linear")
