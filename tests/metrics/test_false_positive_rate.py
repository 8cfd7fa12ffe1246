"""``false_positive_rate``: eps_B at a signal efficiency, as the EG-vs-PU table quotes it."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import DataError
from hepdl.metrics.classification import background_rejection, false_positive_rate


@pytest.mark.parametrize("eps_s", [0.5, 0.9, 0.97, 1.0])
def test_matches_a_naive_count_of_the_background_passing_the_cut(eps_s: float) -> None:
    rng = np.random.default_rng(1)
    y = np.r_[np.ones(1000, int), np.zeros(10000, int)]  # the 1:10 EG : PU imbalance
    score = rng.normal(size=11000) + 2.0 * y
    k = round(eps_s * 1000)  # keep the k highest signal scores
    cut = np.sort(score[y == 1])[::-1][k - 1]
    expected = np.mean(score[y == 0] >= cut)
    assert false_positive_rate(y, score, signal_efficiency=eps_s) == pytest.approx(expected)
    rejection = background_rejection(y, score, signal_efficiency=eps_s)
    assert false_positive_rate(y, score, signal_efficiency=eps_s) == pytest.approx(1 / rejection)


def test_interpolates_between_roc_points_and_gives_zero_for_perfect_separation() -> None:
    # ROC points (eps_s, eps_b): (0, 0) (.5, 0) (.5, .5) (1, .5) (1, 1)
    y, score = [1, 0, 1, 0], [4.0, 3.0, 2.0, 1.0]
    assert false_positive_rate(y, score, signal_efficiency=0.5) == 0.0
    assert false_positive_rate(y, score, signal_efficiency=0.75) == pytest.approx(0.5)
    # a sloped segment from (.25, 0) to (.5, 1): eps_s = 0.3 gives eps_b = 0.2
    y, score = [1, 1, 0, 1, 1], [5.0, 4.0, 4.0, 2.0, 1.0]
    assert false_positive_rate(y, score, signal_efficiency=0.3) == pytest.approx(0.2)


def test_weights_count_and_bad_efficiency_is_refused() -> None:
    y, score = [1, 1, 0, 0], [4.0, 3.0, 3.5, 1.0]
    # keep both signal events (cut at 3): background 3.5 passes, 1.0 does not
    assert false_positive_rate(y, score, signal_efficiency=1.0) == pytest.approx(0.5)
    weights = [1.0, 1.0, 3.0, 1.0]
    assert false_positive_rate(
        y, score, signal_efficiency=1.0, sample_weight=weights
    ) == pytest.approx(0.75)
    with pytest.raises(DataError, match="signal_efficiency"):
        false_positive_rate(y, score, signal_efficiency=1.5)
