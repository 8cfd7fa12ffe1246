"""Files written whole or not at all, and never through a link.

Every file is written to a new temporary name beside its target, created exclusively
(``O_EXCL``: a file or symlink already at that name is never opened, so a link planted
in a run directory cannot redirect the write), flushed to disk and renamed over the
target with ``os.replace``, atomic on POSIX within one filesystem. The rename replaces a
symlink at the target itself, never the file it points to. An interrupted or failed
write leaves the previous file or none, never half of one, and no temporary file.

A full disk (``ENOSPC``, or a quota: ``EDQUOT``) is one :class:`~hepdl.errors.DataError`
naming the target, the space the write needed (where known) and the space left; a
folder that cannot be written (read-only, no permission) is one naming the folder.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from hepdl.errors import DataError

# errno values that mean "the disk (or the user's quota) is full".
NO_SPACE = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
# errno values that mean "this folder cannot be written".
NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
# Exclusive creation; O_NOFOLLOW where the platform has it (a link is refused, not followed).
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_CREATE |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def human_bytes(n: float) -> str:
    """``n`` bytes as ``"1.5 MB"`` (powers of 1000, as ``df -H`` prints)."""
    if abs(n) < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if abs(n) < 1000:
            return f"{n:.1f} {unit}"
    return f"{n / 1000:.1f} TB"


def no_space_error(path: Path, needed: int | None = None) -> DataError:
    """The error for a write to ``path`` that found the disk full; ``needed``: bytes the
    complete file takes, when known."""
    path = Path(path)
    try:
        free = f"{human_bytes(shutil.disk_usage(path.parent).free)} free"
    except OSError:
        free = "free space unknown"
    need = f"needs about {human_bytes(needed)}, " if needed else ""
    return DataError(
        f"{path}: no space left on device ({need}{free} in {path.parent}); nothing was "
        "written there: free some space (or choose another output folder) and run again"
    )


def write_error(path: Path, err: OSError, needed: int | None = None) -> DataError | None:
    """The DataError for an OSError from writing ``path`` (full disk, unwritable folder);
    None for another OSError, which the caller re-raises."""
    if err.errno in NO_SPACE:
        return no_space_error(path, needed)
    if err.errno in NOT_WRITABLE:
        return DataError(
            f"{Path(path).parent}: cannot write {Path(path).name} there ({err.strerror}); "
            "choose a folder you can write"
        )
    return None


def _keep_previous(path: Path, previous: Path) -> None:
    """Make ``previous`` a copy of ``path`` while ``path`` stays in place: a hard link under
    a temporary name, renamed onto ``previous``. Renaming ``path`` itself would leave a
    moment without it, and a process killed then would leave only the older file."""
    link = previous.with_name(f".{previous.name}.{secrets.token_hex(4)}.link")
    try:
        os.link(path, link)
    except OSError:  # no hard links on this file system: rename, the moment without path
        os.replace(path, previous)
        return
    os.replace(link, previous)


@contextmanager
def replacing(
    path: str | os.PathLike[str],
    *,
    needed: int | Callable[[], int] | None = None,
    keep_previous: Path | None = None,
) -> Iterator[IO[bytes]]:
    """A binary handle on a new, exclusively created temporary file beside ``path``;
    when the block ends without error the file is flushed, synced and renamed onto
    ``path`` (after the old ``path``, if any, is renamed to ``keep_previous``). On any
    error the temporary file is removed; a full disk or an unwritable folder becomes one
    DataError naming ``path`` (``needed``: the bytes the file takes, or a function giving
    them, for that message)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        try:
            fd = os.open(tmp, _CREATE, 0o666)
        except FileExistsError:  # a random name taken: someone plants files here; refuse
            raise DataError(f"{tmp}: exists already; not writing {path} through it") from None
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            if keep_previous is not None and os.path.lexists(path):
                _keep_previous(path, keep_previous)
            os.replace(tmp, path)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
    except OSError as err:
        size = needed() if callable(needed) else needed
        error = write_error(path, err, size)
        if error is None:
            raise
        raise error from None
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (a power cut after os.replace could
    otherwise lose them)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # folders cannot be opened on some platforms; the rename still stands
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with replacing(path, needed=len(data)) as handle:
        handle.write(data)
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    return write_text(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")


def write_npz(path: Path, **arrays: Any) -> Path:
    """Write the named arrays as an uncompressed ``.npz`` to ``path`` atomically."""
    import numpy as np

    values = {name: np.asarray(array) for name, array in arrays.items()}
    needed = sum(array.nbytes for array in values.values())
    with replacing(path, needed=needed) as handle:
        np.savez(handle, **values)
    return Path(path)
