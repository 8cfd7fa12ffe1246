from __future__ import annotations

import math

import numpy as np
import pytest

from hepdl.errors import ConfigError, DataError
from hepdl.scratch.activations import Sigmoid, Softmax
from hepdl.scratch.losses import (
    BinaryCrossEntropy,
    CategoricalCrossEntropy,
    MeanSquaredError,
    get_loss,
    one_hot,
)

RNG = np.random.default_rng(0)
B, N = 4, 3
Z = RNG.normal(scale=2.0, size=(B, N))
Y_REAL = RNG.normal(size=(B, N))
Y_BINARY = RNG.integers(0, 2, size=(B, N)).astype(float)
Y_ONE_HOT = np.eye(N)[RNG.integers(0, N, size=B)]


def naive_mse(a, y):
    return sum(0.5 * sum((a[b, j] - y[b, j]) ** 2 for j in range(N)) for b in range(B)) / B


def naive_bce(a, y):
    total = 0.0
    for b in range(B):
        for j in range(N):
            total -= y[b, j] * math.log(a[b, j]) + (1 - y[b, j]) * math.log(1 - a[b, j])
    return total / B


def naive_cce(a, y):
    return -sum(y[b, j] * math.log(a[b, j]) for b in range(B) for j in range(N)) / B


CASES = [
    (MeanSquaredError(), Z, Y_REAL, naive_mse),
    (BinaryCrossEntropy(), Sigmoid().forward(Z), Y_BINARY, naive_bce),
    (CategoricalCrossEntropy(), Softmax().forward(Z), Y_ONE_HOT, naive_cce),
]


@pytest.mark.parametrize(("loss", "a", "y", "naive"), CASES, ids=lambda c: getattr(c, "name", ""))
def test_value_matches_naive_loop(loss, a, y, naive):
    assert loss.value(a, y) == pytest.approx(naive(a, y), rel=1e-13)


@pytest.mark.parametrize(("loss", "a", "y", "naive"), CASES, ids=lambda c: getattr(c, "name", ""))
def test_gradient_matches_difference_quotient(loss, a, y, naive):
    h = 1e-7
    numeric = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        step = np.zeros_like(a)
        step[idx] = h
        numeric[idx] = (naive(a + step, y) - naive(a - step, y)) / (2 * h)
    np.testing.assert_allclose(loss.gradient(a, y), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize(
    ("loss", "act", "y"),
    [
        (BinaryCrossEntropy(), Sigmoid(), Y_BINARY),
        (CategoricalCrossEntropy(), Softmax(), Y_ONE_HOT),
    ],
)
def test_logit_form_and_simplified_output_error(loss, act, y):
    a = act.forward(Z)
    assert loss.value_from_logits(Z, y) == pytest.approx(loss.value(a, y), rel=1e-12)
    general = act.backward(Z, a, loss.gradient(a, y))  # grad_a C (.) sigma'(z), or J^T grad_a C
    np.testing.assert_allclose(general, (a - y) / B, rtol=1e-10, atol=1e-15)
    assert loss.simplifies_with == act.name


def test_cross_entropies_stay_finite_for_saturated_outputs():
    z = np.array([[800.0, -800.0]])
    y = np.array([[0.0, 1.0]])
    bce = BinaryCrossEntropy().value_from_logits(z, y)
    assert bce == pytest.approx(1600.0)  # softplus(800) + softplus(800) - 0
    cce = CategoricalCrossEntropy().value_from_logits(z, y)
    assert cce == pytest.approx(1600.0)  # -(z_1 - logsumexp(z)) = 1600
    a = Sigmoid().forward(z)  # exactly 1 and 0: clipped, not log(0)
    assert np.isfinite(BinaryCrossEntropy().value(a, y))
    assert np.isfinite(BinaryCrossEntropy().gradient(a, y)).all()


def test_one_hot():
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(
        DataError, match=r"labels: expected class indices in 0..2, got values from 0 to 3"
    ):
        one_hot(np.array([0, 3]), 3)
    with pytest.raises(
        DataError, match=r"labels: expected a 1-D integer array, got float64 \(2,\)"
    ):
        one_hot(np.array([0.0, 1.0]), 3)


def test_target_checks_and_unknown_loss():
    with pytest.raises(
        DataError,
        match=r"y: binary cross-entropy expects targets in \[0, 1\], got values from 0 to 2",
    ):
        BinaryCrossEntropy().check_targets(np.array([[0.0, 2.0]]))
    with pytest.raises(DataError, match=r"row 1 sums to 2"):
        CategoricalCrossEntropy().check_targets(np.array([[0.0, 1.0], [1.0, 1.0]]))
    with pytest.raises(
        ConfigError,
        match=r"loss: unknown loss 'bce2' \(did you mean 'bce'\?\); choose from mse, bce, cce",
    ):
        get_loss("bce2")
