r"""The activation functions of the lectures, each with its derivative.

A layer turns its weighted input :math:`z^l = w^l a^{l-1} + b^l` into its activation
:math:`a^l = \sigma(z^l)`. Backpropagation needs the reverse map: given the error arriving
from above, :math:`\partial C / \partial a^l`, an activation returns the layer's error
:math:`\delta^l = \partial C / \partial z^l`. For an element-wise activation that is the
Hadamard product of the second backpropagation equation,

    delta^l = dC/da^l (.) sigma'(z^l),

softmax couples the units of a layer and multiplies by its Jacobian instead, and maxout
routes the error to the piece that won the maximum.

Arrays are mini-batches with one row per instance: ``z`` and ``a`` are ``(B, n)``
(``(B, n * k)`` for the weighted input of a maxout layer with ``k`` pieces).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from hepdl.errors import ConfigError
from hepdl.text import did_you_mean

__all__ = [
    "ACTIVATIONS",
    "ELU",
    "Activation",
    "ElementWise",
    "LeakyReLU",
    "Linear",
    "Maxout",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
]


class Activation(ABC):
    """An activation :math:`a = \\sigma(z)` and its backward map ``dC/da -> dC/dz``."""

    name: str = ""
    pieces: int = 1
    """Affine pieces per unit: the layer's weighted input has ``units * pieces`` columns."""

    @abstractmethod
    def forward(self, z: np.ndarray) -> np.ndarray:
        """``a = sigma(z)``: ``(B, n * pieces) -> (B, n)``."""

    @abstractmethod
    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        """``delta = dC/dz`` from ``grad_a = dC/da``; may overwrite ``grad_a`` in place."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ElementWise(Activation):
    """An activation applied unit by unit, so that ``delta = dC/da (.) sigma'(z)``."""

    @abstractmethod
    def derivative(self, z: np.ndarray) -> np.ndarray:
        """``sigma'(z)``, element-wise."""

    def _derivative_given(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        # sigma'(z) where the forward value a = sigma(z) is already known; subclasses whose
        # derivative is cheaper from a (sigmoid, tanh) override this.
        return self.derivative(z)

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        # delta^l = dC/da^l (.) sigma'(z^l)
        grad_a *= self._derivative_given(z, a)
        return grad_a


class Sigmoid(ElementWise):
    """sigma(z) = 1 / (1 + e^{-z});  sigma'(z) = sigma(z) (1 - sigma(z))."""

    name = "sigmoid"

    def forward(self, z: np.ndarray) -> np.ndarray:
        # e^{-|z|} never overflows: sigma(z) = 1/(1+e^{-z}) for z >= 0, e^{z}/(1+e^{z}) else.
        e = np.exp(-np.abs(z))
        r = 1.0 / (1.0 + e)
        return np.where(z >= 0, r, e * r)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return self._derivative_given(z, self.forward(z))

    def _derivative_given(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return a * (1.0 - a)


class Tanh(ElementWise):
    """tanh(z);  tanh'(z) = 1 - tanh(z)^2."""

    name = "tanh"

    def forward(self, z: np.ndarray) -> np.ndarray:
        return np.tanh(z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return self._derivative_given(z, np.tanh(z))

    def _derivative_given(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return 1.0 - a * a


class ReLU(ElementWise):
    """max(0, z);  derivative 1 for z > 0 and 0 otherwise (0 at the kink z = 0)."""

    name = "relu"

    def forward(self, z: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return (z > 0).astype(z.dtype)

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        # Same equation; multiplying by the boolean mask skips building a float array.
        np.multiply(grad_a, z > 0, out=grad_a)
        return grad_a


class LeakyReLU(ElementWise):
    """z for z > 0, slope * z otherwise (slope 0.1 by default, as in the lectures)."""

    name = "leaky_relu"

    def __init__(self, slope: float = 0.1) -> None:
        if not np.isfinite(slope) or slope < 0:
            raise ConfigError(f"leaky_relu slope: expected a finite number >= 0, got {slope}")
        self.slope = float(slope)

    def forward(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, z, self.slope * z)

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, self.slope).astype(z.dtype)

    def __repr__(self) -> str:
        return f"LeakyReLU(slope={self.slope})"


class ELU(ElementWise):
    """z for z > 0, alpha (e^z - 1) otherwise;  derivative 1 or alpha e^z = a + alpha."""

    name = "elu"

    def __init__(self, alpha: float = 1.0) -> None:
        if not np.isfinite(alpha) or alpha <= 0:
            raise ConfigError(f"elu alpha: expected a finite number > 0, got {alpha}")
        self.alpha = float(alpha)

    def forward(self, z: np.ndarray) -> np.ndarray:
        # expm1 of min(z, 0): the branch for z > 0 is discarded, so never let it overflow.
        return np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0)))

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0))).astype(z.dtype)

    def __repr__(self) -> str:
        return f"ELU(alpha={self.alpha})"


class Linear(ElementWise):
    """The identity, a = z;  derivative 1 (the output of a regression network)."""

    name = "linear"

    def forward(self, z: np.ndarray) -> np.ndarray:
        return z

    def derivative(self, z: np.ndarray) -> np.ndarray:
        return np.ones_like(z)

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        return grad_a  # sigma' = 1: nothing to multiply


class Softmax(Activation):
    """a_j = e^{z_j} / sum_k e^{z_k};  Jacobian da_j/dz_i = a_j (delta_ij - a_i).

    The units are coupled, so the Hadamard product of the element-wise case becomes a
    Jacobian-vector product: delta_i = sum_j dC/da_j a_j (delta_ij - a_i)
    = a_i (dC/da_i - sum_j dC/da_j a_j).
    """

    name = "softmax"

    def forward(self, z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=1, keepdims=True))  # shifting by max(z) avoids overflow
        e /= e.sum(axis=1, keepdims=True)
        return e

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """``J[b, j, i] = da_j/dz_i = a_j (delta_ij - a_i)``: ``(B, n) -> (B, n, n)``."""
        a = self.forward(z)
        return a[:, :, None] * (np.eye(z.shape[1], dtype=z.dtype) - a[:, None, :])

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        # delta = J^T dC/da without building the (B, n, n) Jacobian.
        grad_a -= (grad_a * a).sum(axis=1, keepdims=True)
        grad_a *= a
        return grad_a


class Maxout(Activation):
    """a_j = max_p z_{j,p}: each unit takes the maximum over ``pieces`` affine maps.

    The layer's weighted input has ``units * pieces`` columns, unit-major (the pieces of
    unit j are columns ``j*pieces ... j*pieces + pieces - 1``, as in ``hepdl.models``).
    The derivative of a maximum is 1 for the winning piece and 0 for the others, so
    backpropagation sends dC/da_j to the arg-max piece only.
    """

    name = "maxout"

    def __init__(self, pieces: int = 2) -> None:
        if int(pieces) != pieces or pieces < 2:
            raise ConfigError(f"maxout pieces: expected an integer >= 2, got {pieces}")
        self.pieces = int(pieces)

    def forward(self, z: np.ndarray) -> np.ndarray:
        return z.reshape(z.shape[0], -1, self.pieces).max(axis=2)  # (B, n*k) -> (B, n)

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        zr = z.reshape(z.shape[0], -1, self.pieces)  # (B, n, k)
        winner = zr.argmax(axis=2)[:, :, None]  # (B, n, 1)
        delta = np.zeros_like(zr)
        np.put_along_axis(delta, winner, grad_a[:, :, None], axis=2)
        return delta.reshape(z.shape)  # (B, n*k)

    def __repr__(self) -> str:
        return f"Maxout(pieces={self.pieces})"


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Maxout, Softmax, Linear)
}
"""Every activation of the lectures by name; options (slope, alpha, pieces) at defaults."""


def get_activation(spec: str | Activation, *, option: str = "activation") -> Activation:
    """An :class:`Activation` from its name (default options) or the instance itself."""
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str) or spec not in ACTIVATIONS:
        raise ConfigError(
            f"{option}: unknown activation {spec!r}{did_you_mean(str(spec), ACTIVATIONS)}; "
            f"choose from {', '.join(ACTIVATIONS)} or pass an Activation instance"
        )
    return ACTIVATIONS[spec]()
