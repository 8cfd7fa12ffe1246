from __future__ import annotations

import math

import numpy as np
import pytest

from hepdl.errors import ConfigError
from hepdl.scratch.activations import (
    ACTIVATIONS,
    ELU,
    ElementWise,
    LeakyReLU,
    Maxout,
    Softmax,
    get_activation,
)

# One obviously correct scalar formula per element-wise activation.
SCALAR = {
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    "tanh": math.tanh,
    "relu": lambda z: max(0.0, z),
    "leaky_relu": lambda z: z if z > 0 else 0.1 * z,
    "elu": lambda z: z if z > 0 else math.exp(z) - 1.0,
    "linear": lambda z: z,
}


def z_batch(seed: int = 0, shape=(4, 6)) -> np.ndarray:
    z = np.random.default_rng(seed).normal(scale=2.0, size=shape)
    z[np.abs(z) < 1e-3] = 0.5  # keep away from the kinks at 0 for the difference quotients
    return z


@pytest.mark.parametrize("name", sorted(SCALAR))
def test_elementwise_forward_matches_scalar_formula(name):
    act = get_activation(name)
    z = z_batch()
    expected = np.array([[SCALAR[name](v) for v in row] for row in z])
    np.testing.assert_allclose(act.forward(z), expected, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", sorted(SCALAR))
def test_elementwise_derivative_matches_difference_quotient(name):
    act = get_activation(name)
    assert isinstance(act, ElementWise)
    z, h = z_batch(1), 1e-6
    numeric = (act.forward(z + h) - act.forward(z - h)) / (2 * h)
    np.testing.assert_allclose(act.derivative(z), numeric, rtol=1e-7, atol=1e-9)
    grad_a = np.random.default_rng(2).normal(size=z.shape)
    np.testing.assert_allclose(
        act.backward(z, act.forward(z), grad_a.copy()), grad_a * numeric, rtol=1e-7, atol=1e-9
    )


def test_sigmoid_and_elu_do_not_overflow():
    z = np.array([[-1000.0, -40.0, 0.0, 40.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = get_activation("sigmoid").forward(z)
        e = get_activation("elu").forward(z)
    np.testing.assert_allclose(a[0], [0.0, math.exp(-40) / (1 + math.exp(-40)), 0.5, 1.0, 1.0])
    np.testing.assert_allclose(e[0], [-1.0, math.expm1(-40), 0.0, 40.0, 1000.0])


def test_leaky_relu_slope_and_elu_alpha_options():
    z = np.array([[-2.0, 3.0]])
    np.testing.assert_allclose(LeakyReLU().forward(z), [[-0.2, 3.0]])  # lectures' 0.1
    np.testing.assert_allclose(LeakyReLU(0.3).forward(z), [[-0.6, 3.0]])
    np.testing.assert_allclose(ELU(2.0).forward(z), [[2.0 * math.expm1(-2.0), 3.0]])
    np.testing.assert_allclose(ELU(2.0).derivative(z), [[2.0 * math.exp(-2.0), 1.0]])


def test_softmax_forward_and_jacobian_against_loops():
    z = z_batch(3, (3, 4))
    soft = Softmax()
    a = soft.forward(z)
    for b in range(3):
        denom = sum(math.exp(v) for v in z[b])
        np.testing.assert_allclose(a[b], [math.exp(v) / denom for v in z[b]], rtol=1e-14)
    jac = soft.jacobian(z)  # (B, n, n): da_j / dz_i
    h = 1e-6
    for i in range(4):
        step = np.zeros_like(z)
        step[:, i] = h
        column = (soft.forward(z + step) - soft.forward(z - step)) / (2 * h)
        np.testing.assert_allclose(jac[:, :, i], column, rtol=1e-6, atol=1e-10)
    grad_a = np.random.default_rng(4).normal(size=z.shape)
    expected = np.einsum("bji,bj->bi", jac, grad_a)  # delta = J^T dC/da
    np.testing.assert_allclose(soft.backward(z, a, grad_a.copy()), expected, rtol=1e-12)


def test_softmax_is_stable_for_large_inputs():
    a = Softmax().forward(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(a, [[0.5, 0.5, 0.0]])


def test_maxout_takes_max_over_consecutive_pieces_and_routes_gradient():
    act = Maxout(pieces=3)
    z = z_batch(5, (2, 6))  # 2 units x 3 pieces
    a = act.forward(z)
    assert a.shape == (2, 2)
    for b in range(2):
        for j in range(2):
            assert a[b, j] == max(z[b, 3 * j : 3 * j + 3])
    grad_a = np.array([[1.0, 2.0], [3.0, 4.0]])
    delta = act.backward(z, a, grad_a)
    for b in range(2):
        for j in range(2):
            winner = 3 * j + int(np.argmax(z[b, 3 * j : 3 * j + 3]))
            for p in range(3 * j, 3 * j + 3):
                assert delta[b, p] == (grad_a[b, j] if p == winner else 0.0)


def test_registry_has_every_lecture_activation():
    assert set(ACTIVATIONS) == {
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "maxout",
        "softmax",
        "linear",
    }
    inst = Maxout(4)
    assert get_activation(inst) is inst


def test_bad_activation_names_and_options():
    with pytest.raises(
        ConfigError, match=r"hidden: unknown activation 'reLu' \(did you mean 'relu'\?\)"
    ):
        get_activation("reLu", option="hidden")
    with pytest.raises(ConfigError, match=r"maxout pieces: expected an integer >= 2, got 1"):
        Maxout(1)
    with pytest.raises(
        ConfigError, match=r"leaky_relu slope: expected a finite number >= 0, got -1"
    ):
        LeakyReLU(-1)
    with pytest.raises(ConfigError, match=r"elu alpha: expected a finite number > 0, got 0"):
        ELU(0)
