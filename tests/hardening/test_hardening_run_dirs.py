"""Run directories from elsewhere: each artifact damaged (a pickle payload, weights of
another size, truncated or garbage files, JSON of the wrong shape, a missing config) and
given to `hepdl evaluate`, `hepdl train --resume` and `hepdl compare`: one `error:` line
naming the file and what is wrong, exit 2, never a traceback; a command that does not read
the artifact succeeds, and no pickled code ever runs."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.config import load_config
from hepdl.train.run import train_experiment

runner = CliRunner()
MARKER = "payload-ran"  # created in the working directory if a pickle payload runs


class _Payload:
    def __reduce__(self):
        return (os.mkdir, (MARKER,))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(config, data file, a finished two-epoch run trained on it)."""
    folder = tmp_path_factory.mktemp("run_dirs")
    data = write_feature_file(folder / "jets.parquet", n=300, seed=2)
    raw = {
        "name": "tiny",
        "seed": 1,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
        },
        "model": {"name": "mlp", "hidden": [8]},
        "trainer": {"max_epochs": 2, "progress_bar": False, "output_dir": str(folder / "runs")},
        "evaluate": {"plots": False},
    }
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump(raw))
    return config, Path(data), train_experiment(load_config(config)).run_dir


def _checkpoints(run: Path) -> list[Path]:
    return sorted((run / "checkpoints").glob("*.ckpt"))


def pickle_payload(run: Path) -> None:
    for path in _checkpoints(run):
        torch.save({"state_dict": {}, "payload": _Payload()}, path)


def other_sizes(run: Path) -> None:
    for path in _checkpoints(run):
        checkpoint = torch.load(path, weights_only=True)
        state = checkpoint["state_dict"]
        state["model.layers.0.weight"] = torch.zeros(3, 99)
        torch.save(checkpoint, path)


def truncated_checkpoints(run: Path) -> None:
    for path in _checkpoints(run):
        path.write_bytes(path.read_bytes()[:500])


def truncated_weights(run: Path) -> None:
    path = run / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])


def garbage_weights(run: Path) -> None:
    (run / "model.safetensors").write_bytes(b"\xff" * 64)


def other_weights(run: Path) -> None:
    from safetensors.torch import save_file

    save_file({"net.0.weight": torch.zeros(5, 7)}, str(run / "model.safetensors"))


def preprocessing_not_json(run: Path) -> None:
    (run / "preprocessing.json").write_text("{not json")


def preprocessing_a_list(run: Path) -> None:
    (run / "preprocessing.json").write_text("[1, 2]")


def preprocessing_wrong_types(run: Path) -> None:
    path = run / "preprocessing.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "feature_names": 5, "bogus": 1}))


def metrics_a_list(run: Path) -> None:
    (run / "metrics.json").write_text("[1]")


def history_not_json(run: Path) -> None:
    (run / "history.json").write_text("{")


def config_missing(run: Path) -> None:
    (run / "config.yaml").unlink()


CKPT = "{run}/checkpoints"
UNREADABLE = "{run}/checkpoints: no usable checkpoint to resume from: "
# (damage, command, the error line; None: the command does not read it and succeeds)
CASES: list[tuple[Callable[[Path], None], str, str | None]] = [
    (
        pickle_payload,
        "resume",
        UNREADABLE
        + "; ".join(
            f"{CKPT}/{name}: not a readable checkpoint (it holds pickled objects a "
            "weights-only load refuses: Trying to load unsupported GLOBAL posix.mkdir whose "
            "module posix is blocked; hepdl never runs code from a checkpoint, so use one "
            "that hepdl wrote)"
            for name in ("last.ckpt", "last-previous.ckpt")
        ),
    ),
    (pickle_payload, "evaluate", None),
    (pickle_payload, "compare", None),
    (
        other_sizes,
        "resume",
        f"{CKPT}/last.ckpt: holds weights of model 'mlp' with other sizes, which do not fit "
        "model 'mlp' (ClassificationTask): different shapes model.layers.0.weight (3, 99) "
        "(model: (8, 3))",
    ),
    (
        truncated_checkpoints,
        "resume",
        UNREADABLE
        + "; ".join(
            f"{CKPT}/{name}: not a readable checkpoint (truncated or corrupt: not a complete "
            "torch zip archive)"
            for name in ("last.ckpt", "last-previous.ckpt")
        ),
    ),
    (
        truncated_weights,
        "evaluate",
        "{run}/model.safetensors: not a readable safetensors file (Error while deserializing "
        "header: invalid header length); the run's weights are damaged: copy the run again "
        "or retrain it",
    ),
    (
        garbage_weights,
        "evaluate",
        "{run}/model.safetensors: not a readable safetensors file (Error while deserializing "
        "header: header too large); the run's weights are damaged: copy the run again or "
        "retrain it",
    ),
    (
        other_weights,
        "evaluate",
        "{run}/model.safetensors: holds weights of another architecture (or other sizes), "
        "which do not fit model 'mlp' (MLP): missing parameters layers.0.weight, "
        "layers.0.bias, layers.2.weight (+1 more); unexpected parameters net.0.weight",
    ),
    (truncated_weights, "resume", None),  # an unfinished run writes its weights anew
    (truncated_weights, "compare", None),
    (
        preprocessing_not_json,
        "evaluate",
        "{run}/preprocessing.json: not valid JSON (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1)); the run directory is damaged",
    ),
    (
        preprocessing_a_list,
        "evaluate",
        "{run}/preprocessing.json: expected an object at the top, got list; the run "
        "directory is damaged",
    ),
    (
        preprocessing_wrong_types,
        "evaluate",
        "{run}/preprocessing.json: not a hepdl preprocessing record: unknown key 'bogus'; "
        "'feature_names' should be a list, got int; the run directory is damaged",
    ),
    (
        metrics_a_list,
        "compare",
        "{run}/metrics.json: expected an object at the top, got list; the run directory is damaged",
    ),
    (
        metrics_a_list,
        "resume",
        "{run}/metrics.json: expected an object at the top, got list; the run directory is damaged",
    ),
    (metrics_a_list, "evaluate", None),
    (
        history_not_json,
        "resume",
        "{run}/history.json: not valid JSON (Expecting property name enclosed in double "
        "quotes: line 1 column 2 (char 1)); the run directory is damaged",
    ),
    (config_missing, "evaluate", "{run}: not a finished hepdl run (config.yaml is missing)"),
    (
        config_missing,
        "resume",
        "{run}/config.yaml: no such file; --resume expects a hepdl run directory",
    ),
]
# Resuming reads the checkpoints only of a run that did not finish (no metrics.json).
READS_FINISHED = {metrics_a_list, history_not_json}


@pytest.mark.parametrize(
    ("damage", "command", "expected"),
    CASES,
    ids=[f"{damage.__name__}-{command}" for damage, command, _ in CASES],
)
def test_damaged_artifact_is_one_error_naming_it(
    finished, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage, command, expected
) -> None:
    config, data, source = finished
    monkeypatch.chdir(tmp_path)  # where a payload would leave its marker
    run = tmp_path / "copy"
    shutil.copytree(source, run)
    if command == "resume" and damage not in READS_FINISHED:
        (run / "metrics.json").unlink()  # as if stopped before the end
    damage(run)
    args = {
        "evaluate": ["evaluate", str(run), "--data", str(data), "--out", str(tmp_path / "ev")],
        "resume": ["train", str(config), "--resume", str(run)],
        "compare": ["compare", str(run), "--out", str(tmp_path / "cmp")],
    }[command]
    result = runner.invoke(app, args)
    assert not (tmp_path / MARKER).exists()
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    if expected is None:
        assert result.exit_code == 0, result.output
        return
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {expected.format(run=run)}"]
    assert result.exit_code == 2
