"""What the fuzz cases share, made once per session on first use: the clean columns, the
experiment a data case trains, and two finished runs (the run the run-directory cases
damage, and one of another architecture whose artifacts they swap in)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from typer.testing import CliRunner

from tests.fuzz.data_files import COLUMNS, columns, write_parquet


def experiment(
    files: list[str], *, model: dict | None = None, features=COLUMNS, epochs: int = 1, **data: Any
) -> dict[str, Any]:
    """A 1-epoch MLP on ``files``; runs go to ``runs`` under the current folder."""
    return {
        "name": "fuzz",
        "seed": 7,
        "data": {
            "files": files,
            "representation": {"name": "columns", "columns": list(features)},
            "batch_size": 64,
            **data,
        },
        "model": model or {"name": "mlp", "hidden": [8]},
        "task": {"lr": 0.01},
        "trainer": {"max_epochs": epochs, "progress_bar": False, "output_dir": "runs"},
        "evaluate": {"plots": False, "bootstrap": 0},
    }


class Shared:
    """Lazily made files under ``root`` (a session's temporary folder)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @functools.cached_property
    def columns(self) -> dict[str, np.ndarray]:
        return columns()

    @functools.cached_property
    def feature_file(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return write_parquet(self.root / "jets.parquet", self.columns)

    def _train(self, name: str, raw: dict[str, Any]) -> Path:
        from hepdl.cli import app

        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "experiment.yaml").write_text(yaml.safe_dump(raw))
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            result = CliRunner().invoke(app, ["train", "experiment.yaml"], catch_exceptions=False)
        finally:
            os.chdir(cwd)
        assert result.exit_code == 0, result.output
        (run,) = (folder / "runs").iterdir()
        return run

    @functools.cached_property
    def run(self) -> Path:
        """The run the run-directory cases copy and damage: 2 epochs, so that its
        checkpoints folder holds last, the previous last and best."""
        return self._train("run", experiment([str(self.feature_file)], epochs=2))

    @functools.cached_property
    def other_run(self) -> Path:
        """Another architecture on other inputs: 2 features, hidden [16, 16]."""
        raw = experiment(
            [str(self.feature_file)],
            features=("f1", "f2"),
            model={"name": "mlp", "hidden": [16, 16]},
            epochs=2,
        )
        return self._train("other_run", raw)
