"""Datasets for the learning-rate range test.

Everything here returns a :class:`Dataset`: frozen, plain data holding a train
and a test split. Three kinds of source are supported:

* built-in names (see :data:`DATASETS`): ``digits`` (bundled with
  scikit-learn), ``mnist`` and ``fashion-mnist`` (the original IDX files, found
  on disk or downloaded once with SHA-256 verification), and small seeded
  synthetic sets for teaching (``double-arc``, ``spiral``, ``moons``, ``sine``);
* the user's own ``.npz`` or ``.csv`` file;
* the user's own ``(x, y)`` arrays, checked with :func:`check_arrays`.

Every bad input raises :class:`~lrfinder.errors.LRFinderError` with a one-line
message that names the input, says what is wrong and how to fix it.

scikit-learn and pooch are imported inside the functions that need them, so
``import lrfinder.datasets`` stays cheap.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrfinder.errors import LRFinderError

__all__ = [
    "DATASETS",
    "DATA_ENV",
    "Dataset",
    "check_arrays",
    "load_dataset",
    "read_idx",
]

TASKS = ("classification", "regression")

#: Environment variable naming a folder that holds ``<name>/`` data folders.
DATA_ENV = "LRFINDER_DATA"

#: Fraction of the samples kept for the test split when a source has none.
TEST_FRACTION = 0.2

#: Integer-valued targets with at most this many distinct values are taken as
#: class labels when ``task`` is not given; anything else is regression.
MAX_INFERRED_CLASSES = 100

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

#: How many offending rows or values an error message lists before "...".
_MAX_LISTED = 5

#: Scale that maps uint8 pixels to [0, 1].
_PIXEL_SCALE = 1.0 / 255.0


# --------------------------------------------------------------------------
# The Dataset container
# --------------------------------------------------------------------------


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
        Factor applied (in float32) to x when a batch is taken: ``1/255`` for
        uint8 images, 1.0 otherwise.
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


# --------------------------------------------------------------------------
# Validation of (x, y) pairs
# --------------------------------------------------------------------------


def _where(mask: np.ndarray) -> str:
    """Describe the rows where a boolean mask (rows first) is True."""
    rows = np.unique(np.nonzero(mask)[0])
    listed = ", ".join(str(r) for r in rows[:_MAX_LISTED])
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    return f"row{'s' if len(rows) > 1 else ''} {listed}{more} (0-based)"


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


def _check_finite(arr: np.ndarray, name: str, what: str) -> None:
    if arr.dtype.kind != "f":
        return
    nan, inf = np.isnan(arr), np.isinf(arr)
    if nan.any() or inf.any():
        counts = " and ".join(
            f"{int(m.sum())} {kind}" for m, kind in ((nan, "NaN"), (inf, "inf")) if m.any()
        )
        raise LRFinderError(
            f"{name}: {what} has {counts} values in {_where(nan | inf)}; drop or impute those rows"
        )


def _to_float32(arr: np.ndarray, name: str, what: str) -> np.ndarray:
    with np.errstate(over="ignore"):  # overflow is reported below, with a fix
        out = arr.astype(np.float32)
    if not np.isfinite(out).all():
        raise LRFinderError(
            f"{name}: {what} has values too large for float32 (max |{what}| = "
            f"{np.abs(arr).max():.3g}); rescale {what} before training"
        )
    return out


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
        return arr  # image data: kept compact, scaled by 1/255 when a batch is taken
    _check_finite(arr, name, what)
    return _to_float32(arr, name, what)


def _check_y(y, name: str, what: str = "y") -> np.ndarray:
    arr = _as_numeric(y, name, what)
    if arr.ndim not in (1, 2):
        raise LRFinderError(
            f"{name}: expected {what} of shape (n_samples,) or (n_samples, n_targets), "
            f"got shape {arr.shape}; reshape with {what}.reshape(len({what}), -1)"
        )
    _check_finite(arr, name, what)
    return arr


def _is_integer_valued(y: np.ndarray) -> bool:
    return y.dtype.kind in "biu" or bool(np.all(y == np.round(y)))


def _infer_task(y: np.ndarray) -> str:
    if _is_integer_valued(y) and len(np.unique(y)) <= MAX_INFERRED_CLASSES:
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
    labels = y.astype(np.int64)
    values = np.unique(labels)
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


def _check_pair(
    x, y, *, task: str | None, name: str, suffix: str = "", n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray, str, int | None]:
    """Validate one (x, y) pair; `suffix` ("_test") names the arrays in messages."""
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
    targets = _to_float32(y, name, yname).reshape(len(y), -1)
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
        float32 array of shape ``(n, d)``; uint8 x is returned unchanged, as
        image data to be multiplied by 1/255 when a batch is taken.
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
        NaN/inf, or class labels are not the integers ``0..k-1`` with ``k >= 2``.
    """
    return _check_pair(x, y, task=task, name=name)


# --------------------------------------------------------------------------
# Splitting and subsampling
# --------------------------------------------------------------------------


def _split(x, y, rng: np.random.Generator, name: str):
    """Shuffle and split into train and test, ``TEST_FRACTION`` going to test."""
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


def _check_n_samples(n_samples, name: str) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise LRFinderError(f"n_samples={n_samples!r} for {name!r} must be a positive integer")
    if n_samples < 1:
        raise LRFinderError(f"n_samples={n_samples} for {name!r} must be at least 1")


def _subsample(ds: Dataset, n_samples: int | None, seed: int) -> Dataset:
    """Keep `n_samples` random training rows (seeded); the test split is unchanged."""
    if n_samples is None:
        return ds
    _check_n_samples(n_samples, ds.name)
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


# --------------------------------------------------------------------------
# digits (scikit-learn)
# --------------------------------------------------------------------------

#: digits pixels are integers 0..16.
_DIGITS_MAX = 16.0


def _load_digits() -> Dataset:
    """8x8 digits from scikit-learn, scaled to [0, 1], stratified 80/20 split.

    The split always uses ``random_state=0`` so that the digits test set is
    the same for every run and every seed.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / _DIGITS_MAX).astype(np.float32)
    y = y.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=0
    )
    return Dataset("digits", x_train, y_train, x_test, y_test, "classification", 10)


# --------------------------------------------------------------------------
# IDX files (MNIST, Fashion-MNIST)
# --------------------------------------------------------------------------

#: IDX type codes (third header byte) and the big-endian dtypes they denote.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_IMAGES_MAGIC = 2051  # uint8, 3 dimensions
IDX_LABELS_MAGIC = 2049  # uint8, 1 dimension
_GZIP_MAGIC = b"\x1f\x8b"
_REDOWNLOAD = "delete it and download it again"


def _idx_bytes(path: Path) -> bytes:
    """Read a file, decompressing it when it is gzip (by content, not by name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LRFinderError(f"IDX file '{path}' does not exist; check the path") from None
    except OSError as exc:
        raise LRFinderError(
            f"IDX file '{path}' cannot be read ({exc.strerror or exc}); check its permissions"
        ) from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise LRFinderError(
                f"IDX file '{path}' is a damaged or truncated gzip file ({exc}); {_REDOWNLOAD}"
            ) from None
    if path.suffix == ".gz":
        raise LRFinderError(f"IDX file '{path}' is not a gzip file despite its name; {_REDOWNLOAD}")
    return raw


def _parse_idx(path: Path) -> tuple[int, np.ndarray]:
    """Return the magic number and the array of one IDX file."""
    data = _idx_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise LRFinderError(
            f"IDX file '{path}' does not start with an IDX magic number "
            f"(got bytes {data[:4].hex() or 'none'}); {_REDOWNLOAD}"
        )
    magic = int.from_bytes(data[:4], "big")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise LRFinderError(
            f"IDX file '{path}' has a broken header ({ndim} dimensions, {len(data)} bytes); "
            f"{_REDOWNLOAD}"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        what = "is truncated" if got < expected else "has extra bytes"
        raise LRFinderError(
            f"IDX file '{path}' {what}: its header promises shape {shape} "
            f"({expected} bytes of data) but it holds {got}; {_REDOWNLOAD}"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return magic, arr.astype(dtype.newbyteorder("="))


def read_idx(path) -> np.ndarray:
    """Read one IDX file (the MNIST format), gzip-compressed or raw.

    The header is two zero bytes, a type code (0x08 = uint8, 0x09 = int8,
    0x0B = int16, 0x0C = int32, 0x0D = float32, 0x0E = float64), the number of
    dimensions, then one big-endian uint32 per dimension; the data follow in
    big-endian, row-major order.

    Parameters
    ----------
    path : str or os.PathLike
        The file. It is decompressed when its content is gzip.

    Returns
    -------
    numpy.ndarray
        Array of the shape in the header, in native byte order.

    Raises
    ------
    LRFinderError
        If the file is missing, not gzip despite a ``.gz`` name, has a bad
        magic number, or holds fewer or more bytes than its header promises.
    """
    return _parse_idx(Path(path))[1]


def _read_idx_pair(images_path: Path, labels_path: Path, n_classes: int):
    """Read an image file and its label file and check that they agree."""
    magic, images = _parse_idx(images_path)
    if magic != IDX_IMAGES_MAGIC:
        raise LRFinderError(
            f"IDX file '{images_path}' has magic number {magic}, but an image file has "
            f"{IDX_IMAGES_MAGIC}; {_REDOWNLOAD}"
        )
    magic, labels = _parse_idx(labels_path)
    if magic != IDX_LABELS_MAGIC:
        raise LRFinderError(
            f"IDX file '{labels_path}' has magic number {magic}, but a label file has "
            f"{IDX_LABELS_MAGIC}; {_REDOWNLOAD}"
        )
    if len(images) != len(labels):
        raise LRFinderError(
            f"IDX file '{images_path}' holds {len(images)} images but '{labels_path.name}' "
            f"holds {len(labels)} labels; delete both and download them again"
        )
    if len(labels) and labels.max() >= n_classes:
        raise LRFinderError(
            f"IDX file '{labels_path}' has label {labels.max()} but only 0..{n_classes - 1} "
            f"are valid; {_REDOWNLOAD}"
        )
    return images.reshape(len(images), -1), labels.astype(np.int64)


@dataclass(frozen=True)
class _IdxSource:
    """Where an IDX dataset can be downloaded from and what its files are."""

    mirrors: tuple[str, ...]
    files: tuple[tuple[str, str], ...]  # (filename, sha256): train x, train y, test x, test y
    n_classes: int = 10


_IDX_SOURCES = {
    "mnist": _IdxSource(
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",
            "https://storage.googleapis.com/cvdf-datasets/mnist/",
        ),
        files=(
            (
                "train-images-idx3-ubyte.gz",
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            ),
            (
                "train-labels-idx1-ubyte.gz",
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            ),
            (
                "t10k-images-idx3-ubyte.gz",
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
            ),
            (
                "t10k-labels-idx1-ubyte.gz",
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
            ),
        ),
    ),
    "fashion-mnist": _IdxSource(
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        files=(
            (
                "train-images-idx3-ubyte.gz",
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
            ),
            (
                "train-labels-idx1-ubyte.gz",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
            ),
            (
                "t10k-images-idx3-ubyte.gz",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
            ),
            (
                "t10k-labels-idx1-ubyte.gz",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
            ),
        ),
    ),
}


def _cache_dir() -> Path:
    """The per-user cache folder, e.g. ``~/.cache/lrfinder`` on Linux (pooch's default).

    Found with platformdirs, as pooch does, without importing pooch: pooch pulls in
    tqdm, which warns inside notebooks, and is only needed for a download.
    """
    import platformdirs

    return Path(platformdirs.user_cache_dir("lrfinder")).expanduser()


def _search_dirs(name: str, data_dir) -> list[Path]:
    """Folders that may hold the files of `name`, in the order they are tried."""
    dirs = []
    if data_dir is not None:
        dirs += [Path(data_dir).expanduser(), Path(data_dir).expanduser() / name]
    if os.environ.get(DATA_ENV):
        dirs.append(Path(os.environ[DATA_ENV]).expanduser() / name)
    dirs.append(_cache_dir() / name)
    return dirs


def _download_dir(name: str, data_dir) -> Path:
    """Where missing files go: the first folder the caller chose, else the cache."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    return _search_dirs(name, None)[0]


def _copy_file_url(url: str, output_file: str, pooch=None) -> None:
    """pooch downloader for ``file://`` URLs (a local mirror)."""
    import shutil
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    shutil.copyfile(url2pathname(urlparse(url).path), output_file)


def _fetch(url: str, dest: Path, sha256: str) -> None:
    """Download `url` to `dest`, verifying its SHA-256.

    pooch streams into a temporary file next to `dest`, checks the hash and
    only then moves the file into place; on a mismatch it deletes the
    temporary file and raises ValueError. Network failures raise OSError
    (requests' exceptions derive from it).
    """
    import pooch

    downloader = _copy_file_url if url.startswith("file://") else None
    pooch.retrieve(
        url,
        known_hash=f"sha256:{sha256}",
        fname=dest.name,
        path=dest.parent,
        downloader=downloader,
        progressbar=False,
    )


def _place_files_hint(name: str, source: _IdxSource, folder: Path) -> str:
    files = ", ".join(f for f, _ in source.files)
    return (
        f"put the four files {files} in '{folder}', or pass --data-dir (data_dir=) "
        f"a folder that has them, or set {DATA_ENV} to a folder with a '{name}' subfolder"
    )


def _download_idx(name: str, source: _IdxSource, folder: Path) -> None:
    """Download every missing file of `source` into `folder`, trying mirrors in order."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LRFinderError(
            f"cannot create data folder '{folder}' for {name} ({exc.strerror or exc}); "
            f"pass --data-dir or set {DATA_ENV} to a writable folder"
        ) from None
    for filename, sha256 in source.files:
        if (folder / filename).is_file():
            continue
        failures = []
        for mirror in source.mirrors:
            url = mirror + filename
            try:
                _fetch(url, folder / filename, sha256)
                break
            except ValueError:  # pooch: the SHA-256 did not match
                failures.append((url, "checksum"))
            except OSError as exc:
                failures.append((url, type(exc).__name__))
        else:
            bad = [url for url, why in failures if why == "checksum"]
            if bad:
                raise LRFinderError(
                    f"downloaded {filename} from {bad[0]} but its SHA-256 is not {sha256} "
                    f"(the file was discarded); {_place_files_hint(name, source, folder)}"
                )
            reasons = ", ".join(sorted({why for _, why in failures}))
            raise LRFinderError(
                f"could not download {name} ({filename}: {reasons}; are you offline?); "
                + _place_files_hint(name, source, folder)
            )


def _load_idx_dataset(name: str, data_dir, download: bool) -> Dataset:
    source = _IDX_SOURCES[name]
    names = [f for f, _ in source.files]
    dirs = _search_dirs(name, data_dir)
    folder = next((d for d in dirs if all((d / f).is_file() for f in names)), None)
    if folder is None:
        folder = _download_dir(name, data_dir)
        if not download:
            searched = ", ".join(f"'{d}'" for d in dirs)
            raise LRFinderError(
                f"{name} files not found in {searched} and download=False; "
                + _place_files_hint(name, source, folder)
            )
        _download_idx(name, source, folder)
    paths = [folder / f for f in names]
    x_train, y_train = _read_idx_pair(paths[0], paths[1], source.n_classes)
    x_test, y_test = _read_idx_pair(paths[2], paths[3], source.n_classes)
    return Dataset(
        name,
        x_train,
        y_train,
        x_test,
        y_test,
        "classification",
        source.n_classes,
        x_scale=_PIXEL_SCALE,
    )


# --------------------------------------------------------------------------
# Synthetic data for teaching
# --------------------------------------------------------------------------


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


_SYNTHETIC: dict[str, tuple[Callable, str]] = {
    "double-arc": (_double_arc, "classification"),
    "spiral": (_spiral, "classification"),
    "moons": (_moons, "classification"),
    "sine": (_sine, "regression"),
}


def _make_synthetic(name: str, n_samples: int | None, seed: int) -> Dataset:
    n = SYNTHETIC_N_SAMPLES if n_samples is None else n_samples
    _check_n_samples(n, name)
    if n < SYNTHETIC_MIN_SAMPLES:
        raise LRFinderError(
            f"n_samples={n} is too few for {name!r}; use at least {SYNTHETIC_MIN_SAMPLES}"
        )
    generate, task = _SYNTHETIC[name]
    rng = np.random.default_rng(seed)
    x, y = generate(n, rng)
    x, y, task, n_classes = _check_pair(x, y, task=task, name=name)
    return Dataset(name, *_split(x, y, rng, name), task, n_classes)


# --------------------------------------------------------------------------
# The user's own files
# --------------------------------------------------------------------------

_NPZ_FIX = "save it with np.savez(path, x=..., y=...)"
_USER_SUFFIXES = (".npz", ".csv")


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


def _load_user_file(path: Path, *, seed: int, task: str | None) -> Dataset:
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise LRFinderError(f"data file '{path}' {what}; give the path to a .npz or .csv file")
    suffix = path.suffix.lower()
    if suffix not in _USER_SUFFIXES:
        raise LRFinderError(
            f"data file '{path}' has suffix {path.suffix!r}; save it as .npz "
            "(np.savez(path, x=..., y=...)) or .csv (label in the last column)"
        )
    arrays = _read_npz(path) if suffix == ".npz" else _read_csv(path)
    label = f"data file '{path}'"
    x, y, task, n_classes = _check_pair(arrays["x"], arrays["y"], task=task, name=label)
    x_scale = _PIXEL_SCALE if x.dtype == np.uint8 else 1.0
    if "x_test" in arrays:
        x_test, y_test, _, _ = _check_pair(
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
    return Dataset(path.name, *_split(x, y, rng, label), task, n_classes, x_scale)


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------

#: Built-in dataset names accepted by :func:`load_dataset`.
DATASETS = ("digits", "mnist", "fashion-mnist", *_SYNTHETIC)


def _is_path(name_or_path) -> bool:
    if isinstance(name_or_path, os.PathLike):
        return True
    if str(name_or_path).lower() in DATASETS:
        return False
    return str(name_or_path).lower().endswith(_USER_SUFFIXES) or Path(name_or_path).exists()


def load_dataset(
    name_or_path="digits",
    data_dir=None,
    *,
    seed: int = 0,
    n_samples: int | None = None,
    download: bool = True,
    task: str | None = None,
) -> Dataset:
    """Load a built-in dataset or the user's own ``.npz`` / ``.csv`` file.

    Parameters
    ----------
    name_or_path : str or os.PathLike, default "digits"
        One of :data:`DATASETS`, or a path to a file:

        * ``.npz`` with arrays ``x`` (n, d) and ``y`` (n,), and optionally
          ``x_test`` and ``y_test``; uint8 x is kept as images with
          ``x_scale = 1/255``;
        * ``.csv`` of numbers with the label in the last column and an
          optional header row.

        Without a test split, a seeded 80/20 split is made.
    data_dir : str or os.PathLike, optional
        For ``mnist`` / ``fashion-mnist``: the folder holding the four IDX
        ``.gz`` files (or a ``<name>/`` subfolder that does). The search order
        is `data_dir`, ``$LRFINDER_DATA/<name>/``, then the user cache
        (``pooch.os_cache("lrfinder")/<name>``). Missing files are downloaded
        into `data_dir` if given, else ``$LRFINDER_DATA/<name>/`` if set, else
        the cache.
    seed : int, default 0
        Seeds the synthetic generators, the 80/20 split of user files without
        a test split, and the `n_samples` subsample. The ``digits`` split is
        fixed (``random_state=0``) whatever the seed.
    n_samples : int, optional
        For synthetic sets: how many samples to generate in total (default
        ``SYNTHETIC_N_SAMPLES``). For every other source: keep this many
        randomly chosen training samples; the test split is unchanged.
    download : bool, default True
        Download missing MNIST / Fashion-MNIST files (SHA-256 verified).
    task : {"classification", "regression"}, optional
        Force the task of a user file (see :func:`check_arrays`). For a
        built-in set it must match that set's task.

    Returns
    -------
    Dataset

    Raises
    ------
    LRFinderError
        For an unknown name, a missing, unreadable or invalid file, or data
        that cannot be downloaded.
    """
    if _is_path(name_or_path):
        ds = _load_user_file(Path(name_or_path).expanduser(), seed=seed, task=task)
        return _subsample(ds, n_samples, seed)
    name = str(name_or_path).lower()
    if name not in DATASETS:
        raise LRFinderError(
            f"unknown dataset {str(name_or_path)!r}; choose one of {', '.join(DATASETS)}, "
            "or give a path to your own data ending in .npz or .csv"
        )
    if name in _SYNTHETIC:
        ds = _make_synthetic(name, n_samples, seed)
    else:
        loaded = _load_digits() if name == "digits" else _load_idx_dataset(name, data_dir, download)
        ds = _subsample(loaded, n_samples, seed)
    if task is not None and task != ds.task:
        raise LRFinderError(
            f"task={task!r} does not fit dataset {name!r}, which is {ds.task}; leave task out"
        )
    return ds
