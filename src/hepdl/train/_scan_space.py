"""What a scan varies: grid axes (``--grid KEY=V1,V2``) and Optuna parameters
(``--param KEY=log:1e-5:1e-1``), and the config of one point of them.

A point's values reach the config as ``--set`` overrides, so a scan validates exactly as
``hepdl train --set`` does: an unknown key is a ConfigError naming its path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hepdl.config import ExperimentConfig, load_config
from hepdl.errors import ConfigError

PARAM_KINDS = ("float", "log", "int", "intlog", "choice")


@dataclass(frozen=True)
class GridAxis:
    """One key of a grid and the values it takes, e.g. ``task.lr`` over [1e-4, 1e-3]."""

    key: str
    values: list[Any]

    def choices(self) -> list[Any]:
        """The values as Optuna stores them (:func:`to_param`)."""
        return [to_param(v) for v in self.values]

    def value(self, param: Any) -> Any:
        """The value whose stored form is ``param``."""
        return from_param(param, self.values)


@dataclass(frozen=True)
class SearchParam:
    """One key searched by Optuna: a range (``float``, ``log``, ``int``, ``intlog``) or a
    list of ``choices``."""

    key: str
    kind: str
    low: float | None = None
    high: float | None = None
    choices: list[Any] = field(default_factory=list)

    def ends(self) -> list[Any]:
        """The values to validate the config with: both ends, or every choice."""
        if self.kind == "choice":
            return list(self.choices)
        cast = int if self.kind in ("int", "intlog") else float
        return [cast(self.low), cast(self.high)]

    def suggest(self, trial: Any) -> Any:
        """The value of this trial (``optuna.Trial.suggest_*``)."""
        if self.kind == "choice":
            choices = [to_param(v) for v in self.choices]
            return from_param(trial.suggest_categorical(self.key, choices), self.choices)
        log = self.kind in ("log", "intlog")
        if self.kind in ("int", "intlog"):
            return trial.suggest_int(self.key, int(self.low), int(self.high), log=log)
        return trial.suggest_float(self.key, float(self.low), float(self.high), log=log)


def split_top_level(text: str) -> list[str]:
    """Split on commas outside brackets: ``"[64,64],[128]"`` -> ["[64,64]", "[128]"]."""
    parts, depth, current = [], 0, []
    for character in text:
        depth += character in "[{"
        depth -= character in "]}"
        if character == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_value(text: str) -> Any:
    """A YAML value; numbers like ``1e-4`` (a string to PyYAML) become floats."""
    value = yaml.safe_load(text)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _key_and_rest(text: str, option: str, example: str) -> tuple[str, str]:
    key, _, rest = text.partition("=")
    key = key.strip()
    if not key or not rest.strip() or not re.fullmatch(r"[A-Za-z_][\w.]*", key):
        raise ConfigError(f"{option} {text!r}: expected KEY.PATH=..., e.g. {option} {example}")
    return key, rest.strip()


def parse_grid(text: str) -> GridAxis:
    """``"task.lr=1e-4,1e-3"`` -> GridAxis("task.lr", [0.0001, 0.001])."""
    key, rest = _key_and_rest(text, "--grid", "task.lr=1e-4,1e-3,1e-2")
    values = [parse_value(part) for part in split_top_level(rest)]
    if len({to_param(v) for v in values}) != len(values):
        raise ConfigError(f"--grid {text!r}: a value is repeated")
    return GridAxis(key, values)


def parse_param(text: str) -> SearchParam:
    """``"task.lr=log:1e-5:1e-1"``, ``"model.dropout=float:0:0.5"``,
    ``"model.hidden=choice:[64,64],[128,128]"`` -> a SearchParam."""
    example = "task.lr=log:1e-5:1e-1"
    key, rest = _key_and_rest(text, "--param", example)
    kind, _, spec = rest.partition(":")
    if kind not in PARAM_KINDS:
        raise ConfigError(
            f"--param {text!r}: unknown kind '{kind}'; expected one of {', '.join(PARAM_KINDS)}, "
            f"e.g. --param {example}"
        )
    if kind == "choice":
        choices = [parse_value(part) for part in split_top_level(spec)]
        if not choices:
            raise ConfigError(f"--param {text!r}: expected choice:A,B,...")
        return SearchParam(key, kind, choices=choices)
    bounds = spec.split(":")
    try:
        low, high = (float(b) for b in bounds)
    except ValueError:
        raise ConfigError(f"--param {text!r}: expected {kind}:LOW:HIGH with two numbers") from None
    if not low < high or (kind in ("log", "intlog") and low <= 0):
        raise ConfigError(
            f"--param {text!r}: expected LOW < HIGH" + (" and LOW > 0" if "log" in kind else "")
        )
    return SearchParam(key, kind, low=low, high=high)


def to_param(value: Any) -> str | int | float | bool | None:
    """A value Optuna can store as a categorical choice: lists become their YAML text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return yaml_text(value)


def from_param(param: Any, values: Sequence[Any]) -> Any:
    """The value of ``values`` whose :func:`to_param` is ``param``."""
    return next(v for v in values if to_param(v) == param)


def yaml_text(value: Any) -> str:
    """``value`` as YAML that reads back as the same value (``1e-05`` -> ``1.0e-05``)."""
    return yaml.safe_dump([value], default_flow_style=True).strip()[1:-1]


def short_text(value: Any) -> str:
    """A value for tables and folder names: floats with 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else yaml_text(value)


def override_texts(values: dict[str, Any]) -> list[str]:
    """``{"task.lr": 0.001}`` -> ["task.lr=0.001"] for :func:`hepdl.config.load_config`."""
    return [f"{key}={yaml_text(value)}" for key, value in values.items()]


def point_config(
    config_path: Path, *, overrides: Sequence[str], values: dict[str, Any], option: str
) -> ExperimentConfig:
    """The config of one point: the file, then ``overrides`` (``--set``), then ``values``.
    A mistake is a ConfigError that names the scan option and the point."""
    try:
        return load_config(config_path, overrides=[*overrides, *override_texts(values)])
    except ConfigError as err:
        point = ", ".join(f"{k}={yaml_text(v)}" for k, v in values.items())
        raise ConfigError(f"{option} ({point}): {err}") from None


def run_name(number: int, values: dict[str, Any]) -> str:
    """A trial's directory, ``0003_lr=0.001_train_size=1000``: the last part of each key."""
    parts = [f"{number:04d}"]
    for key, value in values.items():
        if isinstance(value, list):  # hidden=[64, 64] -> hidden=64x64
            text = "x".join(yaml_text(v) for v in value)
        else:
            text = short_text(value)
        parts.append(f"{key.rsplit('.', 1)[-1]}={text}")
    return re.sub(r"[^\w.=+-]+", "-", "_".join(parts))
