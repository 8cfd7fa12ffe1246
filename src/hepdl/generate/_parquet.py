"""Jet tables written to Parquet atomically, with the provenance in the file metadata.

Columns follow DESIGN.md (JetClass names). The key-value metadata key ``hepdl`` holds a
JSON object (sorted keys, no timestamps or host names) so that the same inputs give a
byte-identical file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError, GenerationError

METADATA_KEY = "hepdl"

JET_COLUMNS = {
    "jet_pt": np.float64,
    "jet_eta": np.float64,
    "jet_phi": np.float64,
    "jet_energy": np.float64,
    "jet_mass": np.float64,
    "jet_nparticles": np.int64,
}
PARTICLE_COLUMNS = {
    "part_px": np.float32,
    "part_py": np.float32,
    "part_pz": np.float32,
    "part_energy": np.float32,
    "part_pid": np.int32,
    "part_charge": np.float32,
}


def check_output(out: Path, *, overwrite: bool) -> Path:
    """Refuse an existing output unless ``overwrite``; refuse a directory always."""
    out = Path(out)
    if out.is_dir():
        raise GenerationError(f"output {str(out)!r} is a directory, expected a file path")
    if out.exists() and not overwrite:
        raise GenerationError(
            f"output {str(out)!r} already exists; pass overwrite=True (--overwrite) to replace it"
        )
    return out


def jets_table(columns: Mapping[str, np.ndarray], label: np.ndarray) -> Any:
    """A pyarrow Table: one row per jet, jagged ``part_*`` lists split by ``jet_nparticles``."""
    import pyarrow as pa

    counts = np.asarray(columns["jet_nparticles"], np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    arrays: dict[str, Any] = {}
    for name, dtype in JET_COLUMNS.items():
        arrays[name] = pa.array(np.asarray(columns[name], dtype))
    for name, dtype in PARTICLE_COLUMNS.items():
        values = pa.array(np.asarray(columns[name], dtype))
        arrays[name] = pa.ListArray.from_arrays(pa.array(offsets), values)
    arrays["label"] = pa.array(np.asarray(label, np.int64))
    return pa.table(arrays)


def write_atomic(table: Any, out: Path, metadata: Mapping[str, Any], *, overwrite: bool) -> Path:
    """Write ``table`` with ``metadata`` (JSON under key ``hepdl``) to ``out``.

    The file is written under a temporary name in the same directory and renamed when
    complete, so ``out`` is never half-written.
    """
    import pyarrow.parquet as pq

    out = check_output(Path(out), overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(metadata, sort_keys=True, separators=(",", ":"))
    table = table.replace_schema_metadata({METADATA_KEY: text})
    # A hidden name beside the target (same file system, so the rename is atomic).
    temporary = out.parent / f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.part"
    try:
        pq.write_table(table, temporary, compression="zstd")
        check_output(out, overwrite=overwrite)  # it may have appeared while we worked
        os.replace(temporary, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return out


def read_metadata(path: Path) -> dict[str, Any]:
    """The ``hepdl`` metadata of a Parquet file written by :func:`write_atomic`."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(METADATA_KEY.encode())
    if raw is None:
        raise DataError(f"{str(path)!r} has no {METADATA_KEY!r} key in its Parquet metadata")
    return json.loads(raw)
