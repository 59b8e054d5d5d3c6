"""A fast two-layer network in NumPy, and the model protocol the range test uses.

The model protocol
------------------
:func:`lrfinder.find_lr` works with *any* object that has

``params``
    a dict mapping names to float arrays. The optimizer updates these arrays
    **in place**, so the model must read its weights from them.
``loss_and_grads(x, y) -> (loss, grads)``
    the mean loss on a batch as a Python float, and a dict of gradients with the
    same keys and shapes as ``params``. The returned arrays may be buffers that
    the next call overwrites (this network does that, for speed); callers that
    keep gradients must copy them.

``state_dict()`` / ``load_state_dict()`` are optional: without them the range
test saves and restores ``params`` itself.

Optionally, for speed, the ``params`` arrays may be consecutive views into one
contiguous 1-D buffer, and the gradients views into another laid out the same
way (see :mod:`lrfinder.flat`). The optimizers then run each pass of their update
once over all weights instead of once per parameter, with bit-identical results.

:class:`TwoLayerNet` is ``affine -> activation -> affine -> loss``. It works in
float32, uses BLAS matrix products into preallocated buffers, never computes the
gradient with respect to its input, and fuses softmax with cross-entropy so the
output gradient is simply ``(softmax - onehot) / batch``. Its parameters and its
gradients each live in one flat buffer (``flat_params``, ``flat_grads``).
"""

from __future__ import annotations

import numpy as np

from lrfinder import names
from lrfinder.errors import LRFinderError, check_count
from lrfinder.flat import flat_buffer, flat_views

ACTIVATIONS = names.ACTIVATIONS  # ("relu", "sigmoid", "tanh"), the names users type
LOSSES = ("cross_entropy", "binary_cross_entropy", "mse")

#: Rows per chunk when :meth:`TwoLayerNet.evaluate` scores a large set, to bound memory.
EVAL_CHUNK = 2048


def _sigmoid_(z: np.ndarray) -> np.ndarray:
    """In-place logistic function, stable for large ``|z|``."""
    # 1 / (1 + exp(-z)) == (1 + tanh(z / 2)) / 2, which never overflows.
    z *= 0.5
    np.tanh(z, out=z)
    z += 1.0
    z *= 0.5
    return z


class TwoLayerNet:
    """``affine -> activation -> affine`` with a built-in loss.

    Parameters
    ----------
    n_in, n_hidden, n_out : int
        Input features, hidden units and outputs (classes, or targets).
    activation : {"relu", "sigmoid", "tanh"}
        Hidden activation. ReLU gets He initialisation, the others Xavier (Glorot).
    loss : {"cross_entropy", "binary_cross_entropy", "mse"}, optional
        Softmax cross-entropy on integer labels 0..n_out-1, sigmoid binary
        cross-entropy on labels 0/1 (``n_out == 1``), or mean squared error for
        regression. Default: cross-entropy when ``n_out > 1``, else binary
        cross-entropy. Use :meth:`for_dataset` to choose from the data.
    seed : int
        Seed of the ``numpy.random.Generator`` that draws the initial weights.
    dtype : numpy dtype
        float32 (default, fast) or float64 (for gradient checks).

    Attributes
    ----------
    params : dict of ndarray
        ``W1 (n_in, n_hidden)``, ``b1 (n_hidden,)``, ``W2 (n_hidden, n_out)``, ``b2 (n_out,)``,
        consecutive views into ``flat_params``.
    flat_params : ndarray
        All parameters in one contiguous 1-D buffer, in the order of ``params``.
        Writing into it (or into a view of ``params``) changes the weights; the
        optimizers update it in one pass per step. Assigning a new array to a key of
        ``params`` detaches that key from the buffer (the optimizers then fall back to
        one pass per parameter).
    flat_grads : ndarray
        The gradient buffer, laid out as ``flat_params``; the dict returned by
        :meth:`loss_and_grads` holds views into it.
    """

    def __init__(
        self,
        n_in: int,
        n_hidden: int,
        n_out: int,
        activation: str = "relu",
        loss: str | None = None,
        seed: int = 0,
        dtype=np.float32,
    ):
        for name, value in (("n_in", n_in), ("n_hidden", n_hidden), ("n_out", n_out)):
            check_count(name, value)
        if activation not in ACTIVATIONS:
            raise LRFinderError(
                f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if loss is None:
            loss = "cross_entropy" if n_out > 1 else "binary_cross_entropy"
        if loss not in LOSSES:
            raise LRFinderError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        if loss == "binary_cross_entropy" and n_out != 1:
            raise LRFinderError(f"binary_cross_entropy needs n_out=1, got n_out={n_out}")
        if loss == "cross_entropy" and n_out < 2:
            raise LRFinderError("cross_entropy needs n_out >= 2 classes; use binary_cross_entropy")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise LRFinderError(f"dtype must be float32 or float64, got {self.dtype}")
        self.n_in, self.n_hidden, self.n_out = int(n_in), int(n_hidden), int(n_out)
        self.activation, self.loss, self.seed = activation, loss, seed
        self._buffers: dict[str, np.ndarray] = {}
        self._into_flat_buffers(self._init_params(np.random.default_rng(seed)))

    def _into_flat_buffers(self, params: dict[str, np.ndarray]) -> None:
        """Allocate ``flat_params`` and ``flat_grads`` and copy ``params`` into the first."""
        self._shapes = {key: value.shape for key, value in params.items()}
        size = sum(value.size for value in params.values())
        self.flat_params = np.empty(size, self.dtype)
        self.flat_grads = np.empty(size, self.dtype)
        self._attach_views()
        for key, value in params.items():
            self.params[key][...] = value

    def _attach_views(self) -> None:
        self.params = flat_views(self.flat_params, self._shapes)
        self._grads = flat_views(self.flat_grads, self._shapes)

    @classmethod
    def for_dataset(cls, dataset, n_hidden: int = 128, **kwargs) -> TwoLayerNet:
        """A network shaped for a :class:`lrfinder.datasets.Dataset` (inputs, outputs, loss)."""
        if dataset.task == "regression":
            n_out = 1 if dataset.y_train.ndim == 1 else dataset.y_train.shape[1]
            kwargs.setdefault("loss", "mse")
        elif dataset.n_classes == 2 and kwargs.get("loss") == "binary_cross_entropy":
            n_out = 1
        else:
            n_out = dataset.n_classes
        return cls(dataset.x_train.shape[1], n_hidden, n_out, **kwargs)

    def _init_params(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        def draw(fan_in: int, fan_out: int) -> np.ndarray:
            if self.activation == "relu":
                std = np.sqrt(2.0 / fan_in)  # He et al. (2015)
            else:
                std = np.sqrt(2.0 / (fan_in + fan_out))  # Glorot & Bengio (2010)
            return (rng.standard_normal((fan_in, fan_out)) * std).astype(self.dtype)

        return {
            "W1": draw(self.n_in, self.n_hidden),
            "b1": np.zeros(self.n_hidden, self.dtype),
            "W2": draw(self.n_hidden, self.n_out),
            "b2": np.zeros(self.n_out, self.dtype),
        }

    def reinitialize(self, seed: int) -> None:
        """Draw new initial weights from ``seed``, in place (used by repeated range tests)."""
        fresh = self._init_params(np.random.default_rng(seed))
        for key, value in self.params.items():
            value[...] = fresh[key]

    # -- forward and backward -------------------------------------------------

    def _buffer(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape:
            buf = self._buffers[name] = np.empty(shape, self.dtype)
        return buf

    def _rows(self, batch: int) -> np.ndarray:
        """``arange(batch)``, kept between calls (it indexes each row's true class)."""
        rows = self._buffers.get("rows")
        if rows is None or rows.size != batch:
            rows = self._buffers["rows"] = np.arange(batch)
        return rows

    def _as_input(self, x) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise LRFinderError(
                f"x must have shape (batch, {self.n_in}), got {x.shape}; "
                f"the network was built with n_in={self.n_in}"
            )
        return x if x.dtype == self.dtype else x.astype(self.dtype)

    def _hidden(self, x: np.ndarray) -> np.ndarray:
        """Hidden activations in a reused buffer; the derivative is computed from them."""
        a1 = self._buffer("a1", (x.shape[0], self.n_hidden))
        np.matmul(x, self.params["W1"], out=a1)
        a1 += self.params["b1"]
        if self.activation == "relu":
            np.maximum(a1, 0, out=a1)
        elif self.activation == "sigmoid":
            _sigmoid_(a1)
        else:
            np.tanh(a1, out=a1)
        return a1

    def forward(self, x) -> np.ndarray:
        """Raw outputs (logits for classification, predictions for regression), a new array."""
        x = self._as_input(x)
        return self._hidden(x) @ self.params["W2"] + self.params["b2"]

    def loss_and_grads(self, x, y) -> tuple[float, dict[str, np.ndarray]]:
        """Mean loss on the batch and the gradient of every parameter.

        The gradient arrays are buffers reused by the next call.
        """
        x = self._as_input(x)
        batch = x.shape[0]
        p = self.params
        a1 = self._hidden(x)
        out = self._buffer("out", (batch, self.n_out))
        np.matmul(a1, p["W2"], out=out)
        out += p["b2"]
        loss = self._loss_and_output_grad_(out, y)  # out now holds dL/d(out)

        g = self._grads
        np.matmul(a1.T, out, out=g["W2"])
        out.sum(axis=0, out=g["b2"])
        d_hidden = self._buffer("d_hidden", (batch, self.n_hidden))
        np.matmul(out, p["W2"].T, out=d_hidden)
        if self.activation == "relu":
            d_hidden *= a1 > 0
        elif self.activation == "sigmoid":
            d_hidden *= a1
            a1 -= 1.0
            d_hidden *= a1
            d_hidden *= -1.0  # a (1 - a) == -a (a - 1)
        else:
            d_hidden *= 1.0 - a1 * a1
        np.matmul(x.T, d_hidden, out=g["W1"])
        d_hidden.sum(axis=0, out=g["b1"])
        return loss, g

    def _loss_and_output_grad_(self, out: np.ndarray, y) -> float:
        """Return the mean loss and overwrite ``out`` with its gradient."""
        batch = out.shape[0]
        if self.loss == "cross_entropy":
            labels = np.asarray(y)
            rows = self._rows(batch)
            out -= out.max(axis=1, keepdims=True)
            picked = out[rows, labels]  # the true class's shifted logit (a copy)
            np.exp(out, out=out)
            total = out.sum(axis=1, keepdims=True)
            # -log softmax = log(total) - picked, summed in float64
            loss = float(np.log(total, dtype=np.float64).sum() - picked.sum(dtype=np.float64))
            # the gradient (softmax - onehot) / batch, with the 1 / batch folded in
            total *= batch
            out /= total
            out[rows, labels] -= 1.0 / batch
            return loss / batch
        elif self.loss == "binary_cross_entropy":
            target = np.asarray(y, self.dtype).reshape(batch, 1)
            z = out.astype(np.float64)
            # softplus(z) - y z, written to stay finite for large |z|
            loss = float(np.mean(np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))))
            _sigmoid_(out)
            out -= target
        else:
            target = np.asarray(y, self.dtype).reshape(out.shape)
            out -= target
            loss = float(np.mean(out.astype(np.float64) ** 2))
            out *= 2.0 / self.n_out
        out /= batch
        return loss

    # -- inference --------------------------------------------------------------

    def predict(self, x) -> np.ndarray:
        """Class labels for classification, predicted values for regression."""
        out = self.forward(x)
        return out if self.loss == "mse" else self._labels_from(out)

    def _labels_from(self, out: np.ndarray) -> np.ndarray:
        if self.loss == "binary_cross_entropy":
            return (out[:, 0] > 0).astype(np.int64)
        return out.argmax(axis=1)

    def evaluate(self, x, y, x_scale: float = 1.0) -> tuple[float, float | None]:
        """Mean loss and accuracy on ``(x, y)``; accuracy is None for regression.

        ``x`` may be uint8 image data: each chunk is multiplied by ``x_scale`` in float.
        """
        x, y = np.asarray(x), np.asarray(y)
        if len(x) == 0:
            raise LRFinderError("cannot evaluate on an empty set; give at least one sample")
        loss_sum, correct = 0.0, 0
        for start in range(0, len(x), EVAL_CHUNK):
            xb = x[start : start + EVAL_CHUNK].astype(self.dtype) * self.dtype.type(x_scale)
            yb = y[start : start + EVAL_CHUNK]
            out = self.forward(xb)
            if self.loss != "mse":
                correct += int((self._labels_from(out) == yb).sum())
            loss_sum += self._loss_and_output_grad_(out, yb) * len(xb)
        accuracy = None if self.loss == "mse" else correct / len(x)
        return loss_sum / len(x), accuracy

    # -- state --------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter array."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy saved arrays back into ``params`` in place (the optimizer keeps its references)."""
        missing = set(self.params) - set(state)
        if missing:
            raise LRFinderError(f"state is missing parameters {sorted(missing)}")
        for k, v in self.params.items():
            v[...] = state[k]

    def __getstate__(self) -> dict:
        # Pickling or deep-copying the views would copy each one on its own and lose
        # their link to the flat buffers; the copy rebuilds them from the buffers.
        state = self.__dict__.copy()
        state["_buffers"] = {}
        if flat_buffer(self.params.values()) is self.flat_params:
            del state["params"]
        del state["_grads"]
        return state

    def __setstate__(self, state: dict) -> None:
        params = state.pop("params", None)
        self.__dict__.update(state)
        if "flat_params" not in state:  # pickled before the flat buffers existed
            self._buffers = {}
            self._into_flat_buffers(params)
        else:
            # Pickle protocol 5 (cloudpickle, joblib's workers) rebuilds an array on the
            # pickle's own memory, so it does not own its data, and views of it would not
            # count as views of one flat buffer; copy such a buffer into one that does.
            self.flat_params, self.flat_grads = (
                np.require(buffer, requirements="COW")
                for buffer in (self.flat_params, self.flat_grads)
            )
            self._attach_views()
            if params is not None:  # a key was detached from the buffer: keep it detached
                self.params = params

    def __repr__(self) -> str:
        return (
            f"TwoLayerNet({self.n_in}, {self.n_hidden}, {self.n_out}, "
            f"activation={self.activation!r}, loss={self.loss!r}, seed={self.seed})"
        )
