"""Column access shared by the representations, with hepdl's error messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error
from hepdl.errors import DataError


def table_fields(table: Any, *, source: str) -> list[str]:
    """The column names of a record table; DataError for anything else."""
    if not isinstance(table, ak.Array) or not table.fields:
        raise DataError(
            f"{source}: expected a table (awkward Array of records, one row per jet or "
            f"event); got {type(table).__name__}"
        )
    return list(table.fields)


def require_columns(
    table: ak.Array,
    names: Sequence[str],
    *,
    source: str,
    representation: str,
    kind: str = "representation",
) -> None:
    """DataError naming the columns of ``names`` that ``table`` lacks.

    ``kind`` is what needs them (``representation`` or ``augmentation``), for the message.
    """
    available = table_fields(table, source=source)
    missing = [n for n in names if n not in available]
    if missing:
        raise missing_columns_error(
            source,
            missing,
            available,
            place="the table",
            hint=f"The '{representation}' {kind} needs {', '.join(names)}",
        )


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
