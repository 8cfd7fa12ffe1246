"""High-level shower features (hepdl.physics.shower_features) against a per-row loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepdl.errors import DataError
from hepdl.physics.shower_features import feature_labels, high_level_features


def naive(layers: dict, incident: np.ndarray) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for n in range(len(incident)):
        sums = {name: float(cells[n].sum()) for name, cells in layers.items()}
        total = sum(sums.values())
        out.setdefault("e_total_over_incident", []).append(total / incident[n])
        for name, cells in layers.items():
            h, w = cells.shape[1:]
            e = sums[name]
            my = mx = my2 = mx2 = 0.0
            for i in range(h):
                for j in range(w):
                    y, x = i - (h - 1) / 2, j - (w - 1) / 2
                    my, mx = my + cells[n, i, j] * y, mx + cells[n, i, j] * x
                    my2, mx2 = my2 + cells[n, i, j] * y * y, mx2 + cells[n, i, j] * x * x
            values = {
                f"e_{name}": e,
                f"e_fraction_{name}": e / total if total else 0.0,
                f"centre_y_{name}": my / e if e else 0.0,
                f"centre_x_{name}": mx / e if e else 0.0,
                f"width_y_{name}": math.sqrt(max(my2 / e - (my / e) ** 2, 0)) if e else 0.0,
                f"width_x_{name}": math.sqrt(max(mx2 / e - (mx / e) ** 2, 0)) if e else 0.0,
                f"sparsity_{name}": float((cells[n] > 0).sum()) / (h * w),
            }
            for key, value in values.items():
                out.setdefault(key, []).append(value)
    return out


def test_features_match_a_loop_over_cells_including_empty_layers() -> None:
    rng = np.random.default_rng(1)
    layers = {
        "a": rng.exponential(1.0, (6, 3, 5)) * (rng.random((6, 3, 5)) < 0.5),
        "b": rng.exponential(0.2, (6, 4, 4)),
    }
    layers["a"][2] = 0.0  # an empty layer: centre and width 0, fraction 0
    incident = rng.uniform(5, 50, 6)
    got = high_level_features(layers, incident)
    expected = naive(layers, incident)
    assert list(got) == list(expected)  # the documented order
    for name, values in expected.items():
        np.testing.assert_allclose(got[name], values, rtol=1e-10, atol=1e-12, err_msg=name)
    assert got["centre_y_a"][2] == 0 and got["e_fraction_a"][2] == 0
    labels = feature_labels(list(got))
    assert labels["e_b"] == "$E$ b [GeV]" and labels["width_x_a"] == "width in x, a [cells]"


def test_a_point_shower_has_its_cell_as_centre_and_no_width() -> None:
    cells = np.zeros((1, 5, 7))
    cells[0, 4, 1] = 3.0
    got = high_level_features({"l": cells}, np.array([6.0]))
    assert got["centre_y_l"][0] == 2 and got["centre_x_l"][0] == -2
    assert got["width_y_l"][0] == 0 and got["e_total_over_incident"][0] == 0.5
    assert got["sparsity_l"][0] == pytest.approx(1 / 35)


def test_bad_input_is_refused() -> None:
    with pytest.raises(DataError, match=r"layer 'x' has shape \(2, 3\); expected \(2, H, W\)"):
        high_level_features({"x": np.ones((2, 3))}, np.ones(2))
    with pytest.raises(DataError, match="non-finite"):
        high_level_features({"x": np.full((1, 2, 2), np.nan)}, np.ones(1))
    with pytest.raises(DataError, match="finite and > 0"):
        high_level_features({"x": np.ones((1, 2, 2))}, np.zeros(1))
