"""The figures of generated against simulated showers: files written, one panel per layer
and sample, a histogram and a ratio panel per feature, bad input refused."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.errors import DataError
from hepdl.physics.shower_features import high_level_features
from hepdl.plots.generative import average_showers, feature_histograms


def layers(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"layer_0": rng.exponential(1, (50, 3, 8)), "layer_1": rng.exponential(1, (50, 4, 4))}


def test_average_showers_and_feature_histograms_are_written(tmp_path) -> None:
    path = average_showers(layers(0), layers(1), tmp_path / "avg.png")
    assert path.stat().st_size > 0
    energy = np.full(50, 20.0)
    ref, gen = high_level_features(layers(0), energy), high_level_features(layers(1), energy)
    out = feature_histograms(ref, gen, tmp_path / "f.png", floor=ref)
    assert out.stat().st_size > 0 and out.suffix == ".png"


def test_bad_input_is_refused(tmp_path) -> None:
    with pytest.raises(DataError, match="generated layers"):
        average_showers(layers(0), {"layer_0": layers(1)["layer_0"]}, tmp_path / "a.png")
    with pytest.raises(DataError, match="lack"):
        feature_histograms({"a": np.ones(3)}, {}, tmp_path / "b.png")
    with pytest.raises(DataError, match="expected a file name ending in"):
        average_showers(layers(0), layers(1), tmp_path / "a.txt")
