"""The :class:`Dataset` container, and the seeded split and subsample every loader uses.

A Dataset is frozen, plain data: a train and a test split of numpy arrays, the
task, the number of classes and the factor that scales x when a batch is taken.
Loaders build one; nothing here reads files or generates data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrfinder.errors import LRFinderError, check_number
from lrfinder.validation import TASKS

#: Fraction of the samples kept for the test split when a source has none.
TEST_FRACTION = 0.2


# eq=False: the fields are arrays, so a generated __eq__/__hash__ would be
# ambiguous; two datasets compare by identity instead.
@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split ready for the range test.

    Parameters
    ----------
    name : str
        Built-in name or the file name the data came from.
    x_train, x_test : numpy.ndarray
        Features of shape ``(n, d)``: float32, or uint8 for images, which are
        scaled by `x_scale` when a batch is taken.
    y_train, y_test : numpy.ndarray
        int64 class labels ``0..k-1`` of shape ``(n,)`` for classification;
        float32 targets of shape ``(n, t)`` for regression.
    task : {"classification", "regression"}
        The kind of problem.
    n_classes : int or None
        Number of classes ``k``; None for regression.
    x_scale : float, default 1.0
        Factor applied (in float32) to x when a batch is taken:
        :data:`lrfinder.validation.PIXEL_SCALE` (1/255) for uint8 images, 1.0
        otherwise (see :func:`lrfinder.validation.x_scale_for`).

    Notes
    -----
    The arrays are taken as valid: loaders check them with
    :func:`lrfinder.validation.check_pair` before they build a Dataset, so
    ``find_lr``, ``verify`` and ``train`` use a Dataset without checking it again.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    n_classes: int | None
    x_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise LRFinderError(
                f"Dataset task={self.task!r} is not valid; use 'classification' or 'regression'"
            )
        if (self.task == "classification") != (self.n_classes is not None):
            raise LRFinderError(
                f"Dataset {self.name!r} has task={self.task!r} and n_classes={self.n_classes!r};"
                " give n_classes for classification and None for regression"
            )

    @property
    def n_features(self) -> int:
        """Number of input features ``d``."""
        return int(self.x_train.shape[1])

    @property
    def n_outputs(self) -> int:
        """Width of the network output: ``n_classes``, or the number of targets."""
        if self.n_classes is not None:
            return self.n_classes
        return int(self.y_train.shape[1]) if self.y_train.ndim == 2 else 1

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.x_train.shape[0])

    def batch_x(self, idx) -> np.ndarray:
        """Return training rows ``idx`` as float32, multiplied by `x_scale`.

        Parameters
        ----------
        idx : int array, slice or boolean mask
            Rows of `x_train` to take.

        Returns
        -------
        numpy.ndarray
            ``float32(x_train[idx]) * float32(x_scale)``.
        """
        batch = np.asarray(self.x_train[idx], dtype=np.float32)
        if self.x_scale != 1.0:
            batch = batch * np.float32(self.x_scale)
        return batch

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, task={self.task!r}, n_classes={self.n_classes}, "
            f"x_train={self.x_train.shape} {self.x_train.dtype}, "
            f"x_test={self.x_test.shape} {self.x_test.dtype}, x_scale={self.x_scale:g})"
        )


def split(x, y, rng: np.random.Generator, name: str):
    """Shuffle and split into ``(x_train, y_train, x_test, y_test)``, ``TEST_FRACTION`` to test."""
    n = len(x)
    n_test = int(round(n * TEST_FRACTION))
    if n_test < 1 or n_test >= n:
        raise LRFinderError(
            f"{name}: {n} sample{'s' if n != 1 else ''} cannot be split into train and test; "
            "give more samples or a separate x_test and y_test"
        )
    order = rng.permutation(n)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def check_n_samples(n_samples, name: str) -> None:
    """Raise unless `n_samples` is a whole number >= 1 (booleans refused)."""
    check_number(f"n_samples for {name!r}", n_samples, low=1, integer=True)


def subsample(ds: Dataset, n_samples: int | None, seed: int) -> Dataset:
    """Keep `n_samples` random training rows (seeded); the test split is unchanged."""
    if n_samples is None:
        return ds
    check_n_samples(n_samples, ds.name)
    if n_samples > ds.n_train:
        raise LRFinderError(
            f"n_samples={n_samples} is more than the {ds.n_train} training samples of "
            f"{ds.name!r}; pass at most {ds.n_train} or leave n_samples out"
        )
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(ds.n_train, size=n_samples, replace=False))
    return Dataset(
        ds.name,
        ds.x_train[keep],
        ds.y_train[keep],
        ds.x_test,
        ds.y_test,
        ds.task,
        ds.n_classes,
        ds.x_scale,
    )
