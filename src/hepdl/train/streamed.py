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

from hepdl.atomic import write_json
from hepdl.config import ExperimentConfig
from hepdl.errors import ConfigError


class TaskBatches:
    """Adapts a ``StreamingLoader`` to the task's batches: ``(inputs, targets[, weights])``,
    inputs reduced to what the model reads and standardised where asked, targets coded by
    the task (``coding.encode``: the labels (B,) of a classifier, the standardised target
    columns (B, T) of a regressor)."""

    def __init__(
        self, loader: Any, names: list[str], scaler: Any = None, *, coding: Any, view: Any
    ) -> None:
        self.loader = loader
        self.names = names
        self.coding = coding
        self.view = view  # batch -> a LabeledSample of its rows, as the coding reads one
        self.shift = self.scale = None
        if scaler is not None:
            self.shift = torch.as_tensor(scaler.mean, dtype=torch.float32)
            self.scale = torch.as_tensor(scaler.std, dtype=torch.float32)

    def set_epoch(self, epoch: int) -> None:
        """Stream epoch ``epoch``'s order next (called at each epoch's start by
        hepdl.tasks.fit_state.set_loader_epoch, so a resumed run does not replay epoch 0's)."""
        self.loader.set_epoch(epoch)

    def inputs(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The model's inputs of one streamed batch, standardised where asked."""
        inputs = {name: batch[name] for name in self.names}
        if self.shift is not None:
            inputs["features"] = (inputs["features"] - self.shift) / self.scale
        return inputs

    def __iter__(self) -> Iterator[tuple]:
        for batch in self.loader:
            inputs = self.inputs(batch)
            targets = torch.from_numpy(self.coding.encode(self.view(batch)))
            if "weight" in batch:
                yield inputs, targets, batch["weight"]
            else:
                yield inputs, targets


def _dataset(
    config: ExperimentConfig, files: list[str], rep: Any, *, training: bool = False, **options: Any
) -> Any:
    from hepdl.data.cache import RepresentationCache
    from hepdl.data.streaming import StreamingDataset
    from hepdl.data.table_options import TableShape
    from hepdl.tasks import task_class

    data, stream = config.data, config.data.streaming
    labelled = task_class(config.task.kind).needs_labels
    return StreamingDataset(
        files,
        rep,
        label_column=data.label_column if labelled else None,
        classes=data.classes,
        batch_size=data.batch_size,
        chunk_rows=stream.chunk_rows,
        buffer_chunks=stream.buffer_chunks,
        seed=config.seed,
        cache=RepresentationCache() if stream.cache else None,
        tree=data.tree,
        key=data.key,
        fmt=data.format,
        shape=TableShape.of(data),  # data.particle_layout, jet_clustering, event_check
        column_names=data.column_names,  # a CSV file without a header line
        max_classes=data.max_classes,
        labels_file=data.labels_file,
        # The user's event weights weigh the training loss only, as in memory.
        weights_file=data.weights_file if training else None,
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
    from hepdl.data.reweighting import fit_reweighting
    from hepdl.data.scaling import Standardizer

    data = config.data
    head = _dataset(config, data.files, rep, shuffle=False, extra_columns=_extra_columns(config))
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
        rule = fit_reweighting(
            data.reweight, rows[data.reweight.column], rows["label"], head.class_names
        )
    return scaler, rule, rows


def train_streaming(
    config: ExperimentConfig,
    *,
    run_dir: Path,
    ckpt_path: Path | None = None,
) -> tuple[Path, dict[str, Any], dict[str, list[float]]]:
    """Train and evaluate ``config`` from streams; returns (run_dir, metrics, history).
    ``ckpt_path``: continue a killed run from this checkpoint (hepdl.train.resume)."""
    import time

    from hepdl.data import create_representation
    from hepdl.data.streaming import StreamingLoader
    from hepdl.models.inputs import model_inputs
    from hepdl.tasks import create_task, task_class
    from hepdl.train._fit import fit_in_run_dir, load_evaluated_weights
    from hepdl.train._timing import run_costs
    from hepdl.train.artifacts import Preprocessing, save_trained
    from hepdl.train.predict import predict_probabilities
    from hepdl.train.prepared import build_task_model

    data, stream = config.data, config.data.streaming
    kind = task_class(config.task.kind)
    rep = create_representation(data.representation.name, **data.representation.options())
    scaler, rule, head = _fit_preprocessing(config, rep)
    extra = _extra_columns(config)
    train_set = _dataset(config, data.files, rep, training=True, extra_columns=extra, weights=rule)
    class_names = list(train_set.class_names)

    wanted = list(kind.sample_columns(config.task))  # once, not per batch
    source = ", ".join(data.files)

    def view(batch: dict[str, Any]) -> Any:  # the rows of one batch (or of many), as a sample
        return _rows_sample(batch, wanted, class_names, source=source)

    # The task's target coding, fitted on the first fit_rows training rows.
    first = view(head)
    coding = kind.fit_targets(config.task, first, np.arange(len(first.labels)), data)
    model = build_task_model(config, coding, head)
    names = list(model_inputs(model, head))
    task = create_task(config.task, model, **coding.task_options(config.evaluate))

    workers = {"num_workers": stream.workers, "persistent_workers": stream.workers > 0}
    adapt = {"coding": coding, "view": view}
    train_batches = TaskBatches(StreamingLoader(train_set, **workers), names, scaler, **adapt)
    val_set = _dataset(config, stream.val_files, rep, shuffle=False, extra_columns=extra,
                       weights=rule)  # fmt: skip
    val_batches = TaskBatches(StreamingLoader(val_set, **workers), names, scaler, **adapt)
    test_set = _dataset(config, stream.test_files, rep, shuffle=False, extra_columns=extra)
    _check_evaluation_rows(config, {"validation": val_set, "test": test_set})
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
            standardizer=scaler.to_dict() if scaler else None,
            **coding.saved(),
        ),
    )
    history = task.history
    write_json(run_dir / "history.json", history)

    started = time.perf_counter()  # streamed: the rate includes reading the test files
    rows: dict[str, list[np.ndarray]] = {}
    outputs = []
    for batch in StreamingLoader(test_set):
        inputs = train_batches.inputs(batch)
        outputs.append(predict_probabilities(model, {k: v.numpy() for k, v in inputs.items()}))
        for name in ("label", *extra):
            rows.setdefault(name, []).append(batch[name].numpy())
    test_outputs = np.concatenate(outputs)  # (n_test, K)
    jets_per_second = len(test_outputs) / max(time.perf_counter() - started, 1e-9)
    test_sample = _rows_sample(
        {name: np.concatenate(values) for name, values in rows.items()},
        wanted,
        class_names,
        source=", ".join(stream.test_files),
    )
    train_outputs = predict_probabilities(model, _standardized(head, names, scaler))
    n_test = len(test_outputs)
    from hepdl.data.splits import tested_rows_record
    from hepdl.train.final_evaluation import write_test_evaluation

    metrics = write_test_evaluation(
        run_dir,
        task=task,
        coding=coding,
        outputs=test_outputs,
        sample=test_sample,
        rows=np.arange(n_test),
        evaluate=config.evaluate,
        # the first fit_rows training rows, for the overtraining check
        train=(train_outputs, first, np.arange(len(first.labels))),
        history=history,
        extra={
            "data": ", ".join(data.files),
            "test_rows": tested_rows_record(stream.test_files, np.arange(n_test)),  # for compare
            "streamed": True,
            "n_test": n_test,
            "epochs": int(trainer.current_epoch),
            "batchnorm_recalibration_batches": recalibrated,
            **run_costs(model, epoch_timer, jets_per_second),
        },
    )
    if trainer.world_size > 1:
        from hepdl.train.distributed import release_other_ranks

        release_other_ranks(trainer)
    return run_dir, metrics, history


def _check_evaluation_rows(config: ExperimentConfig, streams: dict[str, Any]) -> None:
    """DataError before training when a streamed validation or test set has fewer rows
    than data.split.min_rows (counted from the files' metadata, nothing read)."""
    from hepdl.data.splits import check_evaluation_splits

    for split, dataset in streams.items():
        check_evaluation_splits(
            {split: np.arange(dataset.n_rows)},
            np.zeros(dataset.n_rows, dtype=np.int64),
            min_rows=config.data.split.min_rows,
            source=", ".join(sorted({c.source.path for c in dataset.chunks})),
            advice=": give more rows in data.streaming.val_files / test_files, or lower "
            "data.split.min_rows",
        )


def _extra_columns(config: ExperimentConfig) -> list[str]:
    """The flat columns streamed beside the representation: the task's (targets) and the
    reweighting variable."""
    from hepdl.tasks import task_class

    columns = list(task_class(config.task.kind).sample_columns(config.task))
    if config.data.reweight is not None:
        columns.append(config.data.reweight.column)
    return list(dict.fromkeys(columns))


def _rows_sample(
    rows: dict[str, Any], wanted: list[str], class_names: list[str], *, source: str
) -> Any:
    """Streamed rows (a batch, or many concatenated; tensors or arrays) as the
    ``LabeledSample`` a task's coding reads: labels and the task's columns ``wanted``."""
    from hepdl.train.inputs import LabeledSample

    def array(values: Any) -> np.ndarray:
        return values.numpy() if isinstance(values, torch.Tensor) else np.asarray(values)

    return LabeledSample(
        inputs={},
        features=None,
        labels=array(rows["label"]),
        class_names=class_names,
        feature_names=[],
        representation={},
        source=source,
        columns={name: array(rows[name]).astype(np.float64) for name in wanted},
    )


def _standardized(rows: dict[str, np.ndarray], names: list[str], scaler: Any) -> dict:
    inputs = {name: rows[name] for name in names}
    if scaler is not None:
        inputs["features"] = scaler.transform(inputs["features"]).astype(np.float32)
    return inputs
