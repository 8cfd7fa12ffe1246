"""The trainability panel of the phase diagram: deep tanh networks train near the
mean-field boundary chi_1 = 1 and not deep in either phase (Schoenholz et al. 2017)."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import ConfigError
from hepdl.scratch import MLP
from hepdl.scratch.demos.phase_diagram import mean_field_chi, phase_diagram, plot_phase_diagram
from hepdl.scratch.demos.trainability import (
    CHANCE_LOSS,
    pooled_digits,
    trainability,
    training_loss,
)


@pytest.fixture(scope="module")
def trained():
    # sigma_b^2 = 0.05: chi_1 = 0.27 (ordered), 0.99 (at the boundary), 1.34 (chaotic)
    return trainability(sigma_w2=np.array([0.3, 1.7, 4.0]), sigma_b2=np.array([0.05]))


def test_networks_train_near_the_boundary_and_not_deep_in_either_phase(trained):
    _, chi = mean_field_chi(trained.sigma_w2, 0.05)
    ordered, boundary, chaotic = trained.loss[0]
    assert chi[0] < 0.5 and abs(np.log(chi[1])) < 6 / trained.depth and chi[2] > 1.2
    # 30 layers deep in the ordered phase map every digit onto the same output: chance.
    assert ordered == pytest.approx(CHANCE_LOSS, abs=0.05)
    # At the boundary the same 128 steps learn; deep in either phase far less.
    assert boundary < 0.7 * CHANCE_LOSS
    assert boundary < 0.75 * chaotic and boundary < 0.75 * ordered
    assert trained.best() == [(0.05, 1.7, boundary)]


def test_training_loss_runs_exactly_the_steps_asked_for():
    x, y = pooled_digits(64)
    assert x.shape == (64, 196) and y.shape == (64, 10)
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-5)  # standardised pixels
    nets = [MLP([196, 8, 10], hidden="tanh", output="softmax", loss="cce") for _ in range(2)]
    first = training_loss(nets[0], x, y, steps=3, lr=0.1, batch=16, seed=0)
    # The same three steps by hand: batches of 16 from one random permutation.
    order = np.random.default_rng(0).permutation(64)
    net = nets[1]
    for k in range(3):
        rows = order[16 * k : 16 * (k + 1)]
        _, grads = net.loss_and_gradients(x[rows], y[rows])
        for p, g in zip(net.parameters(), grads.as_list(), strict=True):
            p -= 0.1 * g
    assert first == pytest.approx(net.loss(x, y), rel=1e-6)


def test_a_diverging_network_reports_inf_not_nan():
    x, y = pooled_digits(32)
    net = MLP([196, 8, 10], hidden="relu", output="softmax", loss="cce", dtype=np.float32)
    assert training_loss(net, x, y, steps=5, lr=1e30, batch=8, seed=0) == float("inf")


def test_trainability_rejects_a_bad_grid():
    with pytest.raises(ConfigError, match=r"steps: expected a positive integer, got 0"):
        trainability(steps=0)
    with pytest.raises(ConfigError, match=r"sigma_w2, sigma_b2: expected variances >= 0"):
        trainability(sigma_w2=np.array([-1.0]))


def test_plot_draws_chi_and_trainability_side_by_side(tmp_path, trained):
    chi = phase_diagram(sigma_w2=np.array([0.5, 2.0]), sigma_b2=np.array([0.0, 0.1]), depth=8)
    path = plot_phase_diagram(chi, tmp_path / "phase.png", trained=trained)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
