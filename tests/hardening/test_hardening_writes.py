"""Writes that a run directory cannot redirect and a full disk cannot leave half done
(hepdl.atomic, hepdl.paths): a symlink planted at a target or at its temporary name is
never written through; ENOSPC is one DataError naming the file and the space needed, with
no temporary or partial file left and the previous file intact; an --out inside a file
or an unwritable place is one error; a run name is never a path."""

from __future__ import annotations

import errno
import shutil
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl import atomic
from hepdl.cli import app
from hepdl.config import load_config
from hepdl.errors import ConfigError, DataError
from hepdl.paths import check_run_name, output_folder
from hepdl.train.artifacts import new_run_dir
from hepdl.train.checkpoints import write_atomically

runner = CliRunner()
_Usage = namedtuple("_Usage", "total used free")


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def free_2kb(monkeypatch: pytest.MonkeyPatch) -> None:
    """The filesystem reports 2 kB free: the messages' numbers are deterministic."""
    monkeypatch.setattr(shutil, "disk_usage", lambda path: _Usage(10**9, 10**9 - 2000, 2000))


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").symlink_to(outside)
    atomic.write_json(run / "metrics.json", {"auc": 0.9})
    assert outside.read_text() == "root:x:0:0\n"
    assert not (run / "metrics.json").is_symlink()
    assert (run / "metrics.json").read_text() == '{\n  "auc": 0.9\n}\n'


def test_a_symlink_at_the_temporary_name_is_refused(tmp_path: Path, monkeypatch) -> None:
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0\n")
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: "abc")
    planted = tmp_path / ".metrics.json.abc.tmp"
    planted.symlink_to(outside)
    with pytest.raises(DataError) as err:
        atomic.write_json(tmp_path / "metrics.json", {"auc": 0.9})
    assert (
        str(err.value)
        == f"{planted}: exists already; not writing {tmp_path / 'metrics.json'} through it"
    )
    assert outside.read_text() == "root:x:0:0\n"
    assert not (tmp_path / "metrics.json").exists()


def test_a_full_disk_during_npz_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch, free_2kb
) -> None:
    target = tmp_path / "predictions.npz"
    atomic.write_npz(target, scores=np.zeros(3))
    before = target.read_bytes()
    monkeypatch.setattr(np, "savez", _full_disk)
    with pytest.raises(DataError) as err:
        atomic.write_npz(target, scores=np.zeros(1000))  # 8000 bytes
    assert str(err.value) == (
        f"{target}: no space left on device (needs about 8.0 kB, 2.0 kB free in {tmp_path}); "
        "nothing was written there: free some space (or choose another output folder) and "
        "run again"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["predictions.npz"]
    assert target.read_bytes() == before


def test_a_full_disk_during_a_checkpoint_keeps_the_previous_one(
    tmp_path: Path, monkeypatch, free_2kb
) -> None:
    last = tmp_path / "last.ckpt"
    write_atomically({"state_dict": {"w": torch.zeros(2)}, "epoch": 0}, last)
    before = last.read_bytes()

    def half_then_full(obj, handle) -> None:
        handle.write(b"PK" * 100)  # part of the file, then the disk is full
        _full_disk()

    monkeypatch.setattr(torch, "save", half_then_full)
    with pytest.raises(DataError) as err:
        write_atomically({"state_dict": {"w": torch.zeros(1000)}, "epoch": 1}, last)
    assert str(err.value).startswith(
        f"{last}: no space left on device (needs about 4.0 kB, 2.0 kB free in {tmp_path})"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]  # no previous moved
    assert last.read_bytes() == before


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(data file, a finished one-epoch run trained on it)."""
    from hepdl.train.run import train_experiment

    folder = tmp_path_factory.mktemp("writes")
    data = write_feature_file(folder / "jets.parquet", n=200, seed=3)
    raw = {
        "name": "tiny",
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
        },
        "model": {"name": "mlp", "hidden": [4]},
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(folder)},
        "evaluate": {"plots": False},
    }
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    return Path(data), train_experiment(load_config(config)).run_dir


def test_a_full_disk_during_evaluation_is_one_error_and_no_partial_file(
    finished, tmp_path: Path, monkeypatch, free_2kb
) -> None:
    data, run = finished
    sizes: list[int] = []

    def full(handle, **arrays) -> None:  # the bytes the file would hold, then a full disk
        sizes.append(sum(np.asarray(a).nbytes for a in arrays.values()))
        _full_disk()

    monkeypatch.setattr(np, "savez", full)
    out = tmp_path / "ev"
    result = runner.invoke(app, ["evaluate", str(run), "--data", str(data), "--out", str(out)])
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: {out / 'predictions.npz'}: no space left on device (needs about "
        f"{sizes[0] / 1000:.1f} kB, 2.0 kB free in {out}); nothing was written there: free "
        "some space (or choose another output folder) and run again"
    ]
    assert result.exit_code == 2
    assert list(out.iterdir()) == []  # no predictions.npz, no .tmp a later run could trust


@pytest.mark.parametrize("command", ["evaluate", "compare"])
def test_out_inside_a_file_is_one_error(finished, tmp_path: Path, command: str) -> None:
    data, run = finished
    blocker = tmp_path / "some_file.parquet"
    blocker.write_bytes(b"x")
    out = blocker / "x"
    args = {
        "evaluate": ["evaluate", str(run), "--data", str(data), "--out", str(out)],
        "compare": ["compare", str(run), "--out", str(out)],
    }[command]
    result = runner.invoke(app, args)
    assert result.output.splitlines()[-1] == (
        f"error: --out {out}: {blocker} is an existing file, not a folder; choose another "
        "output folder"
    )
    assert result.exit_code == 2


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs Linux's read-only /sys")
def test_out_in_a_place_that_cannot_be_written_is_one_error() -> None:
    with pytest.raises(DataError) as err:
        output_folder(Path("/sys/hepdl-out/x"))
    assert str(err.value) == (
        "--out /sys/hepdl-out/x: cannot create this folder (Operation not permitted); choose "
        "a folder you can write"
    )


@pytest.mark.parametrize("name", ["../../x", "a/b", "..", "", "x\0y"])
def test_a_run_name_that_is_a_path_is_refused(tmp_path: Path, name: str, finished) -> None:
    with pytest.raises(ConfigError) as err:
        check_run_name(name)
    assert str(err.value) == (
        f"name: expected a run name (letters, digits, '-', '_', '.'), not a path; got "
        f"{name!r}: choose the folder with trainer.output_dir"
    )
    # new_run_dir refuses it too, for a config that skipped the loader's check
    _, run = finished
    config = load_config(run / "config.yaml").model_copy(update={"name": name})
    before = set(tmp_path.parent.iterdir())
    with pytest.raises(ConfigError):
        new_run_dir(config)
    assert set(tmp_path.parent.iterdir()) == before


def test_a_full_disk_while_writing_a_generated_file_leaves_no_part(
    tmp_path: Path, monkeypatch, free_2kb
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from hepdl.generate import _parquet

    out = tmp_path / "jets.parquet"

    def half_then_full(table, where, **options) -> None:
        Path(where).write_bytes(b"PAR1")  # the start of a file, then the disk is full
        raise OSError(errno.ENOSPC, "Error writing bytes to file. No space left on device")

    monkeypatch.setattr(pq, "write_table", half_then_full)
    with pytest.raises(DataError) as err:
        _parquet.write_atomic(pa.table({"x": [1.0]}), out, {"n": 1}, overwrite=False)
    assert str(err.value) == (
        f"{out}: no space left on device (2.0 kB free in {tmp_path}); nothing was written "
        "there: free some space (or choose another output folder) and run again"
    )
    assert list(tmp_path.iterdir()) == []
