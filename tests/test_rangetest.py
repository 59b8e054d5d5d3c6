import json
import math

import numpy as np
import pytest
from support import LearnsNothing

from lrfinder import (
    LearningRateSearcher,
    Looper,
    RangeTestInterrupted,
    RangeTestResult,
    TwoLayerNet,
    find_lr,
    load_dataset,
    load_result,
)
from lrfinder.analysis import median_over_runs
from lrfinder.errors import LRFinderError
from lrfinder.optimizers import OPTIMIZERS, SGD, Adam, get_optimizer
from lrfinder.rangetest import COMPLETED

SHORT = LearningRateSearcher.exponential(1e-5, 10, 60)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def small_net(seed=0):
    return TwoLayerNet(64, 32, 10, seed=seed)


class LinearLeastSquares:
    """A user model that follows only the protocol: params + loss_and_grads."""

    def __init__(self, n_features):
        self.params = {"w": np.zeros(n_features), "b": np.zeros(1)}

    def loss_and_grads(self, x, y):
        residual = x @ self.params["w"] + self.params["b"][0] - y
        loss = float(np.mean(residual**2))
        grads = {
            "w": 2 * x.T @ residual / len(x),
            "b": np.array([2 * residual.mean()]),
        }
        return loss, grads


class NaNAfter:
    """Wraps a model and returns NaN from a given call on."""

    def __init__(self, model, after):
        self.model, self.after, self.calls = model, after, 0
        self.params = model.params

    def loss_and_grads(self, x, y):
        self.calls += 1
        loss, grads = self.model.loss_and_grads(x, y)
        return (float("nan") if self.calls > self.after else loss), grads


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_model_and_optimizer_state_restored_bitwise(digits, name):
    net = small_net()
    opt = get_optimizer(name)
    # give the optimizer some history first, so there is state to restore
    loss, grads = net.loss_and_grads(digits.x_train[:32], digits.y_train[:32])
    opt.step(net.params, grads, 1e-3)
    params_before = net.state_dict()
    state_before = opt.state_dict()
    ids = {k: id(v) for k, v in net.params.items()}

    find_lr(net, digits, optimizer=opt, schedule=SHORT)

    assert {k: id(v) for k, v in net.params.items()} == ids
    for key, value in params_before.items():
        assert np.array_equal(net.params[key], value)
        assert net.params[key].tobytes() == value.tobytes()
    after = opt.state_dict()
    assert after["t"] == state_before["t"]
    for key, slots in state_before["state"].items():
        for slot, value in slots.items():
            assert after["state"][key][slot].tobytes() == value.tobytes()


def test_same_seed_same_curve_other_seed_other_curve(digits):
    a = find_lr(small_net(), digits, optimizer="adam", schedule=SHORT, seed=3)
    b = find_lr(small_net(), digits, optimizer="adam", schedule=SHORT, seed=3)
    c = find_lr(small_net(), digits, optimizer="adam", schedule=SHORT, seed=4)
    assert a == b
    assert not np.array_equal(a.losses[:10], c.losses[:10])


def test_records_one_loss_per_step_at_the_schedule_rates(digits):
    schedule = LearningRateSearcher([Looper(1e-4, 1e-4, 3), Looper(1e-3, 1e-3, 2, 3e-3)])
    result = find_lr(small_net(), digits, optimizer="sgd", schedule=schedule)
    assert result.stop_reason == COMPLETED
    assert np.array_equal(result.lrs, schedule.steps())
    assert result.losses.shape == result.lrs.shape
    assert np.all(np.isfinite(result.losses))
    assert result.run_losses.shape == (1, len(schedule))


def test_divergence_stops_and_keeps_the_finite_prefix(digits):
    schedule = LearningRateSearcher.exponential(1e-4, 1e4, 200)
    result = find_lr(small_net(), digits, optimizer="sgd", schedule=schedule)
    assert result.stop_reason.startswith(("loss diverged", "loss became"))
    assert len(result.lrs) < len(schedule)
    assert np.all(np.isfinite(result.losses))
    assert np.array_equal(result.lrs, schedule.steps()[: len(result.lrs)])


def test_stop_factor_controls_how_far_it_goes(digits):
    schedule = LearningRateSearcher.exponential(1e-4, 1e4, 200)
    early = find_lr(small_net(), digits, schedule=schedule, stop_factor=1.5)
    late = find_lr(small_net(), digits, schedule=schedule, stop_factor=20)
    assert len(early.lrs) < len(late.lrs)


def test_nan_from_the_model_is_handled(digits):
    net = small_net()
    before = net.state_dict()
    wrapped = NaNAfter(net, after=25)
    result = find_lr(wrapped, digits, schedule=SHORT)
    assert len(result.lrs) == 25
    assert "nan" in result.stop_reason
    assert np.all(np.isfinite(result.losses))
    assert all(np.array_equal(before[k], net.params[k]) for k in before)


def test_a_protocol_only_user_model_works():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(500)
    model = LinearLeastSquares(3)
    result = find_lr(model, (x, y), schedule=LearningRateSearcher.exponential(1e-4, 10, 80))
    assert np.all(model.params["w"] == 0)  # restored
    assert result.losses[0] > result.losses.min()
    # plain SGD on least squares diverges above 2/L, L = the largest eigenvalue of 2 X^T X / n
    largest = np.linalg.eigvalsh(2 * x.T @ x / len(x)).max()
    assert result.lrs[-1] > 2 / largest * 0.5


def test_repeats_keep_every_run_and_the_median(digits):
    result = find_lr(small_net(), digits, optimizer="adam", schedule=SHORT, repeats=3)
    assert result.run_losses.shape[0] == 3 == len(result.stop_reasons)
    assert not np.array_equal(result.run_losses[0], result.run_losses[1])
    # after a run stopped (it diverged) it counts as worse than any loss
    stopped = np.isnan(result.run_losses)
    assert stopped.any() and not stopped.all(axis=0).any()
    median = np.median(np.where(stopped, np.inf, result.run_losses), axis=0)
    assert np.array_equal(result.losses, median)
    single = find_lr(small_net(), digits, optimizer="adam", schedule=SHORT)
    assert np.array_equal(single.losses, result.run_losses[0][: single.losses.size])


def test_the_median_diverges_where_most_runs_diverged_not_where_the_last_did():
    nan = np.nan
    runs = np.array(
        [
            [3.0, 2.0, 1.0, nan, nan, nan],  # diverged after step 2
            [3.0, 2.0, 1.0, 0.5, 0.4, 0.3],  # the survivor
            [3.0, 2.0, 1.0, 1.0, nan, nan],  # diverged after step 3
        ]
    )
    assert np.array_equal(median_over_runs(runs), [3.0, 2.0, 1.0, 1.0, np.inf, np.inf])
    # a gap inside a run is not a stop, and a single run is its own median
    runs[1, 1] = nan
    assert median_over_runs(runs)[1] == 2.0
    assert np.array_equal(median_over_runs(runs[1:2]), runs[1], equal_nan=True)


def test_validation_curve_every_k_steps(digits):
    result = find_lr(
        small_net(), digits, optimizer="adam", schedule=SHORT, val_data=digits, val_every=5
    )
    assert np.array_equal(result.val_steps, np.arange(0, len(result.lrs), 5))
    assert result.val_losses.shape == (1, result.val_steps.size)
    assert np.all(np.isfinite(result.val_losses[0][:3]))
    assert result.settings["val_size"] == min(512, len(digits.x_test))


def test_json_round_trip_is_exact(digits, tmp_path):
    result = find_lr(
        small_net(), digits, optimizer="momentum", schedule=SHORT, repeats=2, val_data=digits
    )
    path = result.to_json(tmp_path / "run.json")
    loaded = load_result(path)
    assert loaded == result
    assert loaded.suggest("auto") == result.suggest("auto")
    data = json.loads(path.read_text())
    assert {"lrs", "losses", "run_losses", "stop_reason", "settings", "suggestion"} <= set(data)


def test_load_result_reads_the_search_csv_with_runs(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("step,run,lr,loss\n0,0,0.1,3\n1,0,0.2,2\n0,1,0.1,5\n1,1,0.2,4\n2,1,0.3,1\n")
    result = load_result(path)
    assert result.lrs.tolist() == [0.1, 0.2, 0.3]
    assert result.n_runs == 2
    # run 0 stopped after step 1 (it diverged), so half the runs had diverged at step 2
    assert result.losses.tolist() == [4.0, 3.0, math.inf]
    assert np.isnan(result.run_losses[0, 2])  # the raw record is kept as it was
    headerless = tmp_path / "plain.csv"
    headerless.write_text("0.1,3\n0.2,2\n")
    assert load_result(headerless).losses.tolist() == [3.0, 2.0]


def test_load_result_reads_a_plain_lr_loss_csv(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("lr,loss\n0.001,2.3\n0.01,2.0\n0.1,1.5\n")
    result = load_result(path)
    assert result.lrs.tolist() == [0.001, 0.01, 0.1]
    assert result.losses.tolist() == [2.3, 2.0, 1.5]


@pytest.mark.parametrize(
    "content, suffix, words",
    [
        (None, ".json", "does not exist"),
        ("{not json", ".json", "not valid JSON"),
        ('{"schema": 1}', ".json", "has no 'lrs' field"),
        ('{"schema": 99}', ".json", "schema 99"),
        ("[1, 2]", ".json", "JSON object"),
        ("lr,loss\n0.1,abc\n", ".csv", "line 2 is not all numbers"),
        ("lr,loss\n0.1,1,2\n", ".csv", "line 2 has 3 columns, expected 2"),
        ("step,rate,value\n0,0.1,1\n", ".csv", "no 'lr' and 'loss' columns"),
        ("lr,loss\n-0.1,1\n", ".csv", "positive"),
        ("lr,loss\n", ".csv", "no lr,loss rows"),
    ],
)
def test_load_result_errors(tmp_path, content, suffix, words):
    path = tmp_path / f"bad{suffix}"
    if content is not None:
        path.write_text(content)
    with pytest.raises(LRFinderError, match=words) as info:
        load_result(path)
    assert "\n" not in str(info.value)


def test_result_is_frozen(digits):
    result = find_lr(small_net(), digits, schedule=SHORT)
    with pytest.raises(AttributeError):
        result.stop_reason = "x"
    with pytest.raises(ValueError):
        result.losses[0] = 0.0


def test_ctrl_c_restores_the_model_and_carries_the_partial_result(digits):
    net = small_net()
    before = net.state_dict()

    def interrupt(event):
        if event.step == 10:
            raise KeyboardInterrupt

    with pytest.raises(RangeTestInterrupted) as info:
        find_lr(net, digits, schedule=SHORT, callback=interrupt)
    partial = info.value.result
    assert isinstance(partial, RangeTestResult)
    assert partial.stop_reason.startswith("interrupted")
    assert 10 <= len(partial.lrs) <= 11
    assert all(np.array_equal(before[k], net.params[k]) for k in before)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(optimizer="nadam"), "unknown optimizer"),
        (dict(schedule=[0.1, 0.2]), "LearningRateSearcher"),
        (dict(batch_size=0), "batch_size must be an integer >= 1"),
        (dict(stop_factor=1.0), "stop_factor must be a finite number > 1"),
        (dict(repeats=0), "repeats must be an integer >= 1"),
        (dict(seed=-1), "seed must be an integer >= 0, got -1"),
        (dict(val_every=0), "val_every"),
    ],
)
def test_bad_settings(digits, kwargs, words):
    with pytest.raises(LRFinderError, match=words):
        find_lr(small_net(), digits, **kwargs)


def test_bad_model_and_data():
    with pytest.raises(LRFinderError, match="model protocol"):
        find_lr(object(), (np.zeros((4, 2)), np.zeros(4)))
    with pytest.raises(LRFinderError, match="pair"):
        find_lr(small_net(), np.zeros((4, 64)))


def test_optimizer_instance_with_custom_hyperparameters_is_used(digits):
    a = find_lr(small_net(), digits, optimizer=Adam(beta1=0.5), schedule=SHORT)
    b = find_lr(small_net(), digits, optimizer="adam", schedule=SHORT)
    assert a.settings["optimizer_hyperparameters"]["beta1"] == 0.5
    assert not np.array_equal(a.losses[:20], b.losses[:20])


def test_the_optimizer_cold_start_gain_is_recorded_and_read(digits):
    plain = find_lr(small_net(), digits, optimizer="rmsprop", schedule=SHORT)
    assert plain.settings["cold_start_gain"] == pytest.approx(10.0)
    assert find_lr(small_net(), digits, schedule=SHORT).settings["cold_start_gain"] == 1.0

    class Jumpy(SGD):  # a user's optimizer whose name the library does not know
        name = "jumpy"
        cold_start_gain = 1000.0

    result = find_lr(small_net(), digits, optimizer=Jumpy(), schedule=SHORT)
    assert result.settings["cold_start_gain"] == 1000.0
    assert result.analysis.suggestion == result.suggest(cold_start_gain=1000.0)
    assert result.suggestion < result.suggest(cold_start_gain=1.0).lr


def test_public_names_all_resolve():
    import lrfinder

    for name in lrfinder.__all__:
        assert getattr(lrfinder, name) is not None
    assert set(lrfinder.__all__) == set(lrfinder._EXPORTS)
    with pytest.raises(AttributeError):
        lrfinder.not_a_name  # noqa: B018


def test_default_test_is_extended_when_it_sees_no_learning():
    from lrfinder.rangetest import DEFAULT_NUM, EXTEND_FACTOR

    data = (np.zeros((100, 2)), np.linspace(0.0, 1.0, 100))
    result = find_lr(LearnsNothing(), data)
    assert len(result.lrs) == DEFAULT_NUM * EXTEND_FACTOR
    assert "saw no learning" in result.settings["extended"]
    assert result.suggestion is None and result.analysis.status == "flat"

    plain = find_lr(LearnsNothing(), data, extend=False)
    assert len(plain.lrs) == DEFAULT_NUM and "extended" not in plain.settings
    # an explicit schedule is the user's choice and is never extended
    explicit = find_lr(LearnsNothing(), data, schedule=SHORT)
    assert len(explicit.lrs) == len(SHORT) and "extended" not in explicit.settings


def test_a_slow_learner_too_noisy_per_batch_is_read_on_a_fixed_training_subset():
    from lrfinder.rangetest import EXTEND_VAL_EVERY

    # SGD on the double arc: the default test's per-batch losses show no learning
    data = load_dataset("double-arc", seed=0)
    net = TwoLayerNet.for_dataset(data, n_hidden=128, seed=2)
    result = find_lr(net, data, optimizer="sgd", seed=0)
    assert result.slow_learner and "fixed subset of 512 training rows" in result.note
    assert np.all(np.diff(result.val_steps) == EXTEND_VAL_EVERY)
    # the same longer test, read on its per-batch losses, still sees nothing ...
    assert result.suggest(use_validation=False).status == "no_learning"
    # ... while the fixed subset shows the fall, so there is an answer
    assert result.suggestion is not None and result.analysis.validation
    # with held-out data of the caller's, the default test reads that curve, at the
    # caller's interval, and it already shows the fall: no extension is needed
    held_out = (data.x_test, data.y_test)
    own = find_lr(net, data, optimizer="sgd", seed=0, val_data=held_out, val_every=7)
    assert not own.slow_learner and own.suggestion is not None
    assert np.all(np.diff(own.val_steps) == 7)


def test_a_learning_curve_is_not_extended(digits):
    result = find_lr(small_net(), digits, optimizer="adam")
    assert "extended" not in result.settings
    assert result.suggestion is not None


# -- the divergence stop: noise never ends the test, a blow-up does within a few steps --


def wiggly_curve(n=300, seed=0):
    """A 1-D regression: a few wiggles that die away, plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n, 1))
    y = np.sin(3 * np.pi * x) * np.exp(-4 * x**2) + 0.05 * rng.standard_normal((n, 1))
    return x, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_batch_noise_is_not_taken_for_divergence(seed):
    # A slow learner at batch 10: its per-batch MSE is noisy and right-skewed. The old
    # rule (the 5-median above 4x its lowest value) stopped this at lr 3e-4..6e-3: a lucky
    # low early on, and ordinary noise later rose above four times it.
    x, y = wiggly_curve()
    epochs = 5 * len(x) // 10  # each rate held for 5 epochs
    schedule = LearningRateSearcher()
    for decade in (1e-4, 1e-3, 1e-2, 1e-1):
        schedule.add(Looper(decade, decade, epochs, 9 * decade))
    schedule.add(Looper(1.0, 1.0, epochs, 3.0))
    net = TwoLayerNet(1, 16, 1, activation="sigmoid", loss="mse", seed=seed)
    result = find_lr(net, (x, y), schedule=schedule, batch_size=10, seed=seed)
    assert result.lrs[-1] > 0.1, result.stop_reason
    # and it does stop: SGD on this network blows up below lr 3
    assert result.stop_reason.startswith(("loss diverged", "loss became"))


class Replay:
    """A protocol model whose loss at call k is ``losses[k]``; its gradients are zero."""

    def __init__(self, losses):
        self.losses, self.calls = np.asarray(losses, dtype=float), 0
        self.params = {"w": np.zeros(1)}

    def loss_and_grads(self, x, y):
        loss = self.losses[self.calls]
        self.calls += 1
        return loss, {"w": np.zeros(1)}


def run_replay(losses, **kwargs):
    data = (np.zeros((20, 1)), np.linspace(0.0, 1.0, 20))
    schedule = LearningRateSearcher([Looper(1e-3, 1e-3, len(losses), 1e-3)])
    return find_lr(Replay(losses), data, schedule=schedule, **kwargs)


NOISE = {
    "gaussian": lambda rng, n: 1.0 + 0.3 * rng.standard_normal(n),
    "student-t(3)": lambda rng, n: 1.0 + 0.2 * rng.standard_t(3, n),
    # the MSE of a batch of 4 unit-normal errors: skewed, often 1/3 or 3 times its mean
    "chi-square(4)": lambda rng, n: rng.chisquare(4, n) / 4,
    # multiplicative noise: a batch's loss often 0.6 or 1.6 times the typical one
    "log-normal(0.5)": lambda rng, n: rng.lognormal(0.0, 0.5, n),
}


@pytest.mark.parametrize("kind", sorted(NOISE))
def test_pure_noise_never_stops_the_test(kind):
    losses = NOISE[kind](np.random.default_rng(0), 20_000)
    result = run_replay(losses)
    assert result.stop_reason == COMPLETED
    assert len(result.lrs) == len(losses)


@pytest.mark.parametrize("kind", sorted(NOISE))
@pytest.mark.parametrize("growth, within", [(10.0, 3), (2.0, 6), (1.2, 20)])
def test_a_blow_up_still_stops_within_a_few_steps(kind, growth, within):
    start = 3000  # the loss is noise around 1 up to here, then climbs by `growth` a step
    rng = np.random.default_rng(1)
    noise = NOISE[kind](rng, start + 200)
    climb = growth ** np.clip(np.arange(noise.size) - start + 1.0, 0, 200)
    result = run_replay(noise * climb)
    assert result.stop_reason.startswith("loss diverged"), result.stop_reason
    # a 5-median needs three bad steps to move, so `start + 2` is the earliest stop
    assert start + 2 <= len(result.lrs) - 1 <= start + within


def test_a_jump_to_a_noisy_plateau_stops_at_once():
    # the diverged stretch is far noisier than the loss was before it; the noise is read
    # NOISE_LAG steps behind and held once the loss is above the stop-factor line, so the
    # plateau's own noise cannot hide it
    rng = np.random.default_rng(2)
    losses = 1.0 + 0.05 * rng.standard_normal(2000)
    losses[1000:] = 50.0 * rng.chisquare(2, 1000) / 2
    result = run_replay(losses)
    assert result.stop_reason.startswith("loss diverged")
    assert len(result.lrs) - 1 <= 1000 + 4


def test_a_noiseless_loss_stops_on_the_stop_factor_alone():
    # no noise at all: the rule is the stop factor, as before
    below = np.r_[np.ones(100), np.full(20, 3.9)]
    assert run_replay(below).stop_reason == COMPLETED
    above = np.r_[np.ones(100), np.full(20, 4.1)]
    for losses, factor in ((above, 4.0), (below, 3.0)):
        result = run_replay(losses, stop_factor=factor)
        assert result.stop_reason.startswith("loss diverged")
        assert len(result.lrs) == 103  # the third step above


def test_labels_beyond_the_models_outputs_are_named_at_the_start(digits):
    with pytest.raises(LRFinderError, match=r"n_out=3 outputs.*up to 9.*n_out=10"):
        find_lr(TwoLayerNet(64, 8, 3), digits, schedule=SHORT)


class _WrongKeys:
    """A user model whose gradients are keyed in lower case."""

    def __init__(self, shape_bug=False):
        self.net = TwoLayerNet(64, 8, 10, seed=0)
        self.params = self.net.params
        self.shape_bug = shape_bug

    def loss_and_grads(self, x, y):
        loss, grads = self.net.loss_and_grads(x, y)
        if self.shape_bug:
            return loss, {**grads, "b1": grads["b1"][:-1]}
        return loss, {key.lower(): value for key, value in grads.items()}


def test_gradients_with_the_wrong_keys_or_shapes_are_named_at_the_first_step(digits):
    with pytest.raises(LRFinderError, match=r"_WrongKeys.loss_and_grads.*missing 'W1'.*'w1'"):
        find_lr(_WrongKeys(), digits, schedule=SHORT)
    with pytest.raises(LRFinderError, match=r"shape \(7,\) for 'b1'.*shape \(8,\)"):
        find_lr(_WrongKeys(shape_bug=True), digits, schedule=SHORT)


class _Linear:
    """A protocol model of a fixed input width, and a flag to fail at its third call."""

    def __init__(self, width: int, fail_at: int | None = None):
        self.params = {"W": np.zeros((width, 10), dtype=np.float32)}
        self.calls, self.fail_at = 0, fail_at

    def loss_and_grads(self, x, y):
        self.calls += 1
        if self.calls == self.fail_at:
            raise ValueError("the model's own bug")
        z = x @ self.params["W"]
        return float((z**2).mean()), {"W": x.T @ z / len(x)}


def test_data_the_model_cannot_take_fails_at_the_first_batch_in_one_line(digits):
    model = _Linear(60)  # digits rows have 64 features
    before = model.params["W"].copy()
    with pytest.raises(LRFinderError, match=r"first batch failed in _Linear.loss_and_grads") as err:
        find_lr(model, digits, schedule=SHORT)
    assert "x with shape (64, 64)" in str(err.value)
    assert isinstance(err.value.__cause__, ValueError)  # NumPy's own message is kept
    np.testing.assert_array_equal(model.params["W"], before)
    with pytest.raises(ValueError, match="the model's own bug") as err:  # later: as it is
        find_lr(_Linear(64, fail_at=3), digits, schedule=SHORT)
    assert type(err.value) is ValueError


def test_per_epoch_holds_each_rate_for_whole_epochs_and_reads_the_loss_after_each():
    from lrfinder.schedules import Looper

    data = load_dataset("double-arc")
    schedule = LearningRateSearcher([Looper(1e-3, 1e-3, 2, 3e-3)])  # 3 rates, 2 epochs each
    result = find_lr(TwoLayerNet.for_dataset(data, 8), data, schedule=schedule, per="epoch")
    epoch = len(data.x_train) // 64
    assert result.lrs.size == 6 * epoch
    np.testing.assert_array_equal(result.lrs, np.repeat([1e-3, 2e-3, 3e-3], 2 * epoch))
    np.testing.assert_array_equal(result.val_steps, np.arange(epoch - 1, 6 * epoch, epoch))
    assert result.settings["per"] == "epoch" and result.settings["val_every"] == epoch
    assert result.settings["val_size"] == len(data.x_train)  # all the training rows
    model = TwoLayerNet.for_dataset(data, 8)
    loss_at_start = model.evaluate(data.x_train, data.y_train)[0]
    assert result.val_losses[0, 0] < loss_at_start  # read after the first epoch's steps


def test_per_is_checked_and_per_epoch_refuses_a_schedule_too_long():
    with pytest.raises(LRFinderError, match="per must be one of 'step', 'epoch'"):
        find_lr(small_net(), load_dataset("digits"), schedule=SHORT, per="batch")
    with pytest.raises(LRFinderError, match="per='epoch' makes"):
        long = LearningRateSearcher.exponential(1e-5, 1, 1000)  # x 1437 batches of one row
        find_lr(small_net(), load_dataset("digits"), schedule=long, per="epoch", batch_size=1)


def test_zoom_sweeps_the_first_runs_band_linearly_from_the_same_weights(digits):
    from lrfinder.rangetest import zoom_schedule

    net = TwoLayerNet.for_dataset(digits, 32, seed=0)
    first = find_lr(net, digits, optimizer="adam")
    band = first.analysis.suggestion.band
    rates = zoom_schedule(first).steps()
    assert rates[0] == pytest.approx(band[0]) and rates[-1] >= band[1]
    np.testing.assert_allclose(np.diff(rates), np.diff(rates)[0])  # linear
    again = find_lr(net, digits, optimizer="adam", zoom=first)
    assert again.lrs[0] == pytest.approx(band[0])
    assert again.suggestion is not None and band[0] <= again.suggestion <= rates[-1]
    with pytest.raises(LRFinderError, match="schedule or zoom"):
        find_lr(net, digits, zoom=first, schedule=SHORT)


def test_zoom_needs_a_run_with_an_answer(digits):
    flat = RangeTestResult.from_curve(np.geomspace(1e-6, 1e-5, 50), np.full(50, 2.3))
    with pytest.raises(LRFinderError, match="no suggestion"):
        find_lr(small_net(), digits, zoom=flat)


def test_repeats_as_jobs_give_the_same_bits_for_any_n_jobs_and_leave_the_model(digits):
    net = TwoLayerNet.for_dataset(digits, 16, seed=0)
    before = net.state_dict()
    serial = find_lr(net, digits, optimizer="adam", schedule=SHORT, repeats=3, n_jobs=1)
    parallel = find_lr(net, digits, optimizer="adam", schedule=SHORT, repeats=3, n_jobs=2)
    assert serial == parallel
    assert serial.n_runs == 3 and len(set(map(tuple, np.nan_to_num(serial.run_losses)))) == 3
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_repeats_as_jobs_give_the_same_bits_on_data_the_workers_open_as_a_map(digits, monkeypatch):
    from lrfinder import parallel

    monkeypatch.setattr(parallel, "SHARE_BYTES", 0)  # digits is small: map it all the same
    maps = []
    share = parallel.JobRunner.share
    monkeypatch.setattr(
        parallel.JobRunner, "share", lambda runner, a: maps.append(share(runner, a)) or maps[-1]
    )
    net = TwoLayerNet.for_dataset(digits, 16, seed=0)
    serial = find_lr(net, digits, optimizer="adam", schedule=SHORT, repeats=2, n_jobs=1)
    assert not any(isinstance(m, np.memmap) for m in maps)  # in this process: as they are
    maps.clear()
    mapped = find_lr(net, digits, optimizer="adam", schedule=SHORT, repeats=2, n_jobs=2)
    assert maps and all(isinstance(m, np.memmap) for m in maps)
    assert mapped == serial


def test_repeats_on_a_dask_cluster_give_the_same_bits(digits):
    distributed = pytest.importorskip("dask.distributed")
    from joblib import parallel_config

    net = TwoLayerNet.for_dataset(digits, 16, seed=0)
    expected = find_lr(net, digits, schedule=SHORT, repeats=2, n_jobs=1)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    with cluster, distributed.Client(cluster), parallel_config("dask"):
        on_dask = find_lr(net, digits, schedule=SHORT, repeats=2, n_jobs=-1)
    assert on_dask == expected


def test_ctrl_c_during_repeats_as_jobs_keeps_the_runs_that_finished(digits, monkeypatch):
    net = TwoLayerNet.for_dataset(digits, 16, seed=0)
    calls = {"n": 0}
    original = TwoLayerNet.loss_and_grads

    def loss_and_grads(self, x, y):
        calls["n"] += 1
        if calls["n"] == len(SHORT) + 10:  # ten steps into the second run
            raise KeyboardInterrupt
        return original(self, x, y)

    monkeypatch.setattr(TwoLayerNet, "loss_and_grads", loss_and_grads)
    with pytest.raises(RangeTestInterrupted) as info:
        find_lr(net, digits, schedule=SHORT, repeats=3, n_jobs=1)
    partial = info.value.result
    assert partial.n_runs == 2  # the first run, and the second up to Ctrl-C
    assert partial.stop_reasons[1].startswith("interrupted")
