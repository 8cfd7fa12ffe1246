"""Config keys of the experiment itself: strict booleans and integers, seeds, run names,
signal efficiencies, Lightning's trainer choices (hepdl.config)."""

from __future__ import annotations

import pytest

from hepdl.config import config_from_dict
from hepdl.errors import ConfigError


def _load(**sections) -> None:
    raw = {"data": {"files": ["jets.parquet"]}}
    for key, value in sections.items():
        if isinstance(value, dict):
            raw.setdefault(key, {}).update(value)
        else:
            raw[key] = value
    config_from_dict(raw, source="x.yaml")


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        (
            {"data": {"standardize": 1}},
            "config key 'data.standardize': expected true or false (got 1)",
        ),
        (
            {"trainer": {"deterministic": "yes"}},
            "config key 'trainer.deterministic': expected true or false (got 'yes')",
        ),
        (
            {"task": {"nesterov": "maybe"}},
            "config key 'task.nesterov': expected true or false (got 'maybe')",
        ),
        (
            {"trainer": {"max_epochs": True}},
            "config key 'trainer.max_epochs': expected an integer (got True)",
        ),
        (
            {"trainer": {"max_epochs": 2.0}},
            "config key 'trainer.max_epochs': expected an integer (got 2.0)",
        ),
        ({"seed": True}, "config key 'seed': expected an integer (got True)"),
        ({"seed": -1}, "config key 'seed': Input should be greater than or equal to 0 (got -1)"),
        (
            {"seed": 2**32},
            "config key 'seed': Input should be less than or equal to 4294967295 (got 4294967296)",
        ),
        (
            {"data": {"split": {"seed": 2**32}}},
            "config key 'data.split.seed': Input should be less than or equal to 4294967295 "
            "(got 4294967296)",
        ),
        (
            {"evaluate": {"signal_efficiencies": [0.5, 1.0]}},
            "config key 'evaluate.signal_efficiencies.1': Input should be less than 1 (got 1.0)",
        ),
        (
            {"evaluate": {"signal_efficiencies": [0.0]}},
            "config key 'evaluate.signal_efficiencies.0': Input should be greater than 0 (got 0.0)",
        ),
        (
            {"trainer": {"accelerator": "gpus"}},
            "config key 'trainer.accelerator': Input should be 'auto', 'cpu', 'gpu', 'cuda', "
            "'mps' or 'tpu' (got 'gpus')",
        ),
        (
            {"trainer": {"precision": "17"}},
            "config key 'trainer.precision': Input should be '32-true', '64-true', '16-mixed', "
            "'bf16-mixed', '16-true', 'bf16-true', 'transformer-engine', "
            "'transformer-engine-float16', '64', '32', '16' or 'bf16' (got '17')",
        ),
        (
            {"trainer": {"devices": 0}},
            "config key 'trainer.devices': expected a number of devices >= 1, -1 (all) or auto "
            "(got 0)",
        ),
        (
            {"trainer": {"devices": "two"}},
            "config key 'trainer.devices': expected a number of devices >= 1, device indices "
            "like '0,1', -1 (all) or auto (got 'two')",
        ),
    ],
)
def test_value_refused(sections: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(**sections)
    assert str(err.value) == f"x.yaml: {message}"


def test_unknown_strategy_names_the_closest() -> None:
    with pytest.raises(ConfigError) as err:
        _load(trainer={"strategy": "dpp"})
    assert str(err.value).startswith(
        "x.yaml: config key 'trainer.strategy': unknown strategy 'dpp' (did you mean 'ddp'?); "
        "valid strategies: auto, ddp, "
    )
    assert not str(err.value).endswith("(got 'dpp')")  # the value is named once


@pytest.mark.parametrize("name", ["../../x", "/abs", "", "  ", "a/b", "a\\b", "..", ".", "a\0b"])
def test_run_name_is_not_a_path(name: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(name=name)
    assert str(err.value).startswith(
        "x.yaml: config key 'name': expected a run name (the run directory is "
        "trainer.output_dir/<name>-<time>), not empty, '.', '..' or with '/', '\\' or a NUL "
        "character; put the folder in trainer.output_dir"
    )


def test_valid_values_load() -> None:
    _load(
        name="top-tagger_v2.1",
        seed=2**32 - 1,
        trainer={"precision": 16, "devices": "0,1", "strategy": "ddp", "accelerator": "cpu"},
        evaluate={"signal_efficiencies": [0.01, 0.99]},
    )


def test_bad_value_is_shown_truncated() -> None:
    with pytest.raises(ConfigError) as err:
        _load(name=["x" * 50] * 1000)
    message = str(err.value)
    assert message.endswith("... (54000 characters))")
    assert len(message) < 320
