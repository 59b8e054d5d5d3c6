"""Validation of a user's ``(x, y)`` arrays, in one pass at memory speed.

:func:`check_arrays` turns whatever the caller passed into the project's dtypes
(float32 features, int64 labels or float32 targets) and raises
:class:`~lrfinder.errors.LRFinderError` with a one-line message, in the manner of
scikit-learn's ``check_array``, when the input cannot be used: not numeric, not
2-D, empty, mismatched lengths, NaN or inf, values beyond float32, or class labels
that are not ``0..k-1``.

It runs before every range test on an ``(x, y)`` pair, so it has to be cheap next
to the test itself (about 50–90 ms for 100 MNIST steps):

* x is never copied when it is already float32 and C-contiguous, nor when it is
  uint8 image data, which is kept compact and scaled per batch (:data:`PIXEL_SCALE`);
* the finite check is one read of x: a matrix-vector product with a vector of
  ones (BLAS, on every core, no temporary beyond one float per row), because a
  row's sum is NaN or inf whenever the row holds a NaN or an inf. A sum can also
  overflow to inf on large finite values, so the rows it flags are only
  suspects: they are looked at value by value, and only they, before any error
  is raised (the slow path, taken only when something is wrong or nearly so);
* labels are counted with ``bincount`` rather than sorted.

The uint8 → float rule (:data:`PIXEL_SCALE`, :func:`x_scale_for`) is defined here
and nowhere else.
"""

from __future__ import annotations

import numpy as np

from lrfinder import names
from lrfinder.errors import LRFinderError

__all__ = [
    "MAX_INFERRED_CLASSES",
    "PIXEL_SCALE",
    "TASKS",
    "check_arrays",
    "check_pair",
    "x_scale_for",
]

#: The kinds of problem a dataset can pose.
TASKS = names.TASKS  # ("classification", "regression")

#: Scale that maps uint8 pixels to [0, 1]: uint8 features are image data, kept as
#: uint8 and multiplied by this (in float32) when a batch is taken.
PIXEL_SCALE = 1.0 / 255.0

#: Integer-valued targets with at most this many distinct values are taken as
#: class labels when ``task`` is not given; anything else is regression.
MAX_INFERRED_CLASSES = 100

#: How many offending rows or values an error message lists before "...".
_MAX_LISTED = 5

#: Values per block when suspect rows are examined value by value (the slow path),
#: so that the boolean masks it needs stay small whatever the size of x.
_BLOCK_VALUES = 1 << 20

#: Labels up to this value are counted with ``np.bincount`` (a table of this many
#: counts at most); larger ones are sorted with ``np.unique``.
_BINCOUNT_MAX = 1 << 16


def x_scale_for(x: np.ndarray) -> float:
    """The factor a batch of ``x`` is multiplied by: :data:`PIXEL_SCALE` for uint8, else 1."""
    return PIXEL_SCALE if x.dtype == np.uint8 else 1.0


# --------------------------------------------------------------------------
# Finite values
# --------------------------------------------------------------------------


def _suspect_rows(a: np.ndarray) -> np.ndarray:
    """Rows of the 2-D float array `a` that may hold a NaN or an inf (a superset).

    ``a @ ones`` is one BLAS pass over `a`. A row holding a NaN, or infs of both
    signs, sums to NaN, and one holding an inf of one sign sums to inf, so no
    non-finite value is missed. A row of finite values whose sum overflows is
    flagged too; the caller looks at the flagged rows' values before it reports.
    """
    if a.size == 0:
        return np.empty(0, np.intp)
    if a.dtype in (np.float32, np.float64) and a.flags.c_contiguous:
        with np.errstate(over="ignore", invalid="ignore"):
            sums = a @ np.ones(a.shape[1], a.dtype)
        return np.flatnonzero(~np.isfinite(sums))
    # float16, longdouble or a strided view: blocks of rows, value by value
    rows = max(1, _BLOCK_VALUES // a.shape[1])
    found = [
        start + np.flatnonzero(~np.isfinite(a[start : start + rows]).all(axis=1))
        for start in range(0, len(a), rows)
    ]
    return np.concatenate(found)


def _blocks(rows: np.ndarray, width: int):
    """Split row indices into blocks of about ``_BLOCK_VALUES`` values."""
    step = max(1, _BLOCK_VALUES // max(width, 1))
    for start in range(0, rows.size, step):
        yield rows[start : start + step]


def _rows_text(rows: np.ndarray) -> str:
    listed = ", ".join(str(r) for r in rows[:_MAX_LISTED])
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    return f"row{'s' if len(rows) > 1 else ''} {listed}{more} (0-based)"


def _raise_if_nonfinite(a: np.ndarray, rows: np.ndarray, name: str, what: str) -> None:
    """Count the NaN and inf values in the suspect `rows` of `a`; raise if there are any."""
    n_nan = n_inf = 0
    bad = []
    for block in _blocks(rows, a.shape[1]):
        values = a[block]
        nan, inf = np.isnan(values), np.isinf(values)
        n_nan += int(nan.sum())
        n_inf += int(inf.sum())
        bad.append(block[(nan | inf).any(axis=1)])
    if n_nan or n_inf:
        counts = " and ".join(
            f"{count} {kind}" for count, kind in ((n_nan, "NaN"), (n_inf, "inf")) if count
        )
        raise LRFinderError(
            f"{name}: {what} has {counts} values in {_rows_text(np.concatenate(bad))}; "
            "drop or impute those rows"
        )


def _check_finite(arr: np.ndarray, name: str, what: str) -> None:
    """Raise if the float array `arr` (1-D or 2-D) holds NaN or inf."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return
    table = arr.reshape(len(arr), -1)
    _raise_if_nonfinite(table, _suspect_rows(table), name, what)


def _float32(arr: np.ndarray, name: str, what: str) -> np.ndarray:
    """`arr` (2-D, numeric) as a C-contiguous float32 array, checked to be finite.

    No copy when `arr` already is float32 and C-contiguous. Otherwise it is
    converted first (one pass, writing the float32 copy only) and the copy is
    checked, which catches NaN and inf in `arr` and values beyond float32 alike;
    the suspect rows of `arr` then tell the two apart for the message.
    """
    if arr.dtype == np.float32 and arr.flags.c_contiguous:
        out = arr
    else:
        with np.errstate(over="ignore"):  # overflow is reported below, with a fix
            out = arr.astype(np.float32, order="C")
    if arr.dtype.kind != "f":  # bool and integers always fit float32's range
        return out
    rows = _suspect_rows(out)
    if rows.size == 0:
        return out
    source = arr.reshape(len(arr), -1)
    _raise_if_nonfinite(source, rows, name, what)
    if out is arr:
        return out  # float32 sums that overflowed: no value is at fault
    largest = 0.0
    for block in _blocks(rows, out.shape[1]):
        if not np.isfinite(out[block]).all():
            values = source[block]
            largest = max(largest, abs(float(values.max())), abs(float(values.min())))
    if largest:
        raise LRFinderError(
            f"{name}: {what} has values too large for float32 (max |{what}| = "
            f"{largest:.3g}); rescale {what} before training"
        )
    return out


# --------------------------------------------------------------------------
# x and y
# --------------------------------------------------------------------------


def _as_numeric(a, name: str, what: str) -> np.ndarray:
    """Convert to a numeric array, rejecting strings, objects and ragged lists."""
    try:
        arr = np.asarray(a)
    except ValueError as exc:  # ragged nested lists
        raise LRFinderError(
            f"{name}: {what} is not a rectangular array ({exc}); give a numeric numpy array"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise LRFinderError(
            f"{name}: {what} must be numeric, got dtype {arr.dtype}; "
            "convert text or categories to numbers first"
        )
    return arr


def _check_x(x, name: str, what: str = "x") -> np.ndarray:
    arr = _as_numeric(x, name, what)
    if arr.ndim != 2:
        fix = "x.reshape(-1, 1)" if arr.ndim < 2 else "x.reshape(len(x), -1)"
        raise LRFinderError(
            f"{name}: expected 2-D {what} of shape (n_samples, n_features), "
            f"got shape {arr.shape}; reshape with {fix.replace('x', what, 1)}"
        )
    if arr.shape[1] == 0:
        raise LRFinderError(f"{name}: {what} has shape {arr.shape}, no features; give >= 1 column")
    if arr.dtype == np.uint8:
        return arr  # image data: kept compact, scaled by PIXEL_SCALE when a batch is taken
    return _float32(arr, name, what)


def _check_y(y, name: str, what: str = "y") -> np.ndarray:
    arr = _as_numeric(y, name, what)
    if arr.ndim not in (1, 2):
        raise LRFinderError(
            f"{name}: expected {what} of shape (n_samples,) or (n_samples, n_targets), "
            f"got shape {arr.shape}; reshape with {what}.reshape(len({what}), -1)"
        )
    _check_finite(arr, name, what)
    return arr


# --------------------------------------------------------------------------
# Class labels
# --------------------------------------------------------------------------


def _is_integer_valued(y: np.ndarray) -> bool:
    return y.dtype.kind in "biu" or bool(np.all(y == np.round(y)))


def _distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of integer-valued `values`: counted when small, else sorted."""
    if values.size and 0 <= values.min() and values.max() <= _BINCOUNT_MAX:
        return np.flatnonzero(np.bincount(values.astype(np.intp, copy=False).reshape(-1)))
    return np.unique(values)


def _infer_task(y: np.ndarray) -> str:
    if _is_integer_valued(y) and len(_distinct(y)) <= MAX_INFERRED_CLASSES:
        return "classification"
    return "regression"


def _check_labels(
    y: np.ndarray, name: str, what: str = "y", n_classes: int | None = None
) -> tuple[np.ndarray, int]:
    """Check class labels; with `n_classes` given, only that they fall in range."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise LRFinderError(
            f"{name}: class labels {what} must have shape (n_samples,), got {y.shape}; "
            f"for one-hot labels use {what}.argmax(axis=1), for regression pass task='regression'"
        )
    if not _is_integer_valued(y):
        bad = y[y != np.round(y)][0]
        raise LRFinderError(
            f"{name}: class labels {what} must be integers, got {bad:g}; "
            "pass task='regression' for real-valued targets"
        )
    labels = y.astype(np.int64, copy=False)
    values = _distinct(labels)
    if n_classes is not None:
        if values[0] < 0 or values[-1] >= n_classes:
            bad = values[0] if values[0] < 0 else values[-1]
            raise LRFinderError(
                f"{name}: {what} has label {bad} but the training labels have "
                f"{n_classes} classes (0..{n_classes - 1}); use the same label mapping for both"
            )
        return labels, n_classes
    k = len(values)
    if not np.array_equal(values, np.arange(k)):
        shown = ", ".join(str(v) for v in values[:_MAX_LISTED])
        shown += ", ..." if k > _MAX_LISTED else ""
        raise LRFinderError(
            f"{name}: class labels {what} must be the integers 0..k-1, got {{{shown}}}; "
            f"map them with np.unique({what}, return_inverse=True)[1], "
            "or pass task='regression'"
        )
    if k < 2:
        raise LRFinderError(
            f"{name}: {what} has only 1 class (label 0), classification needs at least 2; "
            "add samples of another class or pass task='regression'"
        )
    return labels, k


# --------------------------------------------------------------------------
# The pair
# --------------------------------------------------------------------------


def check_pair(
    x, y, *, task: str | None, name: str, suffix: str = "", n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray, str, int | None]:
    """Validate one (x, y) pair, as :func:`check_arrays` does.

    `suffix` (``"_test"``) names the arrays in messages; with `n_classes` given
    (a test split), labels are only checked to lie in ``0..n_classes-1``.
    """
    xname, yname = f"x{suffix}", f"y{suffix}"
    x = _check_x(x, name, xname)
    y = _check_y(y, name, yname)
    if len(x) != len(y):
        raise LRFinderError(
            f"{name}: {xname} has {len(x)} rows but {yname} has {len(y)}; "
            f"give one target per row of {xname}"
        )
    if len(x) == 0:
        raise LRFinderError(f"{name}: {xname} and {yname} have 0 rows; give at least one sample")
    if task is None:
        task = _infer_task(y)
    elif task not in TASKS:
        raise LRFinderError(
            f"task={task!r} is not valid for {name}; use 'classification', 'regression' or None"
        )
    if task == "classification":
        labels, k = _check_labels(y, name, yname, n_classes)
        return x, labels, task, k
    targets = _float32(y.reshape(len(y), -1), name, yname)
    return x, targets, task, None


def check_arrays(
    x, y, *, task: str | None = None, name: str = "data"
) -> tuple[np.ndarray, np.ndarray, str, int | None]:
    """Validate a user ``(x, y)`` pair and convert it to the project's dtypes.

    Parameters
    ----------
    x : array_like
        Features of shape ``(n_samples, n_features)``.
    y : array_like
        Targets of shape ``(n_samples,)`` or ``(n_samples, n_targets)``.
    task : {"classification", "regression"}, optional
        Force the task. By default y is taken as class labels when its values
        are integers with at most ``MAX_INFERRED_CLASSES`` distinct values,
        and as regression targets otherwise.
    name : str, default "data"
        How the input is named in error messages, e.g. ``"data file 'a.csv'"``.

    Returns
    -------
    x : numpy.ndarray
        float32 array of shape ``(n, d)``, C-contiguous: `x` itself (not a copy)
        when it already is one. uint8 x is returned unchanged, as image data to
        be multiplied by :data:`PIXEL_SCALE` when a batch is taken.
    y : numpy.ndarray
        int64 labels of shape ``(n,)`` (classification) or float32 targets
        of shape ``(n, t)`` (regression; a 1-D y becomes ``(n, 1)``).
    task : str
        ``"classification"`` or ``"regression"``.
    n_classes : int or None
        ``k`` for classification, None for regression.

    Raises
    ------
    LRFinderError
        If x is not 2-D, x and y differ in length, either is empty or holds
        NaN/inf, x holds values beyond float32, or class labels are not the
        integers ``0..k-1`` with ``k >= 2``.
    """
    return check_pair(x, y, task=task, name=name)
