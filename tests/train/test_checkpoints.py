"""Checkpoint files: atomic writes, the kept previous ``last``, the fallback to it and the
``weights_only`` reads (hepdl.train.checkpoints)."""

from __future__ import annotations

import collections
import os
from pathlib import Path

import pytest
import torch

from hepdl.errors import DataError
from hepdl.train.checkpoints import (
    AtomicCheckpointIO,
    last_checkpoint,
    read_checkpoint,
    write_atomically,
)


def _checkpoint(epoch: int) -> dict:
    return {"epoch": epoch, "state_dict": {"w": torch.full((3,), float(epoch))}}


def test_last_is_replaced_and_the_one_before_kept(tmp_path: Path) -> None:
    for epoch in range(3):
        write_atomically(_checkpoint(epoch), tmp_path / "last.ckpt")
    assert read_checkpoint(tmp_path / "last.ckpt")["epoch"] == 2
    assert read_checkpoint(tmp_path / "last-previous.ckpt")["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last-previous.ckpt", "last.ckpt"]
    write_atomically(_checkpoint(5), tmp_path / "best.ckpt")  # only `last` keeps a previous
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "best.ckpt",
        "last-previous.ckpt",
        "last.ckpt",
    ]


def test_a_write_that_dies_midway_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "last.ckpt"
    write_atomically(_checkpoint(1), target)
    before = target.read_bytes()

    def dies(obj: object, handle) -> None:
        handle.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", dies)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(_checkpoint(2), target)
    assert target.read_bytes() == before
    assert not (tmp_path / "last-previous.ckpt").exists()  # the rotation had not started
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary left


def test_truncated_last_falls_back_to_previous_with_a_warning(tmp_path: Path) -> None:
    for epoch in (3, 4):
        write_atomically(_checkpoint(epoch), tmp_path / "last.ckpt")
    last = tmp_path / "last.ckpt"
    last.write_bytes(last.read_bytes()[:50])
    with pytest.warns(UserWarning) as caught:
        path, checkpoint = last_checkpoint(tmp_path)
    assert path == tmp_path / "last-previous.ckpt" and checkpoint["epoch"] == 3
    [warning] = caught
    assert str(warning.message).startswith(f"{last}: not a readable checkpoint (")
    assert str(warning.message).endswith(
        f"; resuming from the checkpoint before it, {tmp_path / 'last-previous.ckpt'}"
    )


def test_both_corrupt_is_one_error_naming_both(tmp_path: Path) -> None:
    for epoch in (3, 4):
        write_atomically(_checkpoint(epoch), tmp_path / "last.ckpt")
    for name in ("last.ckpt", "last-previous.ckpt"):
        (tmp_path / name).write_bytes(b"\x00" * 10)
    with pytest.warns(UserWarning), pytest.raises(DataError) as err:
        last_checkpoint(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path}: no usable checkpoint to resume from: ")
    assert f"{tmp_path / 'last.ckpt'}: not a readable checkpoint" in message
    assert f"{tmp_path / 'last-previous.ckpt'}: not a readable checkpoint" in message


def test_only_previous_left_is_used_without_warning(tmp_path: Path, recwarn) -> None:
    write_atomically(_checkpoint(7), tmp_path / "last-previous.ckpt")
    path, checkpoint = last_checkpoint(tmp_path)
    assert path.name == "last-previous.ckpt" and checkpoint["epoch"] == 7
    assert not recwarn.list


class Payload:
    """Anything that is not a tensor or a plain container: refused by weights_only."""

    def __reduce__(self):
        return (os.getcwd, ())


def test_reads_refuse_pickled_objects(tmp_path: Path) -> None:
    path = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "payload": Payload()}, path)
    with pytest.raises(DataError) as err:
        read_checkpoint(path)
    assert str(err.value) == (
        f"{path}: not a readable checkpoint (it holds pickled objects a weights-only load "
        "refuses: Trying to load unsupported GLOBAL posix.getcwd whose module posix is "
        "blocked; hepdl never runs code from a checkpoint, so use one that hepdl wrote)"
    )


def test_reads_want_a_lightning_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(collections.OrderedDict(w=torch.zeros(2)), path)
    with pytest.raises(DataError) as err:
        read_checkpoint(path)
    assert str(err.value) == (
        f"{path}: not a Lightning checkpoint (expected a dict with 'state_dict')"
    )
    with pytest.raises(DataError, match="no such checkpoint file"):
        read_checkpoint(tmp_path / "missing.ckpt")


def test_checkpoint_io_round_trip(tmp_path: Path) -> None:
    io = AtomicCheckpointIO()
    io.save_checkpoint(_checkpoint(1), tmp_path / "sub" / "last.ckpt")
    io.save_checkpoint(_checkpoint(2), tmp_path / "sub" / "last.ckpt")
    loaded = io.load_checkpoint(tmp_path / "sub" / "last.ckpt")
    assert loaded["epoch"] == 2 and torch.equal(loaded["state_dict"]["w"], torch.full((3,), 2.0))
    assert io.load_checkpoint(tmp_path / "sub" / "last-previous.ckpt")["epoch"] == 1
