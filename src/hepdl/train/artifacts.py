"""What a finished run leaves behind, and loading it back.

run_dir/
  config.yaml          the resolved experiment config
  preprocessing.json   representation config, feature and class names, standardisation
  model.safetensors    the best weights (safetensors: loading runs no code)
  checkpoints/         Lightning checkpoints (best.ckpt, last.ckpt)
  logs/, tensorboard/  per-epoch metrics
  history.json, metrics.json, *.png
  test_rows.json       which rows were tested (files, count, a fingerprint of the rows)
  row_keys.npz         one 64-bit key per training and validation row, to recognise them
  FAILED               only in a run that failed before metrics.json: the error
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepdl.atomic import write_json
from hepdl.config import ExperimentConfig, ModelConfig, load_config
from hepdl.errors import ConfigError

FAILED_FILE = "FAILED"
# The run directories new_run_dir creates inside a created_run_dirs() block.
_CREATED: ContextVar[list[Path] | None] = ContextVar("hepdl_created_run_dirs", default=None)


@dataclass(frozen=True)
class Preprocessing:
    """preprocessing.json: how rows become inputs, and the task's target coding (its
    ``saved()`` entries: class names and signal class for a classifier, the target
    columns and their scaling under ``targets`` for a regressor)."""

    representation: dict[str, Any]
    feature_names: list[str]
    standardizer: dict[str, Any] | None
    class_names: list[str] = field(default_factory=list)
    signal_class: int | None = None
    targets: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    history: dict[str, list[float]]


def new_run_dir(config: ExperimentConfig) -> Path:
    """``<output_dir>/<name>-<YYYYmmdd-HHMMSS>``, with a suffix if that exists already."""
    root = Path(config.trainer.output_dir)
    stem = f"{config.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir, i = root / stem, 1
    while run_dir.exists():
        run_dir, i = root / f"{stem}-{i}", i + 1
    run_dir.mkdir(parents=True)
    created = _CREATED.get()
    if created is not None:
        created.append(run_dir)
    return run_dir


@contextmanager
def created_run_dirs() -> Iterator[list[Path]]:
    """The run directories :func:`new_run_dir` makes inside the block (in this thread or
    task), so a failed run can be marked even when its folder was named inside it."""
    created: list[Path] = []
    token = _CREATED.set(created)
    try:
        yield created
    finally:
        _CREATED.reset(token)


def mark_failed(run_dir: Path, error: BaseException) -> Path | None:
    """Write ``run_dir/FAILED`` (the error's type and message) unless the run finished
    (metrics.json is written last); returns the marker, None when nothing was marked."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or (run_dir / "metrics.json").is_file():
        return None
    reason = f"{type(error).__name__}: {error}".rstrip(": ")
    marker = run_dir / FAILED_FILE
    tmp = marker.with_name(f".{FAILED_FILE}.tmp")
    tmp.write_text(f"{reason}\n")
    os.replace(tmp, marker)
    return marker


def failure_of(run_dir: Path) -> str | None:
    """The error recorded in ``run_dir/FAILED``, or None for a run not marked failed."""
    marker = Path(run_dir) / FAILED_FILE
    if not marker.is_file():
        return None
    return marker.read_text().strip() or "failed (no error recorded)"


def model_hyperparameters(
    model: ModelConfig,
    *,
    representation: str,
    in_features: int | None,
    head: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> dict:
    """The options of the ``model`` section with the data-derived ones filled in: the
    input width where the model takes ``in_features``, and the task's ``head`` options
    (output units and activation) that the config leaves out. ``representation``: the
    representation's name, for the error when it gives no flat features."""
    from hepdl.models import model_options

    options = model.options()
    options = {**options, **head(options)}
    if "in_features" in model_options(model.name):
        if in_features is None:
            raise ConfigError(
                f"model '{model.name}' needs the input(s) ['features'], but "
                f"representation '{representation}' gives none; choose "
                "data.representation.name to match (sequence for RNNs, point_cloud for "
                "PFN/EFN/ParticleNet/ParT, substructure or columns for the MLP)"
            )
        options = {"in_features": in_features, **options}
    return options


def save_trained(run_dir: Path, model: Any, preprocessing: Preprocessing) -> None:
    from safetensors.torch import save_file

    from hepdl.train._compatibility import MODEL_KEY, registered_name

    tmp = run_dir / "model.safetensors.tmp"
    # The architecture's name in the file: loading into another model can name both.
    name = registered_name(model)
    metadata = {MODEL_KEY: name} if name else None
    save_file(
        {k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp), metadata=metadata
    )
    os.replace(tmp, run_dir / "model.safetensors")
    write_json(run_dir / "preprocessing.json", preprocessing.to_dict())


def load_trained(run_dir: Path) -> tuple[ExperimentConfig, Any, Preprocessing]:
    """The config, the model with its best weights (eval mode) and the preprocessing."""
    from hepdl.models import create_model
    from hepdl.train._compatibility import load_weights

    run_dir = Path(run_dir)
    for name in ("config.yaml", "preprocessing.json", "model.safetensors"):
        if not (run_dir / name).is_file():
            raise ConfigError(f"{run_dir}: not a finished hepdl run ({name} is missing)")
    from hepdl.tasks import task_class

    config = load_config(run_dir / "config.yaml")
    prep = Preprocessing(**json.loads((run_dir / "preprocessing.json").read_text()))
    coding = task_class(config.task.kind).targets_from_saved(config.task, prep.to_dict())
    hyper = model_hyperparameters(
        config.model,
        representation=str(prep.representation.get("name")),
        in_features=len(prep.feature_names),
        head=coding.head_options,
    )
    model = create_model(config.model.name, **hyper)
    load_weights(model, run_dir / "model.safetensors", model_name=config.model.name)
    model.eval()
    return config, model, prep


def run_task_kind(run_dir: Path) -> str:
    """The ``task.kind`` of a run directory's saved config (classify for older runs)."""
    import yaml

    path = Path(run_dir) / "config.yaml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the run's config ({err})") from None
    task = raw.get("task") if isinstance(raw, dict) else None
    return str(task.get("kind", "classify")) if isinstance(task, dict) else "classify"
