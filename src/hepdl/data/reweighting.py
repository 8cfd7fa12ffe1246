"""Per-row training weights: balanced classes, and spectra flattened in a chosen variable.

A classifier trained on signal and background with different pT spectra can learn pT
instead of jet structure. Weighting each class so that its weighted histogram of pT is
flat (or equal to one reference class's histogram) removes that handle.

Definitions, with N rows, K classes, N_k rows of class k and n_kb rows of class k in
bin b of the variable:

- balanced class weights: ``w_k = N / (K N_k)``; every class then sums to N / K;
- flattening: a row of class k in bin b weighs ``w = s_k / n_kb``, so every bin the
  class populates holds the same weighted count s_k; ``match_to=t`` uses
  ``w = s_k h_tb / n_kb`` instead, so class k's weighted histogram has the shape of
  class t's raw histogram h_t;
- the scale s_k makes class k's weights sum to N_k (``normalize="count"``) or to N / K
  (``normalize="balanced"``, which also balances the classes).

Edge cases, by design: a row outside ``[edges[0], edges[-1]]`` (the last edge is
included) gets weight 0, as does a row whose bin holds no row of the target class under
``match_to``; a bin with no rows of class k has nothing to weight and stays empty, so
"flat" means flat over the bins the class populates. Non-finite values are an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError

NORMALIZATIONS = ("count", "balanced")
LABEL = "label"


def _labels(labels: np.ndarray | Sequence[int], *, n_classes: int | None) -> tuple[np.ndarray, int]:
    """Labels as (N,) int64 in [0, K), and K (default: max label + 1)."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0:
        raise DataError(f"labels: shape {y.shape}; expected a non-empty (N,) array of classes")
    if y.dtype.kind not in "iub":
        raise DataError(f"labels: dtype {y.dtype}; expected integer class indices")
    y = y.astype(np.int64)
    k = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if y.min() < 0 or y.max() >= k:
        raise DataError(
            f"labels: values from {int(y.min())} to {int(y.max())}; expected class indices "
            f"0 to {k - 1}"
        )
    return y, k


def class_counts(labels: np.ndarray | Sequence[int], *, n_classes: int | None = None) -> np.ndarray:
    """(K,) int64: rows per class."""
    y, k = _labels(labels, n_classes=n_classes)
    return np.bincount(y, minlength=k)


def class_weights(
    labels: np.ndarray | Sequence[int], *, n_classes: int | None = None
) -> np.ndarray:
    """(K,) float64 balanced weights ``N / (K N_k)``; index them by label for per-row weights.

    DataError when a class has no rows (it cannot be balanced).
    """
    counts = class_counts(labels, n_classes=n_classes)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise DataError(
            f"labels: class(es) {', '.join(map(str, empty.tolist()))} have no rows; "
            f"every class needs rows to be balanced"
        )
    return counts.sum() / (len(counts) * counts.astype(np.float64))


@dataclass(frozen=True)
class HistogramWeights:
    """Per-class, per-bin weight factors: ``weights(values, labels)`` looks rows up.

    ``edges`` (B+1,) increasing, ``factors`` (K, B). Rows outside the edges weigh 0.
    ``column`` names the variable in a chunk's arrays, so the object can be passed as
    ``weights=`` to ``StreamingDataset`` (with that column in ``extra_columns``).
    """

    edges: np.ndarray  # (B+1,)
    factors: np.ndarray  # (K, B)
    column: str | None = None

    def weights(self, values: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """(N,) float64 weight of each row."""
        x = _finite(values, name=self.column or "variable")
        y, _ = _labels(labels, n_classes=self.factors.shape[0])
        if len(x) != len(y):
            raise DataError(
                f"{self.column or 'variable'}: {len(x)} values but {len(y)} labels; "
                f"expected one of each per row"
            )
        bins, inside = _bin_index(x, self.edges)
        out = np.zeros(len(x), dtype=np.float64)
        out[inside] = self.factors[y[inside], bins[inside]]
        return out

    def __call__(self, chunk: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.column is None:
            raise ConfigError(
                "HistogramWeights: column=None; set column= to the variable's name to "
                "weight chunks of a StreamingDataset"
            )
        if self.column not in chunk:
            raise DataError(
                f"HistogramWeights: column '{self.column}' is not in the chunk "
                f"({', '.join(chunk)}); add it to the StreamingDataset's extra_columns"
            )
        return self.weights(chunk[self.column], chunk[LABEL])


def fit_flatten(
    variable: np.ndarray,
    labels: np.ndarray | Sequence[int],
    bins: int | Sequence[float] | np.ndarray,
    *,
    match_to: int | None = None,
    normalize: str = "count",
    n_classes: int | None = None,
    column: str | None = None,
) -> HistogramWeights:
    """The ``HistogramWeights`` that flatten each class's histogram of ``variable``.

    ``bins``: a number of equal-width bins over [min, max] of ``variable``, or the edges.
    See the module docstring for the formulas, ``match_to`` and ``normalize``.
    """
    x = _finite(variable, name=column or "variable")
    y, k = _labels(labels, n_classes=n_classes)
    if len(x) != len(y):
        raise DataError(
            f"{column or 'variable'}: {len(x)} values but {len(y)} labels; expected one of each"
        )
    if normalize not in NORMALIZATIONS:
        raise ConfigError(
            f"reweighting: option normalize={normalize!r}; expected one of "
            f"{', '.join(NORMALIZATIONS)}"
        )
    if match_to is not None and not 0 <= match_to < k:
        raise ConfigError(
            f"reweighting: option match_to={match_to!r}; expected a class index 0 to {k - 1}"
        )
    edges = _edges(x, bins)
    index, inside = _bin_index(x, edges)
    counts = np.zeros((k, len(edges) - 1), dtype=np.float64)  # (K, B) n_kb
    np.add.at(counts, (y[inside], index[inside]), 1.0)
    if match_to is None:
        target = np.ones_like(counts)  # (K, B) flat shape
    else:
        target = np.broadcast_to(counts[match_to], counts.shape)  # (K, B) h_tb
    populated = counts > 0
    shape = np.where(populated, target / np.where(populated, counts, 1.0), 0.0)  # (K, B)
    totals = (shape * counts).sum(axis=1)  # (K,) sum of unscaled weights per class
    n_k = np.bincount(y, minlength=k).astype(np.float64)
    norm = n_k if normalize == "count" else np.full(k, len(y) / k)
    scale = np.where(totals > 0, norm / np.where(totals > 0, totals, 1.0), 0.0)  # (K,) s_k
    return HistogramWeights(edges=edges, factors=shape * scale[:, None], column=column)


def flatten_weights(
    variable: np.ndarray,
    labels: np.ndarray | Sequence[int],
    bins: int | Sequence[float] | np.ndarray,
    *,
    match_to: int | None = None,
    normalize: str = "count",
    n_classes: int | None = None,
) -> np.ndarray:
    """(N,) weights flattening each class's histogram of ``variable`` (see ``fit_flatten``)."""
    fitted = fit_flatten(
        variable, labels, bins, match_to=match_to, normalize=normalize, n_classes=n_classes
    )
    return fitted.weights(variable, labels)


def _finite(values: np.ndarray, *, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise DataError(f"{name}: shape {x.shape}; expected one value per row, (N,)")
    bad = ~np.isfinite(x)
    if bad.any():
        raise DataError(
            f"{name}: {int(bad.sum())} NaN or inf values, the first at row "
            f"{int(np.argmax(bad))}; expected finite numbers to bin"
        )
    return x


def _edges(x: np.ndarray, bins: int | Sequence[float] | np.ndarray) -> np.ndarray:
    if isinstance(bins, int | np.integer) and not isinstance(bins, bool):
        if bins < 1:
            raise ConfigError(f"reweighting: option bins={bins}; expected an integer >= 1")
        return np.histogram_bin_edges(x, bins=int(bins))
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise ConfigError(
            f"reweighting: option bins={bins!r}; expected a number of bins or at least two "
            f"strictly increasing edges"
        )
    return edges


def _bin_index(x: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) bin of each value (numpy.histogram's convention: last edge included), in range."""
    index = np.searchsorted(edges, x, side="right") - 1
    index = np.where(x == edges[-1], len(edges) - 2, index)
    inside = (x >= edges[0]) & (x <= edges[-1])
    return np.clip(index, 0, len(edges) - 2), inside


def fit_reweighting(
    options: Any, variable: np.ndarray, labels: np.ndarray, class_names: Sequence[str]
) -> HistogramWeights:
    """The rule of a ``data.reweight`` section (``column``, ``bins``, ``match_to``,
    ``normalize``) fitted on ``variable`` (N,) and ``labels`` (N,) of the training rows.

    A task without classes (a regression: ``class_names`` empty, every label 0) flattens
    the one spectrum of ``variable``, e.g. a jet energy regression trained flat in pT; it
    has no class to match, so ``match_to`` is refused there.
    """
    match_to = None
    if options.match_to is not None:
        if not class_names:
            raise ConfigError(
                f"data.reweight.match_to '{options.match_to}' names a class, but this task "
                "has no classes (every row is reweighted to one flat spectrum); remove it"
            )
        if options.match_to not in class_names:
            raise ConfigError(
                f"data.reweight.match_to '{options.match_to}' is not one of the classes "
                f"{list(class_names)}"
            )
        match_to = list(class_names).index(options.match_to)
    return fit_flatten(
        variable,
        labels,
        options.bins,
        match_to=match_to,
        normalize=options.normalize,
        n_classes=max(1, len(class_names)),
        column=options.column,
    )
