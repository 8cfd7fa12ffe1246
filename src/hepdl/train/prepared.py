"""The one in-memory data path: config -> rows, splits, inputs, targets and the model.

``hepdl train``, ``lr-find``, ``scan``, ``learning-curve`` and ``ensemble`` all prepare
their data here, so that the same config gives the same rows, the same split, the same
standardisation (fitted on the training rows only) and the same target coding whatever
the command. What differs between kinds of learning comes from the task class:
which truth it reads (``needs_labels``, ``sample_columns``), whether the split is
stratified, and how the truth is coded (``fit_targets``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepdl.config import ExperimentConfig


@dataclass
class PreparedData:
    """Everything a fit needs, for every row of the sample."""

    # hepdl.train.inputs.LabeledSample; with data.standardize its float32 features are the
    # standardised ones (scaled in place: ``inputs["features"]`` is the same array), and
    # row_identity.sample_row_keys gives the keys of its rows as read
    sample: Any
    train_idx: np.ndarray  # (n_train,) int64
    val_idx: np.ndarray
    test_idx: np.ndarray
    inputs: dict[str, Any]  # the arrays the model consumes, standardised, each (N, ...)
    scaler: Any  # the fitted Standardizer, or None
    coding: Any  # the task's TargetCoding, fitted on the training rows
    targets: np.ndarray  # (N,) labels or (N, T) coded targets
    model: Any  # the model, built for these inputs and this task's head (or None)

    def rows(self, index: np.ndarray) -> dict[str, Any]:
        """The model inputs of rows ``index`` (the trees of jets ``index`` for a tree)."""
        from hepdl.train._tree_batches import select_rows

        return select_rows(self.inputs, index)


def prepare_data(
    config: ExperimentConfig,
    *,
    progress: Any = None,
    build_model: bool = True,
    check_sample: Callable[[Any], None] | None = None,
) -> PreparedData:
    """Read (or generate) the sample of ``config``, split it, standardise the features on
    the training rows, code the task's targets and build the model (not for a
    scikit-learn baseline: ``build_model=False``, and ``inputs`` stay as represented).
    ``check_sample`` refuses a sample before anything is fitted (a baseline's flat inputs)."""
    from hepdl.data.scaling import Standardizer
    from hepdl.models.inputs import model_inputs
    from hepdl.tasks import task_class
    from hepdl.train.inputs import load_sample, split_rows
    from hepdl.train.interrupt import activity
    from hepdl.train.row_identity import require_as_read

    kind = task_class(config.task.kind)
    reading = "reading the data" if config.data.generate is None else "generating or reading data"
    with activity(reading):  # SIGTERM here: nothing of the run is written yet
        sample = load_sample(
            config.data,
            progress=progress,
            labels_needed=kind.needs_labels,
            columns=kind.sample_columns(config.task),
        )
    require_as_read(sample)  # not one an earlier call standardised in place
    if check_sample is not None:
        check_sample(sample)
    train_idx, val_idx, test_idx = split_rows(
        config.data,
        sample.labels,
        seed=config.seed,
        stratify=kind.needs_labels,
        given=sample.given_sizes,  # data.val_files / test_files: the split as shipped
        class_names=sample.class_names,
        source=sample.source,
    )
    inputs = dict(sample.inputs)
    scaler = None
    if config.data.standardize:  # fitted on the training split only
        scaler = Standardizer().fit(
            _fit_rows(inputs, train_idx, config.data.representation.name),
            feature_names=sample.feature_names,
        )
        inputs["features"] = _standardized(sample, scaler)
    # The task's view of the truth (labels, scaled targets), fitted on the training rows.
    coding = kind.fit_targets(config.task, sample, train_idx, config.data)
    targets = coding.encode(sample)  # (N,) or (N, T)
    model = None
    if build_model:
        model = build_task_model(config, coding, inputs)
        inputs = model_inputs(model, inputs)  # the arrays this architecture consumes
    return PreparedData(
        sample=sample,
        train_idx=train_idx,
        val_idx=val_idx,
        test_idx=test_idx,
        inputs=inputs,
        scaler=scaler,
        coding=coding,
        targets=targets,
        model=model,
    )


def _standardized(sample: Any, scaler: Any) -> np.ndarray:
    """``scaler``'s transform of the sample's features as float32, (N, F) or (T, F).

    Float32 features (every floating representation output: ``load_sample``) are
    standardised in place, so the rows are held once during training, not as a raw and a
    standardised copy (200k x 28: 21 MiB less). Their keys (row_keys.npz hashes the rows as
    read) are taken first, and the sample is marked: never scaled twice (``require_as_read``).
    Other features (integers, a read-only array) get a new array, as the sample's stay."""
    from hepdl.train.row_identity import keep_row_keys

    features = sample.inputs["features"]
    if features.dtype != np.float32 or not features.flags.writeable:
        return scaler.transform(features).astype(np.float32, copy=False)
    keep_row_keys(sample)
    return scaler.transform_in_place(features)


def build_task_model(config: ExperimentConfig, coding: Any, arrays: dict[str, Any]) -> Any:
    """The model of ``config`` for the representation's ``arrays`` (each (N, ...)): its
    input width from ``features``, its head from the task's ``coding``."""
    from hepdl.models import create_model
    from hepdl.train.artifacts import model_hyperparameters

    width = arrays["features"].shape[-1] if "features" in arrays else None
    hyper = model_hyperparameters(
        config.model,
        representation=config.data.representation.name,
        in_features=width,
        head=coding.head_options,
    )
    return create_model(config.model.name, **hyper)


def _fit_rows(inputs: dict[str, np.ndarray], index: np.ndarray, representation: str) -> Any:
    """What a Standardizer is fitted on: the flat features (n, F) of rows ``index``, or the
    node features (T', F) of the clustering trees of jets ``index``."""
    from hepdl.models.inputs import group_tree
    from hepdl.train._tree_batches import node_features

    grouped = group_tree(inputs)
    if "tree" in grouped:
        return node_features(grouped, index)
    _require_flat_features(inputs, representation)
    return inputs["features"][index]


def _require_flat_features(inputs: dict[str, np.ndarray], representation: str) -> None:
    from hepdl.errors import ConfigError

    if set(inputs) != {"features"} or inputs["features"].ndim != 2:
        shapes = {name: tuple(values.shape) for name, values in inputs.items()}
        raise ConfigError(
            f"data.standardize: true scales flat feature columns (N, F), but representation "
            f"'{representation}' gives {shapes}; set data.standardize: false (images, sequences "
            "and point clouds are normalised by the representation and the models)"
        )
