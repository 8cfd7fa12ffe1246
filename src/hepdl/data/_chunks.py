"""Row ranges of Parquet, ROOT and HDF5 files, read one at a time.

A ``Chunk`` is ``(path, start, stop)``: rows ``[start, stop)`` of one file. Streaming
iterates over chunks, so at most a few chunks are in memory however large the files are.

- Parquet: the row groups that overlap the range are read (``read_row_groups``) and
  sliced; write files with row groups no larger than the chunk size (hepdl's generator
  does) or each chunk re-reads a whole row group.
- ROOT: ``TTree.arrays(entry_start=, entry_stop=)`` through uproot, one tree per file.
- HDF5: h5py slices of the plain layouts of ``hepdl.data._hdf5`` (compound datasets,
  2-D datasets with column names, variable-length and fixed-size datasets). Tables that
  pandas wrote are read whole by pandas' own layout, so they are refused here with a
  DataError that says to convert them.
- CSV (uncompressed): a one-pass index of where every 1024th row begins
  (``hepdl.data.csv_rows``), then only the bytes of the chunk's rows are parsed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error
from hepdl.data._unique_columns import refuse_repeated
from hepdl.data.readers import (
    _check_file,
    _parquet_file,
    detect_format,
    parquet_read_error,
    strip_unused_options,
)
from hepdl.errors import DataError

STREAM_FORMATS = ("parquet", "root", "hdf5", "csv")


@dataclass(frozen=True)
class Source:
    """One file to stream and how to open it."""

    path: str
    fmt: str  # one of STREAM_FORMATS
    tree: str | None = None  # ROOT
    key: str | None = None  # HDF5
    column_names: tuple[str, ...] | None = None  # CSV without a header line


@dataclass(frozen=True)
class Chunk:
    """Rows ``[start, stop)`` of ``source``."""

    source: Source
    start: int
    stop: int

    @property
    def rows(self) -> int:
        return self.stop - self.start

    @property
    def name(self) -> str:
        """``file.parquet[1000:2000]``, for error messages."""
        return f"{self.source.path}[{self.start}:{self.stop}]"


def open_source(
    path: str,
    *,
    fmt: str,
    tree: str | None,
    key: str | None,
    column_names: Sequence[str] | None = None,
) -> Source:
    """A checked ``Source``: the file exists, its format streams, tree/key/column_names
    fit the format."""
    kind = detect_format(path, fmt=fmt)
    if kind not in STREAM_FORMATS:
        raise DataError(
            f"{path}: {kind} files cannot be streamed in chunks; expected one of "
            f"{', '.join(STREAM_FORMATS)} (convert it to Parquet, or read it whole with "
            f"hepdl.data.read_table)"
        )
    if tree is not None and kind != "root":
        raise DataError(f"{path}: tree='{tree}' applies to ROOT files; this is a {kind} file")
    if key is not None and kind != "hdf5":
        raise DataError(f"{path}: key='{key}' applies to HDF5 files; this is a {kind} file")
    if column_names and kind != "csv":
        raise DataError(
            f"{path}: data.column_names names the fields of a CSV file without a header "
            f"line; this is a {kind} file, whose columns have names"
        )
    _check_file(path, kind)
    names = tuple(str(n) for n in column_names) if column_names else None
    return Source(path=path, fmt=kind, tree=tree, key=key, column_names=names)


def count_rows(source: Source) -> int:
    """The number of rows (jets or events) in the file, from its metadata only."""
    if source.fmt == "parquet":
        return int(_parquet_file(source.path).metadata.num_rows)
    if source.fmt == "root":
        from hepdl.data._root import _choose_tree, _open

        with _open(source.path) as rootfile:
            return int(_choose_tree(rootfile, source.tree, path=source.path).num_entries)
    if source.fmt == "csv":
        return _csv_index(source).n_rows
    with _hdf5_node(source) as datasets:
        return int(datasets[0].shape[0])


def split_rows(source: Source, n_rows: int, *, chunk_rows: int) -> list[Chunk]:
    """Consecutive chunks of at most ``chunk_rows`` rows covering ``[0, n_rows)``."""
    return [
        Chunk(source, start, min(start + chunk_rows, n_rows))
        for start in range(0, n_rows, chunk_rows)
    ]


def read_chunk(chunk: Chunk, *, columns: Sequence[str] | None) -> ak.Array:
    """The rows of ``chunk`` as an ``ak.Array`` of records with ``columns`` (None: all)."""
    if chunk.source.fmt == "parquet":
        table = _read_parquet_rows(chunk, columns)
    elif chunk.source.fmt == "root":
        table = _read_root_rows(chunk, columns)
    elif chunk.source.fmt == "csv":
        table = _read_csv_rows(chunk, columns)
    else:
        table = _read_hdf5_rows(chunk, columns)
    if len(table) != chunk.rows:
        raise DataError(
            f"{chunk.name}: read {len(table)} rows, expected {chunk.rows}; the file changed "
            f"or is truncated since the chunks were listed"
        )
    return ak.Array(strip_unused_options(ak.to_layout(table)))


def _read_parquet_rows(chunk: Chunk, columns: Sequence[str] | None) -> ak.Array:
    import pyarrow as pa

    parquet = _parquet_file(chunk.source.path)
    refuse_repeated(chunk.source.path, parquet.schema_arrow.names)
    columns = parquet.schema_arrow.names if columns is None else columns
    _check_columns(chunk, columns, parquet.schema_arrow.names)
    meta = parquet.metadata
    sizes = np.array([meta.row_group(i).num_rows for i in range(meta.num_row_groups)])
    ends = np.cumsum(sizes)  # (G,) first row after each group
    starts = ends - sizes
    groups = np.flatnonzero((starts < chunk.stop) & (ends > chunk.start)).tolist()
    try:
        arrow = parquet.read_row_groups(groups, columns=list(columns))
    except (pa.ArrowException, OSError, ValueError) as err:
        raise parquet_read_error(
            chunk.name, parquet, err, columns=list(columns), row_groups=groups
        ) from err
    offset = chunk.start - int(starts[groups[0]])
    return ak.from_arrow(arrow.slice(offset, chunk.rows))


def _read_root_rows(chunk: Chunk, columns: Sequence[str] | None) -> ak.Array:
    from hepdl.data._root import _choose_tree, _open

    with _open(chunk.source.path) as rootfile:
        ttree = _choose_tree(rootfile, chunk.source.tree, path=chunk.source.path)
        refuse_repeated(chunk.source.path, ttree.keys(), what="branch")
        columns = list(ttree.keys()) if columns is None else columns
        _check_columns(chunk, columns, list(ttree.keys()), what="branch")
        wanted = set(columns)
        try:
            arrays = ttree.arrays(
                filter_name=lambda name: name in wanted,  # exact names, never expressions
                entry_start=chunk.start,
                entry_stop=chunk.stop,
                library="ak",
            )
        except Exception as err:  # uproot raises many kinds for a damaged basket
            raise DataError(
                f"{chunk.name}: cannot read branches ({type(err).__name__}: {err}); "
                f"the file may be truncated or corrupt"
            ) from err
    return arrays[list(columns)]


def _csv_index(source: Source) -> Any:
    from hepdl.data.csv_rows import csv_row_index

    return csv_row_index(source.path, column_names=source.column_names)


def _read_csv_rows(chunk: Chunk, columns: Sequence[str] | None) -> ak.Array:
    from hepdl.data.csv_rows import read_csv_rows
    from hepdl.data.readers import _zip, frame_to_columns

    index = _csv_index(chunk.source)
    columns = list(index.names) if columns is None else columns
    _check_columns(chunk, columns, index.names)
    return _zip(frame_to_columns(read_csv_rows(index, chunk.start, chunk.stop, columns=columns)))


@contextmanager
def _hdf5_node(source: Source) -> Iterator[list[Any]]:
    """The array datasets of the file's table, while the file is open."""
    import h5py

    from hepdl.data._hdf5 import _datasets, _select, open_hdf5
    from hepdl.data._pandas_hdf5 import pandas_keys

    path = source.path
    with open_hdf5(path) as h5file:
        if pandas_keys(h5file):
            raise DataError(
                f"{path}: holds tables written by pandas, which cannot be read in slices; "
                f"convert it to Parquet (df.to_parquet) to stream it"
            )
        node = _select(h5file, source.key, path=path)
        datasets = [node] if isinstance(node, h5py.Dataset) else _datasets(node)
        datasets = [d for d in datasets if d.ndim >= 1]
        if not datasets:
            raise DataError(f"{path}: HDF5 key '{node.name}' holds no array datasets")
        yield datasets


def _read_hdf5_rows(chunk: Chunk, columns: Sequence[str] | None) -> ak.Array:
    import h5py

    from hepdl.data._hdf5 import _column_names, _convert

    rows = slice(chunk.start, chunk.stop)
    found: list[tuple[str, Any, Any]] = []  # (column, its dataset, field / index / None)
    with _hdf5_node(chunk.source) as datasets:
        for dataset in datasets:
            base = dataset.name.rsplit("/", 1)[-1]
            if dataset.dtype.names:  # compound: one column per field
                found += [(field, dataset, field) for field in dataset.dtype.names]
                continue
            names = _column_names(dataset, path=chunk.source.path)
            if names is not None:  # (N, F) with F column names
                found += [(name, dataset, j) for j, name in enumerate(names)]
            else:
                found.append((base, dataset, None))
        refuse_repeated(chunk.source.path, [name for name, _, _ in found])
        readers = {name: (dataset, part) for name, dataset, part in found}
        columns = list(readers) if columns is None else columns
        _check_columns(chunk, columns, list(readers))
        out: dict[str, Any] = {}
        for name in columns:
            dataset, part = readers[name]
            if isinstance(part, str):
                out[name] = _convert(dataset.fields(part)[rows])
            elif part is not None:
                out[name] = _convert(dataset[rows, part])
            elif (vlen := h5py.check_vlen_dtype(dataset.dtype)) is not None and vlen not in (
                str,
                bytes,
            ):
                out[name] = ak.Array([np.asarray(row) for row in dataset[rows]])
            else:
                out[name] = _convert(dataset[rows])
    arrays = {k: v if isinstance(v, ak.Array | np.ndarray) else ak.Array(v) for k, v in out.items()}
    return ak.zip(arrays, depth_limit=1)


def _check_columns(
    chunk: Chunk, columns: Sequence[str], available: Sequence[str], *, what: str = "column"
) -> None:
    missing = [c for c in columns if c not in available]
    if missing:
        raise missing_columns_error(chunk.source.path, missing, list(available), what=what)
