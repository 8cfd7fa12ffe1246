"""Standardisation of flat features: x' = (x - mean) / std, per feature column.

Fit on the training split only, then transform train, validation and test with the
same numbers (and store ``to_dict()`` with the model so evaluation uses them too):

    scaler = Standardizer().fit(x[train], feature_names=names)
    x_train, x_val = scaler.transform(x[train]), scaler.transform(x[val])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hepdl.data.validation import check_finite
from hepdl.errors import DataError

_EPS = np.finfo(np.float64).eps
_BLOCK_ROWS = 16384  # rows standardised at once by ``transform``


class Standardizer:
    """Per-feature mean and population standard deviation (ddof=0), like sklearn's.

    A constant feature keeps std 1: it is only shifted to 0, never divided by zero.
    Constant means all values equal, or a variance within float rounding of zero (the
    bound scikit-learn uses: var <= N eps var + (N mean eps)^2, or std < 10 eps).
    Statistics are computed in float64; ``transform`` returns float32 input as float32
    and anything else as float64.
    """

    def __init__(self) -> None:
        self.feature_names: list[str] = []
        self.mean: np.ndarray | None = None  # (F,) float64
        self.std: np.ndarray | None = None  # (F,) float64

    @property
    def fitted(self) -> bool:
        return self.mean is not None

    def fit(
        self, x: np.ndarray, *, feature_names: Sequence[str], source: str = "training features"
    ) -> Standardizer:
        """Learn mean and std of ``x`` (N, F); returns self."""
        x = self._check(x, len(feature_names), source=source)
        if len(x) == 0:
            raise DataError(f"{source}: 0 rows; cannot fit a Standardizer on no data")
        check_finite(x, feature_names=feature_names, source=source)
        values = x.astype(np.float64)
        count = len(values)
        mean = values.mean(axis=0)  # (F,)
        var = values.var(axis=0)  # (F,)
        constant = (
            np.all(values == values[0], axis=0)
            | (var <= count * _EPS * var + (count * mean * _EPS) ** 2)
            | (np.sqrt(var) < 10 * _EPS)
        )
        self.feature_names = [str(n) for n in feature_names]
        self.mean = mean
        self.std = np.where(constant, 1.0, np.sqrt(var))
        return self

    def transform(self, x: np.ndarray, *, feature_names: Sequence[str] | None = None) -> np.ndarray:
        """(x - mean) / std for ``x`` (N, F); ``feature_names`` (optional) must match the fit."""
        mean, std = self._fitted(feature_names)
        x = self._check(x, len(mean), source="input to transform")
        out = np.empty(x.shape, np.float32 if x.dtype == np.float32 else np.float64)  # (N, F)
        _standardize_into(out, x, mean, std)
        return out

    def transform_in_place(self, x: np.ndarray) -> np.ndarray:
        """``transform`` of float32 ``x`` (N, F) written over ``x`` itself, the same numbers:
        the features are then held once, not as a raw and a standardised copy. Returns ``x``,
        whose raw values are gone (hash them before: hepdl.train.row_identity)."""
        mean, std = self._fitted(None)
        x = self._check(x, len(mean), source="input to transform_in_place")
        if x.dtype != np.float32 or not x.flags.writeable:
            raise DataError(
                f"input to transform_in_place: a {'' if x.flags.writeable else 'read-only '}"
                f"{x.dtype} array; expected a writeable float32 array (use transform)"
            )
        return _standardize_into(x, x, mean, std)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """x * std + mean for standardised ``x`` (N, F)."""
        mean, std = self._fitted(None)
        x = self._check(x, len(mean), source="input to inverse_transform")
        out = x.astype(np.float64) * std + mean  # (N, F)
        return out.astype(np.float32 if x.dtype == np.float32 else np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe ``{"feature_names": [...], "mean": [...], "std": [...]}``."""
        mean, std = self._fitted(None)
        return {
            "feature_names": list(self.feature_names),
            "mean": [float(v) for v in mean],
            "std": [float(v) for v in std],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Standardizer:
        """The Standardizer that ``to_dict`` described."""
        missing = [k for k in ("feature_names", "mean", "std") if k not in data]
        if missing:
            raise DataError(
                f"standardizer parameters lack {', '.join(missing)}; expected keys "
                f"feature_names, mean, std"
            )
        names = [str(n) for n in data["feature_names"]]
        mean = np.asarray(data["mean"], dtype=np.float64)
        std = np.asarray(data["std"], dtype=np.float64)
        if mean.shape != (len(names),) or std.shape != (len(names),):
            raise DataError(
                f"standardizer parameters: {len(names)} feature names but mean has shape "
                f"{mean.shape} and std {std.shape}; expected one value per feature"
            )
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise DataError("standardizer parameters: expected finite mean and std > 0")
        scaler = cls()
        scaler.feature_names, scaler.mean, scaler.std = names, mean, std
        return scaler

    def _fitted(self, feature_names: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray]:
        if self.mean is None or self.std is None:
            raise RuntimeError("Standardizer is not fitted; call fit(x_train, ...) first")
        if feature_names is not None and list(feature_names) != self.feature_names:
            raise DataError(
                f"features {list(feature_names)} differ from those the Standardizer was "
                f"fitted on {self.feature_names}; expected the same names in the same order"
            )
        return self.mean, self.std

    @staticmethod
    def _check(x: np.ndarray, n_features: int, *, source: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != n_features:
            raise DataError(
                f"{source}: shape {x.shape}; expected (N, {n_features}), one column per feature"
            )
        if x.dtype.kind not in "biuf":
            raise DataError(f"{source}: dtype {x.dtype}; expected numbers")
        return x


def _standardize_into(
    out: np.ndarray, x: np.ndarray, mean: np.ndarray, std: np.ndarray
) -> np.ndarray:
    """out = (x - mean) / std, (N, F), computed in float64 and stored in ``out``'s dtype; in
    blocks of rows (the same numbers as a whole-array pass), so at most one block's float64
    temporaries exist besides ``out``, not three (N, F) float64 copies (200k x 28 rows: ~135
    MB). ``out`` may be ``x`` itself: each block is read whole before it is written."""
    for start in range(0, len(x), _BLOCK_ROWS):
        block = slice(start, start + _BLOCK_ROWS)
        out[block] = (x[block].astype(np.float64) - mean) / std
    return out
