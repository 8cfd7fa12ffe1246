r"""The cost functions of the lectures, averaged over a mini-batch of B instances.

Each loss gives the cost ``C = (1/B) sum_x C_x`` and its gradient with respect to the
network output, ``grad_a C`` (the 1/B included), which starts backpropagation through the
first equation, ``delta^L = grad_a C (.) sigma'(z^L)``.

For a sigmoid output with binary cross-entropy, and a softmax output with categorical
cross-entropy, the factors cancel and the output error simplifies to

    delta^L = a^L - y        (per instance; (a^L - y) / B for the batch mean).

These pairs also compute the cost from the weighted input ``z^L`` (the logits) with
log-sum-exp and softplus, which stays finite where ``log(a)`` would be ``log(0)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.text import did_you_mean

__all__ = [
    "LOSSES",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "Loss",
    "MeanSquaredError",
    "get_loss",
    "log_softmax",
    "one_hot",
    "softplus",
]


def softplus(z: np.ndarray) -> np.ndarray:
    """ln(1 + e^z) = max(z, 0) + ln(1 + e^{-|z|}), finite for every z."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """ln a_j = z_j - ln sum_k e^{z_k}, with the maximum subtracted first. ``(B, n)``."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class Loss(ABC):
    """A cost ``C(a, y)`` averaged over the batch, and its gradient ``dC/da``."""

    name = ""
    simplifies_with: str | None = None
    """Output activation for which ``delta^L = (a - y) / B`` (sigmoid or softmax)."""

    @abstractmethod
    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        """``C = (1/B) sum_x C_x(a_x, y_x)`` from the network output ``a`` ``(B, n)``."""

    @abstractmethod
    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """``dC/da`` ``(B, n)``, including the 1/B of the batch mean."""

    def value_from_logits(self, z: np.ndarray, y: np.ndarray) -> float:
        """The same cost from ``z^L``, for the output activation ``simplifies_with``."""
        raise ConfigError(f"loss {self.name!r}: has no form computed from the logits z^L")

    @abstractmethod
    def check_targets(self, y: np.ndarray) -> None:
        """Raise :class:`DataError` when ``y`` is outside the loss's domain."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MeanSquaredError(Loss):
    """C_x = 1/2 ||a_x - y_x||^2;  grad_a C_x = a_x - y_x."""

    name = "mse"

    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        diff = a - y
        return float(0.5 * np.einsum("bj,bj->", diff, diff) / len(a))

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        grad = a - y
        grad /= len(a)
        return grad

    def check_targets(self, y: np.ndarray) -> None:
        """Every finite target is valid (finiteness is checked by the network)."""


class BinaryCrossEntropy(Loss):
    """C_x = -sum_j [y_j ln a_j + (1 - y_j) ln(1 - a_j)], targets y_j in [0, 1].

    grad_a C_x = (a - y) / (a (1 - a)); with a = sigmoid(z) the a (1 - a) cancels against
    sigma'(z) and delta^L = a - y. From the logits, C_x = sum_j [softplus(z_j) - y_j z_j].
    """

    name = "bce"
    simplifies_with = "sigmoid"

    def _clipped(self, a: np.ndarray) -> np.ndarray:
        # Keeps log and 1/(a(1-a)) finite when a saturates at exactly 0 or 1.
        eps = np.finfo(a.dtype).eps
        return np.clip(a, eps, 1.0 - eps)

    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        a = self._clipped(a)
        return float(-(y * np.log(a) + (1.0 - y) * np.log1p(-a)).sum() / len(a))

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        a = self._clipped(a)
        return (a - y) / (a * (1.0 - a) * len(a))

    def value_from_logits(self, z: np.ndarray, y: np.ndarray) -> float:
        return float((softplus(z) - y * z).sum() / len(z))

    def check_targets(self, y: np.ndarray) -> None:
        if y.min() < 0 or y.max() > 1:
            raise DataError(
                "y: binary cross-entropy expects targets in [0, 1], "
                f"got values from {y.min():g} to {y.max():g}"
            )


class CategoricalCrossEntropy(Loss):
    """C_x = -sum_j y_j ln a_j, targets one-hot (or probabilities summing to 1).

    grad_a C_x = -y / a; through the softmax Jacobian this becomes delta^L = a - y
    (using sum_j y_j = 1). From the logits, C_x = -sum_j y_j log_softmax(z)_j.
    """

    name = "cce"
    simplifies_with = "softmax"

    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        tiny = np.finfo(a.dtype).tiny  # log(0) only where y = 0 too: 0 * log(tiny) = 0
        return float(-(y * np.log(np.maximum(a, tiny))).sum() / len(a))

    def gradient(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        tiny = np.finfo(a.dtype).tiny
        return -y / (np.maximum(a, tiny) * len(a))

    def value_from_logits(self, z: np.ndarray, y: np.ndarray) -> float:
        return float(-np.einsum("bj,bj->", y, log_softmax(z)) / len(z))

    def check_targets(self, y: np.ndarray) -> None:
        if y.min() < 0:
            raise DataError(f"y: categorical cross-entropy expects targets >= 0, got {y.min():g}")
        sums = y.sum(axis=1)
        bad = np.flatnonzero(np.abs(sums - 1.0) > 1e-4)
        if bad.size:
            raise DataError(
                "y: categorical cross-entropy expects each row of targets to sum to 1 "
                f"(one-hot or probabilities); row {bad[0]} sums to {sums[bad[0]]:g}"
            )


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (MeanSquaredError, BinaryCrossEntropy, CategoricalCrossEntropy)
}
"""Every cost of the lectures by name."""


def get_loss(spec: str | Loss) -> Loss:
    """A :class:`Loss` from its name (``mse``, ``bce``, ``cce``) or the instance itself."""
    if isinstance(spec, Loss):
        return spec
    if not isinstance(spec, str) or spec not in LOSSES:
        raise ConfigError(
            f"loss: unknown loss {spec!r}{did_you_mean(str(spec), LOSSES)}; "
            f"choose from {', '.join(LOSSES)}"
        )
    return LOSSES[spec]()


def one_hot(
    labels: np.ndarray, n_classes: int, *, dtype: type | np.dtype = np.float64
) -> np.ndarray:
    """Targets for categorical cross-entropy: ``labels (N,)`` in 0..n_classes-1 -> ``(N, C)``."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"labels: expected a 1-D integer array, got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(
            f"labels: expected class indices in 0..{n_classes - 1}, "
            f"got values from {labels.min()} to {labels.max()}"
        )
    out = np.zeros((len(labels), n_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1.0
    return out
