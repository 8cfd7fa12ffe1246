r"""Figures for judging a binary classifier: ROC, score distributions, training history.

Every function draws in the HEP style of :mod:`hepdl.plots._style`, writes the figure
atomically (temporary name, then rename), creates the parent directory, leaves no figure
open and returns the path written.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib.ticker import MaxNLocator, NullLocator

from hepdl.errors import DataError
from hepdl.metrics.checks import check_labels, check_same_length, check_scores
from hepdl.plots._style import (
    BACKGROUND_COLOR,
    SIGNAL_COLOR,
    check_path,
    hep_style,
    new_figure,
    save_figure,
)

__all__ = ["plot_roc", "plot_score_distributions", "plot_training_history"]

EPS_S_LABEL = r"Signal efficiency $\varepsilon_S$"
REJECTION_LABEL = r"Background rejection $1/\varepsilon_B$"


# --- ROC -------------------------------------------------------------------------------


RocEntry = tuple[str, np.ndarray, np.ndarray, float | None, np.ndarray | None]


def _roc_entry(label: str, value: Any) -> RocEntry:
    """One curve as ``(label, eps_s, eps_b, auc, band)`` from a tuple or a mapping."""
    where = f"curves[{label!r}]"
    band = None
    if isinstance(value, Mapping):
        missing = [k for k in ("eps_s", "eps_b") if k not in value]
        if missing:
            raise DataError(f"{where}: expected keys 'eps_s' and 'eps_b', missing {missing}")
        eps_s, eps_b, auc = value["eps_s"], value["eps_b"], value.get("auc")
        band = value.get("band")
    elif isinstance(value, Sequence | np.ndarray) and len(value) in (2, 3):
        eps_s, eps_b = value[0], value[1]
        auc = value[2] if len(value) == 3 else None
        if auc is not None and np.ndim(auc) > 0:
            raise DataError(
                f"{where}: expected (eps_s, eps_b) or (eps_s, eps_b, auc), got three arrays; "
                "roc_curve returns (eps_b, eps_s, thresholds), so pass "
                "(eps_s, eps_b) = (result[1], result[0])"
            )
    else:
        raise DataError(
            f"{where}: expected (eps_s, eps_b), (eps_s, eps_b, auc) or a mapping with keys "
            f"'eps_s', 'eps_b' and optionally 'auc', got {type(value).__name__}"
        )
    s = check_scores(eps_s, name=f"{where} eps_s")
    b = check_scores(eps_b, name=f"{where} eps_b")
    if len(s) != len(b):
        raise DataError(f"{where}: eps_s has {len(s)} entries but eps_b has {len(b)}")
    for arr, name in ((s, "eps_s"), (b, "eps_b")):
        if arr.min() < 0 or arr.max() > 1:
            raise DataError(f"{where} {name}: expected efficiencies in [0, 1]")
    if auc is not None:
        try:
            auc = float(auc)
        except (TypeError, ValueError):
            raise DataError(f"{where} auc: expected a number, got {auc!r}") from None
        if not 0.0 <= auc <= 1.0:
            raise DataError(f"{where} auc: expected a number in [0, 1], got {auc!r}")
    return str(label), s, b, auc, _roc_band(band, len(s), where=where)


def _roc_band(band: Any, n: int, *, where: str) -> np.ndarray | None:
    """The (2, P) lower and upper rejection of each ROC point, or None."""
    if band is None:
        return None
    arr = np.asarray(band, dtype=np.float64)
    if arr.shape != (2, n) or np.isnan(arr).any():
        raise DataError(
            f"{where} band: expected (2, {n}) rejections (low, high per ROC point), "
            f"got shape {arr.shape}"
        )
    return arr


def _roc_entries(curves: Any) -> list[RocEntry]:
    if isinstance(curves, Mapping):
        entries = [_roc_entry(label, value) for label, value in curves.items()]
    elif isinstance(curves, Sequence) and not isinstance(curves, str):
        entries = []
        for i, item in enumerate(curves):
            if not isinstance(item, Mapping) or "label" not in item:
                raise DataError(
                    f"curves[{i}]: expected a mapping with keys 'label', 'eps_s', 'eps_b' "
                    "and optionally 'auc'"
                )
            entries.append(_roc_entry(item["label"], item))
    else:
        raise DataError(
            "curves: expected a dict {label: (eps_s, eps_b[, auc])} or a list of mappings "
            f"with 'label', 'eps_s', 'eps_b', got {type(curves).__name__}"
        )
    if not entries:
        raise DataError("curves: expected at least one curve, got none")
    return entries


def plot_roc(
    curves: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    path: str | os.PathLike[str],
    title: str | None = None,
) -> Path:
    r"""Background rejection :math:`1/\varepsilon_B` (log scale) against signal efficiency
    :math:`\varepsilon_S` (linear, 0 to 1), one line per classifier.

    ``curves`` is ``{label: (eps_s, eps_b)}``, ``{label: (eps_s, eps_b, auc)}``,
    ``{label: {"eps_s": ..., "eps_b": ..., "auc": ...}}`` or a list of such mappings with a
    ``"label"`` key; ``auc`` is optional and shown in the legend, and a mapping's optional
    ``band`` (2, P) holds the low and high rejection of each point (e.g. the binomial
    interval), drawn as a shaded band (an infinite upper end reaches the top). Note the order
    ``(eps_s, eps_b)``: :func:`hepdl.metrics.roc_curve` returns ``(eps_b, eps_s, thr)``.
    A curve that lies mostly below the random classifier raises a warning, since swapped
    efficiencies are the usual cause.

    Points with :math:`\varepsilon_B = 0` (infinite rejection) or :math:`\varepsilon_S = 0`
    are not drawn; a curve left with nothing below :math:`\varepsilon_S = 1` (perfect
    separation) says so in its legend entry. The random classifier,
    :math:`1/\varepsilon_B = 1/\varepsilon_S`, is the dashed line.
    """
    entries = _roc_entries(curves)
    out = check_path(path)
    with hep_style():
        fig, (ax,) = new_figure(figsize=(10, 10))
        top = 10.0
        for label, eps_s, eps_b, auc, band in entries:
            if np.mean(eps_b > eps_s) > 0.5:
                warnings.warn(
                    f"plot_roc: curve {label!r} is mostly worse than random; were eps_s and "
                    "eps_b swapped? plot_roc takes (eps_s, eps_b)",
                    UserWarning,
                    stacklevel=2,
                )
            keep = (eps_b > 0) & (eps_s > 0)
            order = np.argsort(eps_s[keep], kind="mergesort")
            x = eps_s[keep][order]  # (K,)
            rejection = 1.0 / eps_b[keep][order]  # (K,)
            if len(rejection):
                top = max(top, float(rejection.max()))
            text = label if auc is None else f"{label} (AUC = {auc:.4f})"
            if not np.any(x < 1.0):  # e.g. perfect separation: nothing left to draw
                text += r", $1/\varepsilon_B = \infty$ for $\varepsilon_S < 1$"
            (line,) = ax.plot(x, rejection, lw=2.5, label=text)
            if band is not None and len(x):
                low, high = band[:, keep][:, order]  # (K,) each
                ax.fill_between(
                    x, low, np.minimum(high, 1e12), color=line.get_color(), alpha=0.25, lw=0,
                    label="68% CL (binomial)",
                )  # fmt: skip
        x_rand = np.geomspace(1e-4, 1.0, 400)
        ax.plot(x_rand, 1.0 / x_rand, ls="--", lw=1.5, color="0.4", label="Random classifier")
        ax.set_yscale("log")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(1.0, 10 ** math.ceil(math.log10(top) + 0.3))
        ax.set_xlabel(EPS_S_LABEL)
        ax.set_ylabel(REJECTION_LABEL)
        ax.grid(True, which="major")
        ax.legend(loc="upper right")
        if title:
            ax.set_title(title)
        return save_figure(fig, out)


# --- score distributions --------------------------------------------------------------


def _score_sample(scores: Any, labels: Any, *, which: str) -> tuple[np.ndarray, np.ndarray]:
    s = check_scores(scores, name=f"{which}_scores")
    y = check_labels(labels, name=f"{which}_labels")
    check_same_length(**{f"{which}_scores": s, f"{which}_labels": y})
    for cls, kind in ((0, "background"), (1, "signal")):
        if not (y == cls).any():
            raise DataError(
                f"{which}_labels: expected both classes, found no {kind} (label {cls}); "
                "the train/test comparison needs each class in each sample"
            )
    return s, y


def _density(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Histogram normalised to unit area, and its Poisson uncertainty, each ``(bins,)``."""
    counts, _ = np.histogram(values, bins=edges)
    norm = len(values) * np.diff(edges)
    return counts / norm, np.sqrt(counts) / norm


def plot_score_distributions(
    *,
    train_scores: Any,
    train_labels: Any,
    test_scores: Any,
    test_labels: Any,
    path: str | os.PathLike[str],
    class_names: tuple[str, str] = ("background", "signal"),
    bins: int = 40,
    log_y: bool = False,
    xlabel: str = "Classifier score",
) -> Path:
    r"""The overtraining check: classifier score for signal and background, train vs test.

    Test samples are filled histograms, train samples are points with Poisson error bars
    :math:`\sqrt{n}`; every histogram is normalised to unit area,
    :math:`\frac{1}{N}\frac{dN}{ds}`. The legend gives for each class the p-value of the
    two-sample Kolmogorov-Smirnov test of train against test (:func:`scipy.stats.ks_2samp`,
    on the unbinned scores): a very small p-value means the classifier behaves differently
    on the events it was trained on, i.e. it is overtrained.

    ``class_names`` are ``(background, signal)``, matching labels 0 and 1. The binning
    spans [0, 1] when every score is a probability, else the range of all scores.
    """
    from scipy.stats import ks_2samp

    train_s, train_y = _score_sample(train_scores, train_labels, which="train")
    test_s, test_y = _score_sample(test_scores, test_labels, which="test")
    if len(class_names) != 2:
        raise DataError(
            f"class_names: expected two names (background, signal), got {class_names!r}"
        )
    if int(bins) < 1:
        raise DataError(f"bins: expected a positive number of bins, got {bins!r}")
    out = check_path(path)

    lo = float(min(train_s.min(), test_s.min()))
    hi = float(max(train_s.max(), test_s.max()))
    if lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0
    elif lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, int(bins) + 1)  # (bins + 1,)
    centers = 0.5 * (edges[1:] + edges[:-1])  # (bins,)

    with hep_style():
        fig, (ax,) = new_figure(figsize=(10, 10))
        top = 0.0
        for cls, color in ((0, BACKGROUND_COLOR), (1, SIGNAL_COLOR)):
            name = class_names[cls]
            train_c, test_c = train_s[train_y == cls], test_s[test_y == cls]
            p_value = float(ks_2samp(train_c, test_c).pvalue)
            test_d, _ = _density(test_c, edges)
            train_d, train_err = _density(train_c, edges)
            ax.stairs(test_d, edges, fill=True, alpha=0.3, color=color, label=f"{name} (test)")
            ax.stairs(test_d, edges, color=color, lw=2)
            shown = train_d > 0
            ax.errorbar(
                centers[shown],
                train_d[shown],
                yerr=train_err[shown],
                fmt="o",
                ms=6,
                color=color,
                label=f"{name} (train), KS p = {p_value:.3g}",
            )
            top = max(top, float(test_d.max()), float((train_d + train_err).max()))
        ax.set_xlim(lo, hi)
        if log_y:
            ax.set_yscale("log")
            ax.set_ylim(top=top * 50)
        else:
            ax.set_ylim(0.0, top * 1.45)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Normalised to unit area")
        ax.legend(loc="upper center", fontsize="x-small")
        return save_figure(fig, out)


# --- training history -----------------------------------------------------------------

_HISTORY_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "loss": {
        "train": ("train_loss", "loss"),
        "val": ("val_loss", "valid_loss", "validation_loss"),
    },
    "accuracy": {
        "train": ("train_acc", "train_accuracy", "acc", "accuracy"),
        "val": ("val_acc", "val_accuracy", "valid_acc", "validation_accuracy"),
    },
}


def _normalise_key(key: str) -> str:
    """``"val/loss"``, ``"Val-Loss"`` and ``"val_loss_epoch"`` all become ``"val_loss"``."""
    norm = key.strip().lower().replace("/", "_").replace("-", "_")
    return norm.removesuffix("_epoch")


def _history_series(history: Mapping[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    by_name = {_normalise_key(str(k)): (k, v) for k, v in history.items()}
    panels: dict[str, dict[str, np.ndarray]] = {}
    for panel, splits in _HISTORY_KEYS.items():
        for split, aliases in splits.items():
            found = next((by_name[a] for a in aliases if a in by_name), None)
            if found is None:
                continue
            key, values = found
            try:
                arr = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError):
                raise DataError(f"history[{key!r}]: expected a list of numbers") from None
            if arr.ndim != 1:
                raise DataError(
                    f"history[{key!r}]: expected one number per epoch, got shape {arr.shape}"
                )
            if np.isfinite(arr).any():  # empty or all-NaN counts as missing
                panels.setdefault(panel, {})[split] = arr
    return panels


def plot_training_history(
    history: Mapping[str, Sequence[float]],
    *,
    path: str | os.PathLike[str],
    kept_epoch: int | Literal["best"] | None = "best",
    kept_label: str | None = None,
    xlabel: str = "Epoch",
    note: str | None = None,
) -> Path:
    """Loss and accuracy per epoch, train and validation, in two side-by-side panels.

    Recognised keys (case-insensitive; ``/`` or ``-`` may replace ``_``, and a Lightning
    ``_epoch`` suffix is ignored): ``train_loss`` or ``loss``; ``val_loss``;
    ``train_acc``, ``train_accuracy``, ``acc`` or ``accuracy``; ``val_acc`` or
    ``val_accuracy`` (``valid_``/``validation_`` work too). Missing keys are skipped, and a
    panel with no series is left out; NaN or inf values leave gaps. Epochs count from 1.

    The dotted line marks the model that was kept: by default (``kept_epoch="best"``) the
    epoch of the lowest validation loss, labelled "Best validation"; an integer marks that
    epoch with ``kept_label``; None draws no line (nothing was selected, e.g. a BDT that
    keeps all its trees), and ``note`` then says so in the loss panel. ``xlabel`` names the
    steps ("Boosting iteration (trees)" for a BDT).
    """
    if not isinstance(history, Mapping):
        raise DataError(
            f"history: expected a dict of lists per epoch, got {type(history).__name__}"
        )
    panels = _history_series(history)
    if not panels:
        expected = sorted({a for splits in _HISTORY_KEYS.values() for a in splits["train"]})
        raise DataError(
            f"history: expected at least one of the keys {expected} (or their val_ "
            f"counterparts) with numbers, got keys {sorted(map(str, history))}"
        )
    out = check_path(path)
    ylabels = {"loss": "Loss", "accuracy": "Accuracy"}
    styles = {"train": ("Training", "-", "o"), "val": ("Validation", "--", "s")}
    with hep_style():
        fig, axes = new_figure(ncols=len(panels), figsize=(10 * len(panels), 9))
        for ax, (panel, series) in zip(axes, panels.items(), strict=True):
            for split, values in series.items():
                name, ls, marker = styles[split]
                epochs = np.arange(1, len(values) + 1)  # (E,)
                shown = np.where(np.isfinite(values), values, np.nan)
                ax.plot(epochs, shown, ls=ls, marker=marker, ms=5, lw=2, label=name)
            if panel == "loss":
                mark = _kept_mark(series, kept_epoch, kept_label)
                if mark is not None:
                    ax.axvline(mark[0], ls=":", color="0.4", label=mark[1])
                if note:
                    ax.plot([], [], " ", label=note)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabels[panel])
            ax.legend(loc="best")
        return save_figure(fig, out)


def _kept_mark(
    series: Mapping[str, np.ndarray], kept: int | str | None, label: str | None
) -> tuple[int, str] | None:
    """(epoch, legend) of the dotted line marking the kept model, or None for no line."""
    if kept is None:
        return None
    if kept == "best":
        if "val" not in series:
            return None
        val = series["val"]
        best = int(np.nanargmin(np.where(np.isfinite(val), val, np.nan))) + 1
        return best, label or f"Best validation (epoch {best})"
    if isinstance(kept, bool) or not isinstance(kept, int) or kept < 1:
        raise DataError(f"kept_epoch: expected 'best', None or an epoch >= 1, got {kept!r}")
    return kept, label or f"Kept (epoch {kept})"
