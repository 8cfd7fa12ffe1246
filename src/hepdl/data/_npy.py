"""A single NumPy ``.npy`` array as a table.

A structured array (``np.save`` of a record array) gives one column per field; any other
array one column named ``array``: (N,) flat, or (N, ...) fixed-size per row, such as
ready-made images (N, H, W) or (N, C, H, W) for ``data.representation.name:
image_array`` (``column: array``). The name is the same for every file, so a training
file and an evaluation file give the same column. Object arrays are refused (loading
them would unpickle).
"""

from __future__ import annotations

from collections.abc import Sequence

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error
from hepdl.errors import DataError

ARRAY_COLUMN = "array"


def _load(name: str, *, mmap: bool) -> np.ndarray:
    try:
        return np.load(name, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as err:  # an object array: np.load would have to unpickle
        raise DataError(
            f"{name}: the array cannot be loaded without unpickling ({err}); expected a "
            "numeric array saved with numpy.save"
        ) from err
    except (OSError, EOFError) as err:
        raise DataError(
            f"{name}: cannot read as .npy ({err}); expected a complete array saved with "
            "numpy.save (check the extension or set data.format)"
        ) from err


def npy_columns(name: str) -> list[str]:
    """The column names of an ``.npy`` file, read from its header (memory-mapped)."""
    array = _load(name, mmap=True)
    return list(array.dtype.names or [ARRAY_COLUMN])


def read_npy(name: str, *, columns: Sequence[str] | None) -> ak.Array:
    """The columns ``columns`` (None: all) of an ``.npy`` file, one row per entry of its
    first axis."""
    array = _load(name, mmap=False)
    if array.ndim == 0:
        raise DataError(f"{name}: holds a single value; expected an array with one row per entry")
    available = list(array.dtype.names or [ARRAY_COLUMN])
    chosen = list(available if columns is None else columns)
    missing = [c for c in chosen if c not in available]
    if missing:
        raise missing_columns_error(name, missing, available)
    if array.dtype.names is None:
        return ak.zip({ARRAY_COLUMN: ak.from_numpy(array)}, depth_limit=1)
    return ak.zip({c: ak.from_numpy(np.ascontiguousarray(array[c])) for c in chosen}, depth_limit=1)
