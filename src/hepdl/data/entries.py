"""What each entry (row) of a table holds, for code that must keep one output row per
input row (``hepdl predict``): how many constituents it has, and its flat columns
(``flat_numeric`` and ``is_jagged`` are also what the representations read columns with).

A table is an ``awkward.Array`` of records (``hepdl.data.read_table``), one row per jet
or event, flat columns (``jet_pt``) and jagged ones (``part_px``) alike.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from hepdl.errors import DataError


def is_jagged(layout: Any) -> bool:
    """True for a list column (``var * ...``) that is not a string."""
    if layout.is_option or layout.is_indexed:
        return is_jagged(layout.content)
    if layout.parameter("__array__") in ("string", "bytes"):
        return False
    return bool(layout.is_list)


def flat_numeric(table: ak.Array, column: str, *, source: str, representation: str) -> np.ndarray:
    """Column ``column`` as a (N,) float64 array; None becomes NaN (caught by check_finite)."""
    values = table[column]
    layout = ak.to_layout(values)
    kind = str(values.type.content)
    if is_jagged(layout):
        raise DataError(
            f"{source}: column '{column}' is jagged ({kind}: a variable-length list per row); "
            f"the '{representation}' representation takes flat numeric columns, one value "
            f"per row. Use a representation built for lists of constituents instead "
            f"(e.g. 'substructure'; see hepdl.data.list_representations())"
        )
    if layout.is_option:
        values = ak.fill_none(values, np.nan)
        layout = ak.to_layout(values)
    if not layout.is_numpy or layout.purelist_depth != 1:
        raise DataError(
            f"{source}: column '{column}' has type {kind}; the '{representation}' "
            f"representation takes flat numeric columns, one number per row"
        )
    array = ak.to_numpy(values)
    if array.dtype.kind not in "biuf":
        raise DataError(
            f"{source}: column '{column}' has type {kind}; expected numbers (or booleans)"
        )
    return array.astype(np.float64)  # (N,)


def constituent_counts(table: ak.Array) -> np.ndarray | None:
    """The number of constituents of each row (N,) int64: the length of its first
    jagged column's list (the constituents' columns of one jet have one length); None
    when the table has no jagged column (one flat row of numbers per entry)."""
    for name in table.fields:
        if is_jagged(ak.to_layout(table[name])):
            return ak.to_numpy(ak.num(table[name], axis=1)).astype(np.int64)
    return None


def flat_column(table: ak.Array, column: str, *, source: str, wanted_by: str) -> np.ndarray:
    """Column ``column`` as (N,) float64 (None as NaN); DataError naming ``source`` and
    the column when it is missing, jagged or not numeric. ``wanted_by``: what needs it,
    for the message (e.g. "task.ratio_to")."""
    if column not in (table.fields or []):
        from hepdl.data._messages import missing_columns_error

        raise missing_columns_error(
            source,
            [column],
            list(table.fields or []),
            place="the table",
            hint=f"{wanted_by} needs '{column}'",
        )
    return flat_numeric(table, column, source=source, representation=wanted_by)


def as_table(data: Any, *, source: str) -> ak.Array:
    """An ``ak.Array`` of records from an ``ak.Array``, a pandas DataFrame or a mapping
    of column name -> array (each with one entry per row)."""
    if isinstance(data, ak.Array):
        return data
    if hasattr(data, "columns") and hasattr(data, "iloc"):  # a pandas DataFrame
        from hepdl.data.readers import frame_to_columns

        data = frame_to_columns(data)
    if isinstance(data, dict) or hasattr(data, "keys"):
        lengths = {str(k): len(v) for k, v in data.items()}
        if len(set(lengths.values())) > 1:
            raise DataError(
                f"{source}: columns of different lengths ({lengths}); a table has one "
                "entry per row in every column"
            )
        return ak.Array({str(k): v for k, v in data.items()})
    raise DataError(
        f"{source}: a {type(data).__name__} is no table; give an awkward Array of records, "
        "a pandas DataFrame or a dict of column name -> array"
    )
