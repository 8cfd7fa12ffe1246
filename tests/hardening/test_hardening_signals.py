"""`hepdl train` stopped by SIGTERM (a batch system's time limit) or SIGINT (Ctrl-C) after
its first epoch: exit 143 / 130, the checkpoint it kept and the exact resume command on
stderr, no metrics.json; resumed, it ends with an uninterrupted run's weights
(hepdl.train.interrupt)."""

from __future__ import annotations

import os
import re
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
from hepdl.train.run import train_experiment

EPOCHS = 4


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(config, run directory of an uninterrupted run)."""
    folder = tmp_path_factory.mktemp("signals")
    data = write_feature_file(folder / "jets.parquet", n=1200, seed=1)
    raw = {
        "name": "stopped",
        "seed": 5,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 8,  # many small steps: the run is still training when signalled
        },
        "model": {"name": "mlp", "hidden": [16, 16], "dropout": 0.2},
        "task": {"lr": 0.003},
        "trainer": {"max_epochs": EPOCHS, "progress_bar": False, "output_dir": str(folder)},
        "evaluate": {"plots": False},
    }
    config = folder / "stopped.yaml"
    config.write_text(yaml.safe_dump(raw))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the subprocess runs on one thread too: same reduction order
    try:
        return config, train_experiment(load_config(config)).run_dir
    finally:
        torch.set_num_threads(threads)


def _signalled_run(config: Path, signum: int) -> tuple[subprocess.CompletedProcess, Path]:
    """Start `hepdl train CONFIG` in a fresh process, send ``signum`` once its first
    epoch is checkpointed; (the finished process, its run directory)."""
    runs = config.parent
    before = set(runs.iterdir())
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "hepdl.cli", "train", str(config)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"ended before the signal: {process.communicate()}")
            assert time.monotonic() < deadline, "no checkpoint within 120 s"
            new = set(runs.iterdir()) - before
            if new and (next(iter(new)) / "checkpoints" / "last.ckpt").exists():
                break
            time.sleep(0.02)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    [run] = set(runs.iterdir()) - before
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done, run


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signalled_run_says_how_to_resume_and_resumes_to_the_same_weights(
    study, signum: int, code: int, one_thread
) -> None:
    config, reference = study
    done, run = _signalled_run(config, signum)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr
    name = signal.Signals(signum).name
    pattern = (
        rf"stopped: training in {re.escape(str(run))} stopped by {name}: "
        rf"{re.escape(str(run / 'checkpoints'))}/last(-previous)?\.ckpt holds epoch (\d+), "
        "its last complete one; a resumed run continues from there to the weights of an "
        "uninterrupted run\n"
        rf"resume with: hepdl train {re.escape(str(config))} --resume {re.escape(str(run))}\n"
    )
    match = re.search(pattern, done.stderr)
    assert match, done.stderr
    assert int(match.group(2)) < EPOCHS - 1  # stopped before the end
    assert not (run / "metrics.json").exists()  # no result a later command would trust
    assert (run / "FAILED").read_text().startswith(f"RunInterrupted: training in {run}")

    result = train_experiment(load_config(config), resume=run)
    assert result.run_dir == run
    assert not (run / "FAILED").exists()
    assert (run / "model.safetensors").read_bytes() == (
        reference / "model.safetensors"
    ).read_bytes()
    assert len(result.history["val_loss"]) == EPOCHS
