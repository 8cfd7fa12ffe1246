"""One experiment, end to end: config -> data -> model -> Lightning fit -> run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hepdl.config import ExperimentConfig
from hepdl.train.artifacts import (
    FAILED_FILE,
    TrainResult,
    created_run_dirs,
    mark_failed,
    new_run_dir,
    write_json,
)
from hepdl.train.final_evaluation import write_test_evaluation
from hepdl.train.interrupt import Stopped, activity


def _left_behind(marked: list[Path]) -> str:
    """What a run stopped outside its fit leaves: its folders marked FAILED, or none."""
    if not marked:
        return "no run directory was written"
    folders = ", ".join(str(m.parent) for m in marked)
    return f"{folders} marked FAILED (checkpoints of complete epochs kept)"


def train_experiment(
    config: ExperimentConfig,
    *,
    run_dir: Path | None = None,
    progress: Any = None,
    resume: Path | None = None,
) -> TrainResult:
    """Train and evaluate ``config``; returns the run directory, test metrics and history.

    ``resume``: a run directory of the same config to continue from its last checkpoint
    (hepdl.train.resume); a run that had finished is returned as it is.

    A run that raises (or is interrupted) before its metrics.json leaves a ``FAILED`` file
    with the error in its folder, so ``hepdl compare`` and the eye see it is no result; a
    later success in the same folder (a resumed scan, --resume) removes the marker.
    """
    with created_run_dirs() as created:
        try:
            result = _train_experiment(config, run_dir=run_dir, progress=progress, resume=resume)
        except BaseException as err:
            folders = {Path(d) for d in (run_dir, resume, *created) if d is not None}
            marked = [m for m in (mark_failed(f, err) for f in sorted(folders)) if m is not None]
            if isinstance(err, Stopped):  # SIGTERM / SIGINT outside the fit: say what is left
                err.kept.append(_left_behind(marked))
            raise
    (Path(result.run_dir) / FAILED_FILE).unlink(missing_ok=True)
    return result


def _train_experiment(
    config: ExperimentConfig,
    *,
    run_dir: Path | None,
    progress: Any,
    resume: Path | None,
) -> TrainResult:
    from hepdl.models.classical import is_classical

    ckpt_path = None
    if resume is not None:
        from hepdl.train.resume import resume_run

        run_dir, ckpt_path, finished = resume_run(config, Path(resume))
        if finished is not None:
            return TrainResult(run_dir=run_dir, metrics=finished[0], history=finished[1])

    if is_classical(config.model.name):  # scikit-learn baselines: no Lightning
        from hepdl.train.classical import train_classical

        return train_classical(config, run_dir=run_dir, progress=progress)
    from hepdl.models.inputs import check_model_fits_representation

    # A model its representation cannot feed is refused before any data is read.
    representation = config.data.representation
    check_model_fits_representation(
        config.model.name, representation.name, representation.options()
    )
    import lightning as L

    from hepdl.tasks import create_task
    from hepdl.train._fit import fit_in_run_dir
    from hepdl.train._tree_batches import batch_loader
    from hepdl.train.prepared import prepare_data

    L.seed_everything(config.seed, workers=True, verbose=False)
    if config.data.streaming is not None:  # files larger than memory
        from hepdl.train.distributed import agree_run_dir
        from hepdl.train.streamed import train_streaming

        if run_dir is None:  # one directory for all DDP processes, named on rank 0
            run_dir = agree_run_dir(config.trainer, lambda: new_run_dir(config))
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        run_dir, metrics, history = train_streaming(config, run_dir=run_dir, ckpt_path=ckpt_path)
        return TrainResult(run_dir=run_dir, metrics=metrics, history=history)
    data = prepare_data(config, progress=progress)
    sample, coding, model, targets = data.sample, data.coding, data.model, data.targets
    train_idx, val_idx = data.train_idx, data.val_idx
    task = create_task(config.task, model, **coding.task_options(config.evaluate))

    from hepdl.train.distributed import agree_run_dir

    # One run directory for all DDP processes, named on rank 0 (hepdl.train.distributed).
    if run_dir is None:
        run_dir = agree_run_dir(config.trainer, lambda: new_run_dir(config))
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    weights = _training_weights(config, sample, train_idx)  # (N,) or None
    batch = config.data.batch_rows(len(train_idx))  # rows, or a percentage of them
    train_loader = batch_loader(
        data.rows(train_idx),
        targets[train_idx],
        batch_size=batch,
        shuffle=True,
        seed=config.seed,
        weights=None if weights is None else weights[train_idx],
    )
    val_loader = batch_loader(
        data.rows(val_idx),
        targets[val_idx],
        batch_size=batch,
        shuffle=False,
        weights=None if weights is None else weights[val_idx],
    )
    trainer, best, epoch_timer = fit_in_run_dir(
        config, task, train_loader, val_loader, run_dir=run_dir, ckpt_path=ckpt_path,
        in_memory=True,
    )  # fmt: skip
    if not trainer.is_global_zero:  # rank 0 evaluates once and writes; the others wait
        from hepdl.train.distributed import wait_for_rank_zero

        metrics, history = wait_for_rank_zero(trainer, run_dir)
        return TrainResult(run_dir=run_dir, metrics=metrics, history=history)

    with activity("evaluating the trained model"):
        return _evaluate(config, data, task, trainer, best, epoch_timer, train_loader, run_dir)


def _evaluate(
    config: ExperimentConfig,
    data: Any,
    task: Any,
    trainer: Any,
    best: Any,
    epoch_timer: Any,
    train_loader: Any,
    run_dir: Path,
) -> TrainResult:
    """After the fit (rank 0): the best weights, the saved model, the row keys, history
    and the test evaluation (metrics.json last)."""
    from hepdl.train._fit import load_evaluated_weights
    from hepdl.train._timing import run_costs, timed_scores
    from hepdl.train.artifacts import Preprocessing, save_trained
    from hepdl.train.inputs import tested_rows
    from hepdl.train.predict import predict_probabilities
    from hepdl.train.row_identity import write_row_keys

    sample, coding, model = data.sample, data.coding, data.model
    train_idx, val_idx, test_idx = data.train_idx, data.val_idx, data.test_idx
    recalibrated = load_evaluated_weights(task, best, train_loader, config)
    preprocessing = Preprocessing(
        representation=sample.representation,
        feature_names=sample.feature_names,
        standardizer=data.scaler.to_dict() if data.scaler else None,
        **coding.saved(),
    )
    save_trained(run_dir, model, preprocessing)
    # Keys of the rows tested (hepdl compare) and trained on (hepdl evaluate warns on them).
    write_row_keys(run_dir, sample, train=train_idx, val=val_idx, test=test_idx)
    history = task.history
    write_json(run_dir / "history.json", history)

    def outputs(idx: np.ndarray) -> np.ndarray:  # the model's outputs (n, K) of rows idx
        return predict_probabilities(model, data.rows(idx))

    test_outputs, jets_per_second = timed_scores(outputs, test_idx)
    extra = {
        "data": sample.source,
        "test_rows": tested_rows(sample, test_idx),  # which rows, for hepdl compare
        "n_train": len(train_idx),
        "n_val": len(val_idx),
        "n_test": len(test_idx),
        "epochs": int(trainer.current_epoch),
        "best_epoch_score": float(best.best_model_score)
        if best.best_model_score is not None
        else None,
        "batchnorm_recalibration_batches": recalibrated,
        **run_costs(model, epoch_timer, jets_per_second),
    }
    metrics = write_test_evaluation(
        run_dir,
        task=task,
        coding=coding,
        outputs=test_outputs,
        extra=extra,
        sample=sample,
        rows=test_idx,
        evaluate=config.evaluate,
        train=(outputs(train_idx), sample, train_idx),
        history=history,
    )
    if trainer.world_size > 1:
        from hepdl.train.distributed import release_other_ranks

        release_other_ranks(trainer)
    return TrainResult(run_dir=run_dir, metrics=metrics, history=history)


def _training_weights(config: ExperimentConfig, sample: Any, train_idx: np.ndarray) -> Any:
    """(N,) per-row weights of every row, or None for unweighted: the user's event weights
    (``data.weights_file``, e.g. cross-section x generator weights) times the weights that
    flatten ``data.reweight.column`` per class (or overall, for a task without classes),
    the latter fitted on the training split's row counts."""
    from hepdl.data.reweighting import fit_reweighting

    given = getattr(sample, "row_weights", None)
    options = config.data.reweight
    if options is None:
        return given
    rule = fit_reweighting(
        options,
        sample.weight_variable[train_idx],
        sample.labels[train_idx],
        sample.class_names,
    )
    flattening = rule.weights(sample.weight_variable, sample.labels)
    return flattening if given is None else flattening * given
