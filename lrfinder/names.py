"""The names users type: datasets, optimizers, methods, activations, tasks and defaults.

This module imports nothing, so the command line can build its choices and help
from it without loading numpy. The library's registries are keyed by these names
(``lrfinder.optimizers.OPTIMIZERS``, ``lrfinder.analysis.RULES``, ...), and a test
checks that each registry has exactly these keys, in this order.
"""

#: Built-in datasets of :func:`lrfinder.load_dataset`: scikit-learn's bundled digits,
#: the two IDX image sets, and the synthetic sets.
DATASETS = ("digits", "mnist", "fashion-mnist", "double-arc", "spiral", "moons", "sine")

#: The optimizers of :mod:`lrfinder.optimizers`.
OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam")

#: How the analyser reads a curve (:data:`lrfinder.analysis.RULES`).
METHODS = ("auto", "steepest", "minimum", "valley")

#: Hidden activations of :class:`lrfinder.TwoLayerNet`.
ACTIVATIONS = ("relu", "sigmoid", "tanh")

#: What the labels of a dataset are.
TASKS = ("classification", "regression")

#: Spacings of an evenly spaced range-test schedule.
MODES = ("exp", "linear")

#: What a step of a range-test schedule is: one training step, or an epoch of them
#: (``find_lr(..., per=...)``).
PER = ("step", "epoch")

#: How ``compare`` trains each optimizer at its finding
#: (:data:`lrfinder.schedules.TRAINING_SCHEDULES`).
TRAIN_SCHEDULES = ("constant", "onecycle", "cosine")

#: ``compare``'s default: ``benchmarks/schedules.py`` measured 1cycle at
#: ``one_cycle_max_lr`` against the constant and the cosine at ``lr``.
DEFAULT_TRAIN_SCHEDULE = "onecycle"

#: The default range test: ``DEFAULT_NUM`` rates spaced evenly in log10 from
#: ``DEFAULT_START`` to ``DEFAULT_END``, and its stop rule's factor.
DEFAULT_START, DEFAULT_END, DEFAULT_NUM = 1e-7, 10.0, 200
DEFAULT_STOP_FACTOR = 4.0

#: ``compare``'s defaults: epochs of training at each suggested rate, and the
#: validation accuracy whose first step is reported.
DEFAULT_EPOCHS = 3
DEFAULT_TARGET = 0.91
