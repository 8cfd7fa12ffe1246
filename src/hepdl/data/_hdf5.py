"""HDF5 reader: plain h5py layouts and the layouts pandas writes.

Detection rules, in order:

1. If the file holds pandas objects (groups with attribute ``pandas_type``, written by
   ``df.to_hdf`` in "table" or "fixed" format), it is read as pandas: ``key`` names the
   object; without ``key`` the file must hold exactly one. Read safely with h5py
   (``_pandas_hdf5``), never with ``pd.read_hdf``, which unpickles file contents.
2. Otherwise ``key`` names a group or a dataset (default: the root group when it holds
   datasets, else the only group that holds datasets). Each dataset directly in that
   group (sorted by name; subgroups and scalars are ignored) gives columns:

   - a compound (structured) dataset: one column per field;
   - a 2-D dataset with a string-list attribute ``columns`` (or ``column_names``,
     ``feature_names``): one column per name, (N, F) -> F flat columns;
   - a variable-length dataset: one jagged column named like the dataset;
   - any other dataset: one column named like the dataset, (N,) flat or (N, ...) fixed-size.

   All columns must have the same number of rows.

File metadata: the root attribute ``hepdl`` (a JSON string) when present.

Compression: datasets h5py cannot decompress (pandas' blosc, bzip2, lzo) are read
through PyTables, safely (``_hdf5_filters``); when neither can, the error names it.
"""

from __future__ import annotations

import functools
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._hdf5_filters import read_values, use_hdf5plugin
from hepdl.data._messages import missing_columns_error, preview
from hepdl.data._pandas_hdf5 import pandas_keys, read_pandas_group
from hepdl.data._safe_pickle import safe_loads
from hepdl.data._unique_columns import refuse_repeated
from hepdl.errors import DataError
from hepdl.text import did_you_mean

NAME_ATTRIBUTES = ("columns", "column_names", "feature_names")


def open_hdf5(path: str) -> Any:
    import h5py

    use_hdf5plugin()
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise DataError(
            f"{path}: cannot open as HDF5 ({err}); expected an HDF5 file, complete and "
            f"not truncated (check the extension or pass fmt=...)"
        ) from err


def read_hdf5(path: str, *, columns: Sequence[str] | None, key: str | None) -> dict[str, Any]:
    """Columns of an HDF5 file as name -> array-like, following the detection rules above."""
    with open_hdf5(path) as h5file:
        try:
            return _read_open(h5file, path=path, columns=columns, key=key)
        except OSError as err:  # e.g. a truncated dataset or a missing compression filter
            raise DataError(f"{path}: cannot read HDF5 data ({err})") from err


def hdf5_columns(path: str, *, key: str | None) -> list[str]:
    """The column names ``read_hdf5`` would return, read from the file's structure only."""
    with open_hdf5(path) as h5file:
        try:
            target = _target(h5file, key, path=path)
            if "pandas_type" in target.attrs:
                return _pandas_column_names(target, path=path)
            return list(_column_loaders(target, path=path))
        except OSError as err:
            raise DataError(f"{path}: cannot read HDF5 data ({err})") from err


def _pandas_column_names(group: Any, *, path: str) -> list[str]:
    """Column names of a pandas object from its metadata, without reading its rows.

    "fixed" layout: the ``axis0`` dataset; "table" layout: the pickled group attribute
    ``non_index_axes`` (``[(1, [names])]``, decoded by the restricted unpickler). Anything
    else is read whole, which also gives the reader's own error for a bad object.
    """
    try:
        if "axis0" in group:
            return [_text(v) for v in read_values(group["axis0"], path=path).tolist()]
        if "non_index_axes" in group.attrs:
            axes = safe_loads(bytes(group.attrs["non_index_axes"]))
            return [str(name) for name in axes[0][1]]
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError):
        pass  # damaged, unsafe or unexpected metadata: the full read below says what is wrong
    return list(read_pandas_group(group, path=path))


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _target(h5file: Any, key: str | None, *, path: str) -> Any:
    """The pandas object, group or dataset that holds the table (detection rules above)."""
    pandas = pandas_keys(h5file)
    if key is None and pandas:
        if len(pandas) > 1:
            raise DataError(
                f"{path}: holds {len(pandas)} pandas tables ({preview(pandas)}); "
                f"pass key=... to choose one"
            )
        key = pandas[0]
    return _select(h5file, key, path=path)


def _read_open(
    h5file: Any, *, path: str, columns: Sequence[str] | None, key: str | None
) -> dict[str, Any]:
    target = _target(h5file, key, path=path)
    if "pandas_type" in target.attrs:
        table = read_pandas_group(target, path=path)
        _check_columns(path, columns, list(table))
        return {c: table[c] for c in (columns or list(table))}
    loaders = _column_loaders(target, path=path)
    _check_columns(path, columns, list(loaders))
    return {c: loaders[c]() for c in (columns or list(loaders))}


def _check_columns(path: str, columns: Sequence[str] | None, available: list[str]) -> None:
    if columns is None:
        return
    missing = [c for c in columns if c not in available]
    if missing:
        raise missing_columns_error(path, missing, available)


def _select(h5file: Any, key: str | None, *, path: str) -> Any:
    import h5py

    candidates: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group) and _datasets(obj):
            candidates.append(name)

    h5file.visititems(visit)
    if key is not None:
        node = h5file.get(key.strip("/") or "/")
        if node is None:
            hint = did_you_mean(key.strip("/"), candidates, cutoff=0.7)
            raise DataError(
                f"{path}: HDF5 key '{key}' not found{hint}; groups holding datasets: "
                f"{preview(candidates or ['/'])}"
            )
        return node
    if _datasets(h5file):
        return h5file
    if len(candidates) == 1:
        return h5file[candidates[0]]
    if not candidates:
        raise DataError(f"{path}: HDF5 file holds no datasets; expected a table of columns")
    raise DataError(
        f"{path}: HDF5 file has several groups holding datasets ({preview(candidates)}); "
        f"pass key=... to choose one"
    )


def _datasets(group: Any) -> list[Any]:
    import h5py

    return [group[name] for name in sorted(group) if isinstance(group[name], h5py.Dataset)]


def _column_loaders(node: Any, *, path: str) -> dict[str, Callable[[], Any]]:
    """name -> function reading that column, for a group or a single dataset."""
    import h5py

    datasets = [node] if isinstance(node, h5py.Dataset) else _datasets(node)
    datasets = [d for d in datasets if d.ndim >= 1]
    if not datasets:
        raise DataError(f"{path}: HDF5 key '{node.name}' holds no array datasets")
    lengths = {d.name: d.shape[0] for d in datasets}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"'{n}' ({m} rows)" for n, m in lengths.items())
        raise DataError(
            f"{path}: datasets in HDF5 group '{node.name}' have different lengths: {listed}; "
            f"expected one row per jet or event in every column"
        )
    parts = [_dataset_loaders(dataset, path=path) for dataset in datasets]
    # a field of one dataset named as another dataset or its field: refused, not overwritten
    refuse_repeated(path, [name for part in parts for name in part])
    return {name: load for part in parts for name, load in part.items()}


def _dataset_loaders(dataset: Any, *, path: str) -> dict[str, Callable[[], Any]]:
    import h5py

    base = dataset.name.rsplit("/", 1)[-1]
    # (N, ...) read once, for every column the dataset gives
    whole = functools.cache(lambda: read_values(dataset, path=path))
    if dataset.dtype.names:  # compound: one column per field
        return {f: (lambda f=f: _convert(whole()[f])) for f in dataset.dtype.names}
    names = _column_names(dataset, path=path)
    if names is not None:  # (N, F)
        return {n: (lambda j=j: _convert(whole()[:, j])) for j, n in enumerate(names)}
    vlen = h5py.check_vlen_dtype(dataset.dtype)
    if vlen is not None and vlen not in (str, bytes):
        return {base: lambda: ak.Array([np.asarray(row) for row in whole()])}
    return {base: lambda: _convert(whole())}


def _column_names(dataset: Any, *, path: str) -> list[str] | None:
    for attr in NAME_ATTRIBUTES:
        if attr in dataset.attrs:
            raw = np.atleast_1d(np.asarray(dataset.attrs[attr]))
            names = [v.decode() if isinstance(v, bytes) else str(v) for v in raw.tolist()]
            if dataset.ndim != 2 or len(names) != dataset.shape[1]:
                raise DataError(
                    f"{path}: HDF5 dataset '{dataset.name}' has shape {dataset.shape} but "
                    f"attribute '{attr}' names {len(names)} columns; expected a 2-D "
                    f"dataset (N, F) with F names"
                )
            refuse_repeated(path, names)
            return names
    return None


def _convert(values: np.ndarray) -> Any:
    if values.dtype.kind in "SO":
        return [v.decode("utf-8", errors="replace") if isinstance(v, bytes) else v for v in values]
    return values


def read_hdf5_metadata(path: str) -> dict[str, Any]:
    """The root attribute ``hepdl`` as ``{"hepdl": text}``; empty when absent."""
    with open_hdf5(path) as h5file:
        if "hepdl" not in h5file.attrs:
            return {}
        value = h5file.attrs["hepdl"]
        return {"hepdl": value.decode() if isinstance(value, bytes) else str(value)}
