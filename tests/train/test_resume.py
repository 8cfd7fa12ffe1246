"""Resuming a training run killed with SIGKILL ends with the weights and metrics of a run
that was never interrupted, bit for bit on CPU (hepdl.train.resume)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from tests.conftest import write_feature_file

from hepdl.config import load_config
from hepdl.errors import ConfigError
from hepdl.train._timing import without_timings
from hepdl.train.run import train_experiment

# The run to be killed: a fresh process, as `hepdl train` would start.
SCRIPT = """
import sys
from hepdl.config import load_config
from hepdl.train.run import train_experiment
train_experiment(load_config(sys.argv[1]))
"""
EPOCHS = 5


def _config(folder: Path, data: str, **trainer: object) -> Path:
    raw = {
        "name": "resume",
        "seed": 5,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 8,  # many small steps: an epoch lasts long enough to be killed in
        },
        # Dropout draws from torch's generator: the resumed run must restore its state.
        "model": {"name": "mlp", "hidden": [16, 16], "dropout": 0.2},
        "task": {"lr": 0.003},
        "trainer": {
            "max_epochs": EPOCHS,
            "progress_bar": False,
            "output_dir": str(folder / "runs"),
            **trainer,
        },
        "evaluate": {"plots": False},
    }
    path = folder / "resume.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _command(config: Path) -> list[str]:
    return [sys.executable, "-c", SCRIPT, str(config)]


def _env() -> dict[str, str]:
    # One thread: the runs being compared use the same reduction order, and the test
    # leaves the other core alone.
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@pytest.fixture(autouse=True)
def _in_process_runs_use_one_thread(one_thread):
    """In-process runs use one thread too, like the killed subprocess (``_env``)."""


def _run(config: Path, resume: Path | None = None) -> Path:
    return train_experiment(load_config(config), resume=resume).run_dir


def _new_run(runs: Path, before: set[Path]) -> Path:
    [run] = set(runs.iterdir()) - before
    return run


def _state(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def _assert_same_run(a: Path, b: Path) -> None:
    for name in ("best.ckpt", "last.ckpt"):
        left, right = _state(a / "checkpoints" / name), _state(b / "checkpoints" / name)
        assert left.keys() == right.keys()
        for key in left:
            assert torch.equal(left[key], right[key]), f"{name}: {key} differs"
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()
    metrics = [without_timings(json.loads((run / "metrics.json").read_text())) for run in (a, b)]
    assert metrics[0] == metrics[1]
    assert (a / "history.json").read_text() == (b / "history.json").read_text()


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config, run directory of an uninterrupted run)."""
    folder = tmp_path_factory.mktemp("resume")
    data = write_feature_file(folder / "jets.parquet", n=1200, seed=1)
    config = _config(folder, data)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module-scoped: set up before the autouse one_thread
    try:
        return config, _run(config)
    finally:
        torch.set_num_threads(threads)


def test_run_killed_mid_epoch_resumes_to_identical_weights_and_metrics(study) -> None:
    config, reference = study
    runs = reference.parent
    before = set(runs.iterdir())
    killed = subprocess.Popen(
        _command(config), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        checkpoints = None
        seen: dict[str, float] = {}  # when last.ckpt and last-previous.ckpt appeared
        deadline = time.monotonic() + 60
        while "last-previous.ckpt" not in seen:  # epochs 0 and 1 are checkpointed
            assert killed.poll() is None and time.monotonic() < deadline
            new = set(runs.iterdir()) - before
            checkpoints = next(iter(new)) / "checkpoints" if new else None
            for name in ("last.ckpt", "last-previous.ckpt"):
                if checkpoints is not None and (checkpoints / name).exists():
                    seen.setdefault(name, time.monotonic())
            time.sleep(0.01)
        # Half of epoch 1's duration into epoch 2: mid-epoch however loaded the machine is.
        time.sleep(0.5 * (seen["last-previous.ckpt"] - seen["last.ckpt"]))
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    run = _new_run(runs, before)
    assert killed.returncode == -signal.SIGKILL
    assert not (run / "metrics.json").exists()
    last = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] < EPOCHS - 1  # killed before the last epoch was saved

    _run(config, run)
    _assert_same_run(reference, run)


def test_corrupt_last_checkpoint_falls_back_to_the_previous_one(study, tmp_path) -> None:
    config, reference = study
    run = tmp_path / "copy"
    shutil.copytree(reference, run)
    (run / "metrics.json").unlink()  # as if killed after the last epoch, before evaluation
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])  # a truncated file
    previous_path = run / "checkpoints" / "last-previous.ckpt"
    previous = torch.load(previous_path, weights_only=True)
    assert previous["epoch"] == EPOCHS - 2

    with pytest.warns(UserWarning) as caught:
        _run(config, run)
    assert any(
        str(w.message).startswith(f"{last}: not a readable checkpoint")
        and str(w.message).endswith(f"resuming from the checkpoint before it, {previous_path}")
        for w in caught
    )
    # The last epoch is trained again from the epoch before it, to the same weights.
    _assert_same_run(reference, run)


def test_resuming_a_finished_run_returns_its_results_untouched(study) -> None:
    config, run = study
    stamps = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    with pytest.warns(UserWarning, match="already finished"):
        result = train_experiment(load_config(config), resume=run)
    assert result.run_dir == run
    assert result.metrics == json.loads((run / "metrics.json").read_text())
    assert result.history == json.loads((run / "history.json").read_text())
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == stamps


def test_a_different_config_is_refused_with_every_differing_key(study) -> None:
    config, run = study
    changed = load_config(
        config,
        overrides=["task.lr=0.01", "trainer.max_epochs=6", "trainer.progress_bar=true"],
    )
    with pytest.raises(ConfigError) as err:
        train_experiment(changed, resume=run)
    assert str(err.value) == (
        f"cannot resume {run}: the config differs from {run / 'config.yaml'} at "
        "task.lr: run has 0.003, given 0.01; trainer.max_epochs: run has 5, given 6 "
        "(resume with the run's own config, or start a new run)"
    )


def test_resume_needs_a_run_directory(study, tmp_path) -> None:
    config, _ = study
    with pytest.raises(Exception, match="no such run directory to resume"):
        train_experiment(load_config(config), resume=tmp_path / "missing")


def test_streamed_run_resumed_from_an_earlier_epoch_ends_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A streamed run rolled back to its epoch-0 checkpoint and resumed streams epochs 1
    and 2 in their own order (set through the stream's epoch counter): same weights."""
    monkeypatch.setenv("HEPDL_CACHE_DIR", str(tmp_path / "cache"))
    files = {
        name: write_feature_file(tmp_path / f"{name}.parquet", n=n, seed=seed)
        for name, n, seed in (("train", 600, 1), ("val", 200, 2), ("test", 200, 3))
    }
    raw = yaml.safe_load(_config(tmp_path, files["train"], max_epochs=3).read_text())
    raw["data"]["streaming"] = {
        "val_files": [files["val"]],
        "test_files": [files["test"]],
        "chunk_rows": 50,
        "fit_rows": 300,
    }
    raw["data"]["batch_size"] = 32
    path = tmp_path / "streamed.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path)
    reference = train_experiment(config).run_dir

    run = tmp_path / "rolled-back"  # a copy: the run directory moved, too
    shutil.copytree(reference, run)
    (run / "metrics.json").unlink()
    checkpoints = run / "checkpoints"
    os.replace(checkpoints / "last-previous.ckpt", checkpoints / "last.ckpt")  # epoch 1
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 1
    train_experiment(config, resume=run)
    _assert_same_run(reference, run)


def test_run_that_stopped_early_is_evaluated_without_training_further(tmp_path: Path) -> None:
    """Killed after early stopping ended training but before metrics.json: the resumed run
    must not train on (Lightning clears should_stop at fit start; restore_resume_state
    restores it)."""
    data = write_feature_file(tmp_path / "jets.parquet", n=600, seed=3)
    raw = yaml.safe_load(_config(tmp_path, data, max_epochs=10).read_text())
    # No epoch improves val_loss by 0.5 after the first: training stops after epoch 1.
    raw["trainer"]["early_stopping"] = {"patience": 1, "min_delta": 0.5}
    path = tmp_path / "stops.yaml"
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path)
    first = train_experiment(config)
    run = first.run_dir
    assert first.metrics["epochs"] == 2 and len(first.history["val_loss"]) == 2
    (run / "metrics.json").unlink()
    last = (run / "checkpoints" / "last.ckpt").read_bytes()

    again = train_experiment(config, resume=run)
    assert again.history == first.history
    assert (run / "checkpoints" / "last.ckpt").read_bytes() == last  # no epoch trained
    assert without_timings(again.metrics) == without_timings(first.metrics)
