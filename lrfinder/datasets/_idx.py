"""IDX files, the format of MNIST and Fashion-MNIST: parsing and checking.

An IDX file is a small header (two zero bytes, a type code, the number of
dimensions, one big-endian uint32 per dimension) followed by the data in
big-endian, row-major order. :func:`read_idx` reads one, gzip-compressed or not;
:func:`read_idx_pair` reads an image file and its label file and checks that
they agree. Every damaged file raises :class:`~lrfinder.errors.LRFinderError`
naming the file and saying to download it again.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from lrfinder.errors import LRFinderError

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


def read_idx_pair(images_path: Path, labels_path: Path, n_classes: int):
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
