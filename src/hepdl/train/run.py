"""One experiment, end to end: config -> data -> model -> Lightning fit -> run directory."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.config import ExperimentConfig, save_config


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
    return run_dir


def train_experiment(
    config: ExperimentConfig, *, run_dir: Path | None = None, progress: Any = None
) -> TrainResult:
    """Train and evaluate ``config``; returns the run directory, test metrics and history."""
    from hepdl.models.classical import is_classical

    if is_classical(config.model.name):  # scikit-learn baselines: no Lightning
        from hepdl.train.classical import train_classical

        return train_classical(config, run_dir=run_dir, progress=progress)
    import lightning as L
    import torch

    from hepdl.data.scaling import Standardizer
    from hepdl.data.splits import split_indices
    from hepdl.models import create_model
    from hepdl.models.inputs import model_inputs
    from hepdl.tasks import ClassificationTask
    from hepdl.train.artifacts import Preprocessing, model_hyperparameters, save_trained
    from hepdl.train.evaluate import predict_probabilities, signal_scores, write_evaluation
    from hepdl.train.inputs import load_sample, signal_index
    from hepdl.train.loaders import tensor_loader
    from hepdl.train.trainer import build_trainer

    L.seed_everything(config.seed, workers=True, verbose=False)
    if config.data.streaming is not None:  # files larger than memory
        from hepdl.train.streamed import train_streaming

        run_dir = Path(run_dir) if run_dir else new_run_dir(config)
        run_dir.mkdir(parents=True, exist_ok=True)
        run_dir, metrics, history = train_streaming(
            config, run_dir=run_dir, signal_index=signal_index
        )
        return TrainResult(run_dir=run_dir, metrics=metrics, history=history)
    sample = load_sample(config.data, progress=progress)
    signal = signal_index(config.data, sample.class_names)
    split = config.data.split
    train_idx, val_idx, test_idx = split_indices(
        len(sample.labels),
        fractions=(split.train, split.val, split.test),
        seed=split.seed,
        stratify=sample.labels,
    )
    inputs = dict(sample.inputs)
    scaler = None
    if config.data.standardize:  # fitted on the training split only
        _require_flat_features(inputs, config.data.representation.name)
        scaler = Standardizer().fit(
            inputs["features"][train_idx], feature_names=sample.feature_names
        )
        inputs["features"] = scaler.transform(inputs["features"]).astype(np.float32)

    width = inputs["features"].shape[-1] if "features" in inputs else None
    hyper = model_hyperparameters(config, in_features=width, n_classes=len(sample.class_names))
    model = create_model(config.model.name, **hyper)
    inputs = model_inputs(model, inputs)  # the arrays this architecture consumes
    task = ClassificationTask(model, **config.task.model_dump(exclude={"kind"}))

    run_dir = Path(run_dir) if run_dir else new_run_dir(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")
    weights = _training_weights(config, sample, train_idx)  # (N,) or None
    batch = config.data.batch_size
    train_loader = tensor_loader(
        _rows(inputs, train_idx),
        sample.labels[train_idx],
        batch_size=batch,
        shuffle=True,
        seed=config.seed,
        weights=None if weights is None else weights[train_idx],
    )
    val_loader = tensor_loader(
        _rows(inputs, val_idx),
        sample.labels[val_idx],
        batch_size=batch,
        shuffle=False,
        weights=None if weights is None else weights[val_idx],
    )
    trainer, best = build_trainer(config.trainer, run_dir)
    trainer.fit(task, train_loader, val_loader)

    if best.best_model_path:  # the best epoch's weights, not the last epoch's
        state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
        task.load_state_dict(state["state_dict"])
    preprocessing = Preprocessing(
        representation=sample.representation,
        feature_names=sample.feature_names,
        class_names=sample.class_names,
        signal_class=signal,
        standardizer=scaler.to_dict() if scaler else None,
    )
    save_trained(run_dir, model, preprocessing)
    history = task.history
    (run_dir / "history.json").write_text(json.dumps(history, indent=2))

    def scores(idx: np.ndarray) -> np.ndarray:
        return signal_scores(predict_probabilities(model, _rows(inputs, idx)), signal_class=signal)

    metrics = write_evaluation(
        run_dir,
        labels=sample.labels[test_idx],
        scores=scores(test_idx),
        signal_class=signal,
        class_names=sample.class_names,
        signal_efficiencies=config.evaluate.signal_efficiencies,
        plots=config.evaluate.plots,
        train=(sample.labels[train_idx], scores(train_idx)),
        history=history,
        extra={
            "data": sample.source,
            "n_train": len(train_idx),
            "n_val": len(val_idx),
            "n_test": len(test_idx),
            "epochs": int(trainer.current_epoch),
            "best_epoch_score": float(best.best_model_score)
            if best.best_model_score is not None
            else None,
        },
    )
    return TrainResult(run_dir=run_dir, metrics=metrics, history=history)


def _rows(inputs: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    """The rows ``index`` of every named input."""
    return {name: values[index] for name, values in inputs.items()}


def _require_flat_features(inputs: dict[str, np.ndarray], representation: str) -> None:
    from hepdl.errors import ConfigError

    if set(inputs) != {"features"} or inputs["features"].ndim != 2:
        shapes = {name: tuple(values.shape) for name, values in inputs.items()}
        raise ConfigError(
            f"data.standardize: true scales flat feature columns (N, F), but representation "
            f"'{representation}' gives {shapes}; set data.standardize: false (images, sequences "
            "and point clouds are normalised by the representation and the models)"
        )


def _training_weights(config: ExperimentConfig, sample: Any, train_idx: np.ndarray) -> Any:
    """Per-row weights flattening ``data.reweight.column`` per class, fitted on the training
    split (and applied to every row); None without ``data.reweight``."""
    from hepdl.data.reweighting import fit_flatten
    from hepdl.errors import ConfigError

    options = config.data.reweight
    if options is None:
        return None
    match_to = None
    if options.match_to is not None:
        if options.match_to not in sample.class_names:
            raise ConfigError(
                f"data.reweight.match_to '{options.match_to}' is not one of the classes "
                f"{sample.class_names}"
            )
        match_to = sample.class_names.index(options.match_to)
    rule = fit_flatten(
        sample.weight_variable[train_idx],
        sample.labels[train_idx],
        options.bins,
        match_to=match_to,
        normalize=options.normalize,
        n_classes=len(sample.class_names),
        column=options.column,
    )
    return rule.weights(sample.weight_variable, sample.labels)
