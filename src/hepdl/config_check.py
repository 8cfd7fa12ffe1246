"""``hepdl check CONFIG``: everything that can be known about an experiment without
training it: the config loads and validates (every key, type and range), the trainer's
devices exist on this machine, and each data file named exists, is readable and has the
columns the config asks for (the label column, the representation's columns, the task's
targets and ``ratio_to``, the reweighting column), read from its schema or header only,
never its rows."""

from __future__ import annotations

from pathlib import Path

from hepdl.config import ExperimentConfig, load_config
from hepdl.errors import ConfigError, HepdlError
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


def needed_columns(config: ExperimentConfig, *, labelled_by_file: bool) -> dict[str, str]:
    """The columns a feature file's table must have, each mapped to the config key that
    asks for it; ``labelled_by_file``: a file of ``data.class_files`` (its class is the
    file's, no label column)."""
    data, task = config.data, config.task
    needed: dict[str, str] = {}
    # a task with targets (regress) reads no class labels; a classifier's come from the
    # label column unless they are a side array (data.labels_file) or the file's class
    if getattr(task, "targets", None) is None and data.labels_file is None:
        if not labelled_by_file:
            needed[data.label_column] = "data.label_column"
    if data.representation.name == "columns":
        for name in data.representation.options().get("columns") or []:
            needed.setdefault(name, "data.representation.columns")
    for name in getattr(task, "targets", None) or []:
        needed.setdefault(name, "task.targets")
    if getattr(task, "ratio_to", None) is not None:
        needed.setdefault(task.ratio_to, "task.ratio_to")
    if data.reweight is not None:
        needed.setdefault(data.reweight.column, "data.reweight.column")
    return needed


def check_columns(config: ExperimentConfig, key: str, file: str) -> None:
    """ConfigError unless feature file ``file`` (named by config key ``key``) is readable
    and its table has every :func:`needed_columns` column, naming the first missing one
    and the closest the file has. Reads the file's column names only."""
    from hepdl.data.readers import PRESETS, column_names
    from hepdl.text import did_you_mean

    data = config.data
    try:
        available = column_names(
            file, tree=data.tree, key=data.key, fmt=data.format, names=data.column_names
        )
    except HepdlError as err:
        raise ConfigError(f"{key}: {err}") from None
    needed = needed_columns(config, labelled_by_file=key.startswith("data.class_files."))
    mapping = data.columns  # {name in the table: column of the file}
    if mapping is None and (
        data.preset not in (None, "auto")
        or (data.preset == "auto" and any(p.is_exact(available) for p in PRESETS.values()))
    ):
        return  # a preset names the table's columns; read_table checks its own layout
    for name, asked_by in needed.items():
        if mapping is not None and name not in mapping:
            raise ConfigError(
                f"{asked_by}: column '{name}' is not among data.columns "
                f"({', '.join(mapping)}), the only columns read{did_you_mean(name, mapping)}"
            )
        column = mapping[name] if mapping is not None else name
        if column not in available:
            via = f" (data.columns.{name})" if mapping is not None else ""
            raise ConfigError(
                f"{asked_by}: {key} {file} has no column '{column}'{via}"
                f"{did_you_mean(column, available) or _listed(available)}"
            )


def _listed(columns: list[str], limit: int = 12) -> str:
    """``"; its columns are a, b, ..."`` (the first ``limit``), when no name is close."""
    more = f", ... ({len(columns)} in all)" if len(columns) > limit else ""
    return f"; its columns are {', '.join(columns[:limit])}{more}"


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
    for key, file in files:
        if key in ("data.labels_file", "data.weights_file"):
            continue  # side arrays, checked against each feature file when read
        try:
            check_columns(config, key, file)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from None
    source = f"{len(files)} data file(s)" if files else "generated data"
    return (
        f"{path}: model {config.model.name}, representation {config.data.representation.name}, "
        f"task {config.task.kind}, {source}"
    )
