"""Progress bars only on a terminal: `hepdl train > log` gets one line per epoch."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import torch
import yaml
from tests.conftest import write_feature_file

from hepdl.config import TrainerConfig
from hepdl.train.epoch_log import EpochLines, draws_progress_bars, epoch_line
from hepdl.train.trainer import StepProgressBar, build_trainer

EPOCHS = 3


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_draws_bars_and_a_file_or_pipe_does_not(tmp_path):
    assert draws_progress_bars(Terminal())
    assert not draws_progress_bars(io.StringIO())
    with open(tmp_path / "log", "w") as log:
        assert not draws_progress_bars(log)


def test_the_trainer_gets_a_bar_only_on_a_terminal(tmp_path, monkeypatch):
    def progress_callbacks(trainer):
        return [type(c) for c in trainer.callbacks if isinstance(c, StepProgressBar | EpochLines)]

    monkeypatch.setattr(sys, "stdout", Terminal())
    trainer, _ = build_trainer(TrainerConfig(accelerator="cpu"), tmp_path)
    assert progress_callbacks(trainer) == [StepProgressBar]
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    trainer, _ = build_trainer(TrainerConfig(accelerator="cpu"), tmp_path)
    assert progress_callbacks(trainer) == [EpochLines] and trainer.progress_bar_callback is None
    quiet = TrainerConfig(accelerator="cpu", progress_bar=False)
    assert progress_callbacks(build_trainer(quiet, tmp_path)[0]) == []


def test_epoch_line_orders_train_then_val_then_the_rest():
    metrics = {"lr": 0.001, "val_auc": torch.tensor(0.91234), "train_loss": torch.tensor(0.5)}
    metrics["per_class"] = torch.ones(3)  # not a scalar: left out
    line = epoch_line(2, 20, metrics, 1.234)
    assert line == "epoch 2/20: train_loss 0.5, val_auc 0.9123, lr 0.001 (1.2 s)"


def test_train_into_a_log_file_prints_one_line_per_epoch_and_no_bar(tmp_path):
    data = write_feature_file(tmp_path / "jets.parquet")
    config = {
        "name": "logged",
        "seed": 1,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 32,
        },
        "model": {"name": "mlp", "hidden": [8]},
        "trainer": {
            "max_epochs": EPOCHS,
            "early_stopping": None,
            "accelerator": "cpu",
            "output_dir": str(tmp_path / "runs"),
        },
        "evaluate": {"plots": False},
    }
    (tmp_path / "logged.yaml").write_text(yaml.safe_dump(config))
    log = tmp_path / "train.log"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with open(log, "wb") as out:  # stdout a file, as `hepdl train ... > train.log`
        subprocess.run(
            [sys.executable, "-m", "hepdl.cli", "train", str(tmp_path / "logged.yaml")],
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
            check=True,
        )
    text = log.read_bytes()
    assert b"\r" not in text  # no carriage-return redraws of a bar
    lines = text.decode().splitlines()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [e.split(":")[0] for e in epochs] == [f"epoch {k}/{EPOCHS}" for k in (1, 2, 3)]
    for line in epochs:
        assert re.fullmatch(
            r"epoch \d/3: train_\w+ .*train_loss [\d.]+, val_.*lr 0\.001 "
            r"\(\d+\.\d s\)",
            line,
        ), line
    assert any(line.startswith("run directory: ") for line in lines)
