from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import ConfigError
from hepdl.scratch import MLP, GradientDescent, fit


def toy(n: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    return x, y


def test_plain_step_is_theta_minus_eta_gradient():
    net = MLP([3, 4, 1], hidden="tanh")
    x, y = toy()
    before = [p.copy() for p in net.parameters()]
    _, grads = net.loss_and_gradients(x, y)
    expected = [p - 0.1 * g for p, g in zip(before, grads.as_list(), strict=True)]
    GradientDescent(lr=0.1).step(net.parameters(), grads.as_list(), lr=0.1)
    for p, e in zip(net.parameters(), expected, strict=True):
        np.testing.assert_allclose(p, e, rtol=1e-15)


def test_momentum_matches_naive_recursion():
    net = MLP([3, 1])
    x, y = toy()
    reference = net.copy()
    fit(net, x, y, epochs=3, lr=0.05, momentum=0.8)  # batch GD: one step per epoch
    velocity = [np.zeros_like(p) for p in reference.parameters()]
    for _ in range(3):
        _, grads = reference.loss_and_gradients(x, y)
        for p, v, g in zip(reference.parameters(), velocity, grads.as_list(), strict=True):
            v[...] = 0.8 * v + 0.05 * g  # v <- gamma v + eta grad C
            p[...] = p - v  # theta <- theta - v
    for got, want in zip(net.parameters(), reference.parameters(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_learning_rate_decay_schedule():
    opt = GradientDescent(lr=0.3, decay=0.5)
    assert [opt.learning_rate(t) for t in range(3)] == pytest.approx([0.3, 0.2, 0.15])
    history = fit(MLP([3, 1]), *toy(), epochs=3, lr=0.3, decay=0.5)
    assert history.lr == pytest.approx([0.3, 0.2, 0.15])


@pytest.mark.parametrize(("batch_size", "steps"), [(None, 1), (1, 12), (5, 3)])
def test_steps_per_epoch_of_batch_stochastic_and_minibatch(batch_size, steps, monkeypatch):
    net = MLP([3, 1])
    seen: list[int] = []
    original = net.backward

    def counting_backward(cache, y):
        seen.append(len(y))
        return original(cache, y)

    monkeypatch.setattr(net, "backward", counting_backward)
    fit(net, *toy(), epochs=2, lr=0.01, batch_size=batch_size)
    assert len(seen) == 2 * steps
    assert sum(seen) == 2 * 12  # every instance once per epoch


def test_every_variant_lowers_the_cost_and_records_it():
    x, y = toy(40)
    for batch_size, lr in ((None, 0.3), (1, 0.05), (8, 0.05)):  # one step per epoch: larger eta
        net = MLP([3, 1])
        start = net.loss(x, y)
        history = fit(net, x, y, epochs=20, lr=lr, batch_size=batch_size, momentum=0.5)
        assert len(history.loss) == 20
        assert history.loss[-1] == pytest.approx(net.loss(x, y))
        assert history.loss[-1] < 0.01 * start


def test_bad_options():
    x, y = toy()
    with pytest.raises(ConfigError, match=r"lr: expected a learning rate > 0, got 0"):
        fit(MLP([3, 1]), x, y, epochs=1, lr=0)
    with pytest.raises(ConfigError, match=r"momentum: expected gamma in \[0, 1\), got 1.0"):
        fit(MLP([3, 1]), x, y, epochs=1, lr=0.1, momentum=1.0)
    with pytest.raises(
        ConfigError, match=r"batch_size: expected None \(whole set\) or an integer >= 1, got 0"
    ):
        fit(MLP([3, 1]), x, y, epochs=1, lr=0.1, batch_size=0)
    with pytest.raises(ConfigError, match=r"epochs: expected a positive integer, got 0"):
        fit(MLP([3, 1]), x, y, epochs=0, lr=0.1)
