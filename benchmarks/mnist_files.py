"""Where the benchmarks find MNIST: one rule for all of them.

The four original IDX ``.gz`` files are looked for in ``--data-dir`` when it is given
(that folder or its ``mnist/`` subfolder, nothing else: a wrong path is not silently
replaced), else in ``../shared/data/mnist`` beside the repository, then in
``$LRFINDER_DATA/mnist`` or ``$LRFINDER_DATA`` itself. They are never downloaded
here; a benchmark that needs them skips with :func:`skip_message`.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "mnist"
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def find_mnist(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder holding the four MNIST files, or None (see the module docstring)."""
    if data_dir:
        given = Path(data_dir).expanduser()
        candidates = [given, given / "mnist"]
    else:
        candidates = [SHARED]
        if os.environ.get("LRFINDER_DATA"):
            env = Path(os.environ["LRFINDER_DATA"]).expanduser()
            candidates += [env / "mnist", env]
    for folder in candidates:
        if all((folder / name).is_file() for name in MNIST_FILES):
            return folder
    return None


def skip_message(data_dir: str | os.PathLike | None = None) -> str:
    """Why a benchmark skips MNIST, and how to give it the files."""
    if data_dir:
        where = f"--data-dir {data_dir} (nor its mnist/ subfolder)"
    else:
        where = f"{SHARED} nor $LRFINDER_DATA/mnist"
    return (
        f"skipped: MNIST not found: neither {where} holds {', '.join(MNIST_FILES)}; "
        "pass --data-dir or set LRFINDER_DATA to a folder that does"
    )


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder MNIST (and Fashion-MNIST beside it) are loaded from, for
    ``load_dataset(name, data_dir=...)``: ``data_dir`` when given, else the parent of the
    ``mnist/`` folder :func:`find_mnist` finds, else ``../shared/data``."""
    if data_dir:
        return Path(data_dir)
    found = find_mnist()
    if found is None:
        return SHARED.parent
    return found.parent if found.name == "mnist" else found
