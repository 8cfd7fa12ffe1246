"""Read a table of jets or events from Parquet, CSV, HDF5 or ROOT into an awkward Array.

The in-memory table is an ``ak.Array`` of records, one row per jet or event, with flat
columns (``jet_pt``: N * float64) and jagged columns (``part_px``: N * var * float32)
side by side.

Format: by extension (``.parquet``/``.pq``/``.parq``, ``.csv``, ``.h5``/``.hdf5``/``.hdf``,
``.root``), or ``fmt=`` ("parquet", "csv", "hdf5", "root") whatever the extension.
HDF5 detection rules are in ``hepdl.data._hdf5``. Option types that a writer declared
but never used (pandas/pyarrow mark every column nullable) are removed, so a column
without missing values reads as ``float64``, not ``?float64``.

Every problem is one ``DataError`` whose message starts with the file name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepdl._text import did_you_mean
from hepdl.data._messages import closest, missing_columns_error
from hepdl.errors import DataError

FORMATS = ("parquet", "csv", "hdf5", "root")
EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".parq": "parquet",
    ".csv": "csv",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".hdf": "hdf5",
    ".root": "root",
}
METADATA_KEY = "hepdl"

PathLike = str | os.PathLike[str]


def detect_format(path: PathLike, *, fmt: str = "auto") -> str:
    """The format of ``path``: ``fmt`` when given, else from the file extension."""
    name = str(path)
    if fmt != "auto":
        if fmt not in FORMATS:
            hint = did_you_mean(fmt, FORMATS, cutoff=0.7)
            raise DataError(
                f"{name}: unknown format fmt='{fmt}'{hint}; expected one of "
                f"{', '.join(FORMATS)} or 'auto'"
            )
        return fmt
    suffix = Path(name).suffix.lower()
    if suffix not in EXTENSIONS:
        raise DataError(
            f"{name}: unknown file extension '{suffix or '(none)'}'; expected one of "
            f"{', '.join(EXTENSIONS)}, or pass fmt= one of {', '.join(FORMATS)}"
        )
    return EXTENSIONS[suffix]


def _check_file(name: str, fmt: str) -> None:
    path = Path(name)
    if not path.exists():
        siblings = [p.name for p in path.parent.iterdir()] if path.parent.is_dir() else []
        near = closest(path.name, siblings, cutoff=0.8)
        hint = f"; did you mean '{path.parent / near}'?" if near else ""
        where = "" if path.is_absolute() else f" (looked for {path.resolve()})"
        raise DataError(f"{name}: file not found{where}{hint}")
    if path.is_dir():
        raise DataError(f"{name}: is a directory; expected a {fmt} file")
    if path.stat().st_size == 0:
        raise DataError(f"{name}: file is empty (0 bytes); expected a {fmt} file with rows")


def read_table(
    path: PathLike,
    *,
    columns: Sequence[str] | None = None,
    tree: str | None = None,
    key: str | None = None,
    fmt: str = "auto",
) -> ak.Array:
    """Read ``columns`` (default: all) of a file into an ``ak.Array`` of records (N rows).

    ``tree`` names the TTree of a ROOT file (optional when the file has exactly one);
    ``key`` names the group, dataset or pandas key of an HDF5 file.
    """
    name = str(path)
    kind = detect_format(name, fmt=fmt)
    if tree is not None and kind != "root":
        raise DataError(f"{name}: tree='{tree}' applies to ROOT files; this is a {kind} file")
    if key is not None and kind != "hdf5":
        raise DataError(f"{name}: key='{key}' applies to HDF5 files; this is a {kind} file")
    if isinstance(columns, str):
        columns = [columns]
    if columns is not None:
        columns = list(dict.fromkeys(columns))  # drop repeats, keep order
        if not columns:
            raise DataError(f"{name}: columns=[] asks for no columns; pass None for all")
    _check_file(name, kind)
    if kind == "parquet":
        table = _read_parquet(name, columns=columns)
    elif kind == "csv":
        table = _zip(_read_csv(name, columns=columns))
    elif kind == "hdf5":
        from hepdl.data._hdf5 import read_hdf5

        table = _zip(read_hdf5(name, columns=columns, key=key))
    else:
        from hepdl.data._root import read_root

        table = read_root(name, columns=columns, tree=tree)
    if len(table) == 0:
        raise DataError(f"{name}: the table has 0 rows; expected at least one jet or event")
    return ak.Array(strip_unused_options(ak.to_layout(table)))


def _zip(columns: dict[str, Any]) -> ak.Array:
    arrays = {
        str(k): v if isinstance(v, ak.Array | np.ndarray) else ak.Array(v)
        for k, v in columns.items()
    }
    return ak.zip(arrays, depth_limit=1)


def strip_unused_options(layout: Any) -> Any:
    """Remove option types (``?float64``) at every level where no value is missing."""
    if layout.is_option:
        if np.any(np.asarray(layout.mask_as_bool(valid_when=False))):
            return layout.copy(content=strip_unused_options(layout.content))
        return strip_unused_options(layout.project())
    if layout.is_record:
        return layout.copy(contents=[strip_unused_options(c) for c in layout.contents])
    if layout.is_list or layout.is_regular:
        return layout.copy(content=strip_unused_options(layout.content))
    return layout


def _parquet_file(name: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(name)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DataError(
            f"{name}: cannot read as Parquet ({err}); expected a complete Parquet file. "
            f"It may be truncated (an interrupted copy or write) or not Parquet at all "
            f"(check the extension or pass fmt=...)"
        ) from err


def _read_parquet(name: str, *, columns: list[str] | None) -> ak.Array:
    import pyarrow as pa

    parquet = _parquet_file(name)
    available = parquet.schema_arrow.names
    if columns is not None:
        missing = [c for c in columns if c not in available]
        if missing:
            raise missing_columns_error(name, missing, available)
    if parquet.metadata.num_rows == 0:
        raise DataError(f"{name}: the table has 0 rows; expected at least one jet or event")
    try:
        arrow = parquet.read(columns=columns)
        return ak.from_arrow(arrow)
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DataError(
            f"{name}: cannot read Parquet data ({err}); the file is damaged or truncated"
        ) from err


def _read_csv(name: str, *, columns: list[str] | None) -> dict[str, Any]:
    import pandas as pd

    try:
        header = list(pd.read_csv(name, nrows=0).columns)
        if columns is not None:
            missing = [c for c in columns if c not in header]
            if missing:
                raise missing_columns_error(name, missing, [str(h) for h in header])
        frame = pd.read_csv(name, usecols=columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(
            f"{name}: cannot parse as CSV ({err}); expected a header line with column "
            f"names, then one row per line"
        ) from err
    if columns is not None:
        frame = frame[columns]
    return frame_to_columns(frame)


def frame_to_columns(frame: Any) -> dict[str, Any]:
    """pandas DataFrame -> name -> (N,) NumPy array (numbers, bools) or list of str/None."""
    import pandas as pd

    out: dict[str, Any] = {}
    for label in frame.columns:
        series = frame[label]
        if pd.api.types.is_bool_dtype(series) and not series.isna().any():
            out[str(label)] = series.to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(series):
            if series.isna().any() and not pd.api.types.is_float_dtype(series):
                out[str(label)] = series.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                out[str(label)] = series.to_numpy()
        else:
            out[str(label)] = [None if pd.isna(v) else str(v) for v in series.tolist()]
    return out


def read_metadata(path: PathLike, *, fmt: str = "auto") -> dict[str, Any]:
    """The file's key-value metadata, with the ``hepdl`` entry decoded from JSON.

    Parquet: every key-value pair of the file footer except ``ARROW:schema``, as str.
    HDF5: the root attribute ``hepdl``. CSV and ROOT files carry none: ``{}``.
    hepdl writes ``{"hepdl": {"class_names": [...], "generator": ..., ...}}``.
    """
    name = str(path)
    kind = detect_format(name, fmt=fmt)
    _check_file(name, kind)
    raw: dict[str, str] = {}
    if kind == "parquet":
        pairs = _parquet_file(name).metadata.metadata or {}
        raw = {
            k.decode("utf-8", errors="replace"): v.decode("utf-8", errors="replace")
            for k, v in pairs.items()
            if k != b"ARROW:schema"
        }
    elif kind == "hdf5":
        from hepdl.data._hdf5 import read_hdf5_metadata

        raw = read_hdf5_metadata(name)
    out: dict[str, Any] = dict(raw)
    if METADATA_KEY in raw:
        try:
            out[METADATA_KEY] = json.loads(raw[METADATA_KEY])
        except json.JSONDecodeError as err:
            raise DataError(
                f"{name}: metadata key '{METADATA_KEY}' is not valid JSON ({err}); "
                f"expected the JSON object hepdl writes"
            ) from err
    return out
