"""The figures of compare, scan, learning-curve and lr-find, drawn in hepdl.plots: valid
files written atomically, no pyplot figure left open, bad inputs named."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from hepdl.errors import DataError
from hepdl.plots import plot_learning_curve, plot_lr_find, plot_roc_bands
from hepdl.plots.scan import heatmap_order, plot_heatmap

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
GRID = np.linspace(0.05, 1.0, 20)


def _assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 1000
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert plt.get_fignums() == []


def test_roc_bands_draw_and_check_their_shape(tmp_path):
    median = 1.0 / GRID**2
    band = np.stack([median, 0.8 * median, np.where(GRID < 0.1, np.inf, 1.2 * median)])
    path = plot_roc_bands({"a (AUC 0.9)": band}, eps_s=GRID, path=tmp_path / "roc.png")
    assert path == tmp_path / "roc.png"
    _assert_png(path)
    with pytest.raises(DataError, match=r"bands\['a'\]: expected shape \(3, 20\)"):
        plot_roc_bands({"a": band[:2]}, eps_s=GRID, path=tmp_path / "bad.png")
    with pytest.raises(DataError, match="path: expected a file name ending in"):
        plot_roc_bands({"a": band}, eps_s=GRID, path=tmp_path / "roc.txt")


def test_heatmap_orders_numbers_and_draws_failed_cells_grey(tmp_path):
    assert heatmap_order([1e-2, 1e-4, 1e-3]) == [1e-4, 1e-3, 1e-2]
    assert heatmap_order(["b", "a"]) == ["b", "a"]  # categories as given
    z = np.array([[0.8, np.nan], [0.9, 0.7]])
    notes = [["0.800", "FAIL"], ["0.900", "0.700"]]
    axes = {
        "x_values": [1e-4, 1e-2],
        "y_values": ["[8]", "[16]"],
        "x_ticks": ["1.0e-04", "0.01"],
        "y_ticks": ["[8]", "[16]"],
        "x_label": "task.lr",
        "y_label": "model.hidden",
    }
    path = plot_heatmap(
        z, notes, **axes, colorbar_label="auc", title="test auc", path=tmp_path / "heat.png"
    )
    _assert_png(path)
    with pytest.raises(DataError, match=r"expected 2 x 2 cells"):
        plot_heatmap(z[:1], notes, **axes, colorbar_label="m", title="t", path=tmp_path / "b.png")


def test_learning_curve_and_lr_find_figures(tmp_path):
    lc = plot_learning_curve(
        [100, 1000, 10000],
        [0.7, 0.8, 0.85],
        [0.02, np.nan, 0.01],
        metric="auc",
        path=tmp_path / "lc.png",
    )
    _assert_png(lc)
    with pytest.raises(DataError, match="lengths differ"):
        plot_learning_curve([100, 1000], [0.7], [0.1], metric="auc", path=tmp_path / "x.png")
    lrs = np.geomspace(1e-5, 1.0, 30)
    losses = 1.0 + np.sin(np.arange(30) / 5)
    losses[3] = np.nan  # a step without a loss
    lr = plot_lr_find(lrs, losses, suggestion=float(lrs[15]), path=tmp_path / "lr.png")
    _assert_png(lr)
    _assert_png(plot_lr_find(lrs[:5], losses[:5], suggestion=None, path=tmp_path / "few.png"))
    with pytest.raises(DataError, match="warmup: expected a whole number of points >= 1"):
        plot_lr_find(lrs, losses, suggestion=None, path=tmp_path / "w.png", warmup=0)
