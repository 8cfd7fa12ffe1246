"""Parquet written by hepdl carries page checksums, and hepdl's readers verify them: a
damaged data page is one DataError naming the file and the column, not garbage values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hepdl.data import read_table
from hepdl.data._chunks import open_source, read_chunk, split_rows
from hepdl.errors import DataError
from hepdl.generate._parquet import write_atomic

N = 2000


def _table() -> pa.Table:
    rng = np.random.default_rng(1)
    return pa.table({"jet_pt": rng.normal(500, 50, N), "jet_mass": rng.normal(170, 20, N)})


def _flip_inside_page(path: Path, column: int) -> None:
    """Invert 8 bytes 200 bytes into the first data page of ``column``."""
    meta = pq.ParquetFile(path).metadata.row_group(0).column(column)
    raw = bytearray(path.read_bytes())
    start = meta.data_page_offset + 200
    assert start + 8 < meta.data_page_offset + meta.total_compressed_size
    raw[start : start + 8] = bytes(b ^ 0xFF for b in raw[start : start + 8])
    path.write_bytes(bytes(raw))


def test_a_damaged_page_of_a_file_hepdl_wrote_names_the_file_and_column(tmp_path):
    path = write_atomic(_table(), tmp_path / "jets.parquet", {"seed": 1}, overwrite=False)
    _flip_inside_page(path, column=1)
    with pytest.raises(DataError) as err:
        read_table(path)
    message = str(err.value)
    assert message.startswith(f"{path}: a data page in column 'jet_mass' fails its checksum")
    assert "the file is corrupt" in message
    # the undamaged column still reads
    assert len(read_table(path, columns=["jet_pt"])) == N


def test_a_streamed_chunk_of_a_damaged_page_is_refused(tmp_path):
    path = write_atomic(_table(), tmp_path / "jets.parquet", {"seed": 1}, overwrite=False)
    _flip_inside_page(path, column=0)
    source = open_source(str(path), fmt="auto", tree=None, key=None)
    chunk = split_rows(source, N, chunk_rows=N)[0]
    with pytest.raises(DataError, match=r"jets.parquet\[0:2000\]: a data page in column 'jet_pt'"):
        read_chunk(chunk, columns=None)


def test_without_checksums_the_same_damage_reads_silently(tmp_path):
    # Why hepdl writes them: the same flipped bytes in an uncompressed file written
    # without page checksums decode to other numbers and no reader notices.
    path = tmp_path / "plain.parquet"
    table = _table()
    pq.write_table(table, path, compression="none")
    _flip_inside_page(path, column=1)
    values = read_table(path)["jet_mass"].to_numpy()
    assert len(values) == N
    assert not np.array_equal(values, table["jet_mass"].to_numpy())
