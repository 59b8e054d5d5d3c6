"""ProgressEvent: what find_lr tells its callback, and the CLI's bar that never moves back."""

from __future__ import annotations

import dataclasses

import pytest

from lrfinder import TwoLayerNet, find_lr, load_dataset
from lrfinder.cli import _range_callback
from lrfinder.progress import ProgressEvent, for_run
from lrfinder.schedules import LearningRateSearcher

SHORT = LearningRateSearcher.exponential(1e-4, 1e-1, 30)


def test_an_event_is_frozen_and_counts_over_runs():
    event = ProgressEvent(run=1, runs=3, step=4, steps=10, lr=0.1, loss=2.0)
    assert (event.done, event.total) == (15, 30)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.step = 5  # type: ignore[misc]


def test_for_run_is_free_without_a_callback():
    assert for_run(None, 0, 1, 10) is None
    seen = []
    for_run(seen.append, 2, 3, 10)(7, 0.5, 1.25)
    assert seen == [ProgressEvent(2, 3, 7, 10, 0.5, 1.25)]


def test_find_lr_reports_every_step_of_every_run():
    data = load_dataset("digits")
    events: list[ProgressEvent] = []
    result = find_lr(
        TwoLayerNet(64, 8, 10, seed=0), data, schedule=SHORT, repeats=3, callback=events.append
    )
    assert {e.runs for e in events} == {3} and {e.steps for e in events} == {30}
    assert [e.run for e in events] == sorted(e.run for e in events)
    assert {e.run for e in events} == {0, 1, 2}
    for run in range(3):
        steps = [e.step for e in events if e.run == run]
        assert steps == list(range(len(steps)))
        assert [e.loss for e in events if e.run == run] == pytest.approx(
            result.run_losses[run][: len(steps)].tolist()
        )
    assert all(e.lr == pytest.approx(SHORT.steps()[e.step]) for e in events)


class _Bar:
    """Stands in for rich's Progress: records what the callback set and printed."""

    def __init__(self):
        self.updates, self.printed = [], []
        self.console = self

    def update(self, task, *, completed, total, lr, loss):
        self.updates.append((completed, total))

    def print(self, text, **kwargs):
        self.printed.append(text)


def test_the_cli_bar_never_moves_back_over_repeats_and_an_extended_test():
    bar = _Bar()
    callback = _range_callback(bar, task=0)
    # three runs of a 200-step test (the second stops early), then the longer test
    for run, last_step in ((0, 199), (1, 120), (2, 199)):
        for step in range(last_step + 1):
            callback(ProgressEvent(run, 3, step, 200, 1e-3, 1.0))
    for run in range(3):
        for step in range(1000):
            callback(ProgressEvent(run, 3, step, 1000, 1e-3, 1.0))
    done = [c for c, _ in bar.updates]
    assert all(b >= a for a, b in zip(done, done[1:], strict=False))
    assert bar.updates[-1][0] == bar.updates[-1][1] == 600 + 3000


def test_a_slow_test_is_announced_once_from_its_first_steps():
    ticks = iter(range(0, 10_000, 2))  # two "seconds" a step: 200 steps take 400 s

    bar = _Bar()
    callback = _range_callback(bar, task=0, clock=lambda: next(ticks))
    for step in range(5):
        callback(ProgressEvent(0, 1, step, 200, 1e-3, 1.0))
    assert len(bar.printed) == 1
    assert "one step takes 2 s, so the 200 steps will take about 7 min" in bar.printed[0]

    fast = _Bar()
    callback = _range_callback(fast, task=0, clock=iter(range(10_000)).__next__)
    for step in range(5):  # 0.001 "s" a step would be fine; 1 s x 200 > 60 s is not
        callback(ProgressEvent(0, 1, step, 20, 1e-3, 1.0))
    assert fast.printed == []
    quiet = _Bar()
    callback = _range_callback(quiet, task=0, quiet=True, clock=lambda: next(ticks))
    for step in range(5):
        callback(ProgressEvent(0, 1, step, 200, 1e-3, 1.0))
    assert quiet.printed == []
