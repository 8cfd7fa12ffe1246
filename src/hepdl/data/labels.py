"""Truth labels: integer class indices (N,) int64 plus the list of class names.

Two ways to label a table:

- ``labels_from_column``: a column of the table holds the truth, as integers (indices
  into the class names) or as strings (class names themselves).
- ``labels_from_files``: one file, or a list of files, per class; every row of a class's
  files gets that class's index, in the order of the mapping.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error, quoted, rows
from hepdl.data.readers import PathLike, read_metadata, read_table
from hepdl.data.splits import check_disjoint_files
from hepdl.errors import DataError
from hepdl.text import did_you_mean

log = logging.getLogger(__name__)
_MAX_LISTED = 10
# data.max_classes' default: more distinct labels than this is an id column, not classes.
MAX_CLASSES = 100


@dataclass(frozen=True)
class _Column:
    """The label column being read, for the messages: its file, name and class cap."""

    source: str
    column: str
    max_classes: int


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
    max_classes: int = MAX_CLASSES,
) -> tuple[np.ndarray, list[str]]:
    """Labels (N,) int64 and class names from one column of ``table``.

    Integer column: the values index the class names, ``classes`` when given, else the
    ``class_names`` of ``metadata`` (default: the metadata of the file ``source`` when it
    is one); declared names that are all integers (``["-1", "1"]``, as a first file's
    mapped values give) are matched by value instead. Undeclared: ``["0", "1", ...,
    str(max)]`` when the values are 0..max with max < ``max_classes`` (the integers keep
    their meaning), else the sorted distinct values (``-1, 1`` or PDG ids) as classes.
    More than ``max_classes`` distinct values is a DataError: the column looks like an
    identifier (event number, particle id), not a class.
    String column: the values are class names; declared as above, else the sorted
    distinct values (at most ``max_classes``). A value outside the declared classes is a
    DataError.
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
    where = _Column(source=source, column=column, max_classes=max_classes)
    if layout.parameter("__array__") in ("string", "bytes"):
        return _labels_from_strings(values, declared, where)
    return _labels_from_integers(ak.to_numpy(values), declared, where)


def _is_scalar_column(layout: Any) -> bool:
    if layout.parameter("__array__") in ("string", "bytes"):
        return True
    return not (layout.is_list or layout.is_regular or layout.is_union)


def _labels_from_strings(
    values: ak.Array, declared: list[str] | None, where: _Column
) -> tuple[np.ndarray, list[str]]:
    strings = np.asarray(ak.to_list(values), dtype=str)  # (N,)
    distinct, inverse = np.unique(strings, return_inverse=True)
    if declared is None:
        _check_class_count(len(distinct), distinct.tolist(), where)
    names = [str(d) for d in distinct] if declared is None else [str(c) for c in declared]
    index = {name: i for i, name in enumerate(names)}
    bad = [d for d in distinct.tolist() if d not in index]
    if bad:
        raise _outside_classes(where, bad, names, int(np.isin(strings, bad).sum()))
    lookup = np.array([index[d] for d in distinct.tolist()], dtype=np.int64)
    return lookup[inverse], names


def _labels_from_integers(
    values: np.ndarray, declared: list[str] | None, where: _Column
) -> tuple[np.ndarray, list[str]]:
    source, column = where.source, where.column
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
    # Only the distinct values are ever enumerated: an id column of values ~1e17 must not
    # turn into 1e17 class names (that allocated tens of GB and killed the process).
    distinct, inverse = np.unique(labels, return_inverse=True)  # (D,), (N,)
    if declared is None:
        if distinct[0] >= 0 and distinct[-1] < where.max_classes:
            return labels, [str(i) for i in range(int(distinct[-1]) + 1)]
        _check_class_count(len(distinct), distinct.tolist(), where)
        return inverse.astype(np.int64), [str(v) for v in distinct.tolist()]
    names = [str(c) for c in declared]
    if all(_is_integer_text(n) for n in names):  # classes named by their values
        index = {int(n): i for i, n in enumerate(names)}
        bad = [int(v) for v in distinct.tolist() if int(v) not in index]
        if bad:
            raise _outside_classes(where, bad, names, int(np.isin(labels, bad).sum()))
        lookup = np.array([index[int(v)] for v in distinct.tolist()], dtype=np.int64)
        return lookup[inverse], names
    outside = (labels < 0) | (labels >= len(names))
    if outside.any():
        bad = np.unique(labels[outside]).tolist()
        raise _outside_classes(where, bad, names, int(outside.sum()))
    return labels, names


def _is_integer_text(name: str) -> bool:
    return name.lstrip("+-").isdigit()


def _check_class_count(count: int, examples: list[Any], where: _Column) -> None:
    """DataError when a label column has more distinct values than ``max_classes``."""
    if count <= where.max_classes:
        return
    shown = quoted(examples[:3] + examples[-2:]) if count > 5 else quoted(examples)
    raise DataError(
        f"{where.source}: label column '{where.column}' has {count} distinct values "
        f"(e.g. {shown}); that looks like an identifier (an event number or particle id), "
        f"not a class: expected at most data.max_classes = {where.max_classes} classes. "
        f"Choose the column holding the classes (data.label_column), or raise "
        f"data.max_classes if these really are {count} classes"
    )


def _outside_classes(where: _Column, bad: list[Any], names: list[str], count: int) -> DataError:
    shown = quoted(bad[:_MAX_LISTED])
    if len(bad) > _MAX_LISTED:
        shown += f", ... ({len(bad)} distinct)"
    expected = f"the declared classes {quoted(names)}"
    if not all(_is_integer_text(n) for n in names):
        expected += f" (integer labels index them: 0..{len(names) - 1})"
    return DataError(
        f"{where.source}: label column '{where.column}' has values outside the declared "
        f"classes: {shown} ({rows(count)}); expected {expected}"
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
    column_names: Sequence[str] | None = None,
) -> tuple[ak.Array, np.ndarray, list[str]]:
    """Read one file (or a list) per class; return (table (N,), labels (N,) int64, names).

    Class ``i`` is the ``i``-th key of ``files``. Without ``columns`` the first file's
    columns are read from every file (a file lacking one is a DataError naming it).
    ``columns`` may map new names to file columns and ``preset`` names a known layout, as
    in :func:`hepdl.data.readers.read_table`; ``column_names`` names the fields of
    header-less CSV files.
    """
    class_names = [str(name) for name in files]
    groups = {
        name: [entry] if isinstance(entry, str | os.PathLike) else list(entry)
        for name, entry in files.items()
    }
    # one file (or a copy) as two classes would train a classifier on identical rows
    check_disjoint_files(
        {f"class '{name}'": [str(p) for p in group] for name, group in groups.items()},
        what="classes",
        expected="expected each class its own files",
    )
    tables: list[ak.Array] = []
    labels: list[np.ndarray] = []
    paths: list[str] = []
    wanted = list(columns) if columns is not None else None
    for index, (name, group) in enumerate(groups.items()):
        if not group:
            raise DataError(f"class '{name}': no files given; expected at least one path")
        for path in group:
            chosen = columns if isinstance(columns, Mapping) else wanted
            where = {"tree": tree, "key": key, "fmt": fmt, "column_names": column_names}
            table = read_table(path, columns=chosen, preset=preset, **where)
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
    "MAX_CLASSES",
    "class_names_from_metadata",
    "labels_from_column",
    "labels_from_files",
    "require_classes",
    "signal_class_index",
]


def signal_class_index(class_names: list[str], signal_class: str | None) -> int:
    """Index of the signal class: ``signal_class`` (``data.signal_class``), else the last.

    The default is a choice the user may not have meant (of 'g'/'h' it takes 'h'), so
    it is logged as a warning naming the class and the key that sets it.
    """
    if signal_class is None:
        if len(class_names) > 1:
            log.warning(
                "data.signal_class not given: '%s' (the last of the classes %s) is the "
                "signal class; set data.signal_class to choose another",
                class_names[-1],
                quoted(class_names),
            )
        return len(class_names) - 1
    if signal_class not in class_names:
        hint = did_you_mean(signal_class, class_names, cutoff=0.6)
        raise DataError(
            f"data.signal_class '{signal_class}' is not one of the classes "
            f"{quoted(class_names)}{hint}"
        )
    return class_names.index(signal_class)
