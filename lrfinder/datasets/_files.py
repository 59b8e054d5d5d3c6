"""The user's own data files: ``.npz`` (arrays ``x``, ``y``, optionally ``x_test``,
``y_test``) and numeric ``.csv`` (label in the last column, an optional header row).

Each reader turns its file into arrays or raises
:class:`~lrfinder.errors.LRFinderError` naming the file, what is wrong and how to
save it instead; :func:`load_user_file` then checks the arrays with
:func:`lrfinder.validation.check_pair` and builds a :class:`Dataset`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from lrfinder.datasets._base import TEST_FRACTION, Dataset, split
from lrfinder.errors import LRFinderError
from lrfinder.validation import check_pair, x_scale_for

_NPZ_FIX = "save it with np.savez(path, x=..., y=...)"
#: File suffixes :func:`load_user_file` reads.
USER_SUFFIXES = (".npz", ".csv")


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    label = f"data file '{path}'"
    # Open the file ourselves: np.load leaks its handle when the zip is broken.
    try:
        with open(path, "rb") as f:
            return _read_npz_arrays(f, label)
    except OSError as exc:
        raise LRFinderError(f"{label} cannot be read ({exc.strerror or exc}); {_NPZ_FIX}") from None


def _read_npz_arrays(f, label: str) -> dict[str, np.ndarray]:
    import zipfile

    unreadable = (OSError, ValueError, EOFError, zipfile.BadZipFile)
    try:
        npz = np.load(f, allow_pickle=False)
    except unreadable as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LRFinderError(f"{label} is not a readable .npz file ({reason}); {_NPZ_FIX}") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise LRFinderError(f"{label} holds a single .npy array, not an .npz archive; {_NPZ_FIX}")
    with npz:
        keys = set(npz.files)
        for key in ("x", "y"):
            if key not in keys:
                found = ", ".join(sorted(keys)) or "none"
                raise LRFinderError(f"{label} has no array '{key}' (found: {found}); {_NPZ_FIX}")
        if ("x_test" in keys) != ("y_test" in keys):
            raise LRFinderError(
                f"{label} has only one of 'x_test' and 'y_test'; save both or neither"
            )
        try:
            return {k: npz[k] for k in ("x", "y", "x_test", "y_test") if k in keys}
        except unreadable as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LRFinderError(
                f"{label} has an array that cannot be read ({reason}); {_NPZ_FIX}"
            ) from None


def _csv_has_header(first_line: str) -> bool:
    try:
        [float(cell) for cell in first_line.split(",")]
    except ValueError:
        return True
    return False


def _read_csv(path: Path) -> dict[str, np.ndarray]:
    """Numeric CSV, label in the last column, an optional header row."""
    label = f"data file '{path}'"
    fix = "save it as numeric comma-separated values, label in the last column"
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = [line for line in f if line.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise LRFinderError(f"{label} cannot be read as text ({exc}); {fix}") from None
    if not lines:
        raise LRFinderError(f"{label} is empty; {fix}")
    skip = 1 if _csv_has_header(lines[0]) else 0
    if len(lines) == skip:
        raise LRFinderError(f"{label} has a header row but no data rows; {fix}")
    widths = [line.count(",") + 1 for line in lines[skip:]]
    ragged = next((i for i, w in enumerate(widths) if w != widths[0]), None)
    if ragged is not None:
        row = ragged + skip + 1
        raise LRFinderError(
            f"{label} line {row} has {widths[ragged]} values, but line {skip + 1} has "
            f"{widths[0]}; every row needs the same columns (the features, then the label)"
        )
    try:
        table = np.loadtxt(lines[skip:], delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        reason = str(exc).splitlines()[0]
        raise LRFinderError(f"{label} is not a numeric CSV ({reason}); {fix}") from None
    if table.shape[1] < 2:
        raise LRFinderError(
            f"{label} has {table.shape[1]} column; it needs >= 1 feature column and a label column"
        )
    return {"x": table[:, :-1], "y": table[:, -1]}


def load_user_file(path: Path, *, seed: int, task: str | None) -> Dataset:
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise LRFinderError(f"data file '{path}' {what}; give the path to a .npz or .csv file")
    suffix = path.suffix.lower()
    if suffix not in USER_SUFFIXES:
        raise LRFinderError(
            f"data file '{path}' has suffix {path.suffix!r}; save it as .npz "
            "(np.savez(path, x=..., y=...)) or .csv (label in the last column)"
        )
    arrays = _read_npz(path) if suffix == ".npz" else _read_csv(path)
    label = f"data file '{path}'"
    rows = len(arrays["x"])
    fewest = math.ceil(0.5 / TEST_FRACTION)  # the fewest rows split() can split
    if "x_test" not in arrays and rows < fewest:
        raise LRFinderError(
            f"{label} has {rows} row{'s' if rows != 1 else ''} of data; a range test needs "
            f"many samples, one per row (at least {fewest} to split off a test set)"
        )
    x, y, task, n_classes = check_pair(arrays["x"], arrays["y"], task=task, name=label)
    x_scale = x_scale_for(x)
    if "x_test" in arrays:
        x_test, y_test, _, _ = check_pair(
            arrays["x_test"],
            arrays["y_test"],
            task=task,
            name=label,
            suffix="_test",
            n_classes=n_classes,
        )
        if (x.dtype == np.uint8) != (x_test.dtype == np.uint8):
            raise LRFinderError(
                f"{label}: x is {x.dtype} but x_test is {x_test.dtype}; "
                "save both as uint8 images or both as floats"
            )
        if x_test.shape[1] != x.shape[1]:
            raise LRFinderError(
                f"{label}: x_test has {x_test.shape[1]} features but x has {x.shape[1]}; "
                "give both the same columns"
            )
        if task == "regression" and y_test.shape[1] != y.shape[1]:
            raise LRFinderError(
                f"{label}: y_test has {y_test.shape[1]} targets but y has {y.shape[1]}; "
                "give both the same targets"
            )
        return Dataset(path.name, x, y, x_test, y_test, task, n_classes, x_scale)
    rng = np.random.default_rng(seed)
    return Dataset(path.name, *split(x, y, rng, label), task, n_classes, x_scale)
