"""What the torch benchmarks share: MNIST as tensors, the 784-128-10 MLP, a fast loader.

Not a benchmark itself; ``torch_speed.py`` and ``torch_quality.py`` import it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
from mnist_files import SHARED, find_mnist

ROOT = Path(__file__).resolve().parents[1]
#: Where the torch benchmarks look for MNIST unless given ``--data-dir``: the rule of
#: :mod:`mnist_files` (when nothing is found, the shared folder, which load_dataset names).
DEFAULT_DATA = find_mnist() or SHARED
N_IN, HIDDEN, N_OUT, BATCH = 784, 128, 10, 64


def set_threads(n: int | None) -> None:
    """BLAS and torch threads (before torch is imported, for the BLAS ones)."""
    if n is None:
        return
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    import torch

    torch.set_num_threads(n)


@functools.lru_cache(maxsize=1)
def mnist_tensors(data_dir):
    """(x_train, y_train, x_test, y_test) as float32 / int64 tensors, x scaled to [0, 1]
    (read once per process)."""
    import torch

    from lrfinder import load_dataset

    data = load_dataset("mnist", data_dir=data_dir, download=False)
    scale = np.float32(data.x_scale)

    def x(a):
        return torch.from_numpy(a.astype(np.float32) * scale)

    def y(a):
        return torch.from_numpy(a.astype(np.int64))

    return x(data.x_train), y(data.y_train), x(data.x_test), y(data.y_test)


def mlp(seed: int):
    """The 784-128-10 ReLU MLP, initialised from ``seed``."""
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(N_IN, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, N_OUT)
    )


def loader(x, y, seed: int, batch: int = BATCH):
    """A real DataLoader whose batches are gathered with one index per batch (fast: no
    per-row collate), shuffled every epoch by its own generator seeded with ``seed``."""
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

    dataset = TensorDataset(x, y)
    generator = torch.Generator().manual_seed(seed)
    sampler = BatchSampler(RandomSampler(dataset, generator=generator), batch, drop_last=True)
    return DataLoader(dataset, sampler=sampler, batch_size=None)


def train_and_score(model, optimizer, epochs, x_test, y_test):
    """(test accuracy, diverged) after training on ``epochs``, an iterable of batch iterables.

    Cross-entropy; a non-finite training loss or test output counts as diverged.
    """
    import math

    import torch

    criterion = torch.nn.CrossEntropyLoss()
    for batches in epochs:
        for xb, yb in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(xb), yb)
            if not math.isfinite(loss.item()):
                return 0.0, True
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        out = model(x_test)
    if not torch.isfinite(out).all():
        return 0.0, True
    return float((out.argmax(1) == y_test).double().mean()), False
