"""Six first-order optimizers with explicit, resettable state.

Every optimizer follows one small protocol:

* ``opt.step(params, grads, lr)`` updates each array of ``params`` in place,
  using the learning rate given for this step (the range test changes it every
  step, so it is never stored);
* ``opt.state`` maps each parameter name to a dict of arrays and counters that
  the optimizer owns, created on the first step;
* ``opt.state_dict()`` / ``opt.load_state_dict(d)`` save and restore that state
  exactly, and ``opt.reset()`` forgets it.

The update rules share their pieces: :func:`ema_` (an exponential moving average)
and :func:`bias_correction` are written once and used by RMSProp, Adadelta, Adam
and Momentum. All arithmetic is in place on float32 arrays; the scratch buffers
are reused between steps.

One pass over all weights
-------------------------
When the ``params`` arrays are consecutive views into one flat buffer and the
``grads`` arrays views into another, in the same order and shapes (as
:class:`lrfinder.network.TwoLayerNet` lays them out; see :mod:`lrfinder.flat`),
each NumPy pass of an update runs once over the whole buffer, as torch's
foreach/fused optimizers do, instead of once per parameter. The state arrays
are then views into flat buffers of their own; ``opt.state`` keeps its
per-parameter names and ``state_dict()`` its format. Every update rule is a
chain of element-wise float operations (``Optimizer.elementwise``), so both paths
give bit-identical results (``tests/test_flat_optimizers.py`` checks it). Any
other model, and any optimizer whose update is not element-wise, takes the
per-parameter path.

Each update takes the fewest NumPy passes its rule needs with the state kept as
the formula writes it and one operation per pass (NumPy has no fused
multiply-add): SGD 2, Momentum 4, AdaGrad 7, RMSProp 9, Adadelta 15, Adam 12.
numexpr was measured as a way to fuse them and was slower, at two threads as at
one (``benchmarks/speed.py`` prints both), so it is not used.
"""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lrfinder.errors import LRFinderError, check_number
from lrfinder.flat import flat_buffer, flat_views


def ema_(average: np.ndarray, value: np.ndarray, decay: float, work: np.ndarray) -> None:
    """In place: ``average = decay * average + (1 - decay) * value`` (``work`` is scratch).

    ``work`` may be the same array as ``value``; it is overwritten either way.
    """
    np.multiply(value, 1.0 - decay, out=work)
    average *= decay
    average += work


def ema_square_(average: np.ndarray, value: np.ndarray, decay: float, work: np.ndarray) -> None:
    """In place: ``average = decay * average + (1 - decay) * value**2`` (``work`` is scratch)."""
    np.multiply(value, value, out=work)
    ema_(average, work, decay, work)


def bias_correction(decay: float, t: int) -> float:
    """The factor ``1 - decay**t`` that un-biases an EMA started at zero, after ``t`` steps."""
    return 1.0 - decay**t


def _hyper(name: str, value: float, low: float, high: float, *, low_open=False, high_open=True):
    """A hyperparameter checked against ``[low, high)`` (ends as flagged), as a float."""
    closed = {(False, True): "left", (True, True): "neither", (False, False): "both"}
    closed = closed.get((low_open, high_open), "right")
    return float(check_number(name, value, low=low, high=high, closed=closed))


@dataclass
class _FlatLayout:
    """The flat path of one set of ``params`` and ``grads`` arrays (see the module notes).

    ``arrays`` holds the arrays the layout was checked on (so their ``id`` values in
    ``key`` stay unique); ``state`` and ``scratch`` map each slot to a flat buffer,
    and ``owner`` is the ``Optimizer.state`` dict whose arrays are views into them.
    """

    key: tuple[int, ...]
    arrays: tuple[np.ndarray, ...]
    shapes: dict[str, tuple[int, ...]]
    params: np.ndarray
    grads: np.ndarray
    state: dict[str, np.ndarray]
    scratch: dict[str, np.ndarray]
    owner: dict


class Optimizer:
    """Base class: per-parameter state owned by the optimizer, saved and restored exactly.

    Subclasses set ``name``, the tuple ``slots`` of state arrays each parameter
    gets (zero-initialised), and implement :meth:`_update`.
    """

    name = "base"
    slots: tuple[str, ...] = ()
    #: Scratch arrays each parameter gets; reused every step, never saved.
    scratch: tuple[str, ...] = ("work",)
    #: True when :meth:`_update` is element-wise, so that running it once on the flat
    #: buffers equals running it on each parameter (the six rules here). A subclass
    #: whose update is not (a per-parameter norm, say) sets it to False.
    elementwise: bool = False

    def __init__(self) -> None:
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self._scratch: dict[str, dict[str, np.ndarray]] = {}
        self._flat: _FlatLayout | None = None
        self.t = 0

    @property
    def hyperparameters(self) -> dict[str, float]:
        """The settings that define the update rule (for results and reprs)."""
        return {}

    @property
    def cold_start_gain(self) -> float:
        """How many times larger than a settled step the first steps from fresh state are.

        A range test warms the optimizer's state at tiny rates, so at every rate
        it takes settled steps. A rule that divides by a zero-initialised moving
        average and does not correct that average's bias (RMSProp) takes its
        first steps of a fresh run up to ``1 / sqrt(1 - rho)`` times larger. The
        other rules here have gain 1: Adam corrects that bias; Momentum's and
        Adadelta's first steps are smaller than their settled ones. AdaGrad's
        first step is larger than its later ones, but its steps keep shrinking in
        any run, from scratch or not, so it has no settled step to compare with.
        The analyser keeps ``auto`` this many times below the rate where the test
        diverged. A subclass may override it.
        """
        return 1.0

    @property
    def momentum_lag(self) -> float:
        """How many steps late the loss of a range test responds to its rate.

        A rule that steps along a moving average of its gradients (Momentum's
        velocity, Adam's first moment) moves with gradients of mean age
        :func:`average_lag` of its decay, ``beta / (1 - beta)`` steps: 9 at the
        usual 0.9. While the rate rises every step, the loss recorded at a rate
        shows what the slightly lower rates of those steps did, so the minimum
        and the blow-up appear late. The analyser reads ``auto``'s rate back this
        many steps along the schedule. 0 for rules without such an average.
        """
        return 0.0

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], lr: float):
        """Apply one update in place with learning rate ``lr``."""
        # A NumPy float64 scalar (an element of a schedule) would promote every
        # float32 operation it meets to a float64 loop, about 7x slower.
        lr = float(lr)
        flat = self._flat_layout(params, grads) if self.elementwise else None
        if flat is not None:
            self.t += 1
            self._update(flat.params, flat.grads, flat.state, flat.scratch, lr)
            return
        if not self.state:
            self.state = {
                key: {s: np.zeros_like(p) for s in self.slots} for key, p in params.items()
            }
        if not self._scratch:
            self._scratch = {
                key: {s: np.empty_like(p) for s in self.scratch} for key, p in params.items()
            }
        self.t += 1
        for key, p in params.items():
            self._update(p, grads[key], self.state[key], self._scratch[key], lr)

    def _flat_layout(self, params: Mapping, grads: Mapping) -> _FlatLayout | None:
        """The flat path for these arrays, or None for the per-parameter path.

        Checked once per set of arrays; afterwards a step only compares their ids.
        New views of the same buffers keep the layout; other arrays, or a
        ``self.state`` replaced by :meth:`load_state_dict` or :meth:`reset`, build it
        anew (the state is copied into flat buffers, bitwise).
        """
        arrays = (*params.values(), *(grads.get(key) for key in params))
        key = tuple(map(id, arrays))
        flat, self._flat = self._flat, None
        if flat is not None and flat.key == key and flat.owner is self.state:
            self._flat = flat
            return flat
        n = len(params)
        p_buf, g_buf = flat_buffer(arrays[:n]), flat_buffer(arrays[n:])
        if p_buf is None or g_buf is None:
            return None
        shapes = {key: p.shape for key, p in params.items()}
        if any(g.shape != p.shape for p, g in zip(arrays[:n], arrays[n:], strict=True)):
            return None
        if (
            flat is not None
            and flat.owner is self.state
            and flat.params is p_buf
            and flat.grads is g_buf
            and flat.shapes == shapes
        ):  # a model that hands out new views of the same buffers each step
            flat.key, flat.arrays = key, arrays
            self._flat = flat
            return flat
        if self.state and (
            set(self.state) != set(shapes)
            or any(
                set(self.state[k]) != set(self.slots)
                or any(np.shape(v) != shape for v in self.state[k].values())
                for k, shape in shapes.items()
            )
        ):
            return None  # state that does not fit: the per-parameter path says why
        state = {s: np.zeros_like(p_buf) for s in self.slots}
        views = {s: flat_views(buf, shapes) for s, buf in state.items()}
        if self.state:  # carry the state over, bitwise
            for k in shapes:
                for s in self.slots:
                    views[s][k][...] = self.state[k][s]
        self.state = {k: {s: views[s][k] for s in self.slots} for k in shapes}
        scratch = {s: np.empty_like(p_buf) for s in self.scratch}
        self._flat = _FlatLayout(key, arrays, shapes, p_buf, g_buf, state, scratch, self.state)
        return self._flat

    def _update(self, p: np.ndarray, g: np.ndarray, s: dict, work: dict, lr: float) -> None:
        """Update ``p`` in place from gradient ``g``, state ``s`` and scratch arrays ``work``."""
        raise NotImplementedError

    def state_dict(self) -> dict:
        """A deep copy of the state: the step count and every per-parameter array."""
        return {
            "t": self.t,
            "state": {
                key: {k: v.copy() for k, v in slots.items()} for key, slots in self.state.items()
            },
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore state saved by :meth:`state_dict` (bitwise)."""
        self.t = int(state["t"])
        self.state = {
            key: {k: np.array(v, copy=True) for k, v in slots.items()}
            for key, slots in state["state"].items()
        }

    def reset(self) -> None:
        """Forget all state, as if newly built."""
        self.state = {}
        self._scratch = {}
        self._flat = None
        self.t = 0

    def __getstate__(self) -> dict:
        # A copy or pickle of the state's views no longer shares the flat buffers,
        # so the copy drops the layout and builds its own on its first flat step.
        state = self.__dict__.copy()
        state["_flat"] = None
        return state

    def clone(self) -> Optimizer:
        """A fresh optimizer with the same hyperparameters and no state."""
        other = copy.copy(self)
        other.reset()
        return other

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    r"""Plain stochastic gradient descent.

    .. math:: \theta \leftarrow \theta - \eta\, g
    """

    name = "sgd"
    elementwise = True

    def _update(self, p, g, s, work, lr):
        np.multiply(g, lr, out=work["work"])
        p -= work["work"]


class Momentum(Optimizer):
    r"""SGD with heavy-ball momentum (the torch convention, dampening 0).

    .. math::
        v \leftarrow \gamma v + g, \qquad \theta \leftarrow \theta - \eta\, v

    Parameters
    ----------
    gamma : float
        Momentum coefficient in [0, 1), default 0.9.
    """

    name = "momentum"
    elementwise = True
    slots = ("velocity",)

    def __init__(self, gamma: float = 0.9):
        super().__init__()
        self.gamma = _hyper("gamma", gamma, 0.0, 1.0)

    @property
    def hyperparameters(self):
        return {"gamma": self.gamma}

    @property
    def momentum_lag(self) -> float:
        return average_lag(self.gamma)

    def _update(self, p, g, s, work, lr):
        v = s["velocity"]
        v *= self.gamma
        v += g
        np.multiply(v, lr, out=work["work"])
        p -= work["work"]


class AdaGrad(Optimizer):
    r"""AdaGrad: each coordinate's step shrinks with its accumulated squared gradient.

    .. math::
        G \leftarrow G + g^2, \qquad
        \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{G} + \epsilon}

    Parameters
    ----------
    eps : float
        Added to the denominator for stability, default 1e-10 (as torch).
    """

    name = "adagrad"
    elementwise = True
    slots = ("sum_sq",)

    def __init__(self, eps: float = 1e-10):
        super().__init__()
        self.eps = _hyper("eps", eps, 0.0, 1.0, low_open=True)

    @property
    def hyperparameters(self):
        return {"eps": self.eps}

    def _update(self, p, g, s, work, lr):
        G, work = s["sum_sq"], work["work"]
        np.multiply(g, g, out=work)
        G += work
        _scaled_step_(p, g, G, 1.0, self.eps, lr, work)


class RMSProp(Optimizer):
    r"""RMSProp: divide by a moving root-mean-square of recent gradients.

    .. math::
        v \leftarrow \rho v + (1 - \rho) g^2, \qquad
        \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{v} + \epsilon}

    Parameters
    ----------
    rho : float
        Decay of the squared-gradient average in [0, 1), default 0.99 (as torch).
    eps : float
        Added to the denominator, default 1e-8.
    """

    name = "rmsprop"
    elementwise = True
    slots = ("sq_avg",)

    def __init__(self, rho: float = 0.99, eps: float = 1e-8):
        super().__init__()
        self.rho = _hyper("rho", rho, 0.0, 1.0)
        self.eps = _hyper("eps", eps, 0.0, 1.0, low_open=True)

    @property
    def hyperparameters(self):
        return {"rho": self.rho, "eps": self.eps}

    @property
    def cold_start_gain(self) -> float:
        # v starts at 0 and is not bias-corrected: after t steps it holds
        # (1 - rho**t) of the squared gradient, so the first step is 1/sqrt(1 - rho)
        # times a settled one (10x at rho = 0.99).
        return 1.0 / math.sqrt(1.0 - self.rho)

    def _update(self, p, g, s, work, lr):
        v, work = s["sq_avg"], work["work"]
        ema_square_(v, g, self.rho, work)
        _scaled_step_(p, g, v, 1.0, self.eps, lr, work)


class Adadelta(Optimizer):
    r"""Adadelta: a step size in the units of the parameter, from two moving averages.

    .. math::
        v &\leftarrow \rho v + (1 - \rho) g^2 \\
        \Delta &= \sqrt{\frac{u + \epsilon}{v + \epsilon}}\, g \\
        u &\leftarrow \rho u + (1 - \rho) \Delta^2 \\
        \theta &\leftarrow \theta - \eta\, \Delta

    As in torch, ``lr`` (:math:`\eta`) is a multiplier whose natural value is 1.0.

    Parameters
    ----------
    rho : float
        Decay of both averages in [0, 1), default 0.9.
    eps : float
        Added inside both square roots, default 1e-6 (as torch).
    """

    name = "adadelta"
    elementwise = True
    slots = ("sq_avg", "delta_avg")
    scratch = ("work", "delta")

    def __init__(self, rho: float = 0.9, eps: float = 1e-6):
        super().__init__()
        self.rho = _hyper("rho", rho, 0.0, 1.0)
        self.eps = _hyper("eps", eps, 0.0, 1.0, low_open=True)

    @property
    def hyperparameters(self):
        return {"rho": self.rho, "eps": self.eps}

    def _update(self, p, g, s, work, lr):
        v, u = s["sq_avg"], s["delta_avg"]
        delta, work = work["delta"], work["work"]
        ema_square_(v, g, self.rho, work)
        # delta = sqrt((u + eps) / (v + eps)) * g: one square root, the costliest pass,
        # instead of the two of sqrt(u + eps) / sqrt(v + eps)
        np.add(u, self.eps, out=delta)
        np.add(v, self.eps, out=work)
        delta /= work
        np.sqrt(delta, out=delta)
        delta *= g
        ema_square_(u, delta, self.rho, work)
        delta *= lr
        p -= delta


class Adam(Optimizer):
    r"""Adam with bias correction.

    .. math::
        m &\leftarrow \beta_1 m + (1 - \beta_1) g, \qquad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2 \\
        \theta &\leftarrow \theta - \eta\,
            \frac{m / (1 - \beta_1^t)}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    Parameters
    ----------
    beta1, beta2 : float
        Decays of the first and second moment averages, in [0, 1); defaults 0.9, 0.999.
    eps : float
        Added to the denominator, default 1e-8.
    """

    name = "adam"
    elementwise = True
    slots = ("m", "v")

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__()
        self.beta1 = _hyper("beta1", beta1, 0.0, 1.0)
        self.beta2 = _hyper("beta2", beta2, 0.0, 1.0)
        self.eps = _hyper("eps", eps, 0.0, 1.0, low_open=True)

    @property
    def hyperparameters(self):
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    @property
    def momentum_lag(self) -> float:
        return average_lag(self.beta1)

    def _update(self, p, g, s, work, lr):
        m, v, work = s["m"], s["v"], work["work"]
        ema_(m, g, self.beta1, work)
        ema_square_(v, g, self.beta2, work)
        c1 = bias_correction(self.beta1, self.t)
        c2 = bias_correction(self.beta2, self.t)
        # sqrt(v / c2) + eps == (sqrt(v) + eps * sqrt(c2)) / sqrt(c2)
        _scaled_step_(p, m, v, math.sqrt(c2) / c1, self.eps * math.sqrt(c2), lr, work)


def _scaled_step_(p, num, sq, scale, eps, lr, work):
    """In place: ``p -= lr * scale * num / (sqrt(sq) + eps)``, using ``work`` as scratch."""
    np.sqrt(sq, out=work)
    work += eps
    np.divide(num, work, out=work)
    work *= lr * scale
    p -= work


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, AdaGrad, RMSProp, Adadelta, Adam)
}


def cold_start_gain(name: str | None, hyperparameters: Mapping | None = None) -> float:
    """:attr:`Optimizer.cold_start_gain` of the optimizer called ``name``, built with
    ``hyperparameters`` (None or ``{}``: its defaults).

    For results that recorded only the optimizer's name and hyperparameters (JSON
    files of schema 1). A name that is not in :data:`OPTIMIZERS` (None for an
    imported curve, or a user's own optimizer) gives 1.0: nothing is known about
    its first steps, so no cap applies.

    Raises
    ------
    LRFinderError
        When a known optimizer cannot be built from ``hyperparameters`` (an
        unknown keyword, a value of the wrong type or out of range). Falling back
        to 1.0 there would silently turn off RMSProp's cap.
    """
    return _rebuilt_property(name, hyperparameters, "cold_start_gain", unknown=1.0)


def _rebuilt_property(name, hyperparameters, attribute: str, *, unknown: float) -> float:
    """A float property of the optimizer called ``name`` rebuilt from ``hyperparameters``;
    ``unknown`` for a name not in :data:`OPTIMIZERS`."""
    cls = OPTIMIZERS.get(str(name).lower())
    if cls is None:
        return unknown
    try:
        return float(getattr(cls(**dict(hyperparameters or {})), attribute))
    except (TypeError, ValueError) as err:  # LRFinderError is a ValueError
        raise LRFinderError(
            f"cannot rebuild optimizer {name!r} from hyperparameters {hyperparameters!r} "
            f"to get its {attribute}: {err}"
        ) from None


def average_lag(beta: float, *, nesterov: bool = False) -> float:
    """The mean age, in steps, of the gradients in a moving average of decay ``beta``.

    A heavy-ball velocity ``v = beta v + g`` and an EMA ``m = beta m + (1 - beta) g``
    both weigh the gradient of ``k`` steps ago by ``beta**k``: a mean age of
    ``beta / (1 - beta)``. Nesterov's step ``g + beta v`` holds one more factor
    ``beta``: ``beta**2 / (1 - beta)``.
    """
    beta = float(beta)
    if not 0.0 <= beta < 1.0:
        raise LRFinderError(f"a moving average's decay must lie in [0, 1), got {beta!r}")
    return (beta * beta if nesterov else beta) / (1.0 - beta)


def momentum_lag(name: str | None, hyperparameters: Mapping | None = None) -> float:
    """:attr:`Optimizer.momentum_lag` of the optimizer called ``name``, built with
    ``hyperparameters``, for results that recorded only those (as
    :func:`cold_start_gain`). Another name (a torch or Keras optimizer) is read with
    :func:`lag_from_hyperparameters`; none known gives 0.

    Raises
    ------
    LRFinderError
        When a known optimizer cannot be built from ``hyperparameters``, or a decay
        lies outside [0, 1).
    """
    if str(name).lower() not in OPTIMIZERS:
        return lag_from_hyperparameters(hyperparameters)
    return _rebuilt_property(name, hyperparameters, "momentum_lag", unknown=0.0)


def _decay(value) -> float | None:
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    return float(value) if real else None


def lag_from_hyperparameters(hyperparameters: Mapping | None) -> float:
    """The momentum lag of any optimizer from its hyperparameters' usual names.

    The first of ``betas`` (torch's Adam family), ``beta1`` or ``beta_1`` (Keras's);
    else ``momentum`` (SGD, RMSprop), with ``nesterov``; else 0.
    """
    hp = dict(hyperparameters or {})
    betas = hp.get("betas")
    firsts = [betas[0]] if isinstance(betas, (list, tuple)) and betas else []
    for beta in map(_decay, (*firsts, hp.get("beta1"), hp.get("beta_1"))):
        if beta is not None:
            return average_lag(beta)
    momentum = _decay(hp.get("momentum"))
    if momentum:
        return average_lag(momentum, nesterov=bool(hp.get("nesterov")))
    return 0.0


def get_optimizer(optimizer: str | Optimizer) -> Optimizer:
    """Return an optimizer instance from a name in :data:`OPTIMIZERS` or an instance."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise LRFinderError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
