"""Checkpoint files that are never half-written, and the last one's fallback.

Every checkpoint is written to a hidden, exclusively created temporary file in its own
folder, flushed to disk and renamed over the target with ``os.replace`` (atomic on POSIX
within one filesystem; ``hepdl.atomic``), so a process killed mid-write leaves the
previous complete file in place and a symlink planted at the target is replaced, not
followed. Before a new
``last.ckpt`` replaces the old one, the old one becomes ``last-previous.ckpt``: a
``last.ckpt`` damaged some other way (a full disk, a copy cut short) still leaves the
epoch before it to resume from.

Checkpoints are read with ``torch.load(weights_only=True)``: Lightning's checkpoints hold
only tensors, dicts, lists, tuples, strings and numbers (callback states, loop counters,
optimizer states), so nothing is unpickled that could run code.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from hepdl.atomic import replacing
from hepdl.errors import DataError

LAST = "last.ckpt"
PREVIOUS = "last-previous.ckpt"


def write_atomically(checkpoint: dict[str, Any], path: Path) -> None:
    """``torch.save`` to an exclusive temporary name beside ``path``, fsync, then rename
    onto it (hepdl.atomic); a full disk is one DataError naming ``path`` and the size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = path.with_name(PREVIOUS) if path.name == LAST else None
    with replacing(path, needed=lambda: tensor_bytes(checkpoint), keep_previous=previous) as out:
        torch.save(checkpoint, out)


def tensor_bytes(tree: Any) -> int:
    """Bytes of the tensors in a nested dict/list/tuple: about what its file takes."""
    if isinstance(tree, torch.Tensor):
        return tree.nbytes
    if isinstance(tree, dict):
        return sum(tensor_bytes(v) for v in tree.values())
    if isinstance(tree, list | tuple):
        return sum(tensor_bytes(v) for v in tree)
    return 0


def read_checkpoint(path: str | Path, *, map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint's contents, loaded with ``weights_only=True``; DataError naming the file
    when it is missing, truncated, holds pickled objects, or is not a checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such checkpoint file")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # truncated zip, bad pickle, refused global: all mean unusable
        raise DataError(f"{path}: not a readable checkpoint ({load_failure(err)})") from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise DataError(f"{path}: not a Lightning checkpoint (expected a dict with 'state_dict')")
    return checkpoint


def load_failure(err: Exception) -> str:
    """What a failed ``torch.load(weights_only=True)`` means, in one short line."""
    import pickle

    text = str(err)
    if isinstance(err, pickle.UnpicklingError):
        # torch's message is a paragraph; the line naming the refused object is the news.
        detail = next(
            (line.strip() for line in text.splitlines() if "nsupported" in line),
            text.splitlines()[0] if text else type(err).__name__,
        )
        return (
            f"it holds pickled objects a weights-only load refuses: "
            f"{detail[:200].rstrip('.')}; hepdl never runs code from a checkpoint, so use one "
            "that hepdl wrote"
        )
    if "zip archive" in text or "PytorchStreamReader" in text:
        return "truncated or corrupt: not a complete torch zip archive"
    first = text.splitlines()[0] if text else ""
    return f"{type(err).__name__}: {first[:200]}"


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
