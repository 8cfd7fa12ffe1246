"""CSV files streamed in chunks (issue 14 item 3: a given split honoured in memory and
streamed, CSV included): the row index of hepdl.data.csv_rows against pandas reading the
whole file, and a StreamingDataset over CSV files yielding every row once."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import hepdl.data.csv_rows as csv_rows
from hepdl.data import create_representation
from hepdl.data.streaming import StreamingDataset
from hepdl.errors import DataError


def _text(n: int, *, quotes: bool, crlf: bool, blanks: bool, trailing: bool, header: bool) -> str:
    """A CSV of n rows (name, row, half): quoted names holding a newline every 7th row,
    a blank line after every 11th, CRLF or LF endings, with or without a final newline."""
    newline = "\r\n" if crlf else "\n"
    lines = ["name,row,half"] if header else []
    for i in range(n):
        name = f'"x{i}\nmore"' if quotes and i % 7 == 3 else f"s{i}"
        lines.append(f"{name},{i},{i * 0.5}")
        if blanks and i % 11 == 5:
            lines.append("")
    return newline.join(lines) + (newline if trailing else "")


@pytest.mark.parametrize(("stride", "block"), [(1, 7), (3, 16), (4, 5), (1024, 1 << 22)])
def test_row_ranges_equal_pandas_reading_the_whole_file(tmp_path, monkeypatch, stride, block):
    # Tiny strides and blocks put offsets and block edges inside quoted fields and CRLFs.
    monkeypatch.setattr(csv_rows, "STRIDE", stride)
    monkeypatch.setattr(csv_rows, "BLOCK", block)
    rng = np.random.default_rng(stride)
    for n, quotes, crlf, blanks, trailing, header in itertools.product(
        [1, 2, 5, 37], [False, True], [False, True], [False, True], [False, True], [True, False]
    ):
        path = tmp_path / f"{n}{quotes:d}{crlf:d}{blanks:d}{trailing:d}{header:d}.csv"
        text = _text(n, quotes=quotes, crlf=crlf, blanks=blanks, trailing=trailing, header=header)
        path.write_bytes(text.encode())
        names = None if header else ["name", "row", "half"]
        index = csv_rows.csv_row_index(str(path), column_names=names)
        whole = pd.read_csv(path, header=None if names else "infer", names=names)
        assert index.n_rows == len(whole) == n
        for start in range(n + 1):
            stop = int(rng.integers(start, n + 1))
            got = csv_rows.read_csv_rows(index, start, stop, columns=["row", "name"])
            expected = whole.iloc[start:stop][["row", "name"]].reset_index(drop=True)
            np.testing.assert_array_equal(
                got["row"].to_numpy(float), expected["row"].to_numpy(float)
            )
            assert got["name"].astype(str).tolist() == expected["name"].astype(str).tolist()


def _write(path: Path, rows: range, *, header: bool = True) -> str:
    lines = (["row,label,jet_pt"] if header else []) + [
        f"{i},{i % 3 == 0:d},{100 + i}" for i in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _rows(dataset) -> list[int]:
    seen: list[int] = []
    for batch in dataset:
        rows = batch["features"][:, 0].to(torch.int64)
        assert torch.equal(batch["label"], (rows % 3 == 0).to(torch.int64))
        seen.extend(rows.tolist())
    return seen


def test_stream_of_csv_files_yields_every_row_once(tmp_path):
    files = [_write(tmp_path / "a.csv", range(0, 230)), _write(tmp_path / "b.csv", range(230, 400))]
    rep = create_representation("columns", columns=["row"])
    dataset = StreamingDataset(files, rep, batch_size=32, chunk_rows=50, seed=3)
    assert [c.rows for c in dataset.chunks[:5]] == [50, 50, 50, 50, 30]
    assert dataset.class_names == ["0", "1"]
    assert sorted(_rows(dataset)) == list(range(400))


def test_header_less_csv_streams_with_column_names(tmp_path):
    path = _write(tmp_path / "plain.txt", range(70), header=False)
    rep = create_representation("columns", columns=["row"])
    dataset = StreamingDataset(
        path, rep, fmt="csv", column_names=["row", "label", "jet_pt"], chunk_rows=16
    )
    assert sorted(_rows(dataset)) == list(range(70))


def test_compressed_csv_is_refused_with_the_way_out(tmp_path):
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(b"row,label\n1,0\n"))
    rep = create_representation("columns", columns=["row"])
    with pytest.raises(DataError) as err:
        StreamingDataset(str(path), rep)
    assert str(err.value) == (
        f"{path}: is gzip-compressed, and compressed CSV cannot be read in chunks (no random "
        f"access); decompress it, or convert it to Parquet, to stream it (data.streaming), or "
        f"read it whole without data.streaming"
    )


def test_column_names_for_a_file_that_is_not_csv(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"row": [1.0], "label": [0]}), path)
    rep = create_representation("columns", columns=["row"])
    with pytest.raises(
        DataError, match=r"a\.parquet: data\.column_names names the fields of a CSV"
    ):
        StreamingDataset(str(path), rep, column_names=["row", "label"])
