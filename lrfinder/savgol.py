"""Savitzky-Golay smoothing in NumPy: a local polynomial fit in a sliding window.

The analyser smooths the loss (and takes its slope) with a centred least-squares
polynomial of order ``order`` over ``points`` neighbouring rates, the filter of
Savitzky and Golay (1964). It is written here in a few lines of NumPy rather than
imported from ``scipy.signal``, which alone costs about 70 MB of memory to import:
more than the range test itself. The edges are handled as scipy's ``mode="mirror"``
does: the curve is reflected about its first and last points.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["savgol_coeffs", "savgol_filter"]


def savgol_coeffs(points: int, order: int, deriv: int = 0, delta: float = 1.0) -> np.ndarray:
    """The weights, over a window of ``points`` samples, of the fitted value (or derivative).

    ``points`` is odd and larger than ``order``. The fitted polynomial's ``deriv``-th
    derivative at the window's centre is ``weights @ window`` (samples ``delta`` apart).
    """
    if points % 2 != 1 or points <= order:
        raise ValueError(f"points must be odd and > order, got points={points}, order={order}")
    half = points // 2
    positions = np.arange(-half, half + 1, dtype=np.float64)
    design = np.vander(positions, order + 1, increasing=True)  # columns 1, k, k**2, ...
    fit = np.linalg.pinv(design)  # row j: the weights of the fitted coefficient of k**j
    if deriv > order:
        return np.zeros(points)
    return fit[deriv] * (math.factorial(deriv) / delta**deriv)


def savgol_filter(
    y, points: int, order: int, deriv: int = 0, delta: float = 1.0, axis: int = 0
) -> np.ndarray:
    """``y`` smoothed (or differentiated) by the Savitzky-Golay filter, along ``axis``.

    Each output value is the centred polynomial fit of its window; at the ends the
    samples are mirrored about the first and last one (scipy's ``mode="mirror"``).
    """
    y = np.moveaxis(np.asarray(y, dtype=np.float64), axis, 0)
    half = points // 2
    if y.shape[0] <= half:
        raise ValueError(f"{points} points is too wide a window for {y.shape[0]} samples")
    weights = savgol_coeffs(points, order, deriv, delta)
    padded = np.pad(y, [(half, half)] + [(0, 0)] * (y.ndim - 1), mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, points, axis=0)
    return np.moveaxis(windows @ weights, 0, axis)
