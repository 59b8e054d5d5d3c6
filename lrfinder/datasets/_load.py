"""The entry point :func:`load_dataset`, and the ``digits`` set bundled with scikit-learn.

:func:`load_dataset` takes a built-in name (:data:`DATASETS`) or a path and hands
it to the loader of that kind of source: scikit-learn's digits (below), the IDX
sets (:mod:`lrfinder.datasets._download`), the synthetic sets
(:mod:`lrfinder.datasets._synthetic`) or the user's file
(:mod:`lrfinder.datasets._files`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lrfinder import names
from lrfinder.datasets._base import TEST_FRACTION, Dataset, subsample
from lrfinder.datasets._download import load_idx_dataset
from lrfinder.datasets._files import USER_SUFFIXES, load_user_file
from lrfinder.datasets._synthetic import SYNTHETIC, make_synthetic
from lrfinder.errors import LRFinderError

#: Built-in dataset names accepted by :func:`load_dataset`.
DATASETS = names.DATASETS  # digits, the two IDX sets, then the synthetic ones


def _is_path(name_or_path) -> bool:
    if isinstance(name_or_path, os.PathLike):
        return True
    if str(name_or_path).lower() in DATASETS:
        return False
    return str(name_or_path).lower().endswith(USER_SUFFIXES) or Path(name_or_path).exists()


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
        Force the task of a user file (see :func:`lrfinder.validation.check_arrays`). For a
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
        ds = load_user_file(Path(name_or_path).expanduser(), seed=seed, task=task)
        return subsample(ds, n_samples, seed)
    name = str(name_or_path).lower()
    if name not in DATASETS:
        raise LRFinderError(
            f"unknown dataset {str(name_or_path)!r}; choose one of {', '.join(DATASETS)}, "
            "or give a path to your own data ending in .npz or .csv"
        )
    if name in SYNTHETIC:
        ds = make_synthetic(name, n_samples, seed)
    else:
        loaded = _load_digits() if name == "digits" else load_idx_dataset(name, data_dir, download)
        ds = subsample(loaded, n_samples, seed)
    if task is not None and task != ds.task:
        raise LRFinderError(
            f"task={task!r} does not fit dataset {name!r}, which is {ds.task}; leave task out"
        )
    return ds


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
