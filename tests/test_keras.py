"""lrfinder.keras: the range test on a Keras 3 model, tested on the torch backend.

Small MLPs on digits and at most a few hundred steps per test.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")  # no TensorFlow needed
keras = pytest.importorskip(
    "keras",
    minversion="3",
    reason="Keras 3 with a backend is not installed (pip install 'lrfinder[keras,torch]')",
)

import lrfinder.keras as lk  # noqa: E402

# Keras's torch backend calls np.array on torch tensors, which NumPy 2 warns about
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
if keras.backend.backend() == "torch":
    import torch

    torch.set_num_threads(1)  # tiny models: one thread is fastest, and fair to a busy CI box
from lrfinder import (  # noqa: E402
    LearningRateSearcher,
    Looper,
    RangeTestInterrupted,
    load_dataset,
    load_result,
)
from lrfinder.analysis import median_over_runs  # noqa: E402
from lrfinder.errors import LRFinderError  # noqa: E402
from lrfinder.rangetest import COMPLETED, default_schedule  # noqa: E402
from lrfinder.stopping import DivergenceStop  # noqa: E402

SHORT = LearningRateSearcher.exponential(1e-4, 1.0, 60)


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits")
    return data.x_train.astype(np.float32) * np.float32(data.x_scale), data.y_train


def net(seed: int = 0, optimizer="adam", *, extras: bool = False, metrics=("accuracy",)):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((64,)), keras.layers.Dense(32, activation="relu")]
    if extras:  # batch-norm statistics and a dropout seed state to restore too
        layers += [keras.layers.BatchNormalization(), keras.layers.Dropout(0.2)]
    model = keras.Sequential([*layers, keras.layers.Dense(10)])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=list(metrics),
    )
    return model


def state(model):
    """Every variable's bytes: model, optimizer, metrics."""
    groups = (model.variables, model.optimizer.variables, model.metrics_variables)
    return [[lk._numpy(v).tobytes() for v in g] for g in groups]


def assert_restored(after, before):
    """Bitwise as before; a fresh model's optimizer slots and metrics, built during the
    test, hold their initial zeros (its iteration count and learning rate as before)."""
    assert after[0] == before[0]  # the model's variables
    n = len(before[1])
    assert after[1][:n] == before[1] and after[1][n:] == [bytes(len(b)) for b in after[1][n:]]
    if len(after[2]) == len(before[2]):
        assert after[2] == before[2]
    else:
        assert after[2] == [bytes(len(b)) for b in after[2]]


def test_everything_is_restored_bitwise_after_the_test(digits):
    x, y = digits
    model = net(extras=True, optimizer=keras.optimizers.Adam(3e-3))
    model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)  # warm state and metrics
    before = state(model)
    result = lk.find_lr(model, x, y, schedule=SHORT, repeats=2)
    assert len(result.lrs) > 20
    assert state(model) == before
    assert float(lk._numpy(model.optimizer.learning_rate)) == pytest.approx(3e-3)


def test_ctrl_c_restores_bitwise_and_carries_the_partial_result(digits):
    model = net(extras=True)  # fresh: its optimizer and metrics are built during the test
    before = state(model)

    def interrupt(event):
        if event.step == 10:
            raise KeyboardInterrupt

    with pytest.raises(RangeTestInterrupted) as info:
        lk.find_lr(model, *digits, schedule=SHORT, callback=interrupt)
    partial = info.value.result
    assert partial.stop_reason.startswith("interrupted at lr=")
    assert 10 <= len(partial.lrs) <= 11
    assert_restored(state(model), before)


def test_it_records_each_batchs_own_loss_not_kerass_running_mean(digits):
    # at a rate of 1e-12 the weights do not move, so step k's loss is batch k's loss at
    # the initial weights; Keras's logs would give the mean since the epoch began
    x, y = digits
    model = net(metrics=())
    schedule = LearningRateSearcher([Looper(1e-12, 1e-12, 8, 1e-12)])
    result = lk.find_lr(model, x, y, schedule=schedule, seed=5)
    order = np.random.default_rng(5).permutation(len(x))
    expected = []
    for k in range(8):
        idx = order[k * 64 : (k + 1) * 64]
        pred = model(x[idx], training=True)
        loss = model.compute_loss(x=x[idx], y=y[idx], y_pred=pred, training=True)
        expected.append(float(lk._numpy(loss)))
    assert result.stop_reason == COMPLETED
    assert np.allclose(result.losses, expected, rtol=1e-5)
    assert np.ptp(result.losses) > 1e-3  # batches differ: not a running mean's drift


def test_the_numpy_tests_schedule_stop_rule_and_reason(digits):
    model = net()
    result = lk.find_lr(model, *digits)
    assert np.array_equal(result.lrs, default_schedule().steps()[: len(result.lrs)])
    assert result.stop_reason.startswith("loss diverged at lr=")
    stop = DivergenceStop()
    reasons = [
        stop.update(loss, lr=lr, step=i)
        for i, (lr, loss) in enumerate(zip(result.lrs, result.losses, strict=True))
    ]
    assert reasons[-1] == result.stop_reason and not any(reasons[:-1])
    assert result.suggestion is not None
    assert result.settings["optimizer"] == "keras.optimizers.Adam"
    assert result.settings["backend"] == keras.backend.backend()


def test_an_iterable_of_batches_is_iterated_again_when_it_runs_out(digits):
    x, y = digits
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 96, 32)]
    result = lk.find_lr(net(), batches, schedule=SHORT)
    assert len(result.lrs) > len(batches)


def test_repeats_with_fresh_models_give_a_median_of_different_runs(digits):
    model = net()
    before = state(model)
    result = lk.find_lr(model, *digits, schedule=SHORT, repeats=3, model_factory=net)
    assert result.n_runs == 3
    assert not np.array_equal(result.run_losses[0], result.run_losses[1], equal_nan=True)
    assert np.array_equal(result.losses, median_over_runs(result.run_losses), equal_nan=True)
    assert_restored(state(model), before)


def test_validation_loss_every_k_steps(digits):
    x, y = digits
    result = lk.find_lr(
        net(), x, y, schedule=SHORT, validation_data=(x[:300], y[:300]), val_every=5
    )
    assert np.array_equal(result.val_steps, np.arange(0, len(result.lrs), 5))
    assert np.all(np.isfinite(result.val_losses[0][:5]))
    assert result.settings["val_size"] == 300


def test_a_slow_learner_is_extended_and_read_on_fixed_training_rows():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (200, 1)).astype(np.float32)
    y = (np.sin(3 * np.pi * x) * np.exp(-4 * x**2)).astype(np.float32)
    y += 0.05 * rng.standard_normal(y.shape).astype(np.float32)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(16, activation="sigmoid"), keras.layers.Dense(1)]
    )
    model.compile(optimizer="sgd", loss="mse")
    result = lk.find_lr(model, x, y, batch_size=10)
    assert result.slow_learner and "1000-step test" in result.note, result.analysis.reason
    assert "fixed subset of 200 training rows" in result.note
    assert result.val_steps is not None and result.val_steps[1] == 10


def test_cold_start_gain_of_rmsprop_and_json_round_trip(digits, tmp_path):
    result = lk.find_lr(net(optimizer="rmsprop"), *digits, schedule=SHORT)
    assert result.cold_start_gain == pytest.approx(1 / np.sqrt(0.1))  # Keras's rho = 0.9
    assert load_result(result.to_json(tmp_path / "run.json")) == result
    assert lk.find_lr(net(), *digits, schedule=SHORT).cold_start_gain == 1.0


def test_the_momentum_lag_is_recorded(digits):
    assert lk.momentum_lag(keras.optimizers.SGD()) == 0.0
    assert lk.momentum_lag(keras.optimizers.SGD(momentum=0.9)) == pytest.approx(9.0)
    assert lk.momentum_lag(keras.optimizers.SGD(momentum=0.9, nesterov=True)) == pytest.approx(8.1)
    assert lk.momentum_lag(keras.optimizers.Adam(beta_1=0.5)) == pytest.approx(1.0)
    assert lk.momentum_lag(keras.optimizers.Adagrad()) == 0.0
    result = lk.find_lr(net(), *digits, schedule=SHORT)
    assert result.settings["momentum_lag"] == pytest.approx(9.0)
    assert result.suggestion == result.suggest(momentum_lag=9.0).lr


def test_data_the_model_cannot_take_fails_at_the_first_batch_and_restores_it(digits):
    x, y = digits
    model = net(extras=True)
    before = state(model)
    with pytest.raises(LRFinderError, match=r"first batch failed.*x of shape \(1437, 63\)"):
        lk.find_lr(model, x[:, :63], y, schedule=SHORT)
    assert state(model)[0] == before[0]
    with pytest.raises(LRFinderError, match=r"first batch failed.*IndexError.*labels"):
        lk.find_lr(model, x, y + 10, schedule=SHORT)
    assert state(model)[0] == before[0]


@pytest.mark.parametrize(
    "make, args, words",
    [
        (lambda: "net", (), "model must be a keras.Model"),
        (
            lambda: keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)]),
            (),
            "not compiled",
        ),
        (
            lambda: net(
                optimizer=keras.optimizers.SGD(
                    keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
                )
            ),
            (),
            "learning-rate schedule",
        ),
        (net, ("y",), "y is missing"),
        (net, ("short_y",), "same number of rows"),
        (net, ("stop",), "stop_factor must be a finite number > 1"),
    ],
)
def test_bad_input_is_one_lrfinder_error_naming_it(digits, make, args, words):
    x, y = digits
    kwargs = {"schedule": SHORT}
    if "y" in args:
        y = None
    if "short_y" in args:
        y = y[:10]
    if "stop" in args:
        kwargs["stop_factor"] = 0.5
    with pytest.raises(LRFinderError, match=words):
        lk.find_lr(make(), x, y, **kwargs)
