"""Jet tables written to Parquet atomically, with the provenance in the file metadata.

Columns follow the JetClass names (docs/architecture.md). The key-value metadata key
``hepdl`` holds a JSON object (sorted keys, no timestamps or host names) so that the same
inputs give a byte-identical file.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.atomic import NO_SPACE, no_space_error
from hepdl.errors import DataError, GenerationError
from hepdl.paths import output_folder

METADATA_KEY = "hepdl"

# Every Parquet file hepdl writes: zstd pages, each with a CRC-32 of its bytes, so a reader
# that verifies them (hepdl.data.readers does) refuses a damaged page instead of decoding
# garbage values that still train.
WRITE_OPTIONS: dict[str, Any] = {"compression": "zstd", "write_page_checksum": True}

# The per-constituent columns: flat (C,) arrays in memory, lists per row on disk.
PARTICLE_COLUMNS = {
    "part_px": np.float32,
    "part_py": np.float32,
    "part_pz": np.float32,
    "part_energy": np.float32,
    "part_pid": np.int32,
    "part_charge": np.float32,
    "part_is_pileup": np.float32,
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


def rows_table(columns: Mapping[str, np.ndarray], label: np.ndarray) -> Any:
    """A pyarrow Table, one row per jet or event, in the order of ``columns``, then ``label``.

    Per-row columns are (R,) arrays; the ``part_*`` columns are flat (C,) arrays split into
    lists by ``jet_nparticles``.
    """
    import pyarrow as pa

    arrays: dict[str, Any] = {}
    offsets = None
    if "jet_nparticles" in columns:
        counts = np.asarray(columns["jet_nparticles"], np.int64)
        offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    for name, values in columns.items():
        if name in PARTICLE_COLUMNS:
            if offsets is None:
                raise GenerationError(f"column {name!r} needs 'jet_nparticles' to split it")
            flat = pa.array(np.asarray(values, PARTICLE_COLUMNS[name]))
            arrays[name] = pa.ListArray.from_arrays(offsets, flat)
        else:
            arrays[name] = pa.array(np.asarray(values))
    arrays["label"] = pa.array(np.asarray(label, np.int64))
    return pa.table(arrays)


def metadata_text(metadata: Mapping[str, Any]) -> str:
    """The JSON stored under the ``hepdl`` key: sorted keys, so equal inputs give equal bytes."""
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"))


def temporary_beside(out: Path) -> Path:
    """A hidden name beside ``out`` (same file system, so renaming it onto ``out`` is atomic)."""
    return out.parent / f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.part"


@contextlib.contextmanager
def atomic_output(out: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; rename it onto ``out`` when the block ends.

    If the block raises (or is interrupted), the temporary file is removed and ``out`` is
    untouched: ``out`` is never half-written.
    """
    out = check_output(Path(out), overwrite=overwrite)
    output_folder(out.parent, option=f"--out {out}: its folder")
    temporary = temporary_beside(out)
    try:
        yield temporary
        check_output(out, overwrite=overwrite)  # it may have appeared while we worked
        os.replace(temporary, out)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if is_full_disk(err):  # one error naming the file, not Arrow's IOError
            raise no_space_error(out) from None
        raise


def is_full_disk(err: BaseException) -> bool:
    """Whether ``err`` is a full disk; Arrow's writers raise OSError without an errno,
    with the system's message in the text."""
    return isinstance(err, OSError) and (
        err.errno in NO_SPACE or "No space left on device" in str(err)
    )


def write_atomic(table: Any, out: Path, metadata: Mapping[str, Any], *, overwrite: bool) -> Path:
    """Write ``table`` with ``metadata`` (JSON under key ``hepdl``) to ``out`` atomically."""
    import pyarrow.parquet as pq

    table = table.replace_schema_metadata({METADATA_KEY: metadata_text(metadata)})
    with atomic_output(out, overwrite=overwrite) as temporary:
        pq.write_table(table, temporary, **WRITE_OPTIONS)
    return Path(out)


def write_stream(
    out: Path, tables: Iterable[Any], metadata: Mapping[str, Any], *, overwrite: bool
) -> Path:
    """Write ``tables`` one after the other (a row group each, cast to the first one's
    schema) to ``out`` atomically, with ``metadata`` under the key ``hepdl``: a merge that
    holds one table in memory at a time."""
    import pyarrow.parquet as pq

    with atomic_output(out, overwrite=overwrite) as temporary:
        writer = None
        try:
            for table in tables:
                table = table.replace_schema_metadata(None)
                if writer is None:
                    schema = table.schema.with_metadata({METADATA_KEY: metadata_text(metadata)})
                    writer = pq.ParquetWriter(temporary, schema, **WRITE_OPTIONS)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
    return Path(out)


def read_metadata(path: Path) -> dict[str, Any]:
    """The ``hepdl`` metadata of a Parquet file written by :func:`write_atomic`."""
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    raw = (schema.metadata or {}).get(METADATA_KEY.encode())
    if raw is None:
        raise DataError(f"{str(path)!r} has no {METADATA_KEY!r} key in its Parquet metadata")
    return json.loads(raw)
