"""Regression figures: valid files, written atomically, bad input refused before drawing."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest

from hepdl.errors import DataError
from hepdl.metrics import binned_response, pulls
from hepdl.plots import (
    plot_predicted_vs_true,
    plot_pulls,
    plot_ratio_distribution,
    plot_response_resolution,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path) -> None:
    assert path.is_file()
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_MAGIC
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert plt.get_fignums() == []


def _jets(n: int = 3000, *, seed: int = 0, scale: float = 1.0, width: float = 0.1):
    rng = np.random.default_rng(seed)
    true = 20.0 + rng.exponential(80.0, n)  # (N,)
    pred = true * rng.normal(scale, width, n)  # (N,)
    return pred, true


# --- response and resolution ---------------------------------------------------------


def test_plot_response_resolution_overlays_curves_and_skips_sparse_bins(tmp_path: Path) -> None:
    pred, true = _jets()
    raw, _ = _jets(seed=0, scale=0.8, width=0.2)
    edges = [20.0, 40.0, 80.0, 160.0, 400.0, 5000.0, 5001.0]
    network = binned_response(pred, true, edges)
    assert network[-1]["response"] is None  # no jet above 5 TeV: skipped
    keys = ("low", "high", "response", "relative_resolution")
    no_errors = [{k: row[k] for k in keys} for row in binned_response(0.9 * pred, true, edges)]
    empty = [{**row, "response": None, "relative_resolution": None} for row in network]
    curves = {
        "network": network,
        "baseline (raw)": binned_response(raw, true, edges),
        "no errors": no_errors,
        "empty": empty,
    }
    target = tmp_path / "new" / "response.png"
    out = plot_response_resolution(
        curves, path=target, xlabel=r"true $p_T$ [GeV]", title="t", log_x=True
    )
    assert out == target
    _assert_png(out)


@pytest.mark.parametrize(
    ("curves", "match"),
    [
        ({}, r"curves: expected at least one curve, got none"),
        ({"a": []}, r"curves\['a'\]: expected a non-empty list of bins .* got an empty list"),
        ([[{"low": 0}]], r"curves: expected a dict \{label: binned_response\(\.\.\.\)\}, got list"),
        (
            {"a": [{"low": 0.0, "high": 1.0, "response": 1.0}]},
            r"curves\['a'\]\[0\]: expected keys \['low', 'high', 'response', "
            r"'relative_resolution'\], missing \['relative_resolution'\]",
        ),
        (
            {"a": [{"low": 0.0, "high": 1.0, "response": "x", "relative_resolution": 0.1}]},
            r"curves\['a'\]\[0\] response: expected a number or None, got 'x'",
        ),
        (
            {"a": [{"low": 0.0, "high": 1.0, "response": None, "relative_resolution": None}]},
            r"curves: no bin has a response to draw",
        ),
    ],
)
def test_plot_response_resolution_bad_input(tmp_path: Path, curves, match: str) -> None:
    with pytest.raises(DataError, match=match):
        plot_response_resolution(curves, path=tmp_path / "r.png")
    assert not (tmp_path / "r.png").exists()
    assert plt.get_fignums() == []


def test_plot_response_resolution_log_x_needs_positive_edges(tmp_path: Path) -> None:
    rows = [{"low": 0.0, "high": 1.0, "response": 1.0, "relative_resolution": 0.1}]
    with pytest.raises(DataError, match=r"log_x: expected positive bin edges"):
        plot_response_resolution({"a": rows}, path=tmp_path / "r.png", log_x=True)


# --- predicted vs true, ratio, pulls -------------------------------------------------


def test_plot_predicted_vs_true(tmp_path: Path) -> None:
    pred, true = _jets()
    _assert_png(plot_predicted_vs_true(pred, true, path=tmp_path / "pvt.png", label="E [GeV]"))
    _assert_png(plot_predicted_vs_true(np.ones(5), np.ones(5), path=tmp_path / "flat.png"))


@pytest.mark.parametrize(
    ("pred", "true", "match"),
    [
        (np.ones(3), np.ones(4), r"lengths differ: pred has 3, true has 4 entries"),
        ([], [], r"pred: expected a non-empty array"),
        (np.ones(3), [1.0, np.nan, 1.0], r"true: expected finite values, found 1 NaN"),
    ],
)
def test_plot_predicted_vs_true_bad_input(tmp_path: Path, pred, true, match: str) -> None:
    with pytest.raises(DataError, match=match):
        plot_predicted_vs_true(pred, true, path=tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


def test_plot_ratio_distribution(tmp_path: Path) -> None:
    pred, true = _jets()
    raw, _ = _jets(scale=0.8, width=0.2)
    ratios = {"network": pred / true, "raw": raw / true}
    _assert_png(plot_ratio_distribution(ratios, path=tmp_path / "ratio.png"))


@pytest.mark.parametrize(
    ("ratios", "match"),
    [
        ({}, r"ratios: expected at least one array, got none"),
        (np.ones(5), r"ratios: expected a dict \{label: array\}, got ndarray"),
        ({"nn": [1.0, np.inf]}, r"ratios\['nn'\]: expected finite values, found 0 NaN and 1 inf"),
        ({"nn": []}, r"ratios\['nn'\]: expected a non-empty array"),
    ],
)
def test_plot_ratio_distribution_bad_input(tmp_path: Path, ratios, match: str) -> None:
    with pytest.raises(DataError, match=match):
        plot_ratio_distribution(ratios, path=tmp_path / "ratio.png")


def test_plot_pulls_leaves_rcparams_unchanged(tmp_path: Path) -> None:
    pred, true = _jets()
    values = pulls(pred, true, 0.04 * true)  # uncertainties too small: pulls beyond 5
    assert np.any(np.abs(values) > 5)
    before = dict(mpl.rcParams)
    out = plot_pulls(values, path=tmp_path / "pulls.png")
    after = dict(mpl.rcParams)
    assert out == tmp_path / "pulls.png"
    _assert_png(out)
    assert {k for k in before if before[k] != after[k]} == set()


@pytest.mark.parametrize(
    ("values", "kwargs", "match"),
    [
        ([], {}, r"pulls: expected a non-empty array"),
        (np.ones((4, 2)), {}, r"pulls: expected a 1-D array"),
        (np.ones(4), {"bins": 0}, r"bins: expected a positive number of bins, got 0"),
        (np.ones(4), {"limit": -1}, r"limit: expected a positive number, got -1"),
    ],
)
def test_plot_pulls_bad_input(tmp_path: Path, values, kwargs, match: str) -> None:
    with pytest.raises(DataError, match=match):
        plot_pulls(values, path=tmp_path / "pulls.png", **kwargs)


def test_regression_plots_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"path: expected a file name ending in \.png"):
        plot_pulls(np.zeros(10), path=tmp_path / "pulls.jpeg")
