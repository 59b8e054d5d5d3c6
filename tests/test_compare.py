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
