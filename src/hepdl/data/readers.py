"""Read a table of jets or events from Parquet, CSV, HDF5, ROOT or .npz into an awkward Array.

The in-memory table is an ``ak.Array`` of records, one row per jet or event, with flat
columns (``jet_pt``: N * float64) and jagged columns (``part_px``: N * var * float32)
side by side.

Format: by extension (``.parquet``/``.pq``/``.parq``, ``.csv`` (also ``.csv.gz``, ``.bz2``,
``.xz``, ``.zst``), ``.h5``/``.hdf5``/``.hdf``, ``.root``, ``.npz``, ``.npy``), or ``fmt=``
(``data.format``: "parquet", "csv", "hdf5", "root", "npz", "npy") whatever the extension.
CSV compression and header-less files (``column_names``) are in ``hepdl.data._csv``,
HDF5 detection rules in ``hepdl.data._hdf5``, .npz files and the ``energyflow-qg`` preset
in ``hepdl.data._energyflow``, .npy files in ``hepdl.data._npy``. Option types that a
writer declared but never used (pandas/pyarrow mark every column nullable) are removed,
so a column without missing values reads as ``float64``, not ``?float64``.

Column names: ``columns`` is either a selection (a list of names) or a mapping
``{new name: column of the file}`` that reads exactly those columns and renames them;
``preset`` applies a built-in layout of a well-known dataset (``"auto"``, the default,
only when the file's columns are exactly that layout). Both bring files onto hepdl's
JetClass names; see ``hepdl.data._column_names`` for the presets.

Every problem is one ``DataError`` whose message starts with the file name.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._column_names import (
    AUTO,
    PRESETS,
    ColumnPlan,
    detect_preset,
    get_preset,
    mapping_plan,
    preset_plan,
)
from hepdl.data._csv import COMPRESSED_SUFFIXES, csv_header, read_csv
from hepdl.data._energyflow import EnergyFlowQG, npz_columns, read_npz
from hepdl.data._messages import closest, missing_columns_error, quoted
from hepdl.data._npy import npy_columns, read_npy
from hepdl.data._unique_columns import refuse_repeated
from hepdl.errors import DataError
from hepdl.text import did_you_mean, short_repr

log = logging.getLogger(__name__)

FORMATS = ("parquet", "csv", "hdf5", "root", "npz", "npy")
__all__ = ["FORMATS", "PRESETS", "column_names", "detect_format", "read_metadata", "read_table"]
EXTENSIONS = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".parq": "parquet",
    ".csv": "csv",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".hdf": "hdf5",
    ".root": "root",
    ".npz": "npz",
    ".npy": "npy",
}
PRESETS.setdefault(EnergyFlowQG.name, EnergyFlowQG())  # .npz quark/gluon jets
METADATA_KEY = "hepdl"

PathLike = str | os.PathLike[str]


def detect_format(path: PathLike, *, fmt: str = "auto") -> str:
    """The format of ``path``: ``fmt`` (``data.format``) when given, else from the file
    extension, a compression suffix after it (``.csv.gz``) looked through."""
    name = str(path)
    if fmt != "auto":
        if fmt not in FORMATS:
            hint = did_you_mean(fmt, FORMATS, cutoff=0.7)
            raise DataError(
                f"{name}: unknown data.format '{fmt}'{hint}; expected one of "
                f"{', '.join(FORMATS)} or 'auto'"
            )
        return fmt
    suffixes = [s.lower() for s in Path(name).suffixes]
    compressed = len(suffixes) > 1 and suffixes[-1] in COMPRESSED_SUFFIXES
    suffix = suffixes[-2] if compressed else (suffixes[-1] if suffixes else "")
    if suffix not in EXTENSIONS:
        shown = "".join(suffixes[-2:]) if compressed else suffix
        raise DataError(
            f"{name}: unknown file extension '{shown or '(none)'}'; expected one of "
            f"{', '.join(EXTENSIONS)} (CSV also compressed: .csv.gz, .csv.bz2, .csv.xz), "
            f"or set data.format to one of {', '.join(FORMATS)}"
        )
    if compressed and EXTENSIONS[suffix] != "csv":
        raise DataError(
            f"{name}: a {EXTENSIONS[suffix]} file compressed as {suffixes[-1]}; hepdl reads "
            f"compressed CSV only: decompress it first"
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
    columns: Sequence[str] | Mapping[str, str] | None = None,
    preset: str | None = AUTO,
    tree: str | None = None,
    key: str | None = None,
    fmt: str = "auto",
    column_names: Sequence[str] | None = None,
) -> ak.Array:
    """Read a file into an ``ak.Array`` of records (N rows).

    ``columns``: None for all; a list of names to select (names of the table as returned,
    so after a preset); or a mapping ``{new name: column of the file}``, e.g.
    ``{"jet_pt": "FatJet_pt", "label": "is_top"}``: exactly those columns, renamed, in
    the mapping's order (no preset then). ``preset``: ``"auto"`` applies a built-in layout
    (``PRESETS``) when the file's columns are exactly that layout; a preset name applies
    it (its columns must be there); None reads the file's own columns.
    ``tree`` names the TTree of a ROOT file (optional when the file has exactly one);
    ``key`` names the group, dataset or pandas key of an HDF5 file.
    ``column_names`` names the fields of a CSV file that has no header line.
    """
    name = str(path)
    kind = detect_format(name, fmt=fmt)
    _check_column_names(name, kind, column_names)
    if tree is not None and kind != "root":
        raise DataError(f"{name}: tree='{tree}' applies to ROOT files; this is a {kind} file")
    if key is not None and kind != "hdf5":
        raise DataError(f"{name}: key='{key}' applies to HDF5 files; this is a {kind} file")
    if preset not in (None, AUTO):
        get_preset(preset, source=name)
    mapping = columns if isinstance(columns, Mapping) else None
    if mapping is not None and preset not in (None, AUTO):
        raise DataError(
            f"{name}: columns={{...}} (a mapping) and preset='{preset}' both given; pass one"
        )
    select = None if mapping is not None else _selection(name, columns)
    _check_file(name, kind)
    plan: ColumnPlan | None = None
    # Read from the file's structure only; refuses repeated column names.
    available = file_columns(name, tree=tree, key=key, fmt=kind, names=column_names)
    if mapping is not None or preset is not None:
        if mapping is not None:
            plan = mapping_plan(mapping, available, source=name)
        else:
            plan = preset_plan(preset, available, select=select, source=name)
    where = {"tree": tree, "key": key, "names": column_names}
    if plan is None:
        table = _read(name, kind, columns=select, **where)
    else:
        table = plan.build(_read(name, kind, columns=plan.sources, **where))
        if plan.preset and preset == AUTO:
            log.info(
                "%s: its columns are exactly the '%s' layout: read with that preset "
                "(preset=None reads the file's own columns)",
                name,
                plan.preset,
            )
    if len(table) == 0:
        raise DataError(f"{name}: the table has 0 rows; expected at least one jet or event")
    return ak.Array(strip_unused_options(ak.to_layout(table)))


def _selection(name: str, columns: Sequence[str] | str | None) -> list[str] | None:
    if columns is None:
        return None
    chosen = list(dict.fromkeys([columns] if isinstance(columns, str) else columns))
    if not chosen:
        raise DataError(f"{name}: columns=[] asks for no columns; pass None for all")
    return chosen


def _check_column_names(name: str, kind: str, names: Sequence[str] | None) -> None:
    if names is not None and kind != "csv":
        raise DataError(
            f"{name}: data.column_names names the fields of a CSV file without a header "
            f"line; this is a {kind} file, whose columns have names"
        )


def _read(
    name: str,
    kind: str,
    *,
    columns: list[str] | None,
    tree: str | None,
    key: str | None,
    names: Sequence[str] | None = None,
) -> ak.Array:
    """The file's own ``columns`` (None: all) in the reader of format ``kind``."""
    if kind == "parquet":
        return _read_parquet(name, columns=columns)
    if kind == "csv":
        return _zip(frame_to_columns(read_csv(name, columns=columns, names=names)))
    if kind == "npz":
        return read_npz(name, columns=columns)
    if kind == "npy":
        return read_npy(name, columns=columns)
    if kind == "hdf5":
        from hepdl.data._hdf5 import read_hdf5

        return _zip(read_hdf5(name, columns=columns, key=key))
    from hepdl.data._root import read_root

    return read_root(name, columns=columns, tree=tree)


def column_names(
    path: PathLike,
    *,
    tree: str | None = None,
    key: str | None = None,
    fmt: str = "auto",
    names: Sequence[str] | None = None,
) -> list[str]:
    """The file's own column names (before any preset), read without reading its rows;
    ``names``: those of a header-less CSV file (``data.column_names``)."""
    name = str(path)
    kind = detect_format(name, fmt=fmt)
    _check_column_names(name, kind, names)
    _check_file(name, kind)
    return file_columns(name, tree=tree, key=key, fmt=kind, names=names)


def file_columns(
    name: str, *, tree: str | None, key: str | None, fmt: str, names: Sequence[str] | None
) -> list[str]:
    """``column_names`` of an existing file of known format ``fmt``; a DataError when a
    name repeats."""
    names_found = _file_columns(name, tree=tree, key=key, fmt=fmt, names=names)
    refuse_repeated(name, names_found, what="branch" if fmt == "root" else "column")
    return names_found


def _file_columns(
    name: str, *, tree: str | None, key: str | None, fmt: str, names: Sequence[str] | None
) -> list[str]:
    kind = fmt
    if kind == "parquet":
        return list(_parquet_file(name).schema_arrow.names)
    if kind == "csv":
        return csv_header(name, names=names)
    if kind == "npz":
        return npz_columns(name)
    if kind == "npy":
        return npy_columns(name)
    if kind == "hdf5":
        from hepdl.data._hdf5 import hdf5_columns

        return hdf5_columns(name, key=key)
    from hepdl.data._root import root_columns

    return root_columns(name, tree=tree)


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
        # Pages written with a CRC (hepdl writes them: generate/_parquet.py) are checked
        # as they are read; pages without one read as before.
        return pq.ParquetFile(name, page_checksum_verification=True)
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
    except (pa.ArrowException, OSError, ValueError) as err:
        raise parquet_read_error(name, parquet, err, columns=columns) from err
    return ak.from_arrow(arrow)


def parquet_read_error(
    name: str,
    parquet: Any,
    err: Exception,
    *,
    columns: Sequence[str] | None,
    row_groups: Sequence[int] | None = None,
) -> DataError:
    """The DataError for a failed read of ``columns`` (None: all) of ``parquet``.

    pyarrow names the page of a failed checksum but not its column: each column is then
    read alone (only on this error path) to name the damaged ones.
    """
    import pyarrow as pa

    text = str(err)
    if "checksum" not in text.lower() and "crc" not in text.lower():
        return DataError(
            f"{name}: cannot read Parquet data ({err}); the file is damaged or truncated"
        )
    groups = list(range(parquet.metadata.num_row_groups)) if row_groups is None else row_groups
    damaged = []
    for column in dict.fromkeys(columns or parquet.schema_arrow.names):
        try:
            parquet.read_row_groups(groups, columns=[column])
        except (pa.ArrowException, OSError, ValueError):
            damaged.append(column)
    noun = "column" if len(damaged) == 1 else "columns"
    where = f" in {noun} {quoted(damaged)}" if damaged else ""
    return DataError(
        f"{name}: a data page{where} fails its checksum ({err}); the file is corrupt "
        f"(damaged on disk or in a copy): regenerate or copy it again"
    )


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


def read_metadata(
    path: PathLike,
    *,
    fmt: str = "auto",
    preset: str | None = AUTO,
    tree: str | None = None,
    key: str | None = None,
    column_names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The file's key-value metadata, with the ``hepdl`` entry decoded from JSON.

    Parquet: every key-value pair of the file footer except ``ARROW:schema``, as str.
    HDF5: the root attribute ``hepdl``. CSV and ROOT files carry none: ``{}``.
    hepdl writes ``{"hepdl": {"class_names": [...], "generator": ..., ...}}``.
    A preset (as in ``read_table``) that applies to the file adds its class names and its
    name under ``hepdl`` when the file declares no class names of its own.
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
        _check_hepdl_metadata(out[METADATA_KEY], name)
    where = {"tree": tree, "key": key, "names": column_names}
    return _with_preset_classes(out, name, kind, preset=preset, **where)


def _check_hepdl_metadata(value: Any, name: str) -> None:
    """DataError unless the ``hepdl`` entry is the object hepdl writes and its
    ``class_names`` (when present) a list of distinct names: a class order read wrongly
    would swap signal and background without a word."""
    if not isinstance(value, dict):
        raise DataError(
            f"{name}: metadata key '{METADATA_KEY}' holds a JSON {type(value).__name__}; "
            f'expected the object hepdl writes, {{"class_names": [...], ...}}'
        )
    names = value.get("class_names")
    if names is None:
        return
    if (
        not isinstance(names, list)
        or not names
        or not all(isinstance(n, str | int) and not isinstance(n, bool) for n in names)
        or len({str(n) for n in names}) != len(names)
    ):
        raise DataError(
            f"{name}: metadata '{METADATA_KEY}.class_names' is {short_repr(names)}; "
            f'expected a list of distinct class names in label order, e.g. ["qcd", "top"]'
        )


def _with_preset_classes(
    metadata: dict[str, Any],
    name: str,
    kind: str,
    *,
    preset: str | None,
    tree: str | None,
    key: str | None,
    names: Sequence[str] | None,
) -> dict[str, Any]:
    declared = metadata.get(METADATA_KEY)
    if preset is None or (isinstance(declared, dict) and "class_names" in declared):
        return metadata
    if preset == AUTO:
        try:
            chosen = detect_preset(file_columns(name, tree=tree, key=key, fmt=kind, names=names))
        except DataError:  # e.g. several trees and no tree=: no layout to detect
            return metadata
    else:
        chosen = get_preset(preset, source=name)
    if chosen is None:
        return metadata
    inner = dict(declared) if isinstance(declared, dict) else {}
    inner.update(class_names=list(chosen.class_names), preset=chosen.name)
    return {**metadata, METADATA_KEY: inner}
