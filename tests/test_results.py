"""RangeTestResult's typed fields (slow_learner, cold_start_gain, note) and the JSON schemas."""

import json
import math

import numpy as np
import pytest
from support import LearnsNothing

from lrfinder import (
    LearningRateSearcher,
    RangeTestInterrupted,
    RangeTestResult,
    TwoLayerNet,
    find_lr,
    load_dataset,
    load_result,
)
from lrfinder.errors import LRFinderError
from lrfinder.optimizers import SGD, RMSProp, cold_start_gain
from lrfinder.results import SCHEMA_VERSION

SHORT = LearningRateSearcher.exponential(1e-5, 10, 60)
NOTE = "the default 200-step test saw no learning (flat); this is a 1000-step test"


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def curve(n=40):
    lrs = np.logspace(-5, 0, n)
    losses = 2.0 - np.tanh(np.linspace(-3, 3, n)) + 0.01 * np.sin(np.arange(n))
    return lrs, losses


def typed_result(**typed):
    lrs, losses = curve()
    runs = np.vstack([losses, losses + 0.1])
    runs[1, -3:] = np.nan
    return RangeTestResult(
        lrs,
        np.nanmedian(runs, axis=0),
        runs,
        "completed the schedule",
        ("completed the schedule", "loss diverged"),
        {"optimizer": "rmsprop", "optimizer_hyperparameters": {"rho": 0.99, "eps": 1e-8}},
        **typed,
    )


def v1_file(tmp_path, settings, name="old.json"):
    """A file in the layout of schema 1 (no typed fields; they lived in settings)."""
    lrs, losses = curve()
    data = {
        "schema": 1,
        "lrs": lrs.tolist(),
        "losses": losses.tolist(),
        "run_losses": [losses.tolist()],
        "stop_reason": "completed the schedule",
        "stop_reasons": ["completed the schedule"],
        "settings": settings,
        "val_steps": None,
        "val_losses": None,
        "suggestion": {"lr": None, "band": None, "method": "auto", "reason": "x"},
    }
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def assert_one_line_error(path, *words):
    with pytest.raises(LRFinderError) as info:
        load_result(path)
    message = str(info.value)
    assert "\n" not in message
    for word in (str(path), *words):
        assert word in message, message


# -- the fields -----------------------------------------------------------------------


def test_defaults_are_a_plain_curve():
    result = typed_result()
    assert result.slow_learner is False
    assert result.cold_start_gain == 1.0
    assert result.note is None


def test_json_round_trip_keeps_the_typed_fields_exactly(tmp_path):
    gain = 1 / math.sqrt(1 - 0.99)  # not a round number: repr precision matters
    result = typed_result(slow_learner=True, cold_start_gain=gain, note=NOTE)
    path = result.to_json(tmp_path / "run.json")
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA_VERSION == 2
    assert data["slow_learner"] is True
    assert data["cold_start_gain"] == gain
    assert data["note"] == NOTE
    loaded = load_result(path)
    assert loaded == result
    assert (loaded.slow_learner, loaded.cold_start_gain, loaded.note) == (True, gain, NOTE)
    assert loaded.suggest("auto") == result.suggest("auto")
    assert json.loads(loaded.to_json(tmp_path / "again.json").read_text()) == data


@pytest.mark.parametrize(
    "change", [dict(slow_learner=True), dict(cold_start_gain=10.0), dict(note="x")]
)
def test_equality_and_repr_include_the_typed_fields(change):
    base, other = typed_result(), typed_result(**change)
    assert base != other
    assert base == typed_result()
    text = repr(typed_result(slow_learner=True, cold_start_gain=10.0))
    assert "slow_learner=True" in text and "cold_start_gain=10.0" in text


def test_the_gain_is_stored_as_a_float():
    result = typed_result(cold_start_gain=np.float32(4.0))
    assert type(result.cold_start_gain) is float and result.cold_start_gain == 4.0
    assert typed_result(slow_learner=np.bool_(True)).slow_learner is True


@pytest.mark.parametrize("gain", [0, -1.0, math.nan, math.inf, "10", None, True])
def test_a_bad_gain_is_refused(gain):
    with pytest.raises(LRFinderError, match="cold_start_gain must be a finite number > 0"):
        typed_result(cold_start_gain=gain)


@pytest.mark.parametrize(
    "typed, words",
    [
        (dict(slow_learner="yes"), "slow_learner must be True or False"),
        (dict(slow_learner=1), "slow_learner must be True or False"),
        (dict(note=3), "note must be a string or None"),
    ],
)
def test_bad_typed_fields_are_refused(typed, words):
    with pytest.raises(LRFinderError, match=words):
        typed_result(**typed)


def test_a_bad_gain_in_a_file_names_the_file(tmp_path):
    path = typed_result().to_json(tmp_path / "run.json")
    data = json.loads(path.read_text())
    data["cold_start_gain"] = -2
    path.write_text(json.dumps(data))
    assert_one_line_error(path, "cold_start_gain must be a finite number > 0", "-2")
    del data["cold_start_gain"]
    path.write_text(json.dumps(data))
    assert_one_line_error(path, "has no 'cold_start_gain' field")


# -- schema 1 -------------------------------------------------------------------------


def test_a_v1_file_is_read_with_its_settings_as_typed_fields(tmp_path):
    settings = {"optimizer": "rmsprop", "cold_start_gain": 7.5, "extended": NOTE}
    result = load_result(v1_file(tmp_path, settings))
    assert result.slow_learner is True
    assert result.note == NOTE
    assert result.cold_start_gain == 7.5
    assert result.settings == settings  # the file's settings, unchanged
    # and it is written back in the new layout, losslessly
    assert load_result(result.to_json(tmp_path / "new.json")) == result


def test_a_v1_file_without_a_recorded_gain_gets_its_optimizers(tmp_path):
    rmsprop = {"optimizer": "rmsprop", "optimizer_hyperparameters": {"rho": 0.96, "eps": 1e-8}}
    result = load_result(v1_file(tmp_path, rmsprop))
    assert result.cold_start_gain == pytest.approx(5.0)
    assert result.slow_learner is False and result.note is None
    adam = {"optimizer": "adam", "optimizer_hyperparameters": {"beta1": 0.9}}
    assert load_result(v1_file(tmp_path, adam)).cold_start_gain == 1.0
    assert load_result(v1_file(tmp_path, {"optimizer": "mine"})).cold_start_gain == 1.0
    assert load_result(v1_file(tmp_path, {})).cold_start_gain == 1.0


@pytest.mark.parametrize(
    "hyperparameters, words",
    [
        ({"rho": 1.5}, "rho must be a finite number in [0, 1)"),
        ({"momentum": 0.9}, "momentum"),
        ({"rho": "abc"}, "abc"),
    ],
)
def test_bad_hyperparameters_in_a_v1_file_name_the_file(tmp_path, hyperparameters, words):
    settings = {"optimizer": "rmsprop", "optimizer_hyperparameters": hyperparameters}
    path = v1_file(tmp_path, settings, name="corrupt.json")
    assert_one_line_error(path, "'rmsprop'", repr(hyperparameters), words)


def test_a_bad_recorded_gain_in_a_v1_file_names_the_file(tmp_path):
    path = v1_file(tmp_path, {"optimizer": "sgd", "cold_start_gain": 0.0})
    assert_one_line_error(path, "cold_start_gain must be a finite number > 0")


@pytest.mark.parametrize("schema", [3, 99])
def test_a_future_schema_is_refused(tmp_path, schema):
    path = typed_result().to_json(tmp_path / "future.json")
    data = json.loads(path.read_text())
    data["schema"] = schema
    path.write_text(json.dumps(data))
    assert_one_line_error(path, f"schema {schema}", "newer lrfinder")


@pytest.mark.parametrize("schema", [None, 0, "2", True, 1.0])
def test_a_schema_lrfinder_never_wrote_is_refused(tmp_path, schema):
    path = v1_file(tmp_path, {})
    data = json.loads(path.read_text())
    data["schema"] = schema
    path.write_text(json.dumps(data))
    assert_one_line_error(path, f"schema {schema!r}", "not written by lrfinder")


# -- the optimizers' gain by name -------------------------------------------------------


def test_cold_start_gain_by_name_refuses_bad_hyperparameters():
    assert cold_start_gain("RMSProp", None) == pytest.approx(10.0)
    assert cold_start_gain("rmsprop", {"rho": 0.96}) == pytest.approx(5.0)
    assert cold_start_gain("my-optimizer", {"anything": 1}) == 1.0
    assert cold_start_gain(None) == 1.0
    for bad in ({"momentum": 0.9}, {"rho": 1.0}, {"rho": None}, [1, 2]):
        with pytest.raises(LRFinderError, match=r"optimizer 'rmsprop' from hyperparameters"):
            cold_start_gain("rmsprop", bad)


# -- imported curves ---------------------------------------------------------------------


def test_imported_curves_are_not_slow_and_have_no_cap(tmp_path):
    single = tmp_path / "history.csv"
    single.write_text("lr,loss\n0.001,2.3\n0.01,2.0\n0.1,1.5\n")
    runs = tmp_path / "runs.csv"
    runs.write_text("step,run,lr,loss\n0,0,0.1,3\n1,0,0.2,2\n0,1,0.1,5\n1,1,0.2,4\n")
    lrs, losses = curve()
    for result in (load_result(single), load_result(runs), RangeTestResult.from_curve(lrs, losses)):
        assert (result.slow_learner, result.cold_start_gain, result.note) == (False, 1.0, None)
    known = RangeTestResult.from_curve(lrs, losses, cold_start_gain=10.0, slow_learner=True)
    assert (known.slow_learner, known.cold_start_gain) == (True, 10.0)


# -- find_lr fills them --------------------------------------------------------------------


NOTHING = (np.zeros((100, 2)), np.linspace(0.0, 1.0, 100))


def test_find_lr_marks_an_extended_test_as_a_slow_learner():
    result = find_lr(LearnsNothing(), NOTHING)
    assert result.slow_learner is True
    assert "saw no learning" in result.note
    assert result.settings["extended"] == result.note  # the old key, for now
    plain = find_lr(LearnsNothing(), NOTHING, extend=False)
    assert plain.slow_learner is False and plain.note is None


def test_an_interrupted_extended_test_is_still_a_slow_learner():
    calls = []

    def interrupt(event):
        calls.append(event.step)
        if len(calls) == 300:  # in the longer test, the default one has 200 steps
            raise KeyboardInterrupt

    with pytest.raises(RangeTestInterrupted) as info:
        find_lr(LearnsNothing(), NOTHING, callback=interrupt)
    partial = info.value.result
    assert partial.stop_reason.startswith("interrupted")
    assert partial.slow_learner is True and "saw no learning" in partial.note


def test_a_learning_curve_is_not_a_slow_learner(digits):
    result = find_lr(TwoLayerNet(64, 32, 10, seed=0), digits, optimizer="adam", schedule=SHORT)
    assert result.slow_learner is False and result.note is None


def test_find_lr_records_the_optimizers_gain(digits):
    net = TwoLayerNet(64, 32, 10, seed=0)
    rmsprop = find_lr(net, digits, optimizer="rmsprop", schedule=SHORT)
    assert rmsprop.cold_start_gain == pytest.approx(10.0)  # 1 / sqrt(1 - 0.99)
    assert rmsprop.settings["cold_start_gain"] == rmsprop.cold_start_gain  # the old key
    slower = find_lr(net, digits, optimizer=RMSProp(rho=0.96), schedule=SHORT)
    assert slower.cold_start_gain == pytest.approx(5.0)
    assert find_lr(net, digits, schedule=SHORT).cold_start_gain == 1.0


def test_find_lr_refuses_an_optimizer_with_a_bad_gain(digits):
    class Broken(SGD):
        name = "broken"
        cold_start_gain = math.nan

    with pytest.raises(LRFinderError, match="Broken.cold_start_gain must be a finite number"):
        find_lr(TwoLayerNet(64, 32, 10, seed=0), digits, optimizer=Broken(), schedule=SHORT)
