"""`hepdl train` stopped by SIGTERM or SIGINT outside its fit (while reading the data, or
evaluating the trained model): one `stopped:` line naming what was stopped and what was
kept, exit 143 / 130, no traceback, no half-written file (hepdl.train.interrupt.Stopped).

The command runs in a fresh process whose slow step is patched to announce itself (a
marker file) and wait, so the signal lands inside that step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from tests.conftest import write_feature_file

ROOT = Path(__file__).resolve().parents[2]

# ``target`` (module, attribute) is replaced by a function that touches MARKER and sleeps
_RUN = """
import importlib, pathlib, sys, time
module, name, marker = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
def slow(*args, **kwargs):
    marker.touch()
    time.sleep(60)
setattr(importlib.import_module(module), name, slow)
from hepdl.cli import main
sys.argv = ["hepdl", *sys.argv[4:]]
main()
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    data = write_feature_file(tmp_path / "jets.parquet", n=300, seed=4)
    raw = {
        "name": "stopped",
        "seed": 5,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
        },
        "model": {"name": "mlp", "hidden": [8]},
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(tmp_path / "runs")},
        "evaluate": {"plots": False},
    }
    path = tmp_path / "stopped.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _stopped(target: tuple[str, str], args: list[str], signum: int, marker: Path):
    """Run ``hepdl ARGS`` with ``target`` slowed down; send ``signum`` once it is inside."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-c", _RUN, *target, str(marker), *args]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    try:
        while not marker.exists():
            if process.poll() is not None:
                raise AssertionError(f"ended before the signal: {process.communicate()}")
            assert time.monotonic() < deadline, "the slow step was not reached in 120 s"
            time.sleep(0.02)
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stdout, stderr


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stopped_while_reading_the_data(config: Path, signum: int, code: int) -> None:
    folder = config.parent
    before = _files(folder)
    target = ("hepdl.train.inputs", "load_sample")
    rc, _, stderr = _stopped(target, ["train", str(config)], signum, folder / "inside")
    assert rc == code, stderr
    assert "Traceback" not in stderr
    name = signal.Signals(signum).name
    assert stderr.splitlines()[-1] == (
        f"stopped: stopped by {name} while reading the data; no run directory was written"
    )
    assert _files(folder) == sorted([*before, "inside"])  # nothing else written


def test_stopped_while_evaluating_marks_the_run_failed(config: Path) -> None:
    folder = config.parent
    target = ("hepdl.train.predict", "predict_probabilities")
    rc, _, stderr = _stopped(target, ["train", str(config)], signal.SIGTERM, folder / "inside")
    assert rc == 143, stderr
    assert "Traceback" not in stderr
    [run] = (folder / "runs").iterdir()
    assert stderr.splitlines()[-1] == (
        "stopped: stopped by SIGTERM while evaluating the trained model; "
        f"{run} marked FAILED (checkpoints of complete epochs kept)"
    )
    assert (run / "FAILED").read_text() == (
        "Stopped: stopped by SIGTERM while evaluating the trained model; "
        "no file was left half-written\n"
    )
    assert not (run / "metrics.json").exists()
    assert (run / "checkpoints" / "last.ckpt").is_file()
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")]  # no half-written file


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stopped_while_predicting_leaves_no_output(tmp_path: Path, signum: int, code: int) -> None:
    from tests.deploy.runs import make_run, write_jet_file

    jets = write_jet_file(tmp_path / "jets.parquet")
    run = make_run(tmp_path, jets, model={"name": "mlp"}, representation={"name": "substructure"})
    out = tmp_path / "scores.parquet"
    before = _files(tmp_path)
    target = ("hepdl.data.chunked", "iter_chunks")  # reached with the temporary open
    args = ["predict", str(run), "--data", jets, "--out", str(out)]
    rc, _, stderr = _stopped(target, args, signum, tmp_path / "inside")
    assert rc == code, stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1] == (
        f"stopped: stopped by {signal.Signals(signum).name} while predicting {jets}; "
        f"nothing was written to {out}"
    )
    assert _files(tmp_path) == sorted([*before, "inside"])  # no output, no temporary
