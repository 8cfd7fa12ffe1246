"""Classical baselines end to end: config -> data -> scikit-learn fit -> run directory.

The data path is the neural one (``train_experiment``): the same ``load_sample``, the same
stratified split (``split_rows``) with the same seeds, the same ``Standardizer`` fitted on the
training split only; and the same ``write_evaluation`` metrics and plots on the test split.
So a BDT and a DNN trained from configs that differ only in ``model`` see identical rows.

The fitted estimator is saved with skops (``model.skops``), not pickle: loading audits
every type in the file and refuses any outside scikit-learn's plain estimators and the
few tree/calibration types each baseline is known to contain (DESIGN: never unpickle a
file a user was handed).

run_dir/
  config.yaml, preprocessing.json    as for a neural run
  model.skops                        the fitted estimator
  history.json, metrics.json, *.png  loss/accuracy per boosting stage (one point otherwise)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.atomic import write_json
from hepdl.config import ExperimentConfig, save_config
from hepdl.errors import ConfigError, DataError
from hepdl.train.artifacts import TrainResult

MODEL_FILE = "model.skops"

# Types beyond skops' default trust (numpy, plain sklearn estimators) that each baseline's
# fitted estimator holds; a file holding anything else is refused on load.
_TRUSTED_TYPES: dict[str, list[str]] = {
    "logistic_regression": [],
    "svm": [
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
    ],
    "random_forest": ["sklearn.tree._tree.Tree"],
    "bdt": ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"],
    "least_squares": [],
    "binned_calibration": ["hepdl.models.binned_calibration.BinnedCalibration"],
}


def train_classical(
    config: ExperimentConfig, *, run_dir: Path | None = None, progress: Any = None
) -> TrainResult:
    """Fit the classical baseline ``config.model`` on the training split; evaluate on test.

    ``task`` (loss, optimiser) and ``trainer`` (epochs, devices) do not apply to a
    scikit-learn fit; only ``trainer.output_dir`` is used. ``progress`` reports generation,
    as in ``train_experiment``.
    """
    from hepdl.data.validation import check_finite
    from hepdl.models.classical import create_classical, stops_early
    from hepdl.tasks import task_class
    from hepdl.train._timing import timed_scores
    from hepdl.train.artifacts import Preprocessing, new_run_dir
    from hepdl.train.inputs import tested_rows
    from hepdl.train.prepared import prepare_data

    name, kind = config.model.name, config.task.kind
    estimator = create_classical(
        name,
        seed=config.seed,
        task=kind,
        loss=getattr(config.task, "loss", None),
        **config.model.options(),
    )

    def flat_and_finite(sample: Any) -> None:
        features = _flat_features(sample.inputs, name, config.data.representation.name)
        check_finite(features, feature_names=sample.feature_names, source=sample.source)

    data = prepare_data(config, progress=progress, build_model=False, check_sample=flat_and_finite)
    sample, coding = data.sample, data.coding
    features = data.inputs["features"]  # (N, F), standardised on the training rows
    labelled = task_class(kind).needs_labels  # a classifier's labels, or targets to regress
    targets = data.targets if labelled else _fit_targets(data.targets)
    train_idx, val_idx, test_idx = data.train_idx, data.val_idx, data.test_idx
    if "feature_names" in estimator.get_params():  # a baseline that picks inputs by name
        estimator.set_params(feature_names=list(sample.feature_names))
    if not labelled and targets.ndim == 2:
        from sklearn.multioutput import MultiOutputRegressor
        from sklearn.utils import get_tags

        if not get_tags(estimator).target_tags.multi_output:  # one regressor per target
            estimator = MultiOutputRegressor(estimator)
    weighted = {}  # data.weights_file: per-row weights, as scikit-learn's sample_weight
    if sample.row_weights is not None:
        weighted["sample_weight"] = sample.row_weights[train_idx]
    fit_started = time.perf_counter()  # the fit time, reported as such (not per epoch)
    estimator.fit(features[train_idx], targets[train_idx], **weighted)
    train_pair = (features[train_idx], targets[train_idx])
    val_pair = (features[val_idx], targets[val_idx])
    if labelled:
        n_classes = len(sample.class_names)
        _check_classes(estimator, n_classes, source=sample.source)
        history = _history(estimator, train=train_pair, val=val_pair, n_classes=n_classes)
    else:
        history = _regression_history(estimator, train=train_pair, val=val_pair)
    selection = _keep_best_stages(
        estimator,
        history["val_loss"],
        on=stops_early(name, config.model.options()),
        refit=lambda: estimator.fit(features[train_idx], targets[train_idx], **weighted),
    )
    fit_seconds = time.perf_counter() - fit_started  # with the staged validation and refit

    run_dir = Path(run_dir) if run_dir else new_run_dir(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")
    _save_estimator(estimator, run_dir / MODEL_FILE)
    preprocessing = Preprocessing(
        representation=sample.representation,
        feature_names=sample.feature_names,
        standardizer=data.scaler.to_dict() if data.scaler else None,
        **coding.saved(),
    )
    write_json(run_dir / "preprocessing.json", preprocessing.to_dict())
    write_json(run_dir / "history.json", history)
    # Keys of the rows tested (hepdl compare) and trained on (hepdl evaluate warns on them).
    from hepdl.train.row_identity import write_row_keys

    write_row_keys(run_dir, sample, train=train_idx, val=val_idx, test=test_idx)

    def outputs(idx: np.ndarray) -> np.ndarray:
        return classical_outputs(estimator, features[idx])

    test_outputs, jets_per_second = timed_scores(outputs, test_idx)
    metrics = coding.write_evaluation(
        run_dir,
        outputs=test_outputs,
        sample=sample,
        rows=test_idx,
        evaluate=config.evaluate,
        train=(outputs(train_idx), sample, train_idx),
        history=None,  # drawn below, marking the stages kept rather than a best epoch
        extra={
            "data": sample.source,
            "test_rows": tested_rows(sample, test_idx),  # which rows, for hepdl compare
            "n_train": len(train_idx),
            "n_val": len(val_idx),
            "n_test": len(test_idx),
            # Boosting stages fitted for the BDT, one fit otherwise; the score is the
            # validation loss of the model kept.
            "epochs": len(history["val_loss"]),
            "best_epoch_score": history["val_loss"][selection["stages_kept"] - 1],
            **selection,
            "batchnorm_recalibration_batches": 0,  # no BatchNorm in a scikit-learn model
            "n_parameters": classical_size(estimator),
            # One fit, not an epoch: hepdl compare shows it in its own "fit s" column.
            "fit_seconds": fit_seconds,
            "inference_jets_per_second": jets_per_second,
        },
    )
    if config.evaluate.plots:
        _plot_history(history, selection, run_dir / "history.png")
    return TrainResult(run_dir=run_dir, metrics=metrics, history=history)


def _keep_best_stages(
    estimator: Any, val_loss: list[float], *, on: bool, refit: Any
) -> dict[str, Any]:
    """With ``on`` and a staged estimator (the BDT), keep the stages up to the lowest
    validation loss: refit with ``max_iter`` = that many trees (the same trees: without
    scikit-learn's own early stopping the fit is deterministic stage by stage). Returns
    metrics.json's ``early_stopping`` ("validation loss", "off" or "not staged") and
    ``stages_kept``."""
    staged = len(val_loss) > 1
    if not staged:
        return {"early_stopping": "not staged", "stages_kept": 1}
    if not on:
        return {"early_stopping": "off", "stages_kept": len(val_loss)}
    losses = np.asarray(val_loss, dtype=np.float64)  # (M,)
    kept = int(np.nanargmin(np.where(np.isfinite(losses), losses, np.nan))) + 1
    if kept < len(val_loss):
        estimator.set_params(max_iter=kept)
        refit()
    return {"early_stopping": "validation loss", "stages_kept": kept}


def _plot_history(history: dict[str, list[float]], selection: dict[str, Any], path: Path) -> None:
    """history.png: per boosting stage for the BDT, with the trees kept marked (or a note
    that all are kept); a single fit is one point, without a mark."""
    from hepdl.plots import plot_training_history

    stopping, kept = selection["early_stopping"], selection["stages_kept"]
    if stopping == "validation loss":
        options = {"kept_epoch": kept, "kept_label": f"Trees kept: {kept} (lowest validation loss)"}
    elif stopping == "off":
        options = {"kept_epoch": None, "note": f"early stopping off: all {kept} trees kept"}
    else:
        options = {"kept_epoch": None, "note": "one fit (no stages)"}
    staged = stopping != "not staged"
    xlabel = "Boosting iteration (trees)" if staged else "Fit"
    plot_training_history(history, path=path, xlabel=xlabel, **options)


def _fit_targets(targets: np.ndarray) -> np.ndarray:
    """Regression targets (N, T) as scikit-learn fits them: (N,) for one target."""
    return targets[:, 0] if targets.shape[1] == 1 else targets


def classical_outputs(estimator: Any, features: np.ndarray) -> np.ndarray:
    """What the task's coding reads, as a network's outputs: class probabilities (N, K)
    of a classifier, the standardised targets (N, T) of a regressor."""
    if hasattr(estimator, "predict_proba"):
        return np.asarray(estimator.predict_proba(features), dtype=np.float64)
    predicted = np.asarray(estimator.predict(features), dtype=np.float64)
    return predicted[:, None] if predicted.ndim == 1 else predicted


def classical_scores(estimator: Any, features: np.ndarray, *, signal_class: int) -> np.ndarray:
    """Discriminant (N,): P(signal | x) of a fitted estimator on features (N, F)."""
    return classical_outputs(estimator, features)[:, signal_class]


def classical_size(estimator: Any) -> int | None:
    """The numbers a fitted baseline stores to predict, its analogue of a parameter count:
    logistic regression: coefficients + intercept; SVM: support vectors x features + dual
    coefficients + intercept + the 2 Platt constants; random forest and BDT: tree nodes
    (each a split feature and threshold, or a leaf value) summed over all trees. None for
    an estimator of another kind."""
    if hasattr(estimator, "calibrated_classifiers_"):  # the SVM: SVC inside Platt scaling
        svc = estimator.calibrated_classifiers_[0].estimator
        fitted = (svc.support_vectors_, svc.dual_coef_, svc.intercept_)
        return int(sum(a.size for a in fitted)) + 2
    if hasattr(estimator, "coef_"):
        return int(np.size(estimator.coef_) + np.size(estimator.intercept_))
    if hasattr(estimator, "estimators_"):  # random forest, or one regressor per target
        members = list(estimator.estimators_)
        if all(hasattr(member, "tree_") for member in members):
            return int(sum(tree.tree_.node_count for tree in members))
        sizes = [classical_size(member) for member in members]
        return None if None in sizes else int(sum(sizes))
    if hasattr(estimator, "_predictors"):  # HistGradientBoosting: one predictor per class
        return int(sum(len(p.nodes) for stage in estimator._predictors for p in stage))
    return None


def is_classical_run(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a classical baseline (``model.skops``) rather than a network."""
    return (Path(run_dir) / MODEL_FILE).is_file()


def load_classical(run_dir: Path) -> tuple[ExperimentConfig, Any, Any]:
    """The config, the fitted estimator and the ``Preprocessing`` of a classical run."""
    from hepdl.models.classical import check_classical_options
    from hepdl.train.artifacts import load_estimator, read_preprocessing

    run_dir = Path(run_dir)
    for name in ("config.yaml", "preprocessing.json", MODEL_FILE):
        if not (run_dir / name).is_file():
            raise ConfigError(f"{run_dir}: not a finished hepdl classical run ({name} is missing)")
    config = _saved_config(run_dir / "config.yaml")
    check_classical_options(config.model.name, config.model.options())
    estimator = load_estimator(run_dir / MODEL_FILE, model_name=config.model.name)
    prep = read_preprocessing(run_dir / "preprocessing.json")
    return config, estimator, prep


def _saved_config(path: Path) -> ExperimentConfig:
    """The run's resolved config. Validated here rather than by ``load_config``, whose
    model-option check knows only the neural registry."""
    import yaml
    from pydantic import ValidationError

    try:
        return ExperimentConfig.model_validate(yaml.safe_load(path.read_text()))
    except (ValidationError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: not a valid hepdl run config ({err})") from None


def _save_estimator(estimator: Any, path: Path) -> None:
    """skops file written to a temporary name and renamed when complete."""
    import skops.io as sio

    tmp = path.with_name(path.name + ".tmp")
    sio.dump(estimator, tmp)
    os.replace(tmp, path)


def _flat_features(inputs: dict[str, np.ndarray], model: str, representation: str) -> np.ndarray:
    features = inputs.get("features")
    if set(inputs) != {"features"} or features is None or features.ndim != 2:
        shapes = {key: tuple(values.shape) for key, values in inputs.items()}
        raise ConfigError(
            f"model '{model}' is a classical baseline on flat features (N, F), but "
            f"data.representation '{representation}' gives {shapes}; use substructure or columns"
        )
    return features


def _check_classes(estimator: Any, n_classes: int, *, source: str) -> None:
    # predict_proba's columns follow estimator.classes_; signal_class indexes class order.
    seen = [int(c) for c in estimator.classes_]
    if seen != list(range(n_classes)):
        raise DataError(
            f"{source}: the training split holds classes {seen}, expected all of "
            f"{list(range(n_classes))}; give more jets of each class"
        )


def _history(
    estimator: Any,
    *,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    n_classes: int,
) -> dict[str, list[float]]:
    """train/val loss (cross-entropy, -mean log p(true class)) and accuracy (argmax) per
    boosting stage for staged estimators (the BDT), a single point otherwise."""
    from sklearn.metrics import log_loss

    history: dict[str, list[float]] = {}
    for stage, (x, y) in (("train", train), ("val", val)):
        for prob in _staged_probabilities(estimator, x):  # (N, K) per stage
            loss = log_loss(y, prob, labels=list(range(n_classes)))
            history.setdefault(f"{stage}_loss", []).append(float(loss))
            accuracy = float(np.mean(prob.argmax(axis=1) == y))
            history.setdefault(f"{stage}_accuracy", []).append(accuracy)
    return history


def _regression_history(
    estimator: Any,
    *,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
) -> dict[str, list[float]]:
    """train/val mean squared error of the standardised targets per boosting stage (the
    BDT), a single point otherwise."""
    history: dict[str, list[float]] = {}
    for stage, (x, z) in (("train", train), ("val", val)):
        staged = getattr(estimator, "staged_predict", None)
        for predicted in staged(x) if staged else [estimator.predict(x)]:
            loss = float(np.mean((np.asarray(predicted) - z) ** 2))
            history.setdefault(f"{stage}_loss", []).append(loss)
    return history


def _staged_probabilities(estimator: Any, x: np.ndarray) -> Iterator[np.ndarray]:
    if hasattr(estimator, "staged_predict_proba"):
        yield from estimator.staged_predict_proba(x)
    else:
        yield estimator.predict_proba(x)
