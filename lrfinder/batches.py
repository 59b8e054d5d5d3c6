"""Mini-batches: seeded shuffling, and gathering into one reused float buffer.

Shared by the range test and by plain training, so both see data the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrfinder.errors import LRFinderError, check_count
from lrfinder.validation import check_arrays, x_scale_for


@dataclass(frozen=True)
class ArrayData:
    """Validated training arrays. ``x`` may be uint8, multiplied by ``x_scale`` per batch.

    Built by :func:`as_array_data`, which checks an ``(x, y)`` pair once; an
    ArrayData passed to ``find_lr``, ``verify`` or ``train`` is used as it is.
    """

    x: np.ndarray
    y: np.ndarray
    x_scale: float = 1.0
    name: str = "data"


def as_array_data(data, *, name: str = "data", split: str = "train") -> ArrayData:
    """Accept a ``Dataset`` (its ``split`` part), an ``ArrayData`` or an ``(x, y)`` pair.

    Only an ``(x, y)`` pair is validated, with :func:`lrfinder.validation.check_arrays`:
    a Dataset was checked by its loader and an ArrayData by an earlier call, so
    neither is checked again. A float32 C-contiguous ``x`` is used without a copy;
    uint8 ``x`` is treated as image data and scaled per batch
    (:func:`lrfinder.validation.x_scale_for`). Call this once and pass the result
    to check a large pair once for several range tests.
    """
    if isinstance(data, ArrayData):
        return data
    if hasattr(data, "x_train"):
        x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
        return ArrayData(x, y, float(getattr(data, "x_scale", 1.0)), getattr(data, "name", name))
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise LRFinderError(
            f"{name} must be an (x, y) pair or a Dataset from load_dataset(), "
            f"got {type(data).__name__}"
        )
    x, y, task, _ = check_arrays(data[0], data[1], name=name)
    if task == "regression":  # keep the caller's target shape: their model expects it
        y = np.asarray(data[1])
    return ArrayData(x, y, x_scale_for(x), name)


class BatchSampler:
    """Endless seeded mini-batches, reshuffled every epoch; a final partial batch is dropped.

    ``next()`` returns ``(x_batch, y_batch)``. ``x_batch`` is a buffer that the
    following call overwrites.

    Parameters
    ----------
    data : ArrayData
        The training arrays.
    batch_size : int
        Rows per batch; clipped to the number of rows.
    rng : numpy.random.Generator
        Source of the shuffles.
    dtype : numpy dtype
        Dtype of the batch buffer (the model's parameter dtype).
    """

    def __init__(
        self, data: ArrayData, batch_size: int, rng: np.random.Generator, dtype=np.float32
    ):
        batch_size = check_count("batch_size", batch_size)
        self.x, self.y = data.x, data.y
        self.n = len(self.x)
        self.batch_size = min(batch_size, self.n)
        self.rng = rng
        self.dtype = np.dtype(dtype)
        self.scale = self.dtype.type(data.x_scale)
        self._copy_only = self.x.dtype == self.dtype and data.x_scale == 1.0
        self._buffer = np.empty((self.batch_size, self.x.shape[1]), self.dtype)
        self._order = np.empty(0, np.intp)
        self._pos = 0

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size

    def next(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pos + self.batch_size > self._order.size:
            self._order = self.rng.permutation(self.n)
            self._pos = 0
        idx = self._order[self._pos : self._pos + self.batch_size]
        self._pos += self.batch_size
        if self._copy_only:
            np.take(self.x, idx, axis=0, out=self._buffer)
        else:
            np.multiply(self.x[idx], self.scale, out=self._buffer, casting="unsafe")
        return self._buffer, self.y[idx]


def param_dtype(model) -> np.dtype:
    """The float dtype of the model's parameters (float32 when they are not float)."""
    for value in model.params.values():
        dtype = np.asarray(value).dtype
        if dtype.kind == "f":
            return dtype
    return np.dtype(np.float32)
