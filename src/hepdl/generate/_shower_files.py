"""Shower tables on disk: one Parquet part per chunk, merged into Parquet or HDF5.

Cell arrays (N, H, W) are written as fixed-size lists of fixed-size lists, which awkward
reads back as regular (N, H, W) arrays; HDF5 output holds one (N, H, W) dataset per
layer (the CaloGAN files' layout) and (N,) datasets for the rest, with the provenance as
the JSON attribute ``hepdl`` of the root group.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.generate import _parquet


def rows_table(columns: Mapping[str, np.ndarray]) -> Any:
    """A pyarrow Table of one chunk: (N,) columns as they are, (N, H, W) as nested lists."""
    import pyarrow as pa

    arrays = {}
    for name, values in columns.items():
        values = np.asarray(values)
        if values.ndim == 3:
            _n, height, width = values.shape
            flat = pa.array(np.ascontiguousarray(values, np.float32).reshape(-1))
            rows = pa.FixedSizeListArray.from_arrays(flat, width)
            arrays[name] = pa.FixedSizeListArray.from_arrays(rows, height)
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


def write_part(path: Path, columns: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> Path:
    return _parquet.write_atomic(rows_table(columns), path, meta, overwrite=True)


def merge_parquet(
    parts: list[Path], out: Path, metadata: Mapping[str, Any], *, overwrite: bool
) -> Path:
    """Stream the parts, in order, into ``out`` (one row group per part)."""
    import pyarrow.parquet as pq

    tables = (pq.read_table(part, page_checksum_verification=True) for part in parts)
    return _parquet.write_stream(out, tables, metadata, overwrite=overwrite)


def merge_hdf5(
    parts: list[Path], out: Path, metadata: Mapping[str, Any], *, overwrite: bool
) -> Path:
    """The parts, in order, as HDF5 datasets: (N, H, W) per layer, (N,) per column."""
    import awkward as ak
    import h5py
    import pyarrow.parquet as pq

    with _parquet.atomic_output(out, overwrite=overwrite) as temporary:
        with h5py.File(temporary, "w") as h5:
            h5.attrs[_parquet.METADATA_KEY] = _parquet.metadata_text(metadata)
            for part in parts:
                table = ak.from_arrow(pq.read_table(part, page_checksum_verification=True))
                for name in table.fields:
                    values = table[name]
                    array = ak.to_numpy(values)  # (N,) or regular (N, H, W)
                    if array.dtype.kind in "OU":  # particle names: fixed-width ASCII
                        array = np.char.encode(array.astype("U16"), "ascii").astype("S16")
                    _append(h5, name, array)
    return Path(out)


def _append(h5: Any, name: str, array: np.ndarray) -> None:
    if name not in h5:
        h5.create_dataset(
            name,
            data=array,
            maxshape=(None, *array.shape[1:]),
            chunks=True,
            compression="gzip",
            compression_opts=4,
        )
        return
    dataset = h5[name]
    start = dataset.shape[0]
    dataset.resize(start + len(array), axis=0)
    dataset[start:] = array
