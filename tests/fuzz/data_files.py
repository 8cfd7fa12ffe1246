"""Tiny labelled files in each format the readers take, and ways to damage them.

Every file holds the columns of ``tests.conftest.write_feature_file`` (f1, f2, noise,
label; ``ROWS`` rows). The damage functions rewrite a file in place.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import write_feature_file

ROWS = 200
COLUMNS = ("f1", "f2", "noise")
CLASS_META = {b"hepdl": json.dumps({"class_names": ["qcd", "top"]}).encode()}


def columns(seed: int = 0) -> dict[str, np.ndarray]:
    """The feature file's columns as arrays (f1, f2, noise: float64; label: int64)."""
    table = pq.read_table(write_feature_file(_scratch() / "source.parquet", n=ROWS, seed=seed))
    return {name: table[name].to_numpy() for name in table.column_names}


def _scratch() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="fuzz-source-"))


def write_parquet(
    path: Path,
    data: dict[str, np.ndarray],
    *,
    checksums: bool = True,
    metadata: dict[bytes, bytes] | None = None,
) -> Path:
    """Uncompressed, plain-encoded, with page checksums: a damaged page is detectable."""
    table = pa.table(data).replace_schema_metadata(CLASS_META if metadata is None else metadata)
    pq.write_table(
        table, path, compression="none", use_dictionary=False, write_page_checksum=checksums
    )
    return path


def write_csv(path: Path, data: dict[str, np.ndarray]) -> Path:
    names = list(data)
    lines = [",".join(names)]
    floats = [data[n].dtype.kind == "f" for n in names]
    for row in zip(*(data[n] for n in names), strict=True):
        lines.append(
            ",".join(repr(float(v)) if f else str(int(v)) for f, v in zip(floats, row, strict=True))
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def write_hdf5(path: Path, data: dict[str, np.ndarray], *, fletcher32: bool = True) -> Path:
    """One dataset per column at the root; chunked with Fletcher-32 checksums."""
    import h5py

    with h5py.File(path, "w") as f:
        for name, values in data.items():
            f.create_dataset(
                name, data=values, chunks=(50,) if fletcher32 else None, fletcher32=fletcher32
            )
    return path


def write_root(path: Path, data: dict[str, np.ndarray]) -> Path:
    """One TTree ``events`` with a branch per column."""
    import uproot

    with uproot.recreate(path) as f:
        f["events"] = {name: values for name, values in data.items()}
    return path


WRITERS = {"parquet": write_parquet, "csv": write_csv, "h5": write_hdf5, "root": write_root}


# ------------------------------------------------------------------------------ damage


def truncate(path: Path, fraction: float) -> None:
    """Keep the first ``fraction`` of the bytes (a fraction above 1: drop that many)."""
    data = path.read_bytes()
    keep = int(len(data) * fraction) if fraction <= 1 else len(data) - int(fraction)
    path.write_bytes(data[:keep])


def overwrite(path: Path, offset: int, payload: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(payload)


def parquet_page_values(path: Path, column: str) -> tuple[int, int]:
    """(offset, length) of the bytes of ``column``'s first column chunk, past its page
    header: in an uncompressed plain page these are the values themselves."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    chunk = meta.row_group(0).column(names.index(column))
    start = chunk.data_page_offset
    length = chunk.total_compressed_size
    header = 64  # past the page header (a few dozen bytes of thrift)
    return start + header, length - header - 16


def random_bytes_in_page(path: Path, column: str, *, seed: int = 0, n: int = 64) -> None:
    offset, length = parquet_page_values(path, column)
    rng = np.random.default_rng(seed)
    overwrite(path, offset + length // 2, rng.integers(0, 256, n, dtype=np.uint8).tobytes())


def zero_bytes_in_page(path: Path, column: str, n: int = 64) -> None:
    offset, length = parquet_page_values(path, column)
    overwrite(path, offset + length // 2, b"\x00" * n)


def hdf5_dataset_bytes(path: Path, name: str) -> tuple[int, int]:
    """(offset, length) of the first chunk of dataset ``name`` in the file."""
    import h5py

    with h5py.File(path, "r") as f:
        info = f[name].id.get_chunk_info(0)
        return info.byte_offset, info.size
