from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hepdl.config import apply_overrides, config_from_dict, load_config
from hepdl.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
MINIMAL = {"data": {"files": ["jets.parquet"]}}


def write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_shipped_config_loads_with_override():
    config = load_config(REPO / "configs/top_tagging_dnn.yaml", overrides=["trainer.max_epochs=5"])
    assert config.trainer.max_epochs == 5
    assert config.model.name == "mlp"
    assert config.model.options()["hidden"] == [128, 128, 128]
    assert config.data.generate.jets_per_class == 20000


@pytest.mark.parametrize("path", sorted((REPO / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_loads(path):
    """Every key and every model and representation option of each config is valid."""
    config = load_config(path)
    assert config.name == path.stem


def test_typo_names_key_path_and_closest(tmp_path):
    path = write(tmp_path, {**MINIMAL, "trainer": {"max_epoch": 3}})
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "'trainer.max_epoch'" in message
    assert "did you mean 'max_epochs'?" in message
    assert str(path) in message


def test_wrong_type_names_key(tmp_path):
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError, match=r"'trainer.max_epochs'.*got 'five'"):
        load_config(path, overrides=["trainer.max_epochs=five"])


def test_model_option_typo_checked_against_factory(tmp_path):
    path = write(tmp_path, {**MINIMAL, "model": {"name": "mlp", "hiden": [3]}})
    with pytest.raises(ConfigError, match=r"model.hiden.*did you mean 'hidden'\?"):
        load_config(path)


def test_unknown_model_name_suggests(tmp_path):
    path = write(tmp_path, {**MINIMAL, "model": {"name": "mpl"}})
    with pytest.raises(ConfigError, match=r"unknown model 'mpl'.*did you mean 'mlp'\?"):
        load_config(path)


def test_representation_option_typo(tmp_path):
    raw = {
        "data": {
            "files": ["a.parquet"],
            "representation": {"name": "substructure", "featurs": ["tau32"]},
        }
    }
    with pytest.raises(ConfigError, match=r"data.representation.featurs"):
        load_config(write(tmp_path, raw))


def test_exactly_one_data_source():
    with pytest.raises(ConfigError, match="exactly one source"):
        config_from_dict({"data": {}})
    with pytest.raises(ConfigError, match="exactly one source"):
        config_from_dict({"data": {"files": ["a"], "generate": {"jets_per_class": 5}}})


def test_split_fractions_must_sum_to_one():
    with pytest.raises(ConfigError, match=r"data.split.*must be 1"):
        config_from_dict(
            {"data": {**MINIMAL["data"], "split": {"train": 0.5, "val": 0.2, "test": 0.2}}}
        )


def test_overrides_create_nested_and_parse_yaml():
    raw = apply_overrides({"a": {"b": 1}}, ["a.c=[1, 2]", "d.e=true", "a.b=0.5"])
    assert raw == {"a": {"b": 0.5, "c": [1, 2]}, "d": {"e": True}}
    with pytest.raises(ConfigError, match=r"expected KEY\.PATH=VALUE"):
        apply_overrides({}, ["trainer.max_epochs"])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("data: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_relative_data_paths_become_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_config(write(tmp_path, MINIMAL))
    assert config.data.files == [str(tmp_path / "jets.parquet")]
