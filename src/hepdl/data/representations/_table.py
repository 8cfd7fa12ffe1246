"""Column access shared by the representations, with hepdl's error messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak

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
