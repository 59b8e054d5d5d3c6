"""Helpers several test files share: a one-line-error assertion and a model that learns nothing."""

from __future__ import annotations

import numpy as np


def assert_one_line_error(excinfo, *needles: str) -> str:
    """The message is one line and names every needle (input, problem, fix)."""
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    return msg


class LearnsNothing:
    """A protocol model whose loss is noise around 1: no rate teaches it anything."""

    def __init__(self):
        self.params = {"w": np.zeros(2)}
        self.rng = np.random.default_rng(0)

    def loss_and_grads(self, x, y):
        return 1.0 + 0.01 * self.rng.standard_normal(), {"w": np.zeros(2)}
