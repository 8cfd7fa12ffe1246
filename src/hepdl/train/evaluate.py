"""Evaluating a finished run: the model's outputs on other files, judged by its task.

The judgement itself (metrics.json, predictions.npz, figures) is the task's
(``TargetCoding.write_evaluation`` in ``hepdl.tasks``); this module predicts and reads."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepdl.errors import DataError
from hepdl.tasks.classify import signal_scores, write_evaluation
from hepdl.train.artifacts import load_trained


@torch.no_grad()
def predict_probabilities(
    model: Any, features: np.ndarray | Mapping[str, np.ndarray], *, batch_size: int = 8192
) -> np.ndarray:
    """The model's outputs after its output activation, (N, K), for features (N, F) or
    named inputs (each (N, ...)), in eval mode, batch by batch: class probabilities for a
    classifier, the raw values (linear output) for a regressor."""
    from hepdl.models.inputs import forward

    model.eval()
    named = features if isinstance(features, Mapping) else {"features": features}
    if "tree" in named:  # clustering trees: batches of whole jets, not slices of nodes
        from hepdl.train._tree_batches import tree_batches

        batches = tree_batches(named["tree"], batch_size=batch_size)
        chunks = [model.probabilities(forward(model, batch)) for batch in batches]
        return torch.cat(chunks).double().numpy()
    tensors = {
        k: (t.float() if t.is_floating_point() else t)
        for k, t in ((k, torch.as_tensor(v)) for k, v in named.items())
    }
    n = len(next(iter(tensors.values())))
    chunks = []
    with torch.no_grad():
        for i in range(0, n, batch_size):
            batch = {k: t[i : i + batch_size] for k, t in tensors.items()}
            chunks.append(model.probabilities(forward(model, batch)))
    return torch.cat(chunks).double().numpy()


def evaluate_run(run_dir: Path, data_files: list[str], *, out_dir: Path | None = None) -> dict:
    """Evaluate a finished run on other files; writes into ``run_dir/evaluations/<name>``."""
    from hepdl.data.scaling import Standardizer
    from hepdl.tasks import task_class
    from hepdl.train.classical import classical_outputs, is_classical_run, load_classical
    from hepdl.train.inputs import load_sample

    run_dir = Path(run_dir)
    classical = is_classical_run(run_dir)
    config, model, prep = load_classical(run_dir) if classical else load_trained(run_dir)
    kind = task_class(config.task.kind)
    coding = kind.targets_from_saved(config.task, prep.to_dict())
    files = [str(Path(f).resolve()) for f in data_files]
    data = config.data.model_copy(update={"classes": prep.class_names or None})
    # The representation saved at training, never the config's: same inputs, same meaning.
    sample = load_sample(
        data,
        files=files,
        representation=prep.representation,
        labels_needed=kind.needs_labels,
        columns=kind.sample_columns(config.task),
        optional_columns=frozenset(kind.truth_columns(config.task)),
    )
    if list(sample.feature_names) != list(prep.feature_names):
        raise DataError(
            f"{sample.source}: gives {len(sample.feature_names)} features "
            f"{list(sample.feature_names)}, but run {run_dir} was trained on "
            f"{len(prep.feature_names)}: {list(prep.feature_names)}"
        )
    coding.check_sample(sample)  # the file's truth fits the trained task (classes, targets)
    from hepdl.models.inputs import model_inputs

    inputs = dict(sample.inputs)
    if prep.standardizer is not None:
        inputs["features"] = Standardizer.from_dict(prep.standardizer).transform(inputs["features"])
    if classical:  # a scikit-learn baseline on flat features (N, F)
        outputs = classical_outputs(model, inputs["features"])
    else:
        inputs = model_inputs(model, inputs, source=sample.source)
        outputs = predict_probabilities(model, inputs)
    out_dir = out_dir or run_dir / "evaluations" / Path(files[0]).stem
    return coding.write_evaluation(
        out_dir,
        outputs=outputs,
        sample=sample,
        rows=np.arange(len(outputs)),
        evaluate=config.evaluate,
        extra={"data": sample.source, "n_jets": len(outputs)},
    )


__all__ = ["evaluate_run", "predict_probabilities", "signal_scores", "write_evaluation"]
