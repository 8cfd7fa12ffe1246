"""One file read as consecutive row ranges, for code outside hepdl.data that must keep
one output row per input row and bounded memory (``hepdl predict``).

:func:`open_chunked` checks the file and plans its columns the way ``read_table`` does
(a mapping ``{new name: column of the file}`` or a ``preset``), :func:`iter_chunks`
yields ``(start, stop, table)`` for rows ``[start, stop)`` in file order.

- Parquet, ROOT, HDF5 (plain layouts) and CSV are streamed through
  ``hepdl.data._chunks``: a chunk's rows are the only ones read, so a file larger than
  memory works; memory is about one chunk of the columns read.
- Formats that cannot be read in slices (``.npy``, ``.npz``, HDF5 tables written by
  pandas) are read whole with ``hepdl.data.read_table`` and then cut into chunks: their
  memory is the whole file's (convert them to Parquet to stream them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import awkward as ak

from hepdl.data._chunks import STREAM_FORMATS, Chunk, Source, count_rows, open_source, read_chunk
from hepdl.data._column_names import ColumnPlan, _same, mapping_plan, preset_plan
from hepdl.data._messages import missing_columns_error
from hepdl.data.readers import detect_format, file_columns, read_table, strip_unused_options
from hepdl.errors import ConfigError, DataError


class TableChunk(NamedTuple):
    """Rows ``[start, stop)`` of the file as an ``ak.Array`` of records."""

    start: int
    stop: int
    table: ak.Array


@dataclass(frozen=True)
class ChunkedFile:
    """A checked file: its format, entry count, columns (after the plan) and ROOT tree."""

    path: str
    fmt: str
    n_rows: int
    columns: tuple[str, ...]  # the table's columns, after a mapping or preset
    tree: str | None  # the TTree read (ROOT): the one named, or the file's only one
    key: str | None
    column_names: tuple[str, ...] | None
    mapping: Mapping[str, str] | None
    preset: str | None
    plan: ColumnPlan | None  # None: the file's own columns
    streams: bool  # chunks read one at a time (else the file is read whole, then cut)

    def chunk_name(self, start: int, stop: int) -> str:
        """``file.root[0:100000]``, for messages about one chunk."""
        return f"{self.path}[{start}:{stop}]"

    def require(self, names: Sequence[str], *, what: str = "column", hint: str = "") -> None:
        """A DataError naming each of ``names`` that is no column of the table, with its
        closest match and the available columns."""
        missing = [name for name in names if name not in self.columns]
        if missing:
            raise missing_columns_error(
                self.path, missing, list(self.columns), what=what, hint=hint
            )


def open_chunked(
    path: str,
    *,
    fmt: str = "auto",
    tree: str | None = None,
    key: str | None = None,
    column_names: Sequence[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    preset: str | None = "auto",
) -> ChunkedFile:
    """``path`` checked (exists, its tree/key/column_names fit its format), with its entry
    count and columns, read as ``read_table(path, columns=mapping, preset=preset, ...)``
    would read it."""
    path = str(path)
    kind = detect_format(path, fmt=fmt)
    names = tuple(str(n) for n in column_names) if column_names else None
    if kind in STREAM_FORMATS:
        source = open_source(path, fmt=kind, tree=tree, key=key, column_names=names)
    elif tree is not None or key is not None:
        option = f"tree='{tree}'" if tree is not None else f"key='{key}'"
        raise DataError(f"{path}: {option} applies to ROOT / HDF5 files; this is a {kind} file")
    available = file_columns(path, tree=tree, key=key, fmt=kind, names=names)
    if mapping:
        plan = mapping_plan(mapping, available, source=path)
    else:
        plan = preset_plan(preset, available, select=None, source=path)
    columns = tuple(plan.outputs) if plan is not None else tuple(available)
    found = ChunkedFile(
        path=path,
        fmt=kind,
        n_rows=0,
        columns=columns,
        tree=_tree_name(path, tree) if kind == "root" else None,
        key=key,
        column_names=names,
        mapping=dict(mapping) if mapping else None,
        preset=preset,
        plan=plan,
        streams=kind in STREAM_FORMATS and not _pandas_hdf5(path, kind),
    )
    if found.streams:
        n_rows = count_rows(source)
    else:  # counted by reading it: the file is read whole anyway
        n_rows = len(_whole(found, columns=None))
    return replace(found, n_rows=n_rows)


def count_entries(path: str, **options: Any) -> int:
    """The number of entries (rows) of ``path`` (options: those of :func:`open_chunked`)."""
    return open_chunked(path, **options).n_rows


def iter_chunks(
    file: ChunkedFile, *, columns: Sequence[str] | None, chunk_rows: int
) -> Iterator[TableChunk]:
    """The rows of ``file`` in order, ``chunk_rows`` at a time (the last chunk shorter),
    each with ``columns`` (table names, after the plan; None: all)."""
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows={chunk_rows!r}; expected an integer >= 1")
    wanted = None if columns is None else list(dict.fromkeys(columns))
    if wanted is not None:
        file.require(wanted)
    if not file.streams:
        whole = _whole(file, columns=wanted)
        for start in range(0, len(whole), chunk_rows):
            stop = min(start + chunk_rows, len(whole))
            yield TableChunk(start, stop, whole[start:stop])
        return
    source = Source(
        path=file.path,
        fmt=file.fmt,
        tree=file.tree,
        key=file.key,
        column_names=file.column_names,
    )
    plan = None if file.plan is None else file.plan.select(wanted or list(file.plan.outputs))
    for start in range(0, file.n_rows, chunk_rows):
        chunk = Chunk(source, start, min(start + chunk_rows, file.n_rows))
        if plan is None:
            table = read_chunk(chunk, columns=wanted)
        else:
            raw = read_chunk(chunk, columns=plan.sources)
            table = ak.Array(strip_unused_options(ak.to_layout(plan.build(raw))))
        yield TableChunk(chunk.start, chunk.stop, table)


def _whole(file: ChunkedFile, *, columns: list[str] | None) -> ak.Array:
    """The whole file through ``read_table`` (formats that cannot be sliced)."""
    where = {"tree": file.tree, "key": file.key, "fmt": file.fmt}
    if file.mapping:
        chosen = file.mapping if columns is None else {c: file.mapping[c] for c in columns}
        return read_table(file.path, columns=chosen, column_names=file.column_names, **where)
    return read_table(
        file.path, columns=columns, preset=file.preset, column_names=file.column_names, **where
    )


def _tree_name(path: str, tree: str | None) -> str:
    from hepdl.data._root import _choose_tree, _open

    with _open(path) as rootfile:
        return str(_choose_tree(rootfile, tree, path=path).name)


def _pandas_hdf5(path: str, kind: str) -> bool:
    """Whether ``path`` holds tables that pandas wrote (read whole by pandas' layout)."""
    if kind != "hdf5":
        return False
    from hepdl.data._hdf5 import open_hdf5
    from hepdl.data._pandas_hdf5 import pandas_keys

    with open_hdf5(path) as h5file:
        return bool(pandas_keys(h5file))


def with_own_columns(file: ChunkedFile, names: Sequence[str]) -> ChunkedFile:
    """``file`` whose table also has the file's own columns ``names`` (those not in the
    plan yet), under their own names: a mapping reads only the columns it maps."""
    if file.plan is None:
        return file
    own = file_columns(
        file.path, tree=file.tree, key=file.key, fmt=file.fmt, names=file.column_names
    )
    extra = [n for n in names if n not in file.plan.outputs and n in own]
    if not extra:
        return file
    plan = ColumnPlan(
        {**file.plan.outputs, **{n: _same(n) for n in extra}}, preset=file.plan.preset
    )
    mapping = {**file.mapping, **{n: n for n in extra}} if file.mapping else None
    return replace(file, plan=plan, columns=tuple(plan.outputs), mapping=mapping)
