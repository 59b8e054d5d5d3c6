"""lrfinder.savgol matches scipy.signal's Savitzky-Golay filter (mode="mirror")."""

import numpy as np
import pytest
from scipy import signal

from lrfinder.savgol import savgol_coeffs, savgol_filter


@pytest.mark.parametrize(
    ("n", "points", "order"), [(200, 21, 2), (50, 7, 3), (30, 29, 2), (5, 3, 2)]
)
@pytest.mark.parametrize("deriv", [0, 1])
def test_it_matches_scipy(n, points, order, deriv):
    y = np.random.default_rng(n).standard_normal(n).cumsum()
    expected = signal.savgol_filter(y, points, order, deriv=deriv, delta=0.04, mode="mirror")
    np.testing.assert_allclose(
        savgol_filter(y, points, order, deriv=deriv, delta=0.04), expected, atol=1e-10
    )


def test_columns_are_filtered_along_the_axis_and_the_weights_match():
    y = np.random.default_rng(1).standard_normal((100, 5))
    expected = signal.savgol_filter(y, 11, 2, axis=0, mode="mirror")
    np.testing.assert_allclose(savgol_filter(y, 11, 2, axis=0), expected, atol=1e-12)
    np.testing.assert_allclose(savgol_coeffs(11, 2), signal.savgol_coeffs(11, 2)[::-1])


def test_a_window_wider_than_the_data_or_even_is_refused():
    with pytest.raises(ValueError, match="too wide"):
        savgol_filter(np.ones(5), 11, 2)
    with pytest.raises(ValueError, match="odd"):
        savgol_coeffs(10, 2)
