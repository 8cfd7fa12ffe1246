from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import DataError
from hepdl.scratch import MLP
from hepdl.scratch.demos.approximation import approximation_demo, kinks
from hepdl.scratch.demos.gradient_flow import NETWORKS, vanishing_gradients_demo
from hepdl.scratch.demos.phase_diagram import mean_field_chi, phase_diagram


@pytest.fixture(scope="module")
def approximation():
    return approximation_demo()


def test_relu_network_fits_the_function(approximation):
    assert approximation.rms_error < 0.06
    assert approximation.history.loss[-1] < 0.05 * approximation.history.loss[0]


def test_relu_network_is_piecewise_linear_with_kinks_at_minus_b_over_w(approximation):
    net = approximation.net
    grid = np.linspace(-3.0, 3.0, 6001)
    f = net.predict(grid[:, None])[:, 0]
    curvature = np.abs(f[:-2] - 2 * f[1:-1] + f[2:])  # second difference at grid[1:-1]
    bent = np.flatnonzero(curvature > 1e-9) + 1
    found = kinks(net)
    w, b, v = net.weights[0][:, 0], net.biases[0], net.weights[1][0]
    assert np.array_equal(found, np.sort(-b / w))
    for i in bent:  # every bend of the function lies at some -b_j / w_j ...
        assert ((found >= grid[i - 1]) & (found <= grid[i + 1])).any(), grid[i]
    for j in range(len(w)):  # ... and every unit with v_j w_j != 0 bends it at -b_j / w_j
        x_j = -b[j] / w[j]
        if -2.99 < x_j < 2.99 and abs(v[j] * w[j]) > 1e-6:
            near = np.abs(grid[1:-1] - x_j) <= grid[1] - grid[0]
            assert curvature[near].max() > 1e-9, x_j
    assert len(bent) > 0


def test_kinks_needs_a_one_hidden_layer_network():
    with pytest.raises(
        DataError, match=r"net: expected a 1 -> H -> 1 network, got sizes \[2, 3, 1\]"
    ):
        kinks(MLP([2, 3, 1]))


def test_gradients_vanish_for_sigmoid_and_explode_for_large_relu_weights():
    result = vanishing_gradients_demo()
    sigmoid, he, large = (result.ratio(label) for label in NETWORKS)
    assert sigmoid < 1e-5  # sigma' <= 1/4 per layer over 14 layers
    assert 0.1 < he < 10  # He initialisation keeps the error's size
    assert large > 10  # sigma_w^2 / 2 = 2 per layer in squared norm
    norms = result.norms["sigmoid, Xavier"][: result.depth]
    assert (np.diff(norms) > 0).all()  # shrinks monotonically towards the input


def test_mean_field_chi_against_monte_carlo():
    q_star, chi = mean_field_chi(2.0, 0.1)
    z = np.random.default_rng(0).normal(size=2_000_000)
    t = np.tanh(np.sqrt(q_star) * z)
    assert 2.0 * np.mean(t**2) + 0.1 == pytest.approx(q_star, rel=2e-3)  # a fixed point
    assert 2.0 * np.mean((1 - t**2) ** 2) == pytest.approx(chi, rel=2e-3)
    q0, chi0 = mean_field_chi([0.5, 1.0], 0.0)
    np.testing.assert_allclose(q0[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(chi0, [0.5, 1.0], atol=2e-3)  # boundary at sigma_w^2 = 1


def test_phase_diagram_ordered_at_small_and_chaotic_at_large_sigma_w():
    result = phase_diagram(
        sigma_w2=np.array([0.5, 0.8, 1.5, 4.0]), sigma_b2=np.array([0.0, 0.2]), depth=30, width=80
    )
    assert result.measured.shape == result.theory.shape == (2, 4)
    ordered, chaotic = result.measured[:, 0], result.measured[:, -1]
    assert (ordered < 0.8).all()  # gradients shrink per layer: vanishing
    assert (chaotic > 1.05).all()  # gradients grow per layer: exploding
    row = result.measured[0]  # sigma_b^2 = 0: the boundary lies between 0.8 and 1.5
    assert row[1] < 1.0 < row[2]
    np.testing.assert_allclose(np.log(result.measured), np.log(result.theory), atol=0.1)
