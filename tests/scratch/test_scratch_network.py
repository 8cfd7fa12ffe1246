from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import ConfigError, DataError
from hepdl.scratch import MLP
from hepdl.scratch.initializers import initialize_layer


def naive_backprop(net: MLP, x: np.ndarray, y: np.ndarray):
    """The four equations one instance at a time with column vectors, then averaged.

    Element-wise activations only; the MSE cost C_x = 1/2 ||a^L - y||^2.
    """
    grads_w = [np.zeros_like(w) for w in net.weights]
    grads_b = [np.zeros_like(b) for b in net.biases]
    acts = net.activation_functions
    for xi, yi in zip(x, y, strict=True):
        a, zs, activations = xi, [], [xi]
        for w, b, act in zip(net.weights, net.biases, acts, strict=True):
            z = np.array([sum(w[j, k] * a[k] for k in range(len(a))) + b[j] for j in range(len(b))])
            a = act.forward(z[None])[0]
            zs.append(z)
            activations.append(a)
        sp = acts[-1].derivative(zs[-1][None])[0]
        delta = (activations[-1] - yi) * sp  # BP1
        for layer in reversed(range(len(net.weights))):
            grads_b[layer] += delta / len(x)  # BP3
            grads_w[layer] += np.outer(delta, activations[layer]) / len(x)  # BP4
            if layer > 0:
                sp = acts[layer - 1].derivative(zs[layer - 1][None])[0]
                delta = (net.weights[layer].T @ delta) * sp  # BP2
    return grads_w, grads_b


@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "elu"])
def test_vectorized_backprop_equals_per_instance_equations(hidden):
    rng = np.random.default_rng(1)
    net = MLP([4, 5, 3, 2], hidden=hidden, output="tanh", init="gaussian", sigma_b=0.3, seed=2)
    x, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    _, grads = net.loss_and_gradients(x, y)
    want_w, want_b = naive_backprop(net, x, y)
    for got, want in zip(grads.weights + grads.biases, want_w + want_b, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert [d.shape for d in grads.deltas] == [(6, 5), (6, 3), (6, 2)]


def test_shapes_dtypes_and_maxout_widths():
    net = MLP(
        [7, 5, 4, 3], hidden=["maxout", "relu"], output="softmax", loss="cce", dtype=np.float32
    )
    assert [w.shape for w in net.weights] == [(10, 7), (4, 5), (3, 4)]  # maxout: 5 units x 2
    assert [b.shape for b in net.biases] == [(10,), (4,), (3,)]
    assert net.n_parameters == 10 * 8 + 4 * 6 + 3 * 5
    out = net.predict(np.ones((9, 7)))
    assert out.shape == (9, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
    twin = net.copy(dtype=np.float64)
    assert twin.weights[0].dtype == np.float64 and net.weights[0].dtype == np.float32
    twin.weights[0][:] = 0
    assert net.weights[0].any()  # a copy, not a view


def test_forward_matches_explicit_layers():
    rng = np.random.default_rng(3)
    net = MLP([3, 4, 2], hidden="tanh", output="sigmoid", loss="bce")
    x = rng.normal(size=(5, 3))
    hidden = np.tanh(x @ net.weights[0].T + net.biases[0])
    expected = 1 / (1 + np.exp(-(hidden @ net.weights[1].T + net.biases[1])))
    np.testing.assert_allclose(net.predict(x), expected, rtol=1e-14)


@pytest.mark.parametrize(
    ("scheme", "options", "std_w", "std_b"),
    [
        ("gaussian", {"sigma_w": 2.0, "sigma_b": 0.5}, 2.0 / np.sqrt(400), 0.5),
        ("xavier", {}, np.sqrt(2.0 / (400 + 300)), 0.0),
        ("he", {}, np.sqrt(2.0 / 400), 0.0),
    ],
)
def test_initializations_have_the_lecture_variances(scheme, options, std_w, std_b):
    w, b = initialize_layer(400, 300, scheme=scheme, rng=np.random.default_rng(0), **options)
    assert w.shape == (300, 400) and b.shape == (300,)
    assert abs(w.mean()) < 3 * std_w / np.sqrt(w.size)
    assert w.std() == pytest.approx(std_w, rel=0.01)  # 120000 draws: 0.2% statistical error
    assert b.std() == pytest.approx(std_b, rel=0.15, abs=0.0)


def test_config_errors():
    with pytest.raises(ConfigError, match=r"sizes: expected at least two positive integers"):
        MLP([3])
    with pytest.raises(ConfigError, match=r"hidden: got 1 activations for 2 hidden layers"):
        MLP([3, 4, 4, 1], hidden=["relu"])
    with pytest.raises(ConfigError, match=r"loss 'cce' needs output='softmax'"):
        MLP([3, 2], output="sigmoid", loss="cce")
    with pytest.raises(ConfigError, match=r"loss 'bce' needs outputs in \(0, 1\)"):
        MLP([3, 1], output="relu", loss="bce")
    with pytest.raises(ConfigError, match=r"output: softmax needs at least 2 output units"):
        MLP([3, 1], output="softmax")
    with pytest.raises(ConfigError, match=r"dtype: expected float32 or float64, got float16"):
        MLP([3, 1], dtype=np.float16)
    with pytest.raises(ConfigError, match=r"init: unknown initialisation 'glorot'"):
        MLP([3, 1], init="glorot")


def test_data_errors():
    net = MLP([3, 2])
    with pytest.raises(
        DataError, match=r"x: expected shape \(instances, 3\) for sizes\[0\] = 3, got \(4, 2\)"
    ):
        net.predict(np.zeros((4, 2)))
    with pytest.raises(DataError, match=r"x: expected at least one instance"):
        net.predict(np.zeros((0, 3)))
    with pytest.raises(DataError, match=r"x: contains NaN or inf"):
        net.predict(np.array([[0.0, np.nan, 1.0]]))
    with pytest.raises(DataError, match=r"y: expected shape \(4, 2\) .* got \(4, 3\)"):
        net.loss(np.zeros((4, 3)), np.zeros((4, 3)))
    one = MLP([3, 1])
    assert one.loss(np.zeros((2, 3)), np.array([1.0, 1.0])) == pytest.approx(0.5)  # 1-D y
