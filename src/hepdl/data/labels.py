"""Truth labels: integer class indices (N,) int64 plus the list of class names.

Two ways to label a table:

- ``labels_from_column``: a column of the table holds the truth, as integers (indices
  into the class names) or as strings (class names themselves).
- ``labels_from_files``: one file, or a list of files, per class; every row of a class's
  files gets that class's index, in the order of the mapping.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error, quoted, rows
from hepdl.data.readers import PathLike, read_metadata, read_table
from hepdl.errors import DataError

_MAX_LISTED = 10


def class_names_from_metadata(metadata: Mapping[str, Any]) -> list[str] | None:
    """``class_names`` from file metadata (``{"hepdl": {"class_names": [...]}}``), or None."""
    inner = metadata.get("hepdl")
    names = inner.get("class_names") if isinstance(inner, Mapping) else None
    if names is None:
        names = metadata.get("class_names")
    if isinstance(names, Sequence) and not isinstance(names, str):
        return [str(n) for n in names]
    return None


def _metadata_class_names(source: str) -> list[str] | None:
    """Class names stored in ``source`` when it names a readable file, else None."""
    try:
        if not Path(source).is_file():
            return None
        return class_names_from_metadata(read_metadata(source))
    except (DataError, OSError):
        return None


def labels_from_column(
    table: ak.Array,
    column: str,
    *,
    classes: Sequence[str] | None = None,
    source: str,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Labels (N,) int64 and class names from one column of ``table``.

    Integer column: the values index the class names, ``classes`` when given, else the
    ``class_names`` of ``metadata`` (default: the metadata of the file ``source`` when it
    is one), else ``["0", "1", ..., str(max)]`` (the integers keep their meaning).
    String column: the values are class names; declared as above, else the sorted
    distinct values. A value outside the declared classes is a DataError.
    """
    if column not in (table.fields or []):
        raise missing_columns_error(source, [column], list(table.fields or []), place="the table")
    values = table[column]
    layout = ak.to_layout(values)
    if layout.purelist_depth != 1 or layout.is_record or not _is_scalar_column(layout):
        raise DataError(
            f"{source}: label column '{column}' has type {values.type.content}; expected "
            f"one integer or string label per row"
        )
    missing = np.asarray(ak.is_none(values))
    if missing.any():
        raise DataError(
            f"{source}: label column '{column}' has {int(missing.sum())} missing values "
            f"(first at row {int(np.argmax(missing))}); expected a label in every row"
        )
    declared = list(classes) if classes is not None else None
    if declared is None:
        declared = (
            class_names_from_metadata(metadata)
            if metadata is not None
            else _metadata_class_names(source)
        )
    if layout.parameter("__array__") in ("string", "bytes"):
        return _labels_from_strings(values, declared, column=column, source=source)
    return _labels_from_integers(ak.to_numpy(values), declared, column=column, source=source)


def _is_scalar_column(layout: Any) -> bool:
    if layout.parameter("__array__") in ("string", "bytes"):
        return True
    return not (layout.is_list or layout.is_regular or layout.is_union)


def _labels_from_strings(
    values: ak.Array, declared: list[str] | None, *, column: str, source: str
) -> tuple[np.ndarray, list[str]]:
    strings = np.asarray(ak.to_list(values), dtype=str)  # (N,)
    distinct, inverse = np.unique(strings, return_inverse=True)
    names = [str(d) for d in distinct] if declared is None else [str(c) for c in declared]
    index = {name: i for i, name in enumerate(names)}
    bad = [d for d in distinct.tolist() if d not in index]
    if bad:
        raise _outside_classes(source, column, bad, names, int(np.isin(strings, bad).sum()))
    lookup = np.array([index[d] for d in distinct.tolist()], dtype=np.int64)
    return lookup[inverse], names


def _labels_from_integers(
    values: np.ndarray, declared: list[str] | None, *, column: str, source: str
) -> tuple[np.ndarray, list[str]]:
    if values.dtype.kind == "b":
        values = values.astype(np.int64)
    if values.dtype.kind == "f":
        integral = np.isfinite(values) & (values == np.round(values))
        if not integral.all():
            first = int(np.argmin(integral))
            raise DataError(
                f"{source}: label column '{column}' holds non-integer values (e.g. "
                f"{values[first]!r} at row {first}); expected integer class indices or "
                f"class-name strings (to predict a continuous value, use task.kind: regress "
                f"with task.targets: [{column}])"
            )
    elif values.dtype.kind not in "iu":
        raise DataError(
            f"{source}: label column '{column}' has dtype {values.dtype}; expected integer "
            f"class indices or class-name strings"
        )
    labels = values.astype(np.int64)  # (N,)
    if declared is None:
        negative = labels < 0
        if negative.any():
            raise _outside_classes(
                source, column, np.unique(labels[negative]).tolist(), None, int(negative.sum())
            )
        return labels, [str(i) for i in range(int(labels.max()) + 1)]
    names = [str(c) for c in declared]
    outside = (labels < 0) | (labels >= len(names))
    if outside.any():
        bad = np.unique(labels[outside]).tolist()
        raise _outside_classes(source, column, bad, names, int(outside.sum()))
    return labels, names


def _outside_classes(
    source: str, column: str, bad: list[Any], names: list[str] | None, count: int
) -> DataError:
    shown = quoted(bad[:_MAX_LISTED])
    if len(bad) > _MAX_LISTED:
        shown += f", ... ({len(bad)} distinct)"
    if names is None:
        expected = "non-negative integer class indices"
    else:
        expected = (
            f"the declared classes {quoted(names)} (integer labels index them: 0..{len(names) - 1})"
        )
    return DataError(
        f"{source}: label column '{column}' has values outside the declared classes: {shown} "
        f"({rows(count)}); expected {expected}"
    )


def require_classes(
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    source: str | Sequence[PathLike],
    minimum: int = 2,
) -> None:
    """DataError unless at least ``minimum`` distinct classes are present in ``labels``."""
    where = source if isinstance(source, str) else ", ".join(str(s) for s in source)
    present = np.unique(np.asarray(labels))
    if len(present) >= minimum:
        return
    names = list(class_names)
    if len(present) == 0:
        raise DataError(f"{where}: no rows; expected labelled rows of at least {minimum} classes")
    counts = np.unique(np.asarray(labels), return_counts=True)[1]
    found = ", ".join(
        f"'{_name(names, int(c))}' ({rows(int(k))})" for c, k in zip(present, counts, strict=True)
    )
    what = "only one class is" if len(present) == 1 else f"only {len(present)} classes are"
    raise DataError(
        f"{where}: {what} present: {found}; expected at least {minimum} classes "
        f"(declared: {quoted(names)})"
    )


def _name(names: list[str], index: int) -> str:
    return names[index] if 0 <= index < len(names) else str(index)


def labels_from_files(
    files: Mapping[str, PathLike | Sequence[PathLike]],
    *,
    columns: Sequence[str] | Mapping[str, str] | None = None,
    preset: str | None = "auto",
    tree: str | None = None,
    key: str | None = None,
    fmt: str = "auto",
    minimum_classes: int = 2,
) -> tuple[ak.Array, np.ndarray, list[str]]:
    """Read one file (or a list) per class; return (table (N,), labels (N,) int64, names).

    Class ``i`` is the ``i``-th key of ``files``. Without ``columns`` the first file's
    columns are read from every file (a file lacking one is a DataError naming it).
    ``columns`` may map new names to file columns and ``preset`` names a known layout, as
    in :func:`hepdl.data.readers.read_table`.
    """
    class_names = [str(name) for name in files]
    tables: list[ak.Array] = []
    labels: list[np.ndarray] = []
    paths: list[str] = []
    wanted = list(columns) if columns is not None else None
    for index, (name, entry) in enumerate(files.items()):
        group = [entry] if isinstance(entry, str | os.PathLike) else list(entry)
        if not group:
            raise DataError(f"class '{name}': no files given; expected at least one path")
        for path in group:
            chosen = columns if isinstance(columns, Mapping) else wanted
            table = read_table(path, columns=chosen, preset=preset, tree=tree, key=key, fmt=fmt)
            wanted = wanted if wanted is not None else list(table.fields)
            tables.append(table[wanted])
            labels.append(np.full(len(table), index, dtype=np.int64))
            paths.append(str(path))
    table = _concatenate(tables, paths) if len(tables) > 1 else tables[0]
    label_array = np.concatenate(labels)  # (N,)
    require_classes(label_array, class_names, source=paths, minimum=minimum_classes)
    return table, label_array, class_names


def _concatenate(tables: list[ak.Array], paths: list[str]) -> ak.Array:
    joined = ak.concatenate(tables)
    for field in joined.fields:
        if ak.to_layout(joined[field]).is_union:
            types = "; ".join(
                f"{p}: {t[field].type.content}" for p, t in zip(paths, tables, strict=True)
            )
            raise DataError(
                f"column '{field}' has different types in the files ({types}); expected the "
                f"same type in every file"
            )
    return joined


__all__ = [
    "class_names_from_metadata",
    "labels_from_column",
    "labels_from_files",
    "require_classes",
]


def signal_class_index(class_names: list[str], signal_class: str | None) -> int:
    """Index of the signal class: ``signal_class`` (``data.signal_class``), else the last."""
    if signal_class is None:
        return len(class_names) - 1
    if signal_class not in class_names:
        raise DataError(
            f"data.signal_class '{signal_class}' is not one of the classes {class_names}"
        )
    return class_names.index(signal_class)
