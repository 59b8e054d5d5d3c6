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

:class:`TwoLayerNet` is ``affine -> activation -> affine -> loss``. It works in
float32, uses BLAS matrix products into preallocated buffers, never computes the
gradient with respect to its input, and fuses softmax with cross-entropy so the
output gradient is simply ``(softmax - onehot) / batch``.
"""

from __future__ import annotations

import numpy as np

from lrfinder.errors import LRFinderError, check_count

ACTIVATIONS = ("relu", "sigmoid", "tanh")
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
        ``W1 (n_in, n_hidden)``, ``b1 (n_hidden,)``, ``W2 (n_hidden, n_out)``, ``b2 (n_out,)``.
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
        self.params = self._init_params(np.random.default_rng(seed))
        self._buffers: dict[str, np.ndarray] = {}
        self._grads = {k: np.empty_like(v) for k, v in self.params.items()}

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
            rows = np.arange(batch)
            out -= out.max(axis=1, keepdims=True)
            np.exp(out, out=out)
            total = out.sum(axis=1, keepdims=True)
            picked = out[rows, labels] / total[:, 0]
            loss = -float(np.log(picked.astype(np.float64)).mean())
            out /= total
            out[rows, labels] -= 1.0
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

    def __repr__(self) -> str:
        return (
            f"TwoLayerNet({self.n_in}, {self.n_hidden}, {self.n_out}, "
            f"activation={self.activation!r}, loss={self.loss!r}, seed={self.seed})"
        )
