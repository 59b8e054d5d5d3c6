"""Parameters as views into one flat buffer, the layout of torch's foreach/fused optimizers.

A model whose ``params`` arrays are consecutive views into one contiguous 1-D
buffer (and whose gradients are laid out the same way in another) lets an
optimizer run each pass of its update rule once over all weights, instead of
once per parameter. :class:`lrfinder.network.TwoLayerNet` is laid out like this;
:mod:`lrfinder.optimizers` checks for the layout with :func:`flat_buffer` and
falls back to one pass per parameter when it is not there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np


def flat_views(buffer: np.ndarray, shapes: Mapping[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    """Consecutive views of ``buffer``, one of each shape, in order; they must fill it exactly."""
    views, start = {}, 0
    for key, shape in shapes.items():
        stop = start + math.prod(shape)
        views[key] = buffer[start:stop].reshape(shape)
        start = stop
    if start != buffer.size:
        raise ValueError(f"the shapes hold {start} values, the buffer {buffer.size}")
    return views


def flat_buffer(arrays: Iterable[np.ndarray]) -> np.ndarray | None:
    """The 1-D buffer that ``arrays`` tile exactly, in order, as C-contiguous views; else None.

    That is: every array is a C-contiguous view of the same C-contiguous 1-D array
    of the same dtype, each starts where the one before ends, the first at the
    buffer's start and the last at its end. Then a ufunc applied to the buffer
    touches exactly the elements it would touch applied to each array in turn.
    """
    arrays = list(arrays)
    if not arrays or not isinstance(arrays[0], np.ndarray):
        return None
    base = arrays[0].base
    if not isinstance(base, np.ndarray) or base.ndim != 1 or not base.flags.c_contiguous:
        return None
    start = base.__array_interface__["data"][0]
    address = start
    for a in arrays:
        if (
            not isinstance(a, np.ndarray)
            or a.base is not base
            or a.dtype != base.dtype
            or not a.flags.c_contiguous
            or a.__array_interface__["data"][0] != address
        ):
            return None
        address += a.nbytes
    return base if address == start + base.nbytes else None
