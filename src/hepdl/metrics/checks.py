"""Input checks shared by the metric functions and the figures that draw them.

Each check turns array-likes into NumPy arrays and raises :class:`hepdl.errors.DataError`
with a message that names the argument and says what was expected.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.errors import DataError


def _shape_hint(name: str, shape: tuple[int, ...]) -> str:
    """Suggest the usual fix for a model output of the wrong shape."""
    if len(shape) == 2 and shape[1] == 1:
        return f" (got shape {shape}; pass {name}.ravel())"
    if len(shape) == 2 and shape[1] >= 2:
        return (
            f" (got shape {shape}; for softmax outputs pass {name}[:, 1] or "
            "one_vs_rest_scores(prob, signal_class=...))"
        )
    return f" (got shape {shape})"


def as_1d(values: Any, *, name: str) -> np.ndarray:
    """Return ``values`` as a non-empty 1-D array, or raise ``DataError``."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{name}: expected a 1-D array{_shape_hint(name, arr.shape)}")
    if arr.size == 0:
        raise DataError(f"{name}: expected a non-empty array, got 0 entries")
    return arr


def check_labels(y: Any, *, name: str = "y") -> np.ndarray:
    """Binary truth labels, 1 = signal and 0 = background, as an int array ``(N,)``."""
    arr = as_1d(y, name=name)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise DataError(f"{name}: expected integer labels 0/1, got dtype {arr.dtype}")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        found = np.unique(arr[bad])[:5].tolist()
        raise DataError(
            f"{name}: expected labels 0 (background) or 1 (signal), found {found}; "
            "for multiclass labels compare against the signal class, e.g. y == k"
        )
    return arr.astype(np.int64)


def check_scores(score: Any, *, name: str = "score") -> np.ndarray:
    """Finite real scores as a float array ``(N,)``."""
    arr = as_1d(score, name=name)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise DataError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not finite.all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int((~finite).sum()) - n_nan
        first = int(np.flatnonzero(~finite)[0])
        raise DataError(
            f"{name}: expected finite values, found {n_nan} NaN and {n_inf} inf "
            f"(first at index {first})"
        )
    return arr


def check_same_length(**arrays: np.ndarray) -> None:
    """All ``arrays`` have the same length, or raise naming each length."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise DataError(f"lengths differ: {listed} entries; expected one entry per event")


def check_weights(sample_weight: Any, *, n: int) -> np.ndarray:
    """Finite non-negative per-event weights ``(N,)``; ``None`` means all ones."""
    if sample_weight is None:
        return np.ones(n, dtype=np.float64)
    w = check_scores(sample_weight, name="sample_weight")
    if len(w) != n:
        raise DataError(f"sample_weight: expected {n} entries (one per event), got {len(w)}")
    if (w < 0).any():
        raise DataError(
            f"sample_weight: expected non-negative weights, found {int((w < 0).sum())} "
            "negative; efficiencies with negative weights need not be monotonic, so "
            "resolve negative weights (e.g. by reweighting) before computing metrics"
        )
    return w


def check_both_classes(y: np.ndarray, w: np.ndarray, *, name: str = "y") -> tuple[float, float]:
    """Total signal and background weight; raise if either class is missing."""
    w_sig = float(w[y == 1].sum())
    w_bkg = float(w[y == 0].sum())
    if w_sig <= 0 or w_bkg <= 0:
        n_sig = int((y == 1).sum())
        n_bkg = int((y == 0).sum())
        raise DataError(
            f"{name}: expected both classes (1 = signal, 0 = background) with positive "
            f"total weight, got {n_sig} signal (weight {w_sig:g}) and {n_bkg} background "
            f"(weight {w_bkg:g}); efficiencies are undefined for a missing class"
        )
    return w_sig, w_bkg


def check_efficiency(value: Any, *, name: str) -> float:
    """A working-point efficiency in ``(0, 1]``."""
    try:
        eff = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{name}: expected a number in (0, 1], got {value!r}") from None
    if not (0.0 < eff <= 1.0):  # also rejects NaN
        raise DataError(f"{name}: expected a number in (0, 1], got {value!r}")
    return eff
