"""A representation registered outside hepdl that does not declare what it provides
(no ``provides``) cannot be checked against the model when the config loads; the arrays
it returns are checked when the data is read, before training (issue 13 item 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.conftest import write_feature_file

from hepdl.config import config_from_dict
from hepdl.data.representations import REPRESENTATIONS, register_representation
from hepdl.errors import ConfigError
from hepdl.train.run import train_experiment


class FirstColumn:
    """A user's representation: the first two columns as flat features; no ``provides``."""

    name = "user_first_columns"
    flat_features = True
    feature_names = ("f1", "f2")

    def config(self) -> dict:
        return {"name": self.name}

    def __call__(self, table, *, source: str) -> dict[str, np.ndarray]:
        columns = [np.asarray(table[name], dtype=np.float32) for name in ("f1", "f2")]
        return {"features": np.stack(columns, 1)}  # (N, 2)


@pytest.fixture
def user_representation(monkeypatch):
    monkeypatch.setattr(REPRESENTATIONS, "_factories", dict(REPRESENTATIONS._factories))
    register_representation(FirstColumn.name)(FirstColumn)
    return FirstColumn.name


def _config(tmp_path: Path, model: dict, representation: dict | None = None):
    return config_from_dict(
        {
            "name": "user_rep",
            "seed": 3,
            "data": {
                "files": [write_feature_file(tmp_path / "jets.parquet", n=300)],
                "representation": representation or {"name": "user_first_columns"},
            },
            "model": model,
            "task": {"lr": 0.01},
            "trainer": {"max_epochs": 3, "progress_bar": False, "output_dir": str(tmp_path)},
            "evaluate": {"plots": False},
        }
    )


def test_undeclared_representation_feeding_the_wrong_model_is_refused_at_data_time(
    tmp_path: Path, user_representation: str
) -> None:
    config = _config(tmp_path, {"name": "particlenet"})  # loads: nothing declared to check
    with pytest.raises(ConfigError) as err:
        train_experiment(config)
    assert str(err.value) == (
        "model ParticleNet needs the input(s) ['points', 'mask'], but the "
        "representation gives ['features']; choose data.representation.name to match (image "
        "for CNNs, sequence for RNNs, point_cloud for PFN/EFN/ParticleNet/ParT)"
    )
    assert not list(tmp_path.glob("user_rep-*/model.safetensors"))


def test_a_representation_without_feature_names_is_refused_by_name(monkeypatch) -> None:
    class NoNames:
        name = "no_names"

        def config(self) -> dict:
            return {"name": self.name}

        def __call__(self, table, *, source: str) -> dict:
            return {}

    monkeypatch.setattr(REPRESENTATIONS, "_factories", dict(REPRESENTATIONS._factories))
    register_representation("no_names")(NoNames)
    from hepdl.data import create_representation

    with pytest.raises(ConfigError) as err:
        create_representation("no_names")
    assert str(err.value) == (
        "representation 'no_names' (NoNames) has no feature_names; a representation needs "
        "name, feature_names, config, __call__ (hepdl.data.representations: the protocol, "
        "and 'columns' as an example)"
    )


def test_undeclared_representation_feeding_a_fitting_model_trains(
    tmp_path: Path, user_representation: str
) -> None:
    # The same arrays as the built-in 'columns' representation of f1, f2: the same model.
    mlp = {"name": "mlp", "hidden": [8]}
    user = train_experiment(_config(tmp_path, mlp)).metrics
    builtin = {"name": "columns", "columns": ["f1", "f2"]}
    reference = train_experiment(_config(tmp_path, mlp, builtin)).metrics
    assert user["auc"] == reference["auc"] and user["n_test"] == reference["n_test"]
    assert user["auc"] > 0.9  # f1, f2 shifted by 2 sigma between the classes
