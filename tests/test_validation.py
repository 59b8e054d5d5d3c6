"""Tests for lrfinder.validation: checking a user's (x, y) arrays.

What is checked here: the messages (one line, naming the input, the problem and the
fix), that a float32 C-contiguous or uint8 x is used without a copy, that every
NaN and inf is found wherever it sits (first row, last row, last block of the slow
path, strided input), that sums overflowing float32 are no false alarm, and that a
pair is checked once per find_lr / verify, not once per repeat or extension.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import LearnsNothing, assert_one_line_error

from lrfinder import batches, validation
from lrfinder.batches import ArrayData, as_array_data
from lrfinder.datasets import load_dataset
from lrfinder.errors import LRFinderError
from lrfinder.network import TwoLayerNet
from lrfinder.rangetest import find_lr
from lrfinder.schedules import LearningRateSearcher
from lrfinder.validation import PIXEL_SCALE, check_arrays, x_scale_for
from lrfinder.verification import verify

X4 = np.arange(8.0).reshape(4, 2)
F32_MAX = float(np.finfo(np.float32).max)


def labels(n: int) -> np.ndarray:
    return np.arange(n) % 3


def test_check_arrays_classification():
    x, y, task, k = check_arrays([[1, 2], [3, 4], [5, 6]], np.array([[0.0], [1.0], [0.0]]))
    assert x.dtype == np.float32 and x.shape == (3, 2)
    assert y.dtype == np.int64 and y.shape == (3,) and task == "classification" and k == 2


def test_check_arrays_regression_and_forced_task():
    x, y, task, k = check_arrays(np.ones((3, 1)), [0.5, 1.5, 2.0])
    assert task == "regression" and k is None and y.shape == (3, 1) and y.dtype == np.float32
    _, y, task, _ = check_arrays(np.ones((3, 1)), [0, 1, 0], task="regression")
    assert task == "regression" and y.dtype == np.float32
    _, y, _, _ = check_arrays(np.ones((3, 1)), np.ones((3, 2)) * 0.5)
    assert y.shape == (3, 2)


def test_check_arrays_keeps_uint8_images():
    x, _, _, _ = check_arrays(np.zeros((2, 4), np.uint8), [0, 1])
    assert x.dtype == np.uint8


NAN_X = np.array([[0.0, 1.0], [np.nan, 2.0], [3.0, 4.0], [5.0, np.nan]])


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "needles"),
    [
        (np.arange(4.0), [0, 1, 0, 1], {}, ["2-D x", "(4,)", "x.reshape(-1, 1)"]),
        (np.zeros((4, 2, 2)), [0, 1, 0, 1], {}, ["2-D x", "x.reshape(len(x), -1)"]),
        (np.zeros((4, 0)), [0, 1, 0, 1], {}, ["no features"]),
        (X4, [0, 1, 0], {}, ["x has 4 rows", "y has 3"]),
        (np.zeros((0, 2)), [], {}, ["0 rows"]),
        (NAN_X, [0, 1, 0, 1], {}, ["x has 2 NaN values", "rows 1, 3"]),
        (X4, [0, 1, np.inf, 1], {}, ["y has 1 inf", "row 2"]),
        (X4, [1, 2, 3, 1], {}, ["0..k-1", "{1, 2, 3}", "np.unique(y, return_inverse=True)"]),
        (X4, [-1, 1, -1, 1], {}, ["0..k-1", "{-1, 1}"]),
        (X4, [0, 0, 0, 0], {}, ["only 1 class", "at least 2"]),
        (X4, [0.5, 1, 0, 1], {"task": "classification"}, ["integers", "0.5"]),
        (X4, np.eye(4)[:, :2], {}, ["one-hot", "argmax"]),
        (X4, [0, 1, 0, 1], {"task": "clustering"}, ["'clustering'", "regression"]),
        ([[1, 2], [3]], [0, 1], {}, ["rectangular"]),
        (np.array([["a", "b"]] * 4), [0, 1, 0, 1], {}, ["numeric", "x"]),
        (np.full((4, 2), 1e300), [0, 1, 0, 1], {}, ["float32", "rescale"]),
        (X4, np.zeros((4, 1, 1)), {}, ["y of shape"]),
    ],
)
def test_check_arrays_errors(x, y, kwargs, needles):
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(x, y, name="my_data", **kwargs)
    assert_one_line_error(excinfo, *needles)
    assert "my_data" in str(excinfo.value) or "task=" in str(excinfo.value)


def test_lrfinder_error_is_value_error():
    with pytest.raises(ValueError):
        check_arrays(np.arange(3.0), [0, 1, 0])


# --------------------------------------------------------------------------
# No copy, and the dtypes that come out
# --------------------------------------------------------------------------


def test_float32_c_contiguous_x_is_not_copied():
    x = np.random.default_rng(0).random((50, 7), dtype=np.float32)
    checked, _, _, _ = check_arrays(x, labels(50))
    assert checked is x
    data = as_array_data((x, labels(50)))
    assert np.shares_memory(data.x, x) and data.x_scale == 1.0


def test_uint8_x_is_kept_as_images_without_a_copy():
    x = np.arange(60, dtype=np.uint8).reshape(10, 6)
    data = as_array_data((x, labels(10)))
    assert data.x is x and data.x_scale == PIXEL_SCALE == x_scale_for(x)
    assert x_scale_for(x.astype(np.float32)) == 1.0


@pytest.mark.parametrize(
    "make",
    [
        lambda x: x.astype(np.float64),
        lambda x: np.asfortranarray(x),
        lambda x: np.repeat(x, 2, axis=1)[:, ::2],  # a strided view
        lambda x: x.astype(np.float16),
        lambda x: (x * 100).astype(np.int64),
        lambda x: x.astype(np.dtype(">f4")),  # byte-swapped float32
    ],
)
def test_other_layouts_and_dtypes_become_c_contiguous_float32(make):
    base = np.random.default_rng(1).random((30, 5), dtype=np.float32)
    given = make(base)
    x, _, _, _ = check_arrays(given, labels(30))
    assert x.dtype == np.float32 and x.flags.c_contiguous and x.shape == (30, 5)
    np.testing.assert_array_equal(x, given.astype(np.float32))


def test_large_finite_values_whose_sums_overflow_are_not_an_error():
    # each value fits float32, but every row sums past its largest value
    x = np.full((6, 4), F32_MAX / 2, np.float32)
    x[:, 1] *= -1
    x[:, 3] = F32_MAX
    checked, _, _, _ = check_arrays(x, labels(6))
    assert checked is x
    checked, _, _, _ = check_arrays(x.astype(np.float64), labels(6))
    assert np.array_equal(checked, x)


# --------------------------------------------------------------------------
# NaN and inf wherever they are
# --------------------------------------------------------------------------


def nan_inf_message(x: np.ndarray) -> tuple[str, list[int]]:
    """The counts part of the expected message, and the bad rows, found the slow way."""
    nan, inf = np.isnan(x), np.isinf(x)
    counts = " and ".join(
        f"{int(m.sum())} {kind}" for m, kind in ((nan, "NaN"), (inf, "inf")) if m.any()
    )
    return f"x has {counts} values", sorted(set(np.nonzero(nan | inf)[0].tolist()))


@pytest.mark.parametrize(
    "where",
    [(0, 0), (-1, -1), (-1, 0), (0, -1), (17, 3)],
    ids=["first", "last", "last-row", "last-column", "middle"],
)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_one_bad_value_is_found_anywhere(where, value, dtype):
    x = np.random.default_rng(2).random((40, 9)).astype(dtype)
    x[where] = value
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(x, labels(40), name="my_data")
    counts, rows = nan_inf_message(x)
    assert_one_line_error(excinfo, "my_data", counts, f"row {rows[0]} (0-based)", "drop or impute")


def test_opposite_infs_in_one_row_and_a_nan_elsewhere():
    x = np.ones((5, 3), np.float32)
    x[1, 0], x[1, 2], x[4, 1] = np.inf, -np.inf, np.nan  # row 1 sums to NaN
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(x, labels(5))
    assert_one_line_error(excinfo, "x has 1 NaN and 2 inf values", "rows 1, 4 (0-based)")


def test_many_bad_rows_are_listed_up_to_five():
    x = np.ones((20, 2))
    x[3:12, 1] = np.nan
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(x, labels(20))
    assert_one_line_error(excinfo, "9 NaN", "rows 3, 4, 5, 6, 7 and 4 more (0-based)")


@pytest.mark.parametrize("layout", ["c", "strided"])
def test_a_nan_in_the_last_block_of_the_slow_path(monkeypatch, layout):
    # blocks of 2 rows (the slow path) and of 2 rows when a strided x is scanned
    monkeypatch.setattr(validation, "_BLOCK_VALUES", 8)
    x = np.ones((11, 4), np.float32)
    x[-1, -1] = np.nan
    x[5, 0] = np.inf
    # rows that only overflow their float32 sum are suspects too, and are not reported
    x[0] = F32_MAX
    given = x if layout == "c" else np.repeat(x, 2, axis=1)[:, ::2]
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(given, labels(11))
    assert_one_line_error(excinfo, "x has 1 NaN and 1 inf values", "rows 5, 10 (0-based)")


def test_random_bad_values_are_counted_exactly():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n, d = rng.integers(1, 60), rng.integers(1, 40)
        x = rng.normal(size=(n, d)).astype(np.float32)
        k = rng.integers(1, 6)
        flat = x.reshape(-1)
        flat[rng.choice(flat.size, size=min(k, flat.size), replace=False)] = rng.choice(
            [np.nan, np.inf, -np.inf], size=min(k, flat.size)
        )
        with pytest.raises(LRFinderError) as excinfo:
            check_arrays(x, np.arange(n) % 2 if n > 1 else [0], task="regression")
        counts, rows = nan_inf_message(x)
        listed = ", ".join(str(r) for r in rows[:5])
        assert_one_line_error(excinfo, counts, listed)


def test_nan_is_reported_before_values_too_large_for_float32():
    x = np.ones((4, 2))
    x[0, 0], x[2, 1] = 1e300, np.nan
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(x, labels(4))
    assert_one_line_error(excinfo, "1 NaN", "row 2")
    x[2, 1] = -3e301
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(x, labels(4), name="my_data")
    assert_one_line_error(excinfo, "my_data", "too large for float32", "3e+301", "rescale x")


def test_regression_targets_are_checked_and_converted():
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(X4, [0.5, 1e300, 0.5, 0.5])
    assert_one_line_error(excinfo, "y has values too large for float32", "rescale y")
    _, y, task, _ = check_arrays(X4, np.linspace(0, 1, 4, dtype=np.float32))
    assert task == "regression" and y.shape == (4, 1) and y.dtype == np.float32


def test_labels_beyond_the_counting_table_are_still_checked():
    big = validation._BINCOUNT_MAX + 5
    with pytest.raises(LRFinderError) as excinfo:
        check_arrays(X4, [0, big, 0, big], task="classification")
    assert_one_line_error(excinfo, "0..k-1", f"{{0, {big}}}")
    _, y, task, k = check_arrays(np.ones((6, 1)), np.array([2, 0, 1, 2, 0, 1], np.uint8))
    assert task == "classification" and k == 3 and y.dtype == np.int64


# --------------------------------------------------------------------------
# Checked once per call, not per repeat or extension
# --------------------------------------------------------------------------


@pytest.fixture
def counted(monkeypatch):
    """Count the calls of check_arrays made through lrfinder.batches."""
    calls = []
    real = batches.check_arrays

    def counting(x, y, **kwargs):
        calls.append(kwargs.get("name"))
        return real(x, y, **kwargs)

    monkeypatch.setattr(batches, "check_arrays", counting)
    return calls


def test_an_extended_repeated_test_checks_each_pair_once(counted):
    x, y = np.zeros((100, 2), np.float32), np.linspace(0.0, 1.0, 100)
    held = (np.zeros((20, 2), np.float32), np.linspace(0.0, 1.0, 20))
    result = find_lr(LearnsNothing(), (x, y), repeats=2, val_data=held)
    assert result.slow_learner  # the test was run again, longer
    assert counted == ["data", "val_data"]


def test_a_dataset_or_array_data_is_not_checked_again(counted):
    digits = load_dataset("digits", n_samples=300)
    model = TwoLayerNet.for_dataset(digits, 8, seed=0)
    schedule = LearningRateSearcher.exponential(1e-4, 1.0, 30)
    result = find_lr(model, digits, schedule=schedule, repeats=2)
    assert counted == []
    arrays = as_array_data((digits.x_train, digits.y_train))
    assert counted == ["data"]
    find_lr(model, arrays, schedule=schedule, repeats=2, val_data=arrays)
    verify(result, model, arrays, lrs=[0.01], steps=8, seeds=1)
    assert counted == ["data"]
    assert isinstance(as_array_data(arrays), ArrayData) and as_array_data(arrays) is arrays
