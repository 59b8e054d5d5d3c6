"""Small seeded synthetic sets for teaching: ``double-arc``, ``spiral``, ``moons``, ``sine``.

Each generator draws ``n`` samples from one :class:`numpy.random.Generator` and
returns plain ``(x, y)`` arrays; :func:`make_synthetic` checks them like any user
data and splits them 80/20 with the same generator, so a seed fixes the whole set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lrfinder.datasets._base import Dataset, check_n_samples, split
from lrfinder.errors import LRFinderError
from lrfinder.validation import check_pair

#: Default number of samples (train + test) drawn by the synthetic generators.
SYNTHETIC_N_SAMPLES = 1000

#: Fewest samples a synthetic generator accepts (both splits need a few rows).
SYNTHETIC_MIN_SAMPLES = 10

#: Standard deviation of the noise added by the synthetic generators.
DOUBLE_ARC_NOISE = 0.1
SPIRAL_NOISE = 0.2  # radians, added to the angle
MOONS_NOISE = 0.1
SINE_NOISE = 0.1

#: Vertical gap between the two classes of ``double-arc``.
DOUBLE_ARC_OFFSET = 0.65

#: Number of full turns each arm of ``spiral`` makes.
SPIRAL_TURNS = 1.5


def _halves(n: int) -> tuple[int, int]:
    return n // 2, n - n // 2


def _double_arc(n: int, rng: np.random.Generator):
    """Two parallel arcs ``x2 = sin(x1) + noise (+ DOUBLE_ARC_OFFSET for class 1)``.

    ``x1`` is evenly spaced on ``[0, pi]`` within each class.
    """
    xs, ys = [], []
    for label, n_c in enumerate(_halves(n)):
        x1 = np.linspace(0.0, np.pi, n_c)
        x2 = np.sin(x1) + rng.normal(0.0, DOUBLE_ARC_NOISE, n_c) + DOUBLE_ARC_OFFSET * label
        xs.append(np.column_stack([x1, x2]))
        ys.append(np.full(n_c, label))
    return np.concatenate(xs), np.concatenate(ys)


def _spiral(n: int, rng: np.random.Generator):
    """Two interleaved spirals: radius ``r`` in (0, 1], angle
    ``theta = 2 pi SPIRAL_TURNS r + pi c + noise`` for class ``c``."""
    xs, ys = [], []
    for label, n_c in enumerate(_halves(n)):
        r = np.linspace(0.05, 1.0, n_c)
        theta = 2 * np.pi * SPIRAL_TURNS * r + np.pi * label + rng.normal(0.0, SPIRAL_NOISE, n_c)
        xs.append(np.column_stack([r * np.cos(theta), r * np.sin(theta)]))
        ys.append(np.full(n_c, label))
    return np.concatenate(xs), np.concatenate(ys)


def _moons(n: int, rng: np.random.Generator):
    """Two interleaving half circles, as in scikit-learn's ``make_moons``."""
    n_out, n_in = _halves(n)
    t_out, t_in = np.linspace(0.0, np.pi, n_out), np.linspace(0.0, np.pi, n_in)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)])
    x = np.concatenate([outer, inner]) + rng.normal(0.0, MOONS_NOISE, (n, 2))
    return x, np.concatenate([np.zeros(n_out), np.ones(n_in)])


def _sine(n: int, rng: np.random.Generator):
    """1-D regression ``y = sin(x) + noise`` with x uniform on ``[-pi, pi]``."""
    x = rng.uniform(-np.pi, np.pi, (n, 1))
    return x, np.sin(x) + rng.normal(0.0, SINE_NOISE, (n, 1))


#: Each synthetic set's generator ``(n, rng) -> (x, y)`` and its task.
SYNTHETIC: dict[str, tuple[Callable, str]] = {
    "double-arc": (_double_arc, "classification"),
    "spiral": (_spiral, "classification"),
    "moons": (_moons, "classification"),
    "sine": (_sine, "regression"),
}


def make_synthetic(name: str, n_samples: int | None, seed: int) -> Dataset:
    n = SYNTHETIC_N_SAMPLES if n_samples is None else n_samples
    check_n_samples(n, name)
    if n < SYNTHETIC_MIN_SAMPLES:
        raise LRFinderError(
            f"n_samples={n} is too few for {name!r}; use at least {SYNTHETIC_MIN_SAMPLES}"
        )
    generate, task = SYNTHETIC[name]
    rng = np.random.default_rng(seed)
    x, y = generate(n, rng)
    x, y, task, n_classes = check_pair(x, y, task=task, name=name)
    return Dataset(name, *split(x, y, rng, name), task, n_classes)
