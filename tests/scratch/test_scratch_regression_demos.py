from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import DataError
from hepdl.scratch.demos.regression import (
    linear_regression_demo,
    logistic_regression_demo,
    normal_equation,
)


@pytest.fixture(scope="module")
def linear():
    return linear_regression_demo()


def test_normal_equation_matches_least_squares():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    y = x @ [1.0, -2.0, 0.5] + 0.3 + 0.1 * rng.normal(size=50)
    design = np.hstack([x, np.ones((50, 1))])
    expected, *_ = np.linalg.lstsq(design, y, rcond=None)
    np.testing.assert_allclose(normal_equation(x, y), expected, rtol=1e-10)


def test_normal_equation_rejects_a_singular_design():
    with pytest.raises(DataError, match=r"x: X\^T X is singular"):
        normal_equation(np.ones((5, 1)), np.arange(5.0))


def test_the_normal_equation_is_the_minimum_every_variant_approaches(linear):
    for name, history in linear.histories.items():
        assert min(history.loss) >= linear.cost_normal - 1e-12, name
        assert len(history.loss) == 40
    excess = {k: h.loss[-1] - linear.cost_normal for k, h in linear.histories.items()}
    assert excess["batch"] < 1e-12  # full gradient, fixed step: converges to the minimum
    assert excess["stochastic"] < 1e-4  # decaying step: settles close to it
    assert excess["mini-batch"] < 1e-2  # constant step: keeps fluctuating around it
    np.testing.assert_allclose(linear.thetas["batch"], linear.theta_normal, atol=1e-6)
    np.testing.assert_allclose(linear.thetas["stochastic"], linear.theta_normal, atol=0.01)
    np.testing.assert_allclose(linear.thetas["mini-batch"], linear.theta_normal, atol=0.1)
    np.testing.assert_allclose(linear.theta_normal, [1.5, -0.7], atol=0.1)  # the true line


def test_logistic_regression_equals_unregularised_maximum_likelihood():
    from sklearn.linear_model import LogisticRegression

    result = logistic_regression_demo()
    reference = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10_000)
    reference.fit(result.x, result.labels)
    np.testing.assert_allclose(result.weights, reference.coef_[0], rtol=1e-5)
    assert result.bias == pytest.approx(reference.intercept_[0], rel=1e-4, abs=1e-6)
    w1, w2 = result.weights
    correct = sum(
        int((w1 * x1 + w2 * x2 + result.bias > 0) == label)
        for (x1, x2), label in zip(result.x, result.labels, strict=True)
    )
    assert result.accuracy == correct / len(result.x)
    assert result.accuracy == pytest.approx(reference.score(result.x, result.labels))
    assert result.accuracy > 0.8  # overlapping classes: no line separates them all
