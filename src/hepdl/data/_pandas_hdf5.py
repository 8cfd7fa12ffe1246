"""Read the HDF5 layouts that pandas writes (``df.to_hdf``), without pandas and safely.

``pd.read_hdf`` goes through PyTables, which unpickles attributes with the full
``pickle`` module: a crafted file runs code when it is read (checked: an attribute
holding ``os.system`` is executed by ``pd.read_hdf``). hepdl reads the two layouts with
h5py instead and decodes the few pickled pieces with ``_safe_pickle.safe_loads``.

Layouts (a group with attribute ``pandas_type``):

- ``frame_table`` (``format="table"``): a compound dataset ``<group>/table`` with field
  ``index``, fields ``values_block_K`` of shape (k,) whose column names are in the
  pickled list attribute ``values_block_K_kind``, and one field per data column
  (``data_columns=...``). Column order comes from the group attribute ``non_index_axes``.
- ``frame`` (``format="fixed"``): ``axis0`` (column names), ``blockK_items`` (names of
  block K) and ``blockK_values``: a 2-D array, stored (N, k) when its attribute
  ``transposed`` is set, or an object block (pickled NumPy array of str).

The index is dropped. Strings become Python str (pandas' missing-string marker
``nan_rep`` becomes None); booleans stay booleans; categoricals are decoded to their
categories (kept under ``<key>/meta``); other types (datetime) arrive as stored numbers.
"""

from __future__ import annotations

import pickle
from typing import Any

import numpy as np

from hepdl.data._hdf5_filters import read_object_row, read_values
from hepdl.data._safe_pickle import UnsafePickleError, safe_loads
from hepdl.errors import DataError

_SUPPORTED = ("frame", "frame_table")


def pandas_keys(h5file: Any) -> list[str]:
    """Keys (without leading '/') of the pandas objects in an open h5py file.

    Objects nested inside another (the categories pandas keeps under ``<key>/meta``) are
    parts of that object, not tables of their own.
    """
    keys: list[str] = []

    def visit(name: str, obj: Any) -> None:
        if "pandas_type" in obj.attrs and not any(name.startswith(f"{k}/") for k in keys):
            keys.append(name)

    h5file.visititems(visit)  # parents are visited before their children
    return keys


def _text(value: Any) -> str:
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _restricted_unpickle(data: bytes, *, where: str, fix: str, expected: str) -> Any:
    """Decode pandas' pickled metadata with the restricted loader; ``where`` names the
    HDF5 object in messages, ``fix`` says how to re-save, ``expected`` what it should be."""
    try:
        return safe_loads(data)
    except UnsafePickleError as err:
        raise DataError(
            f"{where} is a pickle naming Python code ({err}); hepdl does not unpickle "
            f"such files. {fix}"
        ) from err
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise DataError(f"{where} is damaged ({err}); expected {expected}") from err


def _unpickle_attr(path: str, node: Any, name: str) -> Any:
    return _restricted_unpickle(
        bytes(node.attrs[name]),
        where=f"{path}: HDF5 attribute '{node.name}/{name}'",
        fix="Re-save the table with numeric and string columns only, or as Parquet",
        expected="a pandas table written by df.to_hdf",
    )


def _decode_strings(
    values: np.ndarray, encoding: str, nan_rep: str | None = None
) -> list[str | None]:
    out: list[str | None] = []
    for v in values.tolist():
        if isinstance(v, bytes):
            text = v.decode(encoding, errors="replace")
            out.append(None if text == nan_rep else text)
        elif isinstance(v, str) or v is None:
            out.append(v)
        else:  # NaN placeholder pandas stores for a missing string
            out.append(None)
    return out


def read_pandas_group(group: Any, *, path: str) -> dict[str, Any]:
    """Columns of the pandas object at ``group``: name -> (N,) array or list of str."""
    kind = _text(group.attrs["pandas_type"])
    if kind not in _SUPPORTED:
        raise DataError(
            f"{path}: HDF5 key '{group.name}' holds a pandas '{kind}'; expected a DataFrame "
            f"written by df.to_hdf (pandas_type one of {', '.join(_SUPPORTED)})"
        )
    encoding = _text(group.attrs.get("encoding", b"UTF-8")) or "UTF-8"
    if kind == "frame_table":
        return _read_table_layout(group, path=path, encoding=encoding)
    return _read_fixed_layout(group, path=path, encoding=encoding)


def _read_table_layout(group: Any, *, path: str, encoding: str) -> dict[str, Any]:
    if "table" not in group:
        raise DataError(f"{path}: pandas table '{group.name}' has no 'table' dataset")
    table = group["table"]
    data = read_values(table, path=path)  # structured (N,)
    nan_rep = _unpickle_attr(path, group, "nan_rep") if "nan_rep" in group.attrs else None
    nan_rep = "nan" if nan_rep is None else str(nan_rep)  # pandas' default
    columns: dict[str, Any] = {}
    for field in data.dtype.names:
        if field == "index":
            continue
        values = data[field]
        if field.startswith("values_block_") and f"{field}_kind" in table.attrs:
            names = [str(n) for n in _unpickle_attr(path, table, f"{field}_kind")]
            values = values.reshape(len(data), len(names))  # (N, k)
        else:
            names = [field]
            values = values.reshape(len(data), 1)
        meta = _text(table.attrs.get(f"{field}_meta", b""))
        dtype = _text(table.attrs.get(f"{field}_dtype", b""))
        for j, name in enumerate(names):
            col = values[:, j]
            if meta == "category":
                columns[name] = _categories(group, field, col, path=path, encoding=encoding)
            elif col.dtype.kind == "S" or meta == "str":
                columns[name] = _decode_strings(col, encoding, nan_rep)
            elif dtype == "bool":
                columns[name] = col.astype(bool)
            else:
                columns[name] = col
    order = [n for n in _table_column_order(group, path=path) if n in columns]
    order += [n for n in columns if n not in order]
    return {name: columns[name] for name in order}


def _categories(
    group: Any, field: str, codes: np.ndarray, *, path: str, encoding: str
) -> list[Any]:
    """Decode a categorical column: codes (N,) index the categories kept under meta/."""
    where = f"meta/{field}/meta/table"
    if where not in group:
        raise DataError(
            f"{path}: categorical column in '{group.name}' lacks its categories ('{where}')"
        )
    categories = read_values(group[where], path=path)["values"]
    labels = (
        _decode_strings(categories, encoding)
        if categories.dtype.kind == "S"
        else categories.tolist()
    )
    return [labels[c] if 0 <= c < len(labels) else None for c in codes.tolist()]


def _table_column_order(group: Any, *, path: str) -> list[str]:
    if "non_index_axes" not in group.attrs:
        return []
    axes = _unpickle_attr(path, group, "non_index_axes")  # [(1, [names])]
    try:
        return [str(n) for n in axes[0][1]]
    except (IndexError, TypeError, KeyError):
        return []


def _names(values: np.ndarray, encoding: str) -> list[str]:
    """Column names of the fixed layout: strings, or integers (a frame with columns
    2098, 2099, ... stores them as int64) kept as their text."""
    if values.dtype.kind in "iu":
        return [str(v) for v in values.tolist()]
    return [str(n) for n in _decode_strings(values, encoding)]


def _read_fixed_layout(group: Any, *, path: str, encoding: str) -> dict[str, Any]:
    import h5py

    if int(group.attrs.get("ndim", 2)) != 2 or "axis0" not in group:
        raise DataError(f"{path}: pandas object '{group.name}' is not a 2-D DataFrame")
    order = _names(read_values(group["axis0"], path=path), encoding)
    columns: dict[str, Any] = {}
    for k in range(int(group.attrs.get("nblocks", 0))):
        names = _names(read_values(group[f"block{k}_items"], path=path), encoding)
        dataset = group[f"block{k}_values"]
        transposed = bool(dataset.attrs.get("transposed", 0))
        if _text(dataset.attrs.get("CLASS", b"")) == "VLARRAY":
            values = np.asarray(_unpickle_object_block(path, dataset))
            is_text = True
        else:
            values = read_values(dataset, path=path)
            is_text = values.dtype.kind == "S"
            if dataset.id.get_type().get_class() == h5py.h5t.BITFIELD:
                values = values.astype(bool)
        if values.ndim == 1:
            values = values.reshape(-1, 1)  # (N, 1)
        elif not transposed:
            values = values.T  # stored (k, N)
        for j, name in enumerate(names):
            col = values[:, j]
            columns[str(name)] = _decode_strings(col, encoding) if is_text else col
    return {str(name): columns[str(name)] for name in order if str(name) in columns}


def _unpickle_object_block(path: str, dataset: Any) -> Any:
    """The object block of the fixed layout: one row holding a pickled NumPy array."""
    return _restricted_unpickle(
        read_object_row(dataset, path=path),
        where=f"{path}: HDF5 dataset '{dataset.name}'",
        fix="Re-save with df.to_hdf(..., format='table') or as Parquet",
        expected="a pandas object column written by df.to_hdf",
    )
