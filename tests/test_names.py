"""lrfinder.names is the one list of the names users type; every registry uses exactly it."""

import subprocess
import sys

from lrfinder import names


def test_every_registry_has_exactly_the_names_in_order():
    from lrfinder.analysis import METHODS, RULES
    from lrfinder.datasets import DATASETS
    from lrfinder.network import ACTIVATIONS
    from lrfinder.optimizers import OPTIMIZERS
    from lrfinder.schedules import TRAINING_SCHEDULES
    from lrfinder.validation import TASKS

    assert tuple(OPTIMIZERS) == names.OPTIMIZERS  # the implementations, keyed by the names
    assert tuple(RULES) == METHODS == names.METHODS
    assert ACTIVATIONS is names.ACTIVATIONS and TASKS is names.TASKS  # the names themselves
    assert DATASETS is names.DATASETS
    assert tuple(TRAINING_SCHEDULES) == names.TRAIN_SCHEDULES
    assert names.DEFAULT_TRAIN_SCHEDULE in names.TRAIN_SCHEDULES


def test_every_dataset_name_has_a_loader():
    from lrfinder.datasets._download import _IDX_SOURCES as IDX
    from lrfinder.datasets._synthetic import SYNTHETIC

    assert set(names.DATASETS) == {"digits", *IDX, *SYNTHETIC}


def test_the_cli_choices_are_the_names():
    from lrfinder import cli

    assert [o.value for o in cli.OptimizerName] == list(names.OPTIMIZERS)
    assert [m.value for m in cli.Method] == list(names.METHODS)
    assert [a.value for a in cli.Activation] == list(names.ACTIVATIONS)
    assert [t.value for t in cli.TrainSchedule] == list(names.TRAIN_SCHEDULES)


def test_the_names_module_imports_nothing():
    code = "import sys; import lrfinder.names; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
