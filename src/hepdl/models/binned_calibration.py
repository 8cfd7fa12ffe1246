r"""The standard calibration as a baseline: a correction looked up in bins of the inputs.

A jet-energy calibration in the style of the LHC experiments' simulation-based jet energy
corrections: on the training rows, the regressed quantity (for jet energy regression
with ``task.ratio_to: jet_pt`` the correction :math:`c = p_T^{gen} / p_T^{reco}`) is
summarised by its median in bins of a few inputs (reconstructed :math:`p_T` and
:math:`\eta`), and every row is corrected by the value of its bin:

.. math::

    \hat c(x) = \operatorname{median}\{\, c_i : x_i \in \text{bin}(x) \,\}

Bins are equal-population in each input (quantiles of the training rows), so the table
has enough rows everywhere; a bin with fewer than ``min_rows`` rows takes the median of
all rows in its first input's bin (and the global median if that is empty too). The
median (not the mean) follows the experiments' response definition and is robust
against the tails of badly measured jets. Like every baseline here it works on the
standardised features and targets hepdl gives it; quantile bins do not depend on the
standardisation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from hepdl.errors import ConfigError


class BinnedCalibration(RegressorMixin, BaseEstimator):
    """Median target per bin of the inputs ``columns`` (``bins`` bins each)."""

    def __init__(
        self,
        *,
        columns: Sequence[str] = ("jet_pt", "jet_eta"),
        bins: Sequence[int] = (20, 4),
        min_rows: int = 20,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.columns = columns
        self.bins = bins
        self.min_rows = min_rows
        self.feature_names = feature_names

    def __sklearn_tags__(self):  # scikit-learn's Tags
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one table column per target
        return tags

    def _indices(self) -> list[int]:
        names = list(self.feature_names or [])
        missing = [c for c in self.columns if c not in names]
        if missing:
            raise ConfigError(
                f"model.columns {missing} are not inputs of the representation; its features "
                f"are {names}"
            )
        if len(self.bins) != len(self.columns):
            raise ConfigError(
                f"model.bins gives {len(self.bins)} bin counts for {len(self.columns)} "
                "model.columns; give one per column"
            )
        return [names.index(c) for c in self.columns]

    def _cells(self, x: np.ndarray) -> np.ndarray:
        """The flat bin index (N,) of each row of the inputs x (N, F)."""
        cell = np.zeros(len(x), dtype=np.int64)
        for edges, column in zip(self.edges_, self.indices_, strict=True):
            inside = np.clip(
                np.searchsorted(edges, x[:, column], side="right") - 1, 0, len(edges) - 2
            )
            cell = cell * (len(edges) - 1) + inside
        return cell

    def fit(self, x: np.ndarray, y: np.ndarray) -> BinnedCalibration:
        """Bin edges and the median of ``y`` ((N,) or (N, T)) per bin of ``x`` (N, F)."""
        self.indices_ = self._indices()
        y2 = np.asarray(y, dtype=np.float64).reshape(len(y), -1)  # (N, T)
        self.edges_ = [
            np.unique(np.quantile(x[:, column], np.linspace(0, 1, n + 1)))
            for column, n in zip(self.indices_, self.bins, strict=True)
        ]
        shape = [len(e) - 1 for e in self.edges_]
        cells = self._cells(x)
        n_cells = int(np.prod(shape))
        table = np.empty((n_cells, y2.shape[1]))
        counts = np.bincount(cells, minlength=n_cells)
        fallback = self._first_axis_medians(x, y2)
        for cell in range(n_cells):
            rows = cells == cell
            if counts[cell] >= self.min_rows:
                table[cell] = np.median(y2[rows], axis=0)
            else:  # too few rows: the median of this cell's first-input bin
                table[cell] = fallback[np.unravel_index(cell, shape)[0]]
        self.table_ = table  # (cells, T)
        self.n_targets_ = y2.shape[1]
        return self

    def _first_axis_medians(self, x: np.ndarray, y2: np.ndarray) -> np.ndarray:
        edges = self.edges_[0]
        first = _bin_of(edges, x[:, self.indices_[0]])
        overall = np.median(y2, axis=0)
        return np.array(
            [np.median(y2[first == b], axis=0) if (first == b).any() else overall
             for b in range(len(edges) - 1)]
        )  # fmt: skip

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The bin's median target, (N,) for one target or (N, T)."""
        predicted = self.table_[self._cells(x)]
        return predicted[:, 0] if self.n_targets_ == 1 else predicted


def _bin_of(edges: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The bin (N,) of each value among ``edges`` (B + 1,); outside values go to the
    first or last bin (a test row beyond the training range keeps the edge correction)."""
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
