"""MNIST and Fashion-MNIST: where their files are looked for, and their checksummed download.

Each set is an :class:`_IdxSource`: mirrors tried in order, and four
``(filename, sha256)`` pairs, as scikit-learn's ``RemoteFileMetadata`` are. The
files are looked for in ``data_dir``, ``$LRFINDER_DATA/<name>/`` and the user cache,
in that order; missing ones are downloaded with pooch, which streams into a
temporary file, checks the SHA-256 and only then moves the file into place.

A failed download raises one :class:`~lrfinder.errors.LRFinderError` that says
which files to put where. pooch's own log lines ("Downloading data from ...") are
silenced for the attempt, so that an offline machine prints that one line only.

pooch is imported only for a download, and platformdirs only to find the cache.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from lrfinder.datasets._base import Dataset
from lrfinder.datasets._idx import read_idx_pair
from lrfinder.errors import LRFinderError
from lrfinder.validation import x_scale_for

#: Environment variable naming a folder that holds ``<name>/`` data folders.
DATA_ENV = "LRFINDER_DATA"


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
    logger = pooch.get_logger()
    # pooch logs "Downloading data from ..." at INFO before each try; the caller
    # reports the outcome itself, in one line, so those lines would only repeat it.
    # A filter, not setLevel: pooch's logger is outside logging's hierarchy, so a new
    # level would not reach the answers it has cached from earlier downloads.
    logger.addFilter(_above_info)
    try:
        pooch.retrieve(
            url,
            known_hash=f"sha256:{sha256}",
            fname=dest.name,
            path=dest.parent,
            downloader=downloader,
            progressbar=False,
        )
    finally:
        logger.removeFilter(_above_info)


def _above_info(record: logging.LogRecord) -> bool:
    """A logging filter that lets warnings and errors through, and nothing less."""
    return record.levelno > logging.INFO


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


def load_idx_dataset(name: str, data_dir, download: bool) -> Dataset:
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
    x_train, y_train = read_idx_pair(paths[0], paths[1], source.n_classes)
    x_test, y_test = read_idx_pair(paths[2], paths[3], source.n_classes)
    return Dataset(
        name,
        x_train,
        y_train,
        x_test,
        y_test,
        "classification",
        source.n_classes,
        x_scale=x_scale_for(x_train),
    )
