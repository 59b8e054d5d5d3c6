"""lrfinder: find a good initial learning rate with the learning-rate range test.

>>> from lrfinder import TwoLayerNet, find_lr, load_dataset
>>> data = load_dataset("digits")
>>> result = find_lr(TwoLayerNet(64, 128, 10), data, optimizer="adam")
>>> result.suggestion  # doctest: +SKIP

The public names are imported on first use, so ``import lrfinder`` (and
``lrfinder --help``) stays fast: numpy, scipy and matplotlib load only when a
name that needs them is touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Each public name and the submodule that defines it.
_EXPORTS = {
    "LRFinderError": "errors",
    "LRFinderWarning": "errors",
    "ProgressEvent": "progress",
    "one_cycle": "schedules",
    "cosine": "schedules",
    "triangular": "schedules",
    "steps_per_epoch": "training",
    "compare_optimizers": "compare",
    "Comparison": "compare",
    "Looper": "schedules",
    "LearningRateSearcher": "schedules",
    "TwoLayerNet": "network",
    "OPTIMIZERS": "optimizers",
    "Optimizer": "optimizers",
    "SGD": "optimizers",
    "Momentum": "optimizers",
    "AdaGrad": "optimizers",
    "RMSProp": "optimizers",
    "Adadelta": "optimizers",
    "Adam": "optimizers",
    "get_optimizer": "optimizers",
    "find_lr": "rangetest",
    "RangeTestInterrupted": "rangetest",
    "RangeTestResult": "results",
    "load_result": "results",
    "suggest": "analysis",
    "analyse": "analysis",
    "Analysis": "analysis",
    "AnalysisConfig": "analysis",
    "Suggestion": "analysis",
    "analyse_curve": "analysis",
    "METHODS": "analysis",
    "load_dataset": "datasets",
    "as_array_data": "batches",
    "ArrayData": "batches",
    "Dataset": "datasets",
    "train": "training",
    "TrainingHistory": "training",
    "plot_result": "plotting",
    "plot_histories": "plotting",
    "plot_verification": "plotting",
    "verify": "verification",
    "Verification": "verification",
    "VerifyConfig": "verification",
    "load_verification": "verification",
}

__all__ = [
    "METHODS",
    "Analysis",
    "AnalysisConfig",
    "ArrayData",
    "AdaGrad",
    "Adadelta",
    "Adam",
    "Dataset",
    "LRFinderError",
    "LRFinderWarning",
    "LearningRateSearcher",
    "Looper",
    "Momentum",
    "OPTIMIZERS",
    "Optimizer",
    "ProgressEvent",
    "RMSProp",
    "RangeTestInterrupted",
    "RangeTestResult",
    "SGD",
    "Suggestion",
    "Comparison",
    "TrainingHistory",
    "TwoLayerNet",
    "Verification",
    "VerifyConfig",
    "analyse",
    "analyse_curve",
    "as_array_data",
    "compare_optimizers",
    "cosine",
    "find_lr",
    "get_optimizer",
    "load_dataset",
    "load_result",
    "load_verification",
    "one_cycle",
    "plot_histories",
    "plot_result",
    "plot_verification",
    "steps_per_epoch",
    "suggest",
    "train",
    "triangular",
    "verify",
]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lrfinder' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"lrfinder.{module}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from lrfinder.analysis import (
        METHODS,
        Analysis,
        AnalysisConfig,
        Suggestion,
        analyse,
        analyse_curve,
        suggest,
    )
    from lrfinder.datasets import Dataset, load_dataset
    from lrfinder.errors import LRFinderError
    from lrfinder.network import TwoLayerNet
    from lrfinder.optimizers import (
        OPTIMIZERS,
        SGD,
        Adadelta,
        AdaGrad,
        Adam,
        Momentum,
        Optimizer,
        RMSProp,
        get_optimizer,
    )
    from lrfinder.plotting import plot_histories, plot_result, plot_verification
    from lrfinder.rangetest import RangeTestInterrupted, find_lr
    from lrfinder.results import RangeTestResult, load_result
    from lrfinder.schedules import LearningRateSearcher, Looper
    from lrfinder.training import TrainingHistory, train
    from lrfinder.verification import Verification, VerifyConfig, load_verification, verify
