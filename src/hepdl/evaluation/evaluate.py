"""Evaluating a finished run on other files: predict, then the run's task judges.

The judgement itself (metrics.json, predictions.npz, figures) is the task's
(``TargetCoding.write_evaluation`` in ``hepdl.tasks``); this module reads, predicts and
says what it evaluated: the folder it wrote, whether the rows are ones the run was
trained or validated on, and, for a file without labels, that metrics need them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError


@dataclass(frozen=True)
class Evaluation:
    out_dir: Path  # where metrics.json, predictions.npz and the figures are
    metrics: dict[str, Any]
    warnings: list[str] = field(default_factory=list)  # rows the run has seen
    labelled: bool = True  # False: a file without labels, predictions only


def evaluate_run(
    run_dir: Path, data_files: list[str], *, out_dir: Path | None = None
) -> Evaluation:
    """Evaluate a finished run on ``data_files``; writes into ``out_dir`` (default
    ``run_dir/evaluations/<first file's name>``)."""
    from hepdl.data.scaling import Standardizer
    from hepdl.models.inputs import model_inputs
    from hepdl.paths import inside_run, output_folder
    from hepdl.tasks import task_class
    from hepdl.train.artifacts import load_trained
    from hepdl.train.classical import classical_outputs, is_classical_run, load_classical
    from hepdl.train.predict import predict_probabilities

    run_dir = Path(run_dir)
    classical = is_classical_run(run_dir)
    config, model, prep = load_classical(run_dir) if classical else load_trained(run_dir)
    kind = task_class(config.task.kind)
    coding = kind.targets_from_saved(config.task, prep.to_dict())
    files = [str(Path(f).resolve()) for f in data_files]
    # Checked (and made) before any work: a file in the way or a read-only place is one error.
    if out_dir is None:  # inside the run: never through a link that leads out of it
        out_dir = inside_run(run_dir, Path("evaluations") / Path(files[0]).stem)
    out_dir = output_folder(out_dir)
    data = config.data.model_copy(update={"classes": prep.class_names or None})
    sample, labelled = _read(data, files, kind=kind, config=config, prep=prep)
    if list(sample.feature_names) != list(prep.feature_names):
        raise DataError(
            f"{sample.source}: gives {len(sample.feature_names)} features "
            f"{list(sample.feature_names)}, but run {run_dir} was trained on "
            f"{len(prep.feature_names)}: {list(prep.feature_names)}"
        )
    if labelled:
        coding.check_sample(sample)  # the file's truth fits the trained task (classes, targets)
    warnings = seen_rows_warnings(run_dir, sample, files=files, config=config)
    inputs = dict(sample.inputs)
    if prep.standardizer is not None:
        inputs["features"] = Standardizer.from_dict(prep.standardizer).transform(inputs["features"])
    if classical:  # a scikit-learn baseline on flat features (N, F)
        outputs = classical_outputs(model, inputs["features"])
    else:
        outputs = predict_probabilities(model, model_inputs(model, inputs, source=sample.source))
    extra = {"data": sample.source, "n_jets": len(outputs)}
    if not labelled:
        metrics = write_unlabelled(
            out_dir, outputs, kind=kind, coding=coding, data=data, extra=extra
        )
        return Evaluation(out_dir=out_dir, metrics=metrics, warnings=warnings, labelled=False)
    metrics = coding.write_evaluation(
        out_dir,
        outputs=outputs,
        sample=sample,
        rows=np.arange(len(outputs)),
        evaluate=config.evaluate,
        extra=extra,
    )
    return Evaluation(out_dir=out_dir, metrics=metrics, warnings=warnings)


def _read(data: Any, files: list[str], *, kind: Any, config: Any, prep: Any) -> tuple[Any, bool]:
    """The files' sample with the run's saved representation (never the config's: same
    inputs, same meaning), and whether it has labels: a file without the label column is
    read unlabelled, for predictions only."""
    from hepdl.train.inputs import load_sample

    def load(labels: bool) -> Any:
        return load_sample(
            data,
            files=files,
            representation=prep.representation,
            labels_needed=labels,
            columns=kind.sample_columns(config.task),
            optional_columns=frozenset(kind.truth_columns(config.task)),
        )

    if not kind.needs_labels:  # truth columns are optional: the task notes their absence
        return load(False), True
    try:
        return load(True), True
    except DataError:
        if all(_has_column(data, path, data.label_column) for path in files):
            raise  # labels are there but wrong: that error is the answer
        return load(False), False


def _has_column(data: Any, path: str, column: str) -> bool:
    from hepdl.data.readers import read_table

    table = read_table(
        path,
        columns=data.columns,
        preset=data.preset,
        tree=data.tree,
        key=data.key,
        fmt=data.format,
    )
    return column in (table.fields or [])


def write_unlabelled(
    out_dir: Path, outputs: np.ndarray, *, kind: Any, coding: Any, data: Any, extra: dict
) -> dict[str, Any]:
    """predictions.npz (``outputs`` (N, K); ``scores`` (N,) P(signal) for a classifier)
    and metrics.json with a note that metrics need labels."""
    from hepdl.atomic import write_json, write_npz

    out_dir.mkdir(parents=True, exist_ok=True)
    arrays = {"outputs": outputs}
    if kind.predictions_are == "scores":
        arrays["scores"] = coding.scores(outputs)
    write_npz(out_dir / "predictions.npz", **arrays)
    metrics = {
        **extra,
        "note": (
            f"the file has no label column '{data.label_column}' (data.label_column): "
            f"predictions written ({', '.join(arrays)} in predictions.npz); metrics need labels"
        ),
    }
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def seen_rows_warnings(run_dir: Path, sample: Any, *, files: list[str], config: Any) -> list[str]:
    """A warning when rows of ``sample`` are training or validation rows of the run (by
    their keys, ``row_keys.npz``), or, for a run that recorded no keys, when a file is
    one the run was trained from."""
    from hepdl.train.row_identity import sample_row_keys, seen_rows

    keys = sample_row_keys(sample)
    seen = None if keys is None else seen_rows(run_dir, keys)
    if seen is not None:
        if not (seen["train"] or seen["val"]):
            return []
        return [
            f"{seen['train']} of {len(keys)} rows of {sample.source} are training rows of run "
            f"{run_dir} and {seen['val']} its validation rows (which chose its epoch): these "
            "metrics are not an independent test; evaluate on its test rows or other files"
        ]
    trained_on = {str(Path(f).resolve()) for f in config.data.files}
    shared = [f for f in files if f in trained_on]
    return [
        f"{f} is a file run {run_dir} was trained from (data.files), and the run recorded no "
        "row keys to tell which rows: these metrics may include its training rows"
        for f in shared
    ]
