"""ROC figures with their uncertainty bands, and the history figure's mark of the model
that was kept (a BDT with all its trees marks none)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.axes import Axes

from hepdl.errors import DataError
from hepdl.metrics import roc_curve
from hepdl.metrics.uncertainty import clopper_pearson, rejection_band
from hepdl.plots import plot_roc, plot_roc_bands, plot_training_history

PNG = b"\x89PNG\r\n\x1a\n"
HISTORY = {"train_loss": [0.6, 0.4, 0.3, 0.2], "val_loss": [0.6, 0.45, 0.5, 0.55]}


@pytest.fixture
def vlines(monkeypatch) -> list[tuple[float, str]]:
    """The (x, label) of every dotted line the history figure draws."""
    drawn: list[tuple[float, str]] = []
    original = Axes.axvline

    def record(self, x=0, *args, **kwargs):
        drawn.append((x, kwargs.get("label")))
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(Axes, "axvline", record)
    return drawn


def _sample(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(400, dtype=int), np.zeros(181, dtype=int)]
    return y, rng.normal(size=len(y)) + 2.0 * y


def test_roc_with_its_binomial_band(tmp_path):
    y, s = _sample()
    eps_b, eps_s, _ = roc_curve(y, s)
    k = np.rint(eps_b * 181)  # background events selected at each ROC point
    eps_low, eps_high = clopper_pearson(k, 181)
    with np.errstate(divide="ignore"):
        low, high = (
            1 / eps_high,
            np.where(eps_low > 0, 1 / np.where(eps_low > 0, eps_low, 1), np.inf),
        )
    curve = {"eps_s": eps_s, "eps_b": eps_b, "band": np.stack([low, high])}
    path = plot_roc({"test": curve}, path=tmp_path / "roc.png")
    assert path.read_bytes().startswith(PNG)
    with pytest.raises(DataError, match=r"band: expected \(2, \d+\) rejections"):
        plot_roc({"test": {**curve, "band": low}}, path=tmp_path / "bad.png")


def test_comparison_bands_with_the_binomial_interval(tmp_path):
    grid = np.linspace(0.05, 1.0, 96)
    band = rejection_band([_sample(0), _sample(1)], grid)
    assert band.shape == (5, 96)
    finite = np.isfinite(band[2])
    assert band[2][finite].max() <= 181
    path = plot_roc_bands({"dnn": band}, eps_s=grid, path=tmp_path / "roc.png")
    assert path.read_bytes().startswith(PNG)
    with pytest.raises(DataError, match=r"or \(5, 96\) \(then the binomial low and high\)"):
        plot_roc_bands({"dnn": band[:4]}, eps_s=grid, path=tmp_path / "bad.png")


def test_history_marks_the_best_epoch_by_default(tmp_path, vlines):
    plot_training_history(HISTORY, path=tmp_path / "h.png")
    assert vlines == [(2, "Best validation (epoch 2)")]


def test_history_marks_the_kept_trees_or_nothing(tmp_path, vlines):
    plot_training_history(
        HISTORY, path=tmp_path / "kept.png", kept_epoch=3, kept_label="Trees kept: 3"
    )
    assert vlines == [(3, "Trees kept: 3")]
    vlines.clear()
    path = plot_training_history(
        HISTORY, path=tmp_path / "off.png", kept_epoch=None, note="early stopping off"
    )
    assert vlines == [] and path.read_bytes().startswith(PNG)
    with pytest.raises(DataError, match=r"^kept_epoch: expected 'best', None or an epoch >= 1"):
        plot_training_history(HISTORY, path=tmp_path / "bad.png", kept_epoch=0)
