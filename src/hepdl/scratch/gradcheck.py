r"""Gradient checks: backpropagation against central finite differences (and torch).

For every parameter theta_k the central difference

    dC/dtheta_k ~ [C(theta + h e_k) - C(theta - h e_k)] / (2 h)

has a truncation error O(h^2 C''') and a rounding error O(eps C / h); in float64 the sum is
smallest near h = eps^(1/3) ~ 1e-5, the default, and far below 1e-6 relative there.
It costs two forward passes per parameter, against one forward and one backward pass for
all of them: this is why networks are trained by backpropagation, and why finite
differences are the check, not the method.

The agreement of two gradients is the relative error ||g1 - g2|| / (||g1|| + ||g2||)
(Euclidean norms over one parameter array), and a network's error is the largest over its
arrays w^1, b^1, ..., w^L, b^L.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from hepdl.errors import ConfigError
from hepdl.scratch.activations import ACTIVATIONS
from hepdl.scratch.network import MLP
from hepdl.text import did_you_mean

__all__ = [
    "CHECK_COLUMNS",
    "CheckColumn",
    "GradientTable",
    "check_problem",
    "finite_difference_at",
    "finite_difference_gradients",
    "gradient_check",
    "gradient_check_table",
    "relative_error",
]


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||); 0 when both are zero."""
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def _require_float64(net: MLP) -> None:
    if net.dtype != np.float64:
        raise ConfigError(
            f"gradient check: needs a float64 network, got {net.dtype}; "
            "use net.copy(dtype=np.float64)"
        )


def finite_difference_at(
    net: MLP,
    x: np.ndarray,
    y: np.ndarray,
    positions: Sequence[tuple[int, int]],
    *,
    step: float = 1e-5,
) -> np.ndarray:
    """Central differences for the parameters at ``positions``: ``(array, flat index)``
    pairs into :meth:`MLP.parameters` (``2k`` is w^{k+1}, ``2k + 1`` is b^{k+1})."""
    _require_float64(net)
    x, y = net.check_data(x, y)
    params = net.parameters()
    out = np.empty(len(positions))

    def cost() -> float:
        return net.cost(net.forward(x, checked=True), y)

    for i, (array, index) in enumerate(positions):
        flat = params[array].reshape(-1)  # a view: parameters are contiguous
        kept = flat[index]
        flat[index] = kept + step
        plus = cost()
        flat[index] = kept - step
        minus = cost()
        flat[index] = kept  # restore exactly, not by adding h back
        out[i] = (plus - minus) / (2.0 * step)
    return out


def finite_difference_gradients(
    net: MLP, x: np.ndarray, y: np.ndarray, *, step: float = 1e-5
) -> list[np.ndarray]:
    """Central differences for every parameter, shaped like :meth:`MLP.parameters`."""
    grads = []
    for array, p in enumerate(net.parameters()):
        positions = [(array, k) for k in range(p.size)]
        grads.append(finite_difference_at(net, x, y, positions, step=step).reshape(p.shape))
    return grads


def gradient_check(net: MLP, x: np.ndarray, y: np.ndarray, *, step: float = 1e-5) -> float:
    """Largest relative error between backprop and finite differences over the arrays."""
    _require_float64(net)
    _, grads = net.loss_and_gradients(x, y)
    numeric = finite_difference_gradients(net, x, y, step=step)
    return max(relative_error(g, n) for g, n in zip(grads.as_list(), numeric, strict=True))


@dataclass(frozen=True)
class CheckColumn:
    """One column of the table: a cost, the output activation and the output-error route."""

    label: str
    loss: str
    output: str | None  # None: the output layer uses the row's activation too
    simplify_output_error: bool = True


CHECK_COLUMNS = (
    CheckColumn("MSE, same output", "mse", None),
    CheckColumn("MSE, linear output", "mse", "linear"),
    CheckColumn("BCE, sigmoid, a-y", "bce", "sigmoid"),
    CheckColumn("BCE, sigmoid, general", "bce", "sigmoid", simplify_output_error=False),
    CheckColumn("CCE, softmax, a-y", "cce", "softmax"),
    CheckColumn("CCE, softmax, general", "cce", "softmax", simplify_output_error=False),
)
"""Every loss with the outputs it is meaningful for; "a-y" uses delta^L = a^L - y and
"general" the route grad_a C (.) sigma'(z^L) (through the Jacobian for softmax)."""


def check_problem(
    hidden: str, column: CheckColumn, *, seed: int = 0, batch: int = 5
) -> tuple[MLP, np.ndarray, np.ndarray]:
    """A small float64 network 3 -> 4 -> 4 -> 3 with ``hidden`` activations, a batch and
    targets valid for the column's loss; the same problem for every comparison."""
    if hidden not in ACTIVATIONS:
        raise ConfigError(
            f"hidden: unknown activation {hidden!r}{did_you_mean(hidden, ACTIVATIONS)}; "
            f"choose from {', '.join(ACTIVATIONS)}"
        )
    rng = np.random.default_rng(seed)
    net = MLP(
        [3, 4, 4, 3],
        hidden=hidden,
        output=column.output or hidden,
        loss=column.loss,
        init="gaussian",
        sigma_w=1.0,  # O(1) weighted inputs: every activation away from its flat tails
        sigma_b=0.5,  # non-zero biases, so that their gradients are checked too
        simplify_output_error=column.simplify_output_error,
        seed=seed,
    )
    x = rng.normal(size=(batch, 3))
    if column.loss == "mse":
        y = rng.normal(size=(batch, 3))
    elif column.loss == "bce":
        y = rng.integers(0, 2, size=(batch, 3)).astype(float)
    else:
        y = np.eye(3)[rng.integers(0, 3, size=batch)]
    return net, x, y


@dataclass
class GradientTable:
    """Largest relative error per hidden activation (rows) and :data:`CHECK_COLUMNS`."""

    method: str
    rows: list[str]
    columns: list[str]
    errors: np.ndarray  # (rows, columns)

    def format(self) -> str:
        """The table as aligned text, one row per activation."""
        width = max(len(c) for c in self.columns)
        head = f"{'hidden activation':<18}" + "".join(f"{c:>{width + 2}}" for c in self.columns)
        lines = [f"max relative error, backprop vs {self.method}", head]
        for name, errors in zip(self.rows, self.errors, strict=True):
            lines.append(f"{name:<18}" + "".join(f"{e:>{width + 2}.1e}" for e in errors))
        return "\n".join(lines)


def gradient_check_table(
    *,
    compare: Callable[[MLP, np.ndarray, np.ndarray], float] | None = None,
    method: str = "finite differences",
    seed: int = 0,
) -> GradientTable:
    """Backprop checked for every activation x every meaningful loss/output.

    ``compare(net, x, y)`` returns the largest relative error of the network's gradients
    against a reference: :func:`gradient_check` (the default, central differences) or
    :func:`hepdl.scratch.torch_twin.torch_check` (``method="torch autograd"``).
    """
    compare = compare or gradient_check
    rows = list(ACTIVATIONS)
    errors = np.empty((len(rows), len(CHECK_COLUMNS)))
    for i, hidden in enumerate(rows):
        for j, column in enumerate(CHECK_COLUMNS):
            errors[i, j] = compare(*check_problem(hidden, column, seed=seed))
    return GradientTable(method, rows, [c.label for c in CHECK_COLUMNS], errors)
