"""On-disk cache of computed representations, one entry per chunk of a file.

An entry is keyed by the sha256 of a JSON description of everything its arrays depend
on: the source file (absolute path, size in bytes, modification time in ns), the chunk
(its row range, tree/key), the representation's ``config()`` and any other options the
caller names. A changed file, chunk or representation option therefore gives another
key, a miss, and never a stale hit.

An entry is a directory of ``.npy`` files and their names (NumPy only, loaded with
``allow_pickle=False``, so a cache directory handed over by someone else cannot run
code), loaded as read-only memory maps: no decompression or checksum pass, the pages
are copied once, into the batch. (A zipped ``.npz`` spent most of a cached epoch in
``zlib.crc32``.) It is written to a temporary directory beside it and renamed, so a
reader (another DataLoader worker, another run) sees a complete entry or none; an
unreadable entry is a miss and is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError

# Bump when the layout of an entry changes, so old entries become misses.
CACHE_VERSION = 1
_INDEX = "names.json"


def default_cache_root() -> Path:
    """``$HEPDL_CACHE_DIR/representations`` (``~/.cache/hepdl/representations``)."""
    from hepdl.paths import cache_dir

    return cache_dir() / "representations"


def file_identity(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"path", "size", "mtime_ns"}`` of a file: what tells that its content changed."""
    resolved = Path(path).resolve()
    try:
        stat = resolved.stat()
    except OSError as err:
        raise DataError(f"{path}: cannot read file size and time for the cache ({err})") from err
    return {"path": str(resolved), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class RepresentationCache:
    """Arrays of computed representations under ``root`` (default ``default_cache_root()``).

    ``get_or_compute(description, compute)`` returns the arrays stored for
    ``description`` (a JSON-safe mapping), or calls ``compute()`` and stores its result.
    ``hits`` and ``misses`` count lookups in this process (each DataLoader worker has
    its own copy of the counters).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_root()
        self.hits = 0
        self.misses = 0

    def key(self, description: Mapping[str, Any]) -> str:
        """The sha256 hex digest of ``description`` as canonical JSON."""
        try:
            text = json.dumps(
                {"version": CACHE_VERSION, **description}, sort_keys=True, allow_nan=False
            )
        except (TypeError, ValueError) as err:
            raise DataError(
                f"representation cache: the entry description is not JSON-safe ({err}); "
                f"every option of a cached representation must be a number, string, bool, "
                f"list or mapping"
            ) from err
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, key: str) -> Path:
        """The directory of entry ``key``: two-level fan-out keeps directories small."""
        return self.root / key[:2] / key

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays of entry ``key`` (read-only memory maps), or None when absent or bad."""
        path = self.path(key)
        try:
            names = json.loads((path / _INDEX).read_text())
            return {
                name: np.load(path / f"{i}.npy", mmap_mode="r", allow_pickle=False)
                for i, name in enumerate(names)
            }
        except (OSError, ValueError, TypeError):
            return None

    def store(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Write ``arrays`` as entry ``key``, atomically (temporary directory, then rename)."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        for name, value in arrays.items():
            if np.asarray(value).dtype.hasobject:
                raise DataError(
                    f"representation cache: array '{name}' has dtype object; only numeric "
                    f"and boolean arrays can be cached"
                )
        temporary = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{key[:8]}-", suffix=".tmp"))
        try:
            for i, value in enumerate(arrays.values()):
                np.save(temporary / f"{i}.npy", np.asarray(value), allow_pickle=False)
            # Files are numbered, names kept in the index: a name need not be a valid file name.
            (temporary / _INDEX).write_text(json.dumps(list(arrays)))
            if path.exists():  # an unreadable entry being replaced
                shutil.rmtree(path)
            try:
                os.rename(temporary, path)
            except OSError:
                if not path.exists():
                    raise
                # Another worker or run stored the same entry first: theirs is complete.
        finally:
            shutil.rmtree(temporary, ignore_errors=True)

    def get_or_compute(
        self,
        description: Mapping[str, Any],
        compute: Callable[[], Mapping[str, np.ndarray]],
    ) -> dict[str, np.ndarray]:
        """The stored arrays for ``description``; on a miss, ``compute()`` them and store."""
        key = self.key(description)
        found = self.load(key)
        if found is not None:
            self.hits += 1
            return found
        self.misses += 1
        arrays = {name: np.asarray(value) for name, value in compute().items()}
        self.store(key, arrays)
        return arrays
