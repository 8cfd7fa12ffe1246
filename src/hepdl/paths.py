"""Where hepdl keeps what it computes once (generated samples, cached representations),
and the checks on the folders it writes: run names and output folders."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$HEPDL_CACHE_DIR, else ~/.cache/hepdl."""
    root = os.environ.get("HEPDL_CACHE_DIR") or Path.home() / ".cache" / "hepdl"
    return Path(root)


def check_run_name(name: str, *, key: str = "name") -> str:
    """``name`` when it names one folder inside its parent; ConfigError naming ``key``
    when it is empty, ``.``/``..``, or holds a path separator or a NUL byte (a run name
    is never a path out of trainer.output_dir)."""
    from hepdl.errors import ConfigError

    separators = {"/", "\0"} | ({os.altsep} if os.altsep else set()) | {os.sep}
    if name in {"", ".", ".."} or any(s in name for s in separators):
        raise ConfigError(
            f"{key}: expected a run name (letters, digits, '-', '_', '.'), not a path; got "
            f"{name[:80]!r}: choose the folder with trainer.output_dir"
        )
    return name


def output_folder(path: str | os.PathLike[str], *, option: str = "--out") -> Path:
    """The folder ``path`` for a command's output, created with its parents; DataError
    naming ``option`` and the path when part of it is an existing file, or it cannot be
    created or written (a read-only place, no permission)."""
    from hepdl.errors import DataError

    folder = Path(path)
    for part in (folder, *folder.parents):
        if part.exists():  # the deepest existing part must be a folder to create inside
            if not part.is_dir():
                raise DataError(
                    f"{option} {folder}: {part} is an existing file, not a folder; choose "
                    "another output folder"
                )
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            f"{option} {folder}: cannot create this folder ({err.strerror}); choose a "
            "folder you can write"
        ) from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataError(
            f"{option} {folder}: this folder is not writable; choose a folder you can write"
        )
    return folder


def inside_run(run_dir: str | os.PathLike[str], relative: str | os.PathLike[str]) -> Path:
    """``run_dir / relative``, a folder hepdl writes by default; DataError when a part of
    it below ``run_dir`` is a symbolic link (a damaged or hostile run directory would
    otherwise make hepdl write elsewhere)."""
    from hepdl.errors import DataError

    run_dir = Path(run_dir)
    target = run_dir
    for part in Path(relative).parts:
        target = target / part
        if target.is_symlink():
            raise DataError(
                f"{target}: is a symbolic link (to {os.readlink(target)}); hepdl writes inside "
                f"the run directory only: remove the link, or choose the folder with --out"
            )
    return target
