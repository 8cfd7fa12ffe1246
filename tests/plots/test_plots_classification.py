"""Classification figures: valid files, written atomically, no global state left behind."""

from __future__ import annotations

from pathlib import Path

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from hepdl.errors import DataError
from hepdl.metrics import roc_auc, roc_curve
from hepdl.plots import plot_roc, plot_score_distributions, plot_training_history

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path) -> None:
    assert path.is_file()
    assert path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_MAGIC
    leftovers = [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    assert plt.get_fignums() == []


def _scores(n: int = 2000, *, seed: int = 0, sep: float = 1.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)  # (N,)
    prob = 1 / (1 + np.exp(-(rng.normal(size=n) + sep * (y - 0.5) * 2)))  # (N,)
    return y, prob


def _history(epochs: int = 8) -> dict[str, list[float]]:
    e = np.arange(epochs)
    return {
        "train_loss": list(0.3 + np.exp(-e / 3)),
        "val_loss": list(0.35 + np.exp(-e / 3) + 0.01 * e),
        "train_acc": list(0.9 - 0.3 * np.exp(-e / 3)),
        "val_acc": list(0.88 - 0.3 * np.exp(-e / 3)),
    }


# --- ROC -----------------------------------------------------------------------------


def test_plot_roc_writes_png_in_new_directory(tmp_path: Path) -> None:
    y, prob = _scores()
    eps_b, eps_s, _ = roc_curve(y, prob)
    curves = {"DNN": (eps_s, eps_b, roc_auc(y, prob)), "cut": (eps_s**0.8, eps_b)}
    out = plot_roc(curves, path=tmp_path / "new" / "dir" / "roc.png", title="Test")
    assert out == tmp_path / "new" / "dir" / "roc.png"
    _assert_png(out)


def test_plot_roc_accepts_list_of_labelled_results_and_perfect_curve(tmp_path: Path) -> None:
    y = np.r_[np.ones(50, int), np.zeros(50, int)]
    score = np.r_[np.linspace(0.6, 1, 50), np.linspace(0, 0.4, 50)]  # perfect separation
    eps_b, eps_s, _ = roc_curve(y, score)
    results = [{"label": "perfect", "eps_s": eps_s, "eps_b": eps_b, "auc": 1.0}]
    _assert_png(plot_roc(results, path=str(tmp_path / "roc.png")))


def test_plot_roc_refuses_roc_curve_output_in_wrong_order(tmp_path: Path) -> None:
    y, prob = _scores()
    with pytest.raises(DataError, match=r"curves\['DNN'\]: .*roc_curve returns \(eps_b, eps_s"):
        plot_roc({"DNN": roc_curve(y, prob)}, path=tmp_path / "roc.png")
    assert not (tmp_path / "roc.png").exists()


def test_plot_roc_warns_about_swapped_efficiencies(tmp_path: Path) -> None:
    y, prob = _scores()
    eps_b, eps_s, _ = roc_curve(y, prob)
    with pytest.warns(UserWarning, match="swapped"):
        plot_roc({"DNN": (eps_b, eps_s)}, path=tmp_path / "roc.png")


@pytest.mark.parametrize(
    ("curves", "match"),
    [
        (
            {"a": ([0.1, 0.5, 1.0], [0.01, 0.1])},
            r"curves\['a'\]: eps_s has 3 entries but eps_b has 2",
        ),
        ({}, r"curves: expected at least one curve"),
        (
            {"a": ([0.1, 1.5], [0.1, 0.2])},
            r"curves\['a'\] eps_s: expected efficiencies in \[0, 1\]",
        ),
        ({"a": ([0.1, np.nan], [0.1, 0.2])}, r"curves\['a'\] eps_s: expected finite"),
        ([{"eps_s": [0.5], "eps_b": [0.1]}], r"curves\[0\]: expected a mapping with keys 'label'"),
        ({"a": {"eps_s": [0.5]}}, r"curves\['a'\]: expected keys 'eps_s' and 'eps_b'"),
    ],
)
def test_plot_roc_bad_input(tmp_path: Path, curves, match: str) -> None:
    with pytest.raises(DataError, match=match):
        plot_roc(curves, path=tmp_path / "roc.png")
    assert plt.get_fignums() == []


def test_plot_roc_bad_suffix(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"path: expected a file name ending in \.png"):
        plot_roc({"a": ([0.5, 1.0], [0.1, 1.0])}, path=tmp_path / "roc.jpeg")


# --- score distributions -------------------------------------------------------------


@pytest.mark.parametrize("log_y", [False, True])
def test_plot_score_distributions_writes_png(tmp_path: Path, log_y: bool) -> None:
    y_train, p_train = _scores(seed=1)
    y_test, p_test = _scores(1500, seed=2)
    out = plot_score_distributions(
        train_scores=p_train,
        train_labels=y_train,
        test_scores=p_test,
        test_labels=y_test,
        path=tmp_path / "scores.png",
        class_names=("QCD", "top"),
        log_y=log_y,
    )
    _assert_png(out)


def test_plot_score_distributions_accepts_logits(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    logits = rng.normal(size=500) * 3 + 2 * y
    out = plot_score_distributions(
        train_scores=logits,
        train_labels=y,
        test_scores=logits[::-1],
        test_labels=y[::-1],
        path=tmp_path / "logits.png",
    )
    _assert_png(out)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"train_scores": np.zeros(10)}, r"lengths differ: train_scores has 10, train_labels has"),
        ({"test_labels": np.ones(100, int)}, r"test_labels: expected both classes, found no bkg"),
        ({"train_scores": np.full(100, np.nan)}, r"train_scores: expected finite"),
        ({"class_names": ("a", "b", "c")}, r"class_names: expected two names"),
    ],
)
def test_plot_score_distributions_bad_input(tmp_path: Path, kwargs, match: str) -> None:
    rng = np.random.default_rng(4)
    args = {
        "train_scores": rng.uniform(size=100),
        "train_labels": rng.integers(0, 2, 100),
        "test_scores": rng.uniform(size=100),
        "test_labels": rng.integers(0, 2, 100),
        "path": tmp_path / "scores.png",
    }
    args.update(kwargs)
    with pytest.raises(DataError, match=match.replace("bkg", "background")):
        plot_score_distributions(**args)
    assert not (tmp_path / "scores.png").exists()
    assert plt.get_fignums() == []


# --- training history ----------------------------------------------------------------


def test_plot_training_history_writes_png(tmp_path: Path) -> None:
    _assert_png(plot_training_history(_history(), path=tmp_path / "history.png"))


def test_plot_training_history_skips_missing_keys(tmp_path: Path) -> None:
    history = {"train/loss_epoch": [1.0, 0.8, 0.7], "lr": [0.1, 0.1, 0.05], "val_acc": []}
    _assert_png(plot_training_history(history, path=tmp_path / "loss_only.png"))


def test_plot_training_history_without_known_keys(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"history: expected at least one of the keys .*'lr'"):
        plot_training_history({"lr": [0.1, 0.01]}, path=tmp_path / "h.png")
    with pytest.raises(DataError, match=r"history\['val_loss'\]: expected a list of numbers"):
        plot_training_history({"val_loss": ["a", "b"]}, path=tmp_path / "h.png")
    assert plt.get_fignums() == []


# --- no global state, atomic writes --------------------------------------------------


def test_plots_leave_rcparams_unchanged(tmp_path: Path) -> None:
    before = dict(mpl.rcParams)
    plot_training_history(_history(), path=tmp_path / "h.png")
    after = dict(mpl.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_failed_save_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_savefig(self, handle, **kwargs) -> None:
        handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        plot_training_history(_history(), path=tmp_path / "h.png")
    assert list(tmp_path.iterdir()) == []


def test_overwrites_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "h.png"
    target.write_bytes(b"old")
    _assert_png(plot_training_history(_history(), path=target))
