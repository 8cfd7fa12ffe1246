from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import ConfigError
from hepdl.scratch import MLP, gradient_check, gradient_check_table, relative_error
from hepdl.scratch.activations import ACTIVATIONS, Tanh
from hepdl.scratch.gradcheck import (
    CHECK_COLUMNS,
    check_problem,
    finite_difference_at,
    finite_difference_gradients,
)


def test_finite_differences_table_every_entry_below_1e_6():
    table = gradient_check_table()
    assert table.rows == list(ACTIVATIONS)
    assert table.errors.shape == (8, len(CHECK_COLUMNS))
    assert (table.errors < 1e-6).all(), table.format()
    text = table.format()
    assert "backprop vs finite differences" in text and "maxout" in text


def test_torch_autograd_table_every_entry_below_1e_10():
    from hepdl.scratch.torch_twin import torch_check

    table = gradient_check_table(compare=torch_check, method="torch autograd")
    assert (table.errors < 1e-10).all(), table.format()


def test_torch_twin_computes_the_same_cost():
    from hepdl.scratch.torch_twin import torch_loss_and_gradients

    for column in CHECK_COLUMNS:
        net, x, y = check_problem("maxout", column)
        cost, _ = torch_loss_and_gradients(net, x, y)
        assert cost == pytest.approx(net.loss(x, y), rel=1e-13)


def test_finite_differences_of_a_quadratic_are_exact():
    # C = 1/2 (w x + b - y)^2 for one instance: dC/dw = r x, dC/db = r with r = w x + b - y.
    net = MLP([1, 1], output="linear", loss="mse")
    net.weights[0][:] = 1.5
    net.biases[0][:] = -0.5
    x, y = np.array([[2.0]]), np.array([[1.0]])
    residual = 1.5 * 2.0 - 0.5 - 1.0
    dw, db = finite_difference_gradients(net, x, y)
    assert dw[0, 0] == pytest.approx(residual * 2.0, rel=1e-9)
    assert db[0] == pytest.approx(residual, rel=1e-9)
    assert net.weights[0][0, 0] == 1.5 and net.biases[0][0] == -0.5  # restored exactly
    picked = finite_difference_at(net, x, y, [(1, 0), (0, 0)])
    np.testing.assert_allclose(picked, [residual, residual * 2.0], rtol=1e-9)


class WrongTanh(Tanh):
    """tanh with a derivative missing its square: the check must catch it."""

    def _derivative_given(self, z, a):
        return 1.0 - a


def test_gradient_check_detects_a_wrong_derivative():
    net, x, y = check_problem("tanh", CHECK_COLUMNS[1])
    assert gradient_check(net, x, y) < 1e-6
    broken = MLP([3, 4, 4, 3], hidden=WrongTanh(), output="linear", init="gaussian", sigma_b=0.5)
    assert gradient_check(broken, x, y) > 1e-2


def test_relative_error():
    assert relative_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(np.array([3.0, 4.0]), np.zeros(2)) == pytest.approx(1.0)


def test_gradient_check_needs_float64():
    net = MLP([2, 1], dtype=np.float32)
    with pytest.raises(ConfigError, match=r"gradient check: needs a float64 network, got float32"):
        gradient_check(net, np.zeros((1, 2)), np.zeros((1, 1)))
