r"""A fully connected network in NumPy whose backward pass is the four equations.

Notation of the lectures, layer l = 1..L with n_l units, instance x:

    z^l = w^l a^{l-1} + b^l,        a^l = sigma(z^l),        a^0 = x

and backpropagation of the cost C:

    (BP1)  delta^L = grad_a C (.) sigma'(z^L)
    (BP2)  delta^l = ((w^{l+1})^T delta^{l+1}) (.) sigma'(z^l)
    (BP3)  dC/db^l = delta^l
    (BP4)  dC/dw^l = delta^l (a^{l-1})^T      (dC/dw^l_jk = a^{l-1}_k delta^l_j)

Over a mini-batch the instances are the rows of matrices, so every equation is one matrix
product: ``Z^l = A^{l-1} (w^l)^T + b^l`` is ``(B, n_l)``, (BP2) is ``(Delta^{l+1} w^{l+1})
(.) sigma'(Z^l)``, (BP4) sums over the batch as ``(Delta^l)^T A^{l-1}`` and (BP3) as the
column sums of ``Delta^l``. The cost is the batch mean C = (1/B) sum_x C_x, so the rows of
``Delta^l`` carry the factor 1/B and the sums are the averaged gradients.

Softmax (coupled units) and maxout (k pieces per unit) replace the Hadamard product with
sigma' by their own backward map (see :mod:`hepdl.scratch.activations`); a sigmoid or
softmax output with its cross-entropy uses the simplified output error delta^L = a^L - y.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.scratch.activations import Activation, get_activation
from hepdl.scratch.initializers import initialize_layer
from hepdl.scratch.losses import Loss, get_loss

__all__ = ["MLP", "ForwardPass", "Gradients"]

DTYPES = (np.float32, np.float64)


@dataclass
class ForwardPass:
    """What the backward pass needs: ``zs[l-1] = z^l`` and ``activations[l] = a^l``."""

    zs: list[np.ndarray]  # z^1..z^L, (B, n_l * pieces_l)
    activations: list[np.ndarray]  # a^0 = x, a^1..a^L, (B, n_l)


@dataclass
class Gradients:
    """dC/dw^l, dC/db^l and the errors delta^l of the batch-mean cost, for l = 1..L."""

    weights: list[np.ndarray]  # (n_l * pieces_l, n_{l-1})
    biases: list[np.ndarray]  # (n_l * pieces_l,)
    deltas: list[np.ndarray]  # (B, n_l * pieces_l), rows include the 1/B of the mean

    def as_list(self) -> list[np.ndarray]:
        """``[dC/dw^1, dC/db^1, dC/dw^2, ...]``, in the order of :meth:`MLP.parameters`."""
        return [g for pair in zip(self.weights, self.biases, strict=True) for g in pair]


class MLP:
    """A multilayer perceptron with explicit backpropagation, float32 or float64.

    Args:
        sizes: units per layer, input first: ``[784, 200, 80, 10]``.
        hidden: activation of the hidden layers, one name or instance for all or one per
            hidden layer (names in :data:`hepdl.scratch.activations.ACTIVATIONS`).
        output: activation of the output layer.
        loss: ``mse``, ``bce`` (sigmoid or softmax output) or ``cce`` (softmax output).
        init: ``gaussian`` (with ``sigma_w``, ``sigma_b``), ``xavier`` or ``he``.
        simplify_output_error: use delta^L = a^L - y for sigmoid + bce and softmax + cce
            (and compute their cost from the logits); ``False`` takes the general route
            through grad_a C and sigma'(z^L), which gradient checks compare against.
        dtype: ``np.float32`` (fast) or ``np.float64`` (gradient checks).
        seed: seed of the initial weights.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        hidden: str | Activation | Sequence[str | Activation] = "sigmoid",
        output: str | Activation = "linear",
        loss: str | Loss = "mse",
        init: str = "xavier",
        sigma_w: float = 1.0,
        sigma_b: float = 0.0,
        simplify_output_error: bool = True,
        dtype: type | np.dtype = np.float64,
        seed: int = 0,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2 or any(int(n) != n or n < 1 for n in sizes):
            raise ConfigError(
                f"sizes: expected at least two positive integers (inputs, ..., outputs), "
                f"got {sizes}"
            )
        self.dtype = np.dtype(dtype)
        if self.dtype not in DTYPES:
            raise ConfigError(f"dtype: expected float32 or float64, got {self.dtype}")
        self.sizes = [int(n) for n in sizes]
        self.activation_functions = [*self._hidden(hidden), get_activation(output, option="output")]
        self.loss_function = get_loss(loss)
        self._check_output()
        self.simplify_output_error = simplify_output_error
        rng = np.random.default_rng(seed)
        self.weights: list[np.ndarray] = []  # w^l (n_l * pieces_l, n_{l-1})
        self.biases: list[np.ndarray] = []  # b^l (n_l * pieces_l,)
        layers = zip(self.sizes[:-1], self.sizes[1:], self.activation_functions, strict=True)
        for n_in, n_out, act in layers:
            w, b = initialize_layer(
                n_in,
                n_out * act.pieces,
                scheme=init,
                rng=rng,
                sigma_w=sigma_w,
                sigma_b=sigma_b,
                dtype=self.dtype,
            )
            self.weights.append(w)
            self.biases.append(b)

    def _hidden(self, hidden) -> list[Activation]:
        n_hidden = len(self.sizes) - 2
        if isinstance(hidden, str | Activation):
            # Activations hold options only, no state: one instance serves every layer.
            return [get_activation(hidden, option="hidden")] * n_hidden
        hidden = list(hidden)
        if len(hidden) != n_hidden:
            raise ConfigError(
                f"hidden: got {len(hidden)} activations for {n_hidden} hidden layers "
                f"(sizes {self.sizes}); give one activation, or one per hidden layer"
            )
        return [get_activation(h, option=f"hidden[{i}]") for i, h in enumerate(hidden)]

    def _check_output(self) -> None:
        out, loss, n_out = self.activation_functions[-1], self.loss_function, self.sizes[-1]
        if out.name == "softmax" and n_out < 2:
            raise ConfigError("output: softmax needs at least 2 output units (one per class)")
        if loss.name == "cce" and out.name != "softmax":
            raise ConfigError(
                f"loss 'cce' needs output='softmax' (a probability distribution), "
                f"got output={out.name!r}"
            )
        if loss.name == "bce" and out.name not in ("sigmoid", "softmax"):
            raise ConfigError(
                f"loss 'bce' needs outputs in (0, 1): output='sigmoid' or 'softmax', "
                f"got output={out.name!r}"
            )

    # --- parameters ----------------------------------------------------------------------

    def parameters(self) -> list[np.ndarray]:
        """``[w^1, b^1, w^2, b^2, ...]``: the live arrays, updated in place by training."""
        return [p for pair in zip(self.weights, self.biases, strict=True) for p in pair]

    @property
    def n_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def copy(self, *, dtype: type | np.dtype | None = None) -> MLP:
        """An independent copy, optionally converted to another float ``dtype``."""
        twin = copy.deepcopy(self)
        if dtype is not None:
            twin.dtype = np.dtype(dtype)
            if twin.dtype not in DTYPES:
                raise ConfigError(f"dtype: expected float32 or float64, got {twin.dtype}")
            twin.weights = [w.astype(twin.dtype) for w in twin.weights]
            twin.biases = [b.astype(twin.dtype) for b in twin.biases]
        return twin

    # --- data ----------------------------------------------------------------------------

    def check_data(
        self, x: np.ndarray, y: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """``x (B, n_0)`` and ``y (B, n_L)`` as contiguous arrays of the network's dtype.

        A 1-D ``y`` is accepted for a single output unit. Raises :class:`DataError` naming
        the array and what was expected.
        """
        x = np.ascontiguousarray(x, dtype=self.dtype)
        if x.ndim != 2 or x.shape[1] != self.sizes[0]:
            raise DataError(
                f"x: expected shape (instances, {self.sizes[0]}) for sizes[0] = "
                f"{self.sizes[0]}, got {x.shape}"
            )
        if len(x) == 0:
            raise DataError("x: expected at least one instance, got an empty array")
        if not np.isfinite(x).all():
            raise DataError("x: contains NaN or inf")
        if y is None:
            return x, None
        y = np.ascontiguousarray(y, dtype=self.dtype)
        if y.ndim == 1 and self.sizes[-1] == 1:
            y = y[:, None]
        if y.ndim != 2 or y.shape != (len(x), self.sizes[-1]):
            raise DataError(
                f"y: expected shape ({len(x)}, {self.sizes[-1]}) (one row per instance of x, "
                f"one column per output unit), got {y.shape}"
            )
        if not np.isfinite(y).all():
            raise DataError("y: contains NaN or inf")
        self.loss_function.check_targets(y)
        return x, y

    # --- forward -------------------------------------------------------------------------

    def forward(self, x: np.ndarray, *, checked: bool = False) -> ForwardPass:
        """z^l and a^l of every layer for the batch ``x`` ``(B, n_0)``.

        ``checked=True`` skips :meth:`check_data`, for a training loop that checked the
        whole set once.
        """
        return self._forward(x if checked else self.check_data(x)[0])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The output a^L ``(B, n_L)``."""
        return self.forward(x).activations[-1]

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """The batch-mean cost C on ``(x, y)``."""
        x, y = self.check_data(x, y)
        return self.cost(self._forward(x), y)

    def _forward(self, x: np.ndarray) -> ForwardPass:
        zs, activations = [], [x]
        a = x
        for w, b, act in zip(self.weights, self.biases, self.activation_functions, strict=True):
            z = a @ w.T  # z^l = w^l a^{l-1} + b^l, all rows at once: (B, n_l * pieces)
            z += b
            a = act.forward(z)  # a^l = sigma(z^l): (B, n_l)
            zs.append(z)
            activations.append(a)
        return ForwardPass(zs, activations)

    @property
    def _simplified(self) -> bool:
        return (
            self.simplify_output_error
            and self.loss_function.simplifies_with == self.activation_functions[-1].name
        )

    def cost(self, cache: ForwardPass, y: np.ndarray) -> float:
        """C from a forward pass and checked targets ``y`` ``(B, n_L)``."""
        if self._simplified:  # from the logits z^L: finite even where a^L saturates
            return self.loss_function.value_from_logits(cache.zs[-1], y)
        return self.loss_function.value(cache.activations[-1], y)

    # --- backward ------------------------------------------------------------------------

    def loss_and_gradients(self, x: np.ndarray, y: np.ndarray) -> tuple[float, Gradients]:
        """The batch-mean cost and its gradients with respect to every w^l and b^l."""
        x, y = self.check_data(x, y)
        cache = self._forward(x)
        return self.cost(cache, y), self.backward(cache, y)

    def output_error(self, cache: ForwardPass, y: np.ndarray) -> np.ndarray:
        """(BP1) delta^L of the batch-mean cost, ``(B, n_L * pieces_L)``."""
        z, a = cache.zs[-1], cache.activations[-1]
        if self._simplified:
            delta = a - y  # sigma' cancels against the cross-entropy: delta^L = a^L - y
            delta /= len(a)
            return delta
        # delta^L = grad_a C (.) sigma'(z^L)
        return self.activation_functions[-1].backward(z, a, self.loss_function.gradient(a, y))

    def backward(self, cache: ForwardPass, y: np.ndarray) -> Gradients:
        """The four equations, from the output layer down to the first."""
        n_layers = len(self.weights)
        grad_w: list[np.ndarray] = [np.empty(0)] * n_layers
        grad_b: list[np.ndarray] = [np.empty(0)] * n_layers
        deltas: list[np.ndarray] = [np.empty(0)] * n_layers
        delta = self.output_error(cache, y)  # (BP1)
        for i in reversed(range(n_layers)):  # i = l - 1
            deltas[i] = delta
            grad_w[i] = delta.T @ cache.activations[i]  # (BP4) sum_x delta^l (a^{l-1})^T
            grad_b[i] = delta.sum(axis=0)  # (BP3) sum_x delta^l
            if i > 0:
                # (BP2) delta^{l-1} = ((w^l)^T delta^l) (.) sigma'(z^{l-1}), as rows
                grad_a = delta @ self.weights[i]  # (B, n_{l-1}) = dC/da^{l-1}
                delta = self.activation_functions[i - 1].backward(
                    cache.zs[i - 1], cache.activations[i], grad_a
                )
        return Gradients(grad_w, grad_b, deltas)

    def __repr__(self) -> str:
        acts = ", ".join(repr(a) for a in self.activation_functions)
        return (
            f"MLP(sizes={self.sizes}, activations=[{acts}], loss={self.loss_function!r}, "
            f"dtype={self.dtype})"
        )
