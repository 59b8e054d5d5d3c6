"""One shared suite over all six optimizers, plus hand-computed first steps."""

import math

import numpy as np
import pytest

from lrfinder.errors import LRFinderError
from lrfinder.optimizers import OPTIMIZERS, Adadelta, Adam, cold_start_gain, get_optimizer

# A comfortable learning rate for each optimizer on the quadratic below.
GOOD_LR = {
    "sgd": 0.1,
    "momentum": 0.05,
    "adagrad": 0.5,
    "rmsprop": 0.01,
    "adadelta": 1.0,
    "adam": 0.05,
}

CURVATURE = np.array([1.0, 3.0, 0.5], dtype=np.float32)


def quadratic(params):
    """f(w) = sum(c * w**2) / 2 for each parameter; returns (loss, grads)."""
    loss = sum(float(np.sum(CURVATURE * p**2)) / 2 for p in params.values())
    return loss, {k: (CURVATURE * p).astype(np.float32) for k, p in params.items()}


def start_params():
    return {
        "a": np.array([1.0, -2.0, 3.0], dtype=np.float32),
        "b": np.array([0.5, 0.5, -0.5], dtype=np.float32),
    }


def run(opt, steps, params=None):
    params = start_params() if params is None else params
    for _ in range(steps):
        _, grads = quadratic(params)
        opt.step(params, grads, GOOD_LR[opt.name])
    return params


@pytest.fixture(params=sorted(OPTIMIZERS))
def name(request):
    return request.param


def test_registry_has_the_six():
    assert set(OPTIMIZERS) == {"sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam"}


def test_each_lowers_a_quadratic(name):
    opt = get_optimizer(name)
    steps = 500 if name == "adadelta" else 100  # Adadelta's step size grows from ~sqrt(eps)
    before, _ = quadratic(start_params())
    after, _ = quadratic(run(opt, steps))
    assert after < 0.5 * before


def test_each_is_deterministic(name):
    a = run(get_optimizer(name), 20)
    b = run(get_optimizer(name), 20)
    for key in a:
        assert np.array_equal(a[key], b[key])


def test_updates_in_place_keep_dtype(name):
    params = start_params()
    ids = {k: id(v) for k, v in params.items()}
    run(get_optimizer(name), 3, params)
    assert {k: id(v) for k, v in params.items()} == ids
    assert all(v.dtype == np.float32 for v in params.values())


def test_a_numpy_float64_rate_gives_the_same_float32_update_as_a_python_float(name):
    # schedules hand out NumPy float64 scalars; the update must not change with the type
    results = []
    for to_rate in (float, np.float64):
        opt, params = get_optimizer(name), start_params()
        for step in range(5):
            _, grads = quadratic(params)
            opt.step(params, grads, to_rate(GOOD_LR[name] * (1 + step) / 3))
        results.append(params)
    for other in results[1:]:
        for key in other:
            assert other[key].dtype == np.float32
            assert np.array_equal(other[key], results[0][key])


def test_state_round_trips_bitwise(name):
    opt = get_optimizer(name)
    params = run(opt, 7)
    saved_state = opt.state_dict()
    saved_params = {k: v.copy() for k, v in params.items()}
    run(opt, 5, params)
    expected = {k: v.copy() for k, v in params.items()}

    restored = get_optimizer(name)
    restored.load_state_dict(saved_state)
    params2 = {k: v.copy() for k, v in saved_params.items()}
    run(restored, 5, params2)
    for key in expected:
        assert np.array_equal(params2[key], expected[key])


def test_state_dict_is_a_copy(name):
    opt = get_optimizer(name)
    params = run(opt, 3)
    saved = opt.state_dict()
    snapshot = {k: {s: v.copy() for s, v in slots.items()} for k, slots in saved["state"].items()}
    run(opt, 3, params)
    for key, slots in saved["state"].items():
        for slot, value in slots.items():
            assert np.array_equal(value, snapshot[key][slot])


def test_reset_forgets_state(name):
    opt = get_optimizer(name)
    run(opt, 3)
    opt.reset()
    assert opt.t == 0 and opt.state == {}
    fresh = run(get_optimizer(name), 4)
    again = run(opt, 4)
    for key in fresh:
        assert np.array_equal(fresh[key], again[key])


# -- first steps by hand, from the update rules --------------------------------


def one_param_steps(opt, grads, lr):
    """Apply successive gradients to a single scalar parameter starting at 1.0 (float64)."""
    params = {"w": np.array([1.0])}
    out = []
    for g in grads:
        opt.step(params, {"w": np.array([g])}, lr)
        out.append(float(params["w"][0]))
    return out


def test_sgd_by_hand():
    assert one_param_steps(get_optimizer("sgd"), [2.0, -1.0], 0.1) == pytest.approx([0.8, 0.9])


def test_momentum_by_hand():
    # v1 = 2, w = 1 - 0.1*2 = 0.8; v2 = 0.9*2 + 1 = 2.8, w = 0.8 - 0.28 = 0.52
    assert one_param_steps(get_optimizer("momentum"), [2.0, 1.0], 0.1) == pytest.approx([0.8, 0.52])


def test_adagrad_by_hand():
    # G1 = 4, w = 1 - 0.1 * 2/2 = 0.9; G2 = 5, w = 0.9 - 0.1 * 1/sqrt(5)
    got = one_param_steps(get_optimizer("adagrad"), [2.0, 1.0], 0.1)
    assert got == pytest.approx([0.9, 0.9 - 0.1 / math.sqrt(5)], rel=1e-9)


def test_rmsprop_by_hand():
    eps = 1e-8
    v1 = 0.01 * 4
    w1 = 1 - 0.1 * 2 / (math.sqrt(v1) + eps)
    v2 = 0.99 * v1 + 0.01 * 1
    w2 = w1 - 0.1 * 1 / (math.sqrt(v2) + eps)
    got = one_param_steps(get_optimizer("rmsprop"), [2.0, 1.0], 0.1)
    assert got == pytest.approx([w1, w2], rel=1e-12, abs=1e-15)


def test_adadelta_by_hand():
    rho, eps = 0.9, 1e-6
    v = u = 0.0
    w = 1.0
    expected = []
    for g in [2.0, 1.0]:
        v = rho * v + (1 - rho) * g * g
        delta = math.sqrt(u + eps) / math.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta
        w -= 1.0 * delta
        expected.append(w)
    assert one_param_steps(Adadelta(), [2.0, 1.0], 1.0) == pytest.approx(expected, rel=1e-12)


def test_adam_by_hand():
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.1
    m = v = 0.0
    w = 1.0
    expected = []
    for t, g in enumerate([2.0, 1.0, -3.0], start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        expected.append(w)
    # the first Adam step moves every coordinate by ~lr, whatever the gradient's size
    assert expected[0] == pytest.approx(0.9)
    assert one_param_steps(Adam(), [2.0, 1.0, -3.0], lr) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "factory, words",
    [
        (lambda: get_optimizer("nadam"), "unknown optimizer 'nadam'; choose one of"),
        (
            lambda: OPTIMIZERS["momentum"](gamma=1.0),
            r"gamma must be a finite number in \[0, 1\), got 1.0",
        ),
        (lambda: OPTIMIZERS["rmsprop"](rho=-0.1), "rho must be a finite number in"),
        (lambda: OPTIMIZERS["adam"](beta2=1.5), "beta2 must be a finite number in"),
        (lambda: OPTIMIZERS["adam"](eps=0.0), r"eps must be a finite number in \(0, 1\)"),
        (lambda: OPTIMIZERS["adagrad"](eps=float("nan")), "eps must be a finite number in"),
    ],
)
def test_bad_hyperparameters_name_the_field(factory, words):
    with pytest.raises(LRFinderError, match=words):
        factory()


def test_names_are_case_insensitive_and_instances_pass_through():
    adam = Adam(beta1=0.8)
    assert get_optimizer(adam) is adam
    assert isinstance(get_optimizer("ADAM"), Adam)


# ------------------------------------------------------------------- cold-start gain


def _step_sizes(opt, steps, lr=1e-6):
    """The largest |update| of the first and of the last of ``steps`` constant-gradient steps."""
    params = {"w": np.zeros(3, dtype=np.float32)}
    grads = {"w": np.array([0.1, -2.0, 5.0], dtype=np.float32)}
    sizes = []
    for _ in range(steps):
        before = params["w"].astype(np.float64)
        opt.step(params, grads, lr)
        sizes.append(float(np.max(np.abs(params["w"] - before))))
    return sizes[0], sizes[-1]


@pytest.mark.parametrize("name", ["sgd", "momentum", "rmsprop", "adadelta", "adam"])
def test_first_step_is_at_most_cold_start_gain_times_a_settled_one(name):
    # AdaGrad is left out: its steps keep shrinking, so none is "settled"
    opt = get_optimizer(name)
    first, settled = _step_sizes(opt, 3000)
    assert first <= opt.cold_start_gain * settled * 1.01


@pytest.mark.parametrize("rho", [0.9, 0.99])
def test_rmsprop_cold_start_gain_is_its_uncorrected_bias(rho):
    opt = OPTIMIZERS["rmsprop"](rho=rho)
    assert opt.cold_start_gain == pytest.approx(1 / math.sqrt(1 - rho))
    first, settled = _step_sizes(opt, 3000)
    assert first / settled == pytest.approx(opt.cold_start_gain, rel=1e-2)


def test_cold_start_gain_by_name():
    assert cold_start_gain("rmsprop", {"rho": 0.96, "eps": 1e-8}) == pytest.approx(5.0)
    assert cold_start_gain("RMSProp", None) == pytest.approx(10.0)
    assert cold_start_gain("adam", {"beta1": 0.9}) == 1.0
    # an unknown name (an imported curve) falls back to 1 ...
    assert cold_start_gain("my-optimizer", {}) == 1.0
    assert cold_start_gain(None) == 1.0
    # ... but hyperparameters that do not build the named optimizer are an error, not 1
    with pytest.raises(LRFinderError, match="rmsprop"):
        cold_start_gain("rmsprop", {"momentum": 0.9})


def _mean_age(weights: np.ndarray) -> float:
    return float(np.sum(np.arange(weights.size) * weights) / np.sum(weights))


@pytest.mark.parametrize("beta", [0.5, 0.9, 0.99])
def test_momentum_lag_is_the_mean_age_of_the_averaged_gradients(beta):
    from lrfinder.optimizers import Momentum, average_lag

    k = np.arange(20000)
    heavy_ball = beta**k  # v = beta v + g
    assert Momentum(gamma=beta).momentum_lag == pytest.approx(_mean_age(heavy_ball))
    assert Adam(beta1=beta).momentum_lag == pytest.approx(_mean_age(heavy_ball))
    nesterov = beta ** (k + 1.0)  # g + beta v
    nesterov[0] += 1.0
    assert average_lag(beta, nesterov=True) == pytest.approx(_mean_age(nesterov))


@pytest.mark.parametrize("name", ["sgd", "adagrad", "rmsprop", "adadelta"])
def test_rules_without_a_gradient_average_have_no_lag(name):
    assert get_optimizer(name).momentum_lag == 0.0


def test_momentum_lag_is_rebuilt_from_a_name_and_hyperparameters():
    from lrfinder.optimizers import average_lag, momentum_lag

    assert momentum_lag("momentum", {"gamma": 0.5}) == pytest.approx(1.0)
    assert momentum_lag("Adam", None) == pytest.approx(9.0)
    # another framework's optimizer, by its hyperparameters' usual names
    assert momentum_lag("torch.optim.SGD", {"momentum": 0.9}) == pytest.approx(9.0)
    nesterov = {"momentum": 0.9, "nesterov": True}
    assert momentum_lag("torch.optim.SGD", nesterov) == pytest.approx(8.1)
    assert momentum_lag("torch.optim.AdamW", {"betas": [0.5, 0.999]}) == pytest.approx(1.0)
    assert momentum_lag("keras.optimizers.Adam", {"beta_1": 0.9}) == pytest.approx(9.0)
    assert momentum_lag("torch.optim.Adagrad", {"lr_decay": 0.0}) == 0.0
    assert momentum_lag(None, None) == 0.0
    with pytest.raises(LRFinderError, match="momentum_lag"):
        momentum_lag("momentum", {"gamma": 1.5})
    with pytest.raises(LRFinderError, match="decay"):
        average_lag(1.0)
