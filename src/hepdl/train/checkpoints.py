"""Checkpoint files that are never half-written, and the last one's fallback.

Every checkpoint is written to a hidden temporary file in its own folder, flushed to disk
and renamed over the target with ``os.replace`` (atomic on POSIX within one filesystem),
so a process killed mid-write leaves the previous complete file in place. Before a new
``last.ckpt`` replaces the old one, the old one becomes ``last-previous.ckpt``: a
``last.ckpt`` damaged some other way (a full disk, a copy cut short) still leaves the
epoch before it to resume from.

Checkpoints are read with ``torch.load(weights_only=True)``: Lightning's checkpoints hold
only tensors, dicts, lists, tuples, strings and numbers (callback states, loop counters,
optimizer states), so nothing is unpickled that could run code.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from hepdl.errors import DataError

LAST = "last.ckpt"
PREVIOUS = "last-previous.ckpt"


def write_atomically(checkpoint: dict[str, Any], path: Path) -> None:
    """``torch.save`` to a temporary name beside ``path``, fsync, then rename onto it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with tmp.open("wb") as handle:
            torch.save(checkpoint, handle)
            handle.flush()
            os.fsync(handle.fileno())
        if path.name == LAST and path.exists():  # keep the epoch before as the fallback
            os.replace(path, path.with_name(PREVIOUS))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    """Make the renames durable (a power cut after os.replace could otherwise lose them)."""
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


def read_checkpoint(path: str | Path, *, map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint's contents, loaded with ``weights_only=True``; DataError naming the file
    when it is missing, truncated or not a checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, bad pickle, refused global: all mean unusable
        raise DataError(
            f"{path}: not a readable checkpoint ({type(err).__name__}: {err})"
        ) from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise DataError(f"{path}: not a Lightning checkpoint (expected a dict with 'state_dict')")
    return checkpoint


def last_checkpoint(folder: Path) -> tuple[Path, dict[str, Any]]:
    """The newest readable ``last`` checkpoint in ``folder`` and its contents.

    ``last.ckpt`` first; when it is unreadable, a warning names it and
    ``last-previous.ckpt`` is used; when neither can be read, one DataError lists both.
    """
    candidates = [folder / LAST, folder / PREVIOUS]
    problems = []
    for i, path in enumerate(candidates):
        try:
            checkpoint = read_checkpoint(path)
        except DataError as err:
            problems.append(str(err))
            if i + 1 < len(candidates) and path.exists():
                warnings.warn(
                    f"{err}; resuming from the checkpoint before it, {candidates[i + 1]}",
                    stacklevel=2,
                )
            continue
        return path, checkpoint
    raise DataError(f"{folder}: no usable checkpoint to resume from: " + "; ".join(problems))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint I/O with atomic writes, a kept previous ``last`` and
    ``weights_only`` reads (see the module docstring)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(
                f"{type(self).__name__}.save_checkpoint takes no storage_options, "
                f"got {storage_options!r}"
            )
        write_atomically(checkpoint, Path(path))

    def load_checkpoint(
        self, path: Any, map_location: Any = None, weights_only: bool | None = None
    ) -> dict[str, Any]:
        # weights_only is always True: hepdl's checkpoints never need more (module docstring).
        return read_checkpoint(path, map_location=map_location or "cpu")
