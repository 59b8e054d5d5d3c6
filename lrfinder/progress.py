"""What a range test tells its ``callback`` after every step: a :class:`ProgressEvent`.

An event carries the run and the number of runs as well as the step and the steps
of the run, so a progress bar never has to guess where a repeat begins. A test
that is extended (see ``find_lr``'s slow-learner rule) starts again at run 0,
step 0 with more steps; a bar that wants to keep moving forward adds what it had
already counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["ProgressCallback", "ProgressEvent", "for_run"]


@dataclass(frozen=True)
class ProgressEvent:
    """One finished step of a range test.

    Attributes
    ----------
    run, runs : int
        This run (0-based) and the number of runs (``repeats``).
    step, steps : int
        This step (0-based) and the steps the run's schedule plans; a run can stop
        early on divergence, so ``step`` may never reach ``steps - 1``.
    lr, loss : float
        The learning rate of the step and its training loss.
    """

    run: int
    runs: int
    step: int
    steps: int
    lr: float
    loss: float

    @property
    def done(self) -> int:
        """Steps finished over all runs so far, counting each earlier run as complete."""
        return self.run * self.steps + self.step + 1

    @property
    def total(self) -> int:
        """Steps planned over all runs."""
        return self.runs * self.steps


#: ``callback(event)`` after every step of a range test.
ProgressCallback = Callable[[ProgressEvent], None]


def for_run(
    callback: ProgressCallback | None, run: int, runs: int, steps: int
) -> Callable[[int, float, float], None] | None:
    """The per-step hook of one run, ``hook(step, lr, loss)``, that sends events to ``callback``.

    None when there is no callback, so the loop pays nothing for it.
    """
    if callback is None:
        return None

    def hook(step: int, lr: float, loss: float) -> None:
        callback(ProgressEvent(run, runs, step, steps, float(lr), float(loss)))

    return hook
