"""Checks on feature arrays before they reach a model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hepdl.data._messages import rows
from hepdl.errors import DataError, NonFiniteInputError

_MAX_LISTED = 10


def check_finite(
    x: np.ndarray,
    *,
    feature_names: Sequence[str],
    source: str,
    table_rows: np.ndarray | None = None,
) -> None:
    """NonFiniteInputError (a DataError) when ``x`` holds NaN or inf, naming each bad
    feature column.

    ``x`` is (N, F) with F == len(feature_names); more generally (N, ..., F): rows along
    the first axis, features along the last. A 1-D ``x`` is one feature (N,). The message
    names the file (``source``), the columns, how many rows are bad and the first one.
    ``table_rows`` (N,): the table row of each of x's rows where they are not the table's
    (a clustering tree's nodes: each node's jet); the error's ``rows`` are table rows.
    """
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        return  # integers and booleans are always finite
    features = x.reshape(-1, 1) if x.ndim == 1 else x
    if features.shape[-1] != len(feature_names):
        raise DataError(
            f"{source}: array has {features.shape[-1]} feature columns (shape {x.shape}) but "
            f"{len(feature_names)} feature names were given"
        )
    bad = ~np.isfinite(features)  # (N, ..., F)
    if not bad.any():
        return
    per_row = bad.reshape(len(features), -1, features.shape[-1]).any(axis=1)  # (N, F)
    bad_rows = per_row.any(axis=1)  # (N,)
    columns = np.flatnonzero(per_row.any(axis=0))
    parts = []
    for j in columns[:_MAX_LISTED]:
        column_rows = per_row[:, j]
        parts.append(
            f"'{feature_names[j]}' ({rows(int(column_rows.sum()))}, "
            f"first at row {int(np.argmax(column_rows))})"
        )
    if len(columns) > _MAX_LISTED:
        parts.append(f"... ({len(columns)} columns in all)")
    where = np.flatnonzero(bad_rows)
    bad_table_rows = where if table_rows is None else np.unique(np.asarray(table_rows)[where])
    raise NonFiniteInputError(
        f"{source}: NaN or inf in feature column(s) {', '.join(parts)}; "
        f"{int(bad_rows.sum())} of {len(features)} rows affected, the first at row "
        f"{int(np.argmax(bad_rows))}. Expected finite numbers: fix or drop those rows "
        f"(or choose other features)",
        rows=[int(r) for r in bad_table_rows],
    )
