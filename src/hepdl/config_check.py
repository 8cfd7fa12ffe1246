"""``hepdl check CONFIG``: everything that can be known about an experiment without
training it: the config loads and validates (every key, type and range), the trainer's
devices exist on this machine, and each data file named exists as a file."""

from __future__ import annotations

from pathlib import Path

from hepdl.config import ExperimentConfig, load_config
from hepdl.errors import ConfigError
from hepdl.trainer_checks import check_machine


def data_paths(config: ExperimentConfig) -> list[tuple[str, str]]:
    """(config key, path) of every data file the config names ("{stem}" side files,
    which depend on each feature file, are left out)."""
    data = config.data
    named = [("data.files", p) for p in data.files]
    named += [(f"data.class_files.{c}", p) for c, ps in data.class_files.items() for p in ps]
    named += [("data.val_files", p) for p in data.val_files]
    named += [("data.test_files", p) for p in data.test_files]
    if data.streaming is not None:
        named += [("data.streaming.val_files", p) for p in data.streaming.val_files]
        named += [("data.streaming.test_files", p) for p in data.streaming.test_files]
    for key in ("labels_file", "weights_file"):
        path = getattr(data, key)
        if path is not None and "{stem}" not in path:
            named.append((f"data.{key}", path))
    return named


def check_experiment(path: Path, overrides: list[str]) -> str:
    """A one-line summary of the valid experiment in ``path``, or ConfigError."""
    config = load_config(path, overrides=overrides)
    try:
        check_machine(config.trainer)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
    files = data_paths(config)
    for key, file in files:
        if not Path(file).is_file():
            raise ConfigError(f"{path}: {key}: no such file {file}")
    source = f"{len(files)} data file(s)" if files else "generated data"
    return (
        f"{path}: model {config.model.name}, representation {config.data.representation.name}, "
        f"task {config.task.kind}, {source}"
    )
