"""What a finished run leaves behind, and loading it back.

run_dir/
  config.yaml          the resolved experiment config
  preprocessing.json   representation config, feature and class names, standardisation
  model.safetensors    the best weights (safetensors: loading runs no code)
  checkpoints/         Lightning checkpoints (best.ckpt, last.ckpt)
  logs/, tensorboard/  per-epoch metrics
  history.json, metrics.json, *.png
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hepdl.config import ExperimentConfig, load_config
from hepdl.errors import ConfigError


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically: a temporary name, renamed when complete."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


@dataclass(frozen=True)
class Preprocessing:
    representation: dict[str, Any]
    feature_names: list[str]
    class_names: list[str]
    signal_class: int
    standardizer: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def model_hyperparameters(
    config: ExperimentConfig, *, in_features: int | None, n_classes: int
) -> dict:
    """The model's options with the data-derived ones filled in (input width where the
    model takes ``in_features``, output units)."""
    from hepdl.models._registry import MODELS, _load_all

    _load_all()
    options = config.model.options()
    if "output" not in options:
        options["output"] = "softmax" if config.task.loss == "cce" else "sigmoid"
    if "out_features" not in options:
        options["out_features"] = 1 if options["output"] == "sigmoid" else n_classes
    if options["output"] == "sigmoid" and n_classes > 2:
        raise ConfigError(
            f"model.output 'sigmoid' separates two classes, but the data has {n_classes}; "
            "use task.loss: cce (softmax output)"
        )
    if "in_features" in MODELS.options(config.model.name):
        if in_features is None:
            raise ConfigError(
                f"model '{config.model.name}' needs the input(s) ['features'], but "
                f"representation '{config.data.representation.name}' gives none; choose "
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
    config = load_config(run_dir / "config.yaml")
    prep = Preprocessing(**json.loads((run_dir / "preprocessing.json").read_text()))
    hyper = model_hyperparameters(
        config, in_features=len(prep.feature_names), n_classes=len(prep.class_names)
    )
    model = create_model(config.model.name, **hyper)
    load_weights(model, run_dir / "model.safetensors", model_name=config.model.name)
    model.eval()
    return config, model, prep
