"""Training on files larger than memory: the same study as ``run.py``, fed by streams.

With ``data.streaming`` the training rows are ``data.files``, streamed chunk by chunk
(``hepdl.data.streaming``), shuffled across files with a bounded buffer, their
representation cached on disk; validation and test rows come from the streaming
section's own ``val_files`` and ``test_files`` (big datasets ship split, like JetClass).
The standardisation and the reweighting are fitted on the first ``fit_rows`` training
rows, in file order, the only place that reads rows outside the stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepdl.config import ExperimentConfig
from hepdl.errors import ConfigError


class TaskBatches:
    """Adapts a ``StreamingLoader`` to the task's batches: ``(inputs, labels[, weights])``,
    inputs reduced to what the model reads and standardised where asked."""

    def __init__(self, loader: Any, names: list[str], scaler: Any = None) -> None:
        self.loader = loader
        self.names = names
        self.shift = self.scale = None
        if scaler is not None:
            self.shift = torch.as_tensor(scaler.mean, dtype=torch.float32)
            self.scale = torch.as_tensor(scaler.std, dtype=torch.float32)

    def set_epoch(self, epoch: int) -> None:
        """Stream epoch ``epoch``'s order next (called at each epoch's start by
        hepdl.train.resume.set_loader_epoch, so a resumed run does not replay epoch 0's)."""
        self.loader.set_epoch(epoch)

    def __iter__(self) -> Iterator[tuple]:
        for batch in self.loader:
            inputs = {name: batch[name] for name in self.names}
            if self.shift is not None:
                inputs["features"] = (inputs["features"] - self.shift) / self.scale
            if "weight" in batch:
                yield inputs, batch["label"], batch["weight"]
            else:
                yield inputs, batch["label"]


def _dataset(config: ExperimentConfig, files: list[str], rep: Any, **options: Any) -> Any:
    from hepdl.data.cache import RepresentationCache
    from hepdl.data.streaming import StreamingDataset

    data, stream = config.data, config.data.streaming
    return StreamingDataset(
        files,
        rep,
        label_column=data.label_column,
        classes=data.classes,
        batch_size=data.batch_size,
        chunk_rows=stream.chunk_rows,
        buffer_chunks=stream.buffer_chunks,
        seed=config.seed,
        cache=RepresentationCache() if stream.cache else None,
        tree=data.tree,
        key=data.key,
        fmt=data.format,
        **options,
    )


def _first_rows(dataset: Any, n: int) -> dict[str, np.ndarray]:
    """The arrays of the first ``n`` rows of an unshuffled stream, concatenated."""
    pieces: dict[str, list[np.ndarray]] = {}
    held = 0
    for batch in dataset:
        for name, tensor in batch.items():
            pieces.setdefault(name, []).append(tensor.numpy())
        held += len(batch["label"])
        if held >= n:
            break
    return {name: np.concatenate(values)[:n] for name, values in pieces.items()}


def _fit_preprocessing(config: ExperimentConfig, rep: Any) -> tuple[Any, Any, dict]:
    """(standardizer or None, weight rule or None, first rows) from the first training rows."""
    from hepdl.data.reweighting import fit_flatten
    from hepdl.data.scaling import Standardizer

    data = config.data
    extra = [data.reweight.column] if data.reweight else []
    head = _dataset(config, data.files, rep, shuffle=False, extra_columns=extra)
    rows = _first_rows(head, data.streaming.fit_rows)
    scaler = None
    if data.standardize:
        features = rows.get("features")
        if features is None or features.ndim != 2:
            raise ConfigError(
                f"data.standardize: true scales flat feature columns (N, F), but representation "
                f"'{data.representation.name}' gives {sorted(rows)}; set data.standardize: false"
            )
        scaler = Standardizer().fit(features, feature_names=rep.feature_names)
    rule = None
    if data.reweight is not None:
        names = head.class_names
        match_to = None
        if data.reweight.match_to is not None:
            if data.reweight.match_to not in names:
                raise ConfigError(
                    f"data.reweight.match_to '{data.reweight.match_to}' is not one of the "
                    f"classes {names}"
                )
            match_to = names.index(data.reweight.match_to)
        rule = fit_flatten(
            rows[data.reweight.column],
            rows["label"],
            data.reweight.bins,
            match_to=match_to,
            normalize=data.reweight.normalize,
            n_classes=len(names),
            column=data.reweight.column,
        )
    return scaler, rule, rows


def train_streaming(
    config: ExperimentConfig,
    *,
    run_dir: Path,
    signal_index: Any,
    ckpt_path: Path | None = None,
) -> tuple[Path, dict[str, Any], dict[str, list[float]]]:
    """Train and evaluate ``config`` from streams; returns (run_dir, metrics, history).
    ``ckpt_path``: continue a killed run from this checkpoint (hepdl.train.resume)."""
    import time

    from hepdl.data import create_representation
    from hepdl.data.streaming import StreamingLoader
    from hepdl.models import create_model
    from hepdl.models.inputs import model_inputs
    from hepdl.tasks import create_task
    from hepdl.tasks.classify import ClassTargets
    from hepdl.train._fit import fit_in_run_dir, load_evaluated_weights
    from hepdl.train._timing import run_costs
    from hepdl.train.artifacts import (
        Preprocessing,
        model_hyperparameters,
        save_trained,
        write_json,
    )
    from hepdl.train.evaluate import predict_probabilities, signal_scores, write_evaluation

    data, stream = config.data, config.data.streaming
    rep = create_representation(data.representation.name, **data.representation.options())
    scaler, rule, head = _fit_preprocessing(config, rep)
    extra = [data.reweight.column] if data.reweight else []
    train_set = _dataset(config, data.files, rep, extra_columns=extra, weights=rule)
    class_names = list(train_set.class_names)
    signal = signal_index(data, class_names)
    coding = ClassTargets(class_names=class_names, signal_class=signal, loss=config.task.loss)
    width = head["features"].shape[-1] if "features" in head else None
    hyper = model_hyperparameters(config, in_features=width, head=coding.head_options)
    model = create_model(config.model.name, **hyper)
    names = list(model_inputs(model, head))
    task = create_task(config.task, model, **coding.task_options(config.evaluate))

    workers = {"num_workers": stream.workers, "persistent_workers": stream.workers > 0}
    train_batches = TaskBatches(StreamingLoader(train_set, **workers), names, scaler)
    val_set = _dataset(config, stream.val_files, rep, shuffle=False, extra_columns=extra,
                       weights=rule)  # fmt: skip
    val_batches = TaskBatches(StreamingLoader(val_set, **workers), names, scaler)
    if ckpt_path is not None:  # resumed: stream the next epoch's order, not epoch 0's
        from hepdl.train.resume import next_epoch

        train_batches.set_epoch(next_epoch(ckpt_path))
    trainer, best, epoch_timer = fit_in_run_dir(
        config, task, train_batches, val_batches, run_dir=run_dir, ckpt_path=ckpt_path,
        in_memory=False,
    )  # fmt: skip
    if not trainer.is_global_zero:  # rank 0 evaluates once and writes; the others wait
        from hepdl.train.distributed import wait_for_rank_zero

        return (run_dir, *wait_for_rank_zero(trainer, run_dir))
    recalibrated = load_evaluated_weights(task, best, train_batches, config)
    save_trained(
        run_dir,
        model,
        Preprocessing(
            representation=rep.config(),
            feature_names=list(rep.feature_names),
            class_names=class_names,
            signal_class=signal,
            standardizer=scaler.to_dict() if scaler else None,
        ),
    )
    history = task.history
    write_json(run_dir / "history.json", history)

    def scores_of(files: list[str]) -> tuple[np.ndarray, np.ndarray]:
        test_set = _dataset(config, files, rep, shuffle=False)
        labels, scores = [], []
        for inputs, y in TaskBatches(StreamingLoader(test_set), names, scaler):
            prob = predict_probabilities(model, {k: v.numpy() for k, v in inputs.items()})
            scores.append(signal_scores(prob, signal_class=signal))
            labels.append(y.numpy())
        return np.concatenate(labels), np.concatenate(scores)

    started = time.perf_counter()  # streamed: the rate includes reading the test files
    test_labels, test_scores = scores_of(stream.test_files)
    jets_per_second = len(test_labels) / max(time.perf_counter() - started, 1e-9)
    train_scores = signal_scores(
        predict_probabilities(model, _standardized(head, names, scaler)), signal_class=signal
    )
    metrics = write_evaluation(
        run_dir,
        labels=test_labels,
        scores=test_scores,
        signal_class=signal,
        class_names=class_names,
        signal_efficiencies=config.evaluate.signal_efficiencies,
        plots=config.evaluate.plots,
        train=(head["label"], train_scores),  # the first fit_rows training rows
        history=history,
        extra={
            "data": ", ".join(data.files),
            "streamed": True,
            "n_test": len(test_labels),
            "epochs": int(trainer.current_epoch),
            "batchnorm_recalibration_batches": recalibrated,
            **run_costs(model, epoch_timer, jets_per_second),
        },
    )
    if trainer.world_size > 1:
        from hepdl.train.distributed import release_other_ranks

        release_other_ranks(trainer)
    return run_dir, metrics, history


def _standardized(rows: dict[str, np.ndarray], names: list[str], scaler: Any) -> dict:
    inputs = {name: rows[name] for name in names}
    if scaler is not None:
        inputs["features"] = scaler.transform(inputs["features"]).astype(np.float32)
    return inputs
