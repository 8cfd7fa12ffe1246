"""CSV files as they come: header-less with data.column_names, any extension with
data.format, gzip/bzip2/xz compression by extension and by content."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hepdl.config import config_from_dict
from hepdl.data import read_table
from hepdl.errors import DataError
from hepdl.train.inputs import load_sample

NAMES = ["fLength", "fWidth", "fSize", "class"]


def magic_frame(n: int = 40) -> pd.DataFrame:
    """Like the MAGIC gamma telescope file: float features and a 'g'/'h' class column."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=NAMES[:3])
    frame["class"] = np.where(np.arange(n) % 3 == 0, "h", "g")
    return frame


def test_header_less_file_reads_every_row_with_the_given_names(tmp_path: Path) -> None:
    frame = magic_frame()
    path = tmp_path / "magic04.data"  # as the UCI repository ships it: no header line
    frame.to_csv(path, index=False, header=False)
    table = read_table(path, fmt="csv", column_names=NAMES)
    assert table.fields == NAMES
    assert len(table) == len(frame)  # the first line is a row, not a header
    np.testing.assert_array_equal(np.asarray(table["fLength"]), frame["fLength"].to_numpy())
    assert table["class"].to_list() == frame["class"].tolist()


def test_header_less_file_without_names_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "magic04.data"
    magic_frame().to_csv(path, index=False, header=False)
    with pytest.raises(DataError) as info:
        read_table(path, fmt="csv")
    message = str(info.value)
    assert message.startswith(f"{path}: the first line holds numbers (")
    assert "no header line: give the names of its 4 fields in data.column_names" in message


def test_integer_header_is_a_header(tmp_path: Path) -> None:
    """pandas writes integer column names as a header of integers: names, not a row."""
    path = tmp_path / "ints.csv"
    pd.DataFrame({2098: [0.5, 1.5], 2100: [0, 1]}).to_csv(path, index=False)
    table = read_table(path)
    assert table.fields == ["2098", "2100"]
    assert len(table) == 2


def test_column_names_must_match_the_fields(tmp_path: Path) -> None:
    path = tmp_path / "magic04.data"
    magic_frame().to_csv(path, index=False, header=False)
    with pytest.raises(DataError) as info:
        read_table(path, fmt="csv", column_names=NAMES[:3])
    assert str(info.value) == (
        f"{path}: data.column_names gives 3 names (fLength, fWidth, fSize) but the first "
        "line has 4 fields; expected one name per field"
    )


def test_column_names_apply_to_csv_only(tmp_path: Path) -> None:
    path = tmp_path / "jets.h5"
    magic_frame().to_hdf(path, key="jets", format="table")
    with pytest.raises(DataError, match=r"jets\.h5: data\.column_names names the fields of a CSV"):
        read_table(path, column_names=NAMES)


@pytest.mark.parametrize("suffix", [".gz", ".bz2", ".xz"])
def test_compressed_csv_by_extension(tmp_path: Path, suffix: str) -> None:
    frame = magic_frame()
    path = tmp_path / f"magic.csv{suffix}"
    frame.to_csv(path, index=False)  # pandas compresses by the extension
    assert path.read_bytes()[:2] != b"fL"  # really compressed
    table = read_table(path)
    assert table.fields == NAMES
    np.testing.assert_array_equal(np.asarray(table["fSize"]), frame["fSize"].to_numpy())


def test_gzip_csv_recognised_by_content_whatever_its_name(tmp_path: Path) -> None:
    frame = magic_frame()
    plain = tmp_path / "magic.csv"
    frame.to_csv(plain, index=False)
    path = tmp_path / "magic.download"  # a gzip'd CSV saved under another name
    with plain.open("rb") as source, gzip.open(path, "wb") as target:
        shutil.copyfileobj(source, target)
    table = read_table(path, fmt="csv")
    assert table["class"].to_list() == frame["class"].tolist()


def test_compressed_non_csv_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jets.parquet.gz"
    path.write_bytes(gzip.compress(b"PAR1"))
    with pytest.raises(DataError) as info:
        read_table(path)
    assert str(info.value) == (
        f"{path}: a parquet file compressed as .gz; hepdl reads compressed CSV only: "
        "decompress it first"
    )


def test_truncated_gzip_names_the_compression(tmp_path: Path) -> None:
    frame = magic_frame(2000)
    path = tmp_path / "magic.csv.gz"
    frame.to_csv(path, index=False)
    path.write_bytes(path.read_bytes()[:300])  # an interrupted download
    with pytest.raises(DataError, match=r"magic\.csv\.gz: .*gzip"):
        read_table(path)


def test_config_reads_header_less_csv_with_string_labels(tmp_path: Path) -> None:
    """The whole path: data.format + data.column_names + string labels + signal class."""
    frame = magic_frame()
    path = tmp_path / "magic04.data"
    frame.to_csv(path, index=False, header=False)
    config = config_from_dict(
        {
            "data": {
                "files": [str(path)],
                "format": "csv",
                "column_names": NAMES,
                "label_column": "class",
                "representation": {"name": "columns", "columns": NAMES[:3]},
            }
        }
    )
    sample = load_sample(config.data)
    assert sample.class_names == ["g", "h"]
    np.testing.assert_array_equal(sample.labels, (frame["class"] == "h").to_numpy())
    np.testing.assert_allclose(sample.features[:, 0], frame["fLength"].to_numpy(), rtol=1e-6)
