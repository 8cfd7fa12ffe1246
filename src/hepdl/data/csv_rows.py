"""Rows ``[start, stop)`` of a CSV file without reading the rows before them.

CSV has no row index, so streaming one needs its own: one pass over the bytes records
where every ``STRIDE``-th row begins (8 bytes per ``STRIDE`` rows: 80 kB for 10 million
rows). Reading a chunk then seeks to the nearest recorded row, finds the exact byte range of
its rows in at most ``STRIDE`` rows more, and hands only those bytes to pandas.

Row boundaries are newlines outside double quotes (a quoted field may hold a newline, as
RFC 4180 allows); blank lines are not rows, as for ``pandas.read_csv``. Compressed files
have no random access, so they are refused with the advice to decompress them.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from hepdl.data._csv import _read, compression, csv_header
from hepdl.errors import DataError

STRIDE = 1024  # rows between two recorded offsets
BLOCK = 1 << 22  # bytes scanned at a time (4 MiB): bounded memory whatever the file
NEWLINE, QUOTE, RETURN = ord("\n"), ord('"'), ord("\r")


@dataclass(frozen=True)
class CsvRowIndex:
    """Where the data rows of one CSV file begin."""

    path: str
    names: tuple[str, ...]  # the column names (header line or data.column_names)
    n_rows: int
    offsets: np.ndarray  # (ceil(n_rows / STRIDE),) int64: byte offset of rows 0, STRIDE, ...
    end: int  # the file's size in bytes


def csv_row_index(path: str, *, column_names: Sequence[str] | None = None) -> CsvRowIndex:
    """The row index of ``path``, built once per file version (size and mtime)."""
    stat = os.stat(path)
    names = tuple(column_names) if column_names else None
    return _cached_index(path, stat.st_size, stat.st_mtime_ns, names)


@lru_cache(maxsize=64)
def _cached_index(
    path: str, size: int, mtime_ns: int, column_names: tuple[str, ...] | None
) -> CsvRowIndex:
    kind = compression(path)
    if kind is not None:
        raise DataError(
            f"{path}: is {kind}-compressed, and compressed CSV cannot be read in chunks "
            f"(no random access); decompress it, or convert it to Parquet, to stream it "
            f"(data.streaming), or read it whole without data.streaming"
        )
    names = tuple(csv_header(path, names=column_names))
    n_rows, offsets = _row_starts(path, skip_header=column_names is None)
    return CsvRowIndex(path, names, n_rows, offsets, size)


def _row_starts(path: str, *, skip_header: bool) -> tuple[int, np.ndarray]:
    """One pass over the bytes: the number of non-blank rows and the offsets of rows
    0, STRIDE, 2 STRIDE, ..."""
    sampled: list[np.ndarray] = []
    n_rows = 0
    in_quotes = False  # carried across blocks
    line_start = 0  # offset where the current line began
    line_empty = True  # the current line has only \r so far
    header_pending = skip_header
    with open(path, "rb") as stream:
        offset = 0
        while block := stream.read(BLOCK):
            data = np.frombuffer(block, dtype=np.uint8)
            starts, line_start, line_empty, in_quotes = _complete_lines(
                data, offset, line_start, line_empty, in_quotes
            )
            if header_pending and len(starts):
                starts, header_pending = starts[1:], False
            keep = (np.arange(n_rows, n_rows + len(starts)) % STRIDE) == 0
            sampled.append(starts[keep])
            n_rows += len(starts)
            offset += len(block)
    if not line_empty:  # a last row without a final newline
        if header_pending:
            header_pending = False
        else:
            if n_rows % STRIDE == 0:
                sampled.append(np.array([line_start], dtype=np.int64))
            n_rows += 1
    if in_quotes:
        raise DataError(
            f"{path}: a double quote opened near the end is never closed; expected "
            f"complete CSV rows"
        )
    offsets = np.concatenate(sampled) if sampled else np.zeros(0, dtype=np.int64)
    return n_rows, offsets.astype(np.int64)


def _complete_lines(
    data: np.ndarray, offset: int, line_start: int, line_empty: bool, in_quotes: bool
) -> tuple[np.ndarray, int, bool, bool]:
    """The start offsets of the non-blank lines that end in ``data`` (a block at byte
    ``offset``), and the state carried to the next block."""
    quotes = data == QUOTE
    n_quotes = int(np.count_nonzero(quotes))
    newlines = data == NEWLINE
    if n_quotes:  # quote parity before each byte: a newline ends a row only outside quotes
        parity = (np.cumsum(quotes, dtype=np.int32) - quotes + int(in_quotes)) % 2
        newlines &= parity == 0
    elif in_quotes:  # the whole block is inside one quoted field
        newlines[:] = False
    ends = np.flatnonzero(newlines)  # (L,) positions of the newlines that end rows
    line_starts = np.concatenate([[line_start - offset], ends[:-1] + 1]) if len(ends) else ends
    # A line is blank when it holds nothing but an optional \r before its newline.
    lengths = ends - line_starts
    blank = lengths == 0
    if len(ends):
        has_return = data[np.maximum(ends - 1, 0)] == RETURN
        blank |= (lengths == 1) & has_return
        if line_start < offset:  # the first line began in an earlier block
            blank[0] = line_empty and not np.any(data[: ends[0]] != RETURN)
    starts = (line_starts[~blank] + offset).astype(np.int64)
    in_quotes = bool((int(in_quotes) + n_quotes) % 2)
    if len(ends):
        line_start = offset + int(ends[-1]) + 1
        tail = data[ends[-1] + 1 :]
        line_empty = not np.any(tail != RETURN)
    else:
        line_empty = line_empty and not np.any(data != RETURN)
    return starts, line_start, line_empty, in_quotes


def read_csv_rows(
    index: CsvRowIndex, start: int, stop: int, *, columns: Sequence[str] | None
) -> Any:
    """Rows ``[start, stop)`` of the indexed file as a DataFrame with ``columns`` (None:
    all), parsed by pandas from only their bytes."""
    if not 0 <= start <= stop <= index.n_rows:
        raise DataError(f"{index.path}: rows [{start}:{stop}] outside the {index.n_rows} rows")
    wanted = list(index.names if columns is None else columns)
    if start == stop:
        import pandas as pd

        return pd.DataFrame({name: [] for name in wanted})
    begin = _row_offset(index, start)
    finish = _row_offset(index, stop)
    with open(index.path, "rb") as stream:
        stream.seek(begin)
        payload = stream.read(finish - begin)
    frame = _read(
        io.BytesIO(payload),
        names=index.names,
        usecols=None if columns is None else list(columns),
        source=f"{index.path}[{start}:{stop}]",
    )
    frame.columns = [str(c) for c in frame.columns]
    return frame[wanted]


def _row_offset(index: CsvRowIndex, row: int) -> int:
    """The byte offset where data row ``row`` begins: from the nearest recorded row, a
    scan of at most STRIDE - 1 rows. ``n_rows``: the end of the file."""
    if row >= index.n_rows:
        return index.end
    base = int(index.offsets[row // STRIDE])
    skip = row % STRIDE
    if skip == 0:
        return base
    with open(index.path, "rb") as stream:
        stream.seek(base)
        offset, line_start, line_empty, in_quotes = base, base, True, False
        found = 0
        while block := stream.read(1 << 20):
            data = np.frombuffer(block, dtype=np.uint8)
            starts, line_start, line_empty, in_quotes = _complete_lines(
                data, offset, line_start, line_empty, in_quotes
            )
            # starts[0] is row `row - skip` itself; row `row` is `skip` starts later.
            if found + len(starts) > skip:
                return int(starts[skip - found])
            found += len(starts)
            offset += len(block)
    return line_start if not line_empty else index.end
