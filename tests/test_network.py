import numpy as np
import pytest

from lrfinder import TwoLayerNet
from lrfinder.errors import LRFinderError
from lrfinder.network import ACTIVATIONS

CASES = [("cross_entropy", 4), ("binary_cross_entropy", 1), ("mse", 3)]


def make_batch(loss, n_out, rng, batch=6, n_in=5):
    x = rng.standard_normal((batch, n_in))
    if loss == "cross_entropy":
        y = rng.integers(0, n_out, batch)
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, batch)
    else:
        y = rng.standard_normal((batch, n_out))
    return x, y


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss, n_out", CASES)
def test_gradients_match_finite_differences(activation, loss, n_out):
    rng = np.random.default_rng(3)
    net = TwoLayerNet(5, 7, n_out, activation=activation, loss=loss, seed=1, dtype=np.float64)
    # move off the initial zeros so the biases matter too
    for value in net.params.values():
        value += 0.1 * rng.standard_normal(value.shape)
    x, y = make_batch(loss, n_out, rng)
    _, grads = net.loss_and_grads(x, y)
    grads = {k: v.copy() for k, v in grads.items()}
    h = 1e-6
    for key, param in net.params.items():
        numeric = np.zeros_like(param)
        for index in np.ndindex(param.shape):
            old = param[index]
            param[index] = old + h
            up, _ = net.loss_and_grads(x, y)
            param[index] = old - h
            down, _ = net.loss_and_grads(x, y)
            param[index] = old
            numeric[index] = (up - down) / (2 * h)
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-5, atol=1e-8, err_msg=key)


def test_cross_entropy_value_is_the_textbook_one():
    net = TwoLayerNet(3, 4, 3, dtype=np.float64)
    x = np.array([[0.2, -0.1, 0.4], [1.0, 0.5, -0.3]])
    y = np.array([2, 0])
    logits = net.forward(x)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = -np.mean(np.log(p[[0, 1], y]))
    loss, _ = net.loss_and_grads(x, y)
    assert loss == pytest.approx(expected, rel=1e-12)


def test_binary_cross_entropy_stays_finite_for_huge_logits():
    net = TwoLayerNet(2, 3, 1, dtype=np.float64)
    net.params["b2"][:] = 1e4
    loss, grads = net.loss_and_grads(np.zeros((2, 2)), np.array([0, 1]))
    assert np.isfinite(loss) and loss == pytest.approx(5e3)
    assert all(np.all(np.isfinite(g)) for g in grads.values())


def test_initialisation_is_seeded_he_or_xavier():
    a, b = TwoLayerNet(784, 128, 10, seed=5), TwoLayerNet(784, 128, 10, seed=5)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], TwoLayerNet(784, 128, 10, seed=6).params["W1"])
    assert a.params["W1"].std() == pytest.approx(np.sqrt(2 / 784), rel=0.02)
    tanh = TwoLayerNet(784, 128, 10, activation="tanh")
    assert tanh.params["W1"].std() == pytest.approx(np.sqrt(2 / (784 + 128)), rel=0.02)
    assert np.all(a.params["b1"] == 0) and a.params["W1"].dtype == np.float32


def test_float32_throughout_and_grads_match_param_shapes():
    net = TwoLayerNet(8, 5, 3)
    x = np.random.default_rng(0).random((4, 8), dtype=np.float32)
    loss, grads = net.loss_and_grads(x, np.array([0, 1, 2, 1]))
    assert isinstance(loss, float)
    for key, value in net.params.items():
        assert grads[key].shape == value.shape and grads[key].dtype == np.float32


def test_predict_and_evaluate():
    rng = np.random.default_rng(0)
    net = TwoLayerNet(4, 6, 3)
    x = rng.random((10, 4), dtype=np.float32)
    y = net.predict(x)
    loss, accuracy = net.evaluate(x, y)
    assert accuracy == 1.0 and loss > 0
    reg = TwoLayerNet(4, 6, 2, loss="mse")
    out = reg.predict(x)
    assert out.shape == (10, 2)
    loss, accuracy = reg.evaluate(x, out)
    assert accuracy is None and loss == pytest.approx(0, abs=1e-10)


def test_evaluate_scales_uint8_chunks():
    rng = np.random.default_rng(0)
    net = TwoLayerNet(4, 6, 3)
    raw = rng.integers(0, 256, (5000, 4)).astype(np.uint8)
    y = rng.integers(0, 3, 5000)
    loss_u8, acc_u8 = net.evaluate(raw, y, x_scale=1 / 255)
    loss_f, acc_f = net.evaluate(raw.astype(np.float32) / 255, y)
    assert acc_u8 == acc_f and loss_u8 == pytest.approx(loss_f, rel=1e-5)


def test_state_dict_round_trip_is_in_place():
    net = TwoLayerNet(4, 6, 3)
    saved = net.state_dict()
    w1 = net.params["W1"]
    w1 += 1.0
    net.load_state_dict(saved)
    assert net.params["W1"] is w1
    assert np.array_equal(w1, saved["W1"])


def test_reinitialize_redraws_in_place():
    net = TwoLayerNet(4, 6, 3, seed=0)
    w1 = net.params["W1"]
    net.reinitialize(9)
    assert net.params["W1"] is w1
    assert np.array_equal(w1, TwoLayerNet(4, 6, 3, seed=9).params["W1"])


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(n_in=0, n_hidden=4, n_out=3), "n_in must be an integer >= 1"),
        (dict(n_in=4, n_hidden=0, n_out=3), "n_hidden"),
        (dict(n_in=4, n_hidden=4, n_out=3, activation="gelu"), "unknown activation 'gelu'"),
        (dict(n_in=4, n_hidden=4, n_out=3, loss="hinge"), "unknown loss 'hinge'"),
        (dict(n_in=4, n_hidden=4, n_out=3, loss="binary_cross_entropy"), "needs n_out=1"),
        (dict(n_in=4, n_hidden=4, n_out=1, loss="cross_entropy"), "n_out >= 2"),
        (dict(n_in=4, n_hidden=4, n_out=3, dtype=np.int32), "float32 or float64"),
    ],
)
def test_bad_construction(kwargs, words):
    with pytest.raises(LRFinderError, match=words):
        TwoLayerNet(**kwargs)


def test_wrong_input_width_names_the_shape():
    with pytest.raises(LRFinderError, match=r"shape \(batch, 4\)"):
        TwoLayerNet(4, 3, 2).loss_and_grads(np.zeros((2, 5)), np.array([0, 1]))
