"""Datasets for the learning-rate range test.

Everything here returns a :class:`Dataset`: frozen, plain data holding a train
and a test split. Three kinds of source are supported:

* built-in names (see :data:`DATASETS`): ``digits`` (bundled with
  scikit-learn), ``mnist`` and ``fashion-mnist`` (the original IDX files, found
  on disk or downloaded once with SHA-256 verification), and small seeded
  synthetic sets for teaching (``double-arc``, ``spiral``, ``moons``, ``sine``);
* the user's own ``.npz`` or ``.csv`` file;
* the user's own ``(x, y)`` arrays, which :func:`lrfinder.find_lr` takes as they
  are and checks with :func:`lrfinder.validation.check_arrays`.

Every bad input raises :class:`~lrfinder.errors.LRFinderError` with a one-line
message that names the input, says what is wrong and how to fix it.

The package is laid out as scikit-learn's ``sklearn/datasets`` is, one job a module:

========================  ================================================
``_base``                 the :class:`Dataset` container, split, subsample
``_idx``                  the IDX file format (:func:`read_idx`)
``_download``             MNIST's mirrors, search folders, checksummed download
``_synthetic``            the seeded teaching sets
``_files``                the user's ``.npz`` and ``.csv`` files
``_load``                 :func:`load_dataset`, and scikit-learn's digits
========================  ================================================

Checking arrays is :mod:`lrfinder.validation`'s job, used by every loader here
and by the range test. scikit-learn and pooch are imported inside the
functions that need them, so ``import lrfinder.datasets`` stays cheap.
"""

from lrfinder.datasets._base import TEST_FRACTION, Dataset
from lrfinder.datasets._download import DATA_ENV
from lrfinder.datasets._idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, read_idx
from lrfinder.datasets._load import DATASETS, load_dataset
from lrfinder.datasets._synthetic import (
    DOUBLE_ARC_NOISE,
    DOUBLE_ARC_OFFSET,
    MOONS_NOISE,
    SINE_NOISE,
    SPIRAL_NOISE,
    SPIRAL_TURNS,
    SYNTHETIC_MIN_SAMPLES,
    SYNTHETIC_N_SAMPLES,
)
from lrfinder.validation import MAX_INFERRED_CLASSES, TASKS

__all__ = [
    "DATASETS",
    "DATA_ENV",
    "DOUBLE_ARC_NOISE",
    "DOUBLE_ARC_OFFSET",
    "IDX_IMAGES_MAGIC",
    "IDX_LABELS_MAGIC",
    "MAX_INFERRED_CLASSES",
    "MOONS_NOISE",
    "SINE_NOISE",
    "SPIRAL_NOISE",
    "SPIRAL_TURNS",
    "SYNTHETIC_MIN_SAMPLES",
    "SYNTHETIC_N_SAMPLES",
    "TASKS",
    "TEST_FRACTION",
    "Dataset",
    "load_dataset",
    "read_idx",
]
