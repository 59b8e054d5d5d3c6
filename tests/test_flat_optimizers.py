"""The one-pass-over-all-weights path of the optimizers against the per-parameter path.

TwoLayerNet keeps its parameters and gradients in one flat buffer each, and the
optimizers then update all weights in one pass per operation. A user model with
separate arrays takes the per-parameter path. The two must agree bit for bit,
step after step, and the flat path's state must save, restore, reset and copy
exactly as the per-parameter state does.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from lrfinder import LearningRateSearcher, TwoLayerNet, find_lr, load_dataset
from lrfinder.flat import flat_buffer, flat_views
from lrfinder.optimizers import OPTIMIZERS, get_optimizer

#: A rate per optimizer that moves the weights visibly without blowing up in 12 steps.
RATE = {"sgd": 0.1, "momentum": 0.05, "adagrad": 0.05, "rmsprop": 3e-3, "adadelta": 1.0,
        "adam": 3e-3}  # fmt: skip
STEPS = 12


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(params=sorted(OPTIMIZERS))
def name(request):
    return request.param


class SeparateArrays:
    """A protocol-only model: TwoLayerNet's maths on separate arrays (the fallback path)."""

    def __init__(self, net: TwoLayerNet):
        self.net = net
        net.params = {k: v.copy() for k, v in net.params.items()}  # detached from the buffer
        self.params = net.params

    def loss_and_grads(self, x, y):
        loss, grads = self.net.loss_and_grads(x, y)
        return loss, {k: v.copy() for k, v in grads.items()}


def on_flat_path(opt) -> bool:
    """Whether the optimizer's state arrays are views into flat buffers."""
    first = next(iter(opt.slots), None)
    return first is not None and flat_buffer(s[first] for s in opt.state.values()) is not None


def batches(data, steps, batch=32, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        idx = rng.choice(len(data.x_train), batch, replace=False)
        yield data.x_train[idx].astype(np.float32) * np.float32(data.x_scale), data.y_train[idx]


def train(model, opt, data, steps=STEPS, lr=None, seed=0):
    """``steps`` steps at slowly rising rates; returns a copy of the params after each."""
    history = []
    for i, (xb, yb) in enumerate(batches(data, steps, seed=seed)):
        _, grads = model.loss_and_grads(xb, yb)
        rate = (lr or RATE[opt.name]) * (1 + i) / steps
        opt.step(model.params, grads, np.float64(rate))
        history.append({k: v.copy() for k, v in model.params.items()})
    return history


def assert_same_params(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype
        assert np.array_equal(a[key], b[key]), key


def assert_same_state(a: dict, b: dict) -> None:
    assert a["t"] == b["t"]
    assert a["state"].keys() == b["state"].keys()
    for key, slots in a["state"].items():
        assert slots.keys() == b["state"][key].keys()
        for slot, value in slots.items():
            assert value.tobytes() == b["state"][key][slot].tobytes(), (key, slot)


# -- the layout -----------------------------------------------------------------


def test_network_params_and_grads_are_views_of_one_buffer_each():
    net = TwoLayerNet(5, 4, 3)
    assert flat_buffer(net.params.values()) is net.flat_params
    _, grads = net.loss_and_grads(np.ones((2, 5), np.float32), np.array([0, 2]))
    assert flat_buffer(grads.values()) is net.flat_grads
    assert net.flat_params.size == 5 * 4 + 4 + 4 * 3 + 3
    net.flat_params[:] = 0.0  # the buffer is the weights
    assert all(not v.any() for v in net.params.values())


def test_flat_buffer_rejects_anything_but_an_exact_tiling():
    buf = np.arange(10.0)
    views = flat_views(buf, {"a": (2, 3), "b": (4,)})
    assert flat_buffer(views.values()) is buf
    assert flat_buffer([views["b"], views["a"]]) is None  # out of order
    assert flat_buffer([views["a"]]) is None  # leaves a gap at the end
    assert flat_buffer([buf[:6].reshape(3, 2).T, views["b"]]) is None  # not C-contiguous
    assert flat_buffer([views["a"].copy(), views["b"]]) is None  # not a view
    assert flat_buffer([]) is None
    with pytest.raises(ValueError, match="buffer"):
        flat_views(buf, {"a": (3,)})


def test_the_network_takes_the_flat_path_and_a_separate_arrays_model_does_not(digits, name):
    flat_opt, other_opt = get_optimizer(name), get_optimizer(name)
    train(TwoLayerNet(64, 16, 10), flat_opt, digits, steps=2)
    train(SeparateArrays(TwoLayerNet(64, 16, 10)), other_opt, digits, steps=2)
    if name != "sgd":  # SGD has no state to be flat
        assert on_flat_path(flat_opt)
    assert not on_flat_path(other_opt)


# -- bit-identical updates -------------------------------------------------------


def test_flat_and_per_parameter_updates_are_bit_identical(digits, name):
    flat_net, other_net = TwoLayerNet(64, 16, 10, seed=3), TwoLayerNet(64, 16, 10, seed=3)
    other = SeparateArrays(other_net)
    flat_opt, other_opt = get_optimizer(name), get_optimizer(name)
    flat_history = train(flat_net, flat_opt, digits)
    other_history = train(other, other_opt, digits)
    for step, (a, b) in enumerate(zip(flat_history, other_history, strict=True)):
        assert_same_params(a, b)
        assert step == 0 or not np.array_equal(a["W1"], flat_history[0]["W1"])
    assert_same_state(flat_opt.state_dict(), other_opt.state_dict())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bit_identical_on_any_flat_layout(name, dtype):
    # not only the network's: any params tiling a buffer, gradients of every size
    shapes = {"w": (7, 5), "tiny": (1,), "v": (33,)}
    rng = np.random.default_rng(0)
    start = rng.standard_normal(7 * 5 + 1 + 33).astype(dtype)
    flat_params = flat_views(start.copy(), shapes)
    separate = {k: v.copy() for k, v in flat_views(start.copy(), shapes).items()}
    flat_opt, other_opt = get_optimizer(name), get_optimizer(name)
    grad_buf = np.empty_like(start)
    flat_grads = flat_views(grad_buf, shapes)
    for step in range(20):
        grad_buf[:] = rng.standard_normal(grad_buf.size) * 10.0 ** rng.integers(-3, 3)
        flat_opt.step(flat_params, flat_grads, 0.01 * (step + 1))
        other_opt.step(separate, {k: v.copy() for k, v in flat_grads.items()}, 0.01 * (step + 1))
        assert_same_params(flat_params, separate)
    assert name == "sgd" or on_flat_path(flat_opt)
    assert_same_state(flat_opt.state_dict(), other_opt.state_dict())


# -- state: save, restore, reset, clone, copy --------------------------------------


def test_state_dict_keeps_its_per_parameter_format(digits, name):
    opt = get_optimizer(name)
    net = TwoLayerNet(64, 16, 10)
    train(net, opt, digits, steps=3)
    saved = opt.state_dict()
    assert set(saved["state"]) == {"W1", "b1", "W2", "b2"}
    for key, slots in saved["state"].items():
        assert set(slots) == set(opt.slots)
        for value in slots.values():
            assert value.shape == net.params[key].shape and value.base is None  # a copy


def test_flat_state_restores_exactly_into_a_new_or_the_same_optimizer(digits, name):
    net = TwoLayerNet(64, 16, 10)
    opt = get_optimizer(name)
    train(net, opt, digits, steps=5)
    saved_params, saved_state = net.state_dict(), opt.state_dict()
    expected = train(net, opt, digits, steps=5, seed=1)[-1]

    for target in (get_optimizer(name), opt):  # a fresh instance, and the one that moved on
        net.load_state_dict(saved_params)
        target.load_state_dict(saved_state)
        assert_same_params(train(net, target, digits, steps=5, seed=1)[-1], expected)
        assert name == "sgd" or on_flat_path(target)


def test_state_moves_between_the_paths_bitwise(digits, name):
    # saved on the flat path, continued on the per-parameter path, and back
    net = TwoLayerNet(64, 16, 10)
    opt = get_optimizer(name)
    train(net, opt, digits, steps=4)
    saved_params, saved_state = net.state_dict(), opt.state_dict()
    expected = train(net, opt, digits, steps=4, seed=1)

    other = SeparateArrays(TwoLayerNet(64, 16, 10))
    other.net.load_state_dict(saved_params)
    per_param = get_optimizer(name)
    per_param.load_state_dict(saved_state)
    got = train(other, per_param, digits, steps=4, seed=1)
    for a, b in zip(got, expected, strict=True):
        assert_same_params(a, b)

    back = get_optimizer(name)
    back.load_state_dict(per_param.state_dict())
    net.load_state_dict(other.net.state_dict())
    assert_same_params(
        train(net, back, digits, steps=2, seed=2)[-1],
        train(other, per_param, digits, steps=2, seed=2)[-1],
    )


def test_reset_and_clone_start_from_scratch_and_share_nothing(digits, name):
    fresh = train(TwoLayerNet(64, 16, 10), get_optimizer(name), digits, steps=4)[-1]
    opt = get_optimizer(name)
    train(TwoLayerNet(64, 16, 10), opt, digits, steps=3)
    before = opt.state_dict()

    clone = opt.clone()
    assert clone.t == 0 and clone.state == {}
    assert_same_params(train(TwoLayerNet(64, 16, 10), clone, digits, steps=4)[-1], fresh)
    assert_same_state(opt.state_dict(), before)  # the clone's steps did not touch opt's state

    opt.reset()
    assert opt.t == 0 and opt.state == {}
    assert_same_params(train(TwoLayerNet(64, 16, 10), opt, digits, steps=4)[-1], fresh)


@pytest.mark.parametrize(
    "duplicate",
    [
        copy.deepcopy,
        lambda obj: pickle.loads(pickle.dumps(obj)),
        # protocol 5, as cloudpickle and joblib's workers use: an array it rebuilds does
        # not own its memory, so views of it must not be taken as they come
        lambda obj: pickle.loads(pickle.dumps(obj, protocol=5)),
    ],
    ids=["deepcopy", "pickle", "pickle5"],
)
def test_copies_of_network_and_optimizer_keep_the_layout_and_share_nothing(digits, name, duplicate):
    net, opt = TwoLayerNet(64, 16, 10), get_optimizer(name)
    train(net, opt, digits, steps=3)
    net2, opt2 = duplicate(net), duplicate(opt)
    assert flat_buffer(net2.params.values()) is net2.flat_params
    assert not np.shares_memory(net2.flat_params, net.flat_params)
    assert_same_params(net2.params, net.params)
    assert_same_state(opt2.state_dict(), opt.state_dict())

    expected = train(net, opt, digits, steps=3, seed=1)[-1]
    assert_same_params(train(net2, opt2, digits, steps=3, seed=1)[-1], expected)
    assert name == "sgd" or on_flat_path(opt2)


def test_a_detached_key_survives_a_copy_and_falls_back_to_the_per_parameter_path(digits):
    net = TwoLayerNet(64, 16, 10)
    net.params["W2"] = net.params["W2"].copy()
    net.params["W2"][0, 0] = 42.0
    net2 = copy.deepcopy(net)
    assert net2.params["W2"][0, 0] == 42.0
    opt = get_optimizer("adam")
    train(net2, opt, digits, steps=2)
    assert not on_flat_path(opt)


# -- the range test --------------------------------------------------------------


def test_range_test_restores_flat_state_bitwise_and_training_continues_identically(digits, name):
    schedule = LearningRateSearcher.exponential(1e-5, 1.0, 40)
    net, opt = TwoLayerNet(64, 16, 10), get_optimizer(name)
    train(net, opt, digits, steps=3)
    params_before, state_before = net.state_dict(), opt.state_dict()
    twin_net, twin_opt = copy.deepcopy(net), copy.deepcopy(opt)

    find_lr(net, digits, optimizer=opt, schedule=schedule)

    assert flat_buffer(net.params.values()) is net.flat_params
    assert_same_params(net.params, params_before)
    assert_same_state(opt.state_dict(), state_before)
    assert_same_params(
        train(net, opt, digits, steps=3, seed=5)[-1],
        train(twin_net, twin_opt, digits, steps=3, seed=5)[-1],
    )


def test_range_test_curves_agree_on_both_paths(digits, name):
    schedule = LearningRateSearcher.exponential(1e-5, 1.0, 40)
    a = find_lr(TwoLayerNet(64, 16, 10), digits, optimizer=name, schedule=schedule)
    b = find_lr(SeparateArrays(TwoLayerNet(64, 16, 10)), digits, optimizer=name, schedule=schedule)
    assert np.array_equal(a.losses, b.losses, equal_nan=True)


def test_new_views_of_the_same_buffers_keep_the_flat_state(name):
    # a model may hand out fresh view objects each step: the state must not be rebuilt
    shapes = {"w": (4, 3), "b": (3,)}
    flat_p, flat_g = np.linspace(-1, 1, 15).astype(np.float32), np.empty(15, np.float32)
    separate = {k: v.copy() for k, v in flat_views(flat_p.copy(), shapes).items()}
    flat_opt, other_opt = get_optimizer(name), get_optimizer(name)
    rng = np.random.default_rng(1)
    first_state = None
    for _ in range(6):
        flat_g[:] = rng.standard_normal(15)
        flat_opt.step(flat_views(flat_p, shapes), flat_views(flat_g, shapes), 0.05)
        other_opt.step(separate, {k: v.copy() for k, v in flat_views(flat_g, shapes).items()}, 0.05)
        first_state = flat_opt.state if first_state is None else first_state
        assert flat_opt.state is first_state  # not rebuilt (copied) at every step
        assert_same_params(flat_views(flat_p, shapes), separate)
    assert name == "sgd" or on_flat_path(flat_opt)
    assert_same_state(flat_opt.state_dict(), other_opt.state_dict())


def test_an_update_that_is_not_elementwise_keeps_the_per_parameter_path(digits):
    class NormalisedSGD(OPTIMIZERS["sgd"]):
        """Each parameter's step scaled to unit norm: not element-wise."""

        name = "normalised-sgd"
        elementwise = False

        def _update(self, p, g, s, work, lr):
            p -= lr * g / max(float(np.linalg.norm(g)), 1e-12)

    flat, other = TwoLayerNet(64, 16, 10), SeparateArrays(TwoLayerNet(64, 16, 10))
    history = train(flat, NormalisedSGD(), digits, steps=3, lr=0.1)
    for a, b in zip(history, train(other, NormalisedSGD(), digits, steps=3, lr=0.1), strict=True):
        assert_same_params(a, b)


def test_a_network_pickled_before_the_flat_buffers_loads_into_them():
    net = TwoLayerNet(5, 4, 3, seed=2)
    old_style = {k: v for k, v in net.__dict__.items() if k not in ("flat_params", "flat_grads")}
    old_style["params"] = {k: v.copy() for k, v in net.params.items()}
    del old_style["_shapes"], old_style["_grads"]
    revived = TwoLayerNet.__new__(TwoLayerNet)
    revived.__setstate__(old_style)
    assert flat_buffer(revived.params.values()) is revived.flat_params
    assert_same_params(revived.params, net.params)
    x, y = np.ones((2, 5), np.float32), np.array([0, 2])
    assert revived.loss_and_grads(x, y)[0] == net.loss_and_grads(x, y)[0]
