"""Continuing a killed run from its last checkpoint, ending where an unkilled run ends.

Lightning's checkpoint restores the weights, the optimizer and scheduler states, the loop
counters and the callbacks (best score, early-stopping patience). For the same weights
bit for bit a resumed run also needs

* the same batches: ``ShuffledBatches`` draws epoch e's order from (seed, e) and
  Lightning calls its ``set_epoch`` with the restored epoch;
* the same random numbers: dropout, noise and the DataLoader's base seed draw from the
  global torch, NumPy and Python generators, whose states ``save_resume_state`` puts in
  every checkpoint and ``restore_resume_state`` restores before the first resumed step
  (``hepdl.tasks.fit_state``, called from the task's checkpoint hooks);
* the same task state: the per-epoch ``history`` (it feeds history.json and the plots)
  and whether early stopping had already ended training.

The run's ``config.yaml`` must equal the given config, ignoring only keys that cannot
change what is computed (``IGNORED_KEYS``), or the run would silently become another run.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import yaml

from hepdl.config import ExperimentConfig, config_from_dict
from hepdl.errors import ConfigError, DataError
from hepdl.tasks.fit_state import (  # noqa: F401 (the resume state, re-exported)
    STATE_KEY,
    complete_stopped_epoch,
    restore_resume_state,
    rng_state,
    save_resume_state,
    set_loader_epoch,
    set_rng_state,
)
from hepdl.train.artifacts import read_run_json
from hepdl.train.checkpoints import LAST, PREVIOUS, last_checkpoint

# trainer.progress_bar only draws to the terminal; trainer.output_dir only picks the
# parent folder of *new* run directories, and a resume names its run directory itself;
# trainer.steps_per_execution groups the same steps into fewer Lightning calls.
# Everything else (data, split, model, optimiser, epochs, devices, precision, seed) can
# change the weights, so it must match.
IGNORED_KEYS = frozenset(
    {"trainer.progress_bar", "trainer.output_dir", "trainer.steps_per_execution"}
)
_ABSENT = "<absent>"


def next_epoch(checkpoint_path: Path) -> int:
    """The epoch a run resumed from this checkpoint trains first.

    Lightning takes the first batch of an iterable without a length (a stream) before
    any hook of the first epoch, so such a loader must be set to this epoch before fit.
    """
    from hepdl.train.checkpoints import read_checkpoint

    checkpoint = read_checkpoint(checkpoint_path)
    saved = checkpoint.get(STATE_KEY, {})
    return int(saved.get("next_epoch", checkpoint["epoch"] + 1))


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{"a.b.c": leaf} of nested dicts (lists are leaves)."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        flat.update(_flatten(value, path) if isinstance(value, dict) and value else {path: value})
    return flat


def config_differences(saved: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """``"key.path: run has A, given B"`` for every leaf that differs, ignored keys left out."""
    old, new = _flatten(saved), _flatten(given)
    lines = []
    for key in sorted(set(old) | set(new)):
        if key in IGNORED_KEYS:
            continue
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        if a != b:
            lines.append(f"{key}: run has {a!r}, given {b!r}")
    return lines


def check_same_config(config: ExperimentConfig, run_dir: Path) -> None:
    """ConfigError listing every differing key path when ``run_dir/config.yaml`` is not
    ``config`` (both validated, so keys left at their defaults compare equal)."""
    path = run_dir / "config.yaml"
    if not path.is_file():
        raise DataError(f"{path}: no such file; --resume expects a hepdl run directory")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise DataError(f"{path}: not valid YAML: {err}") from None
    saved = config_from_dict(raw, source=str(path)).to_dict()
    given = yaml.safe_load(yaml.safe_dump(config.to_dict()))  # the same float/list forms
    differences = config_differences(saved, given)
    if differences:
        raise ConfigError(
            f"cannot resume {run_dir}: the config differs from {path} at "
            + "; ".join(differences)
            + " (resume with the run's own config, or start a new run)"
        )


def finished_result(run_dir: Path) -> tuple[dict[str, Any], dict[str, list[float]]] | None:
    """(metrics, history) of a run that completed (``metrics.json`` written last), else None."""
    metrics = run_dir / "metrics.json"
    if not metrics.is_file():
        return None
    history = run_dir / "history.json"
    saved = read_run_json(history) if history.is_file() else {}
    return read_run_json(metrics), saved


def resume_checkpoint(run_dir: Path) -> Path | None:
    """The checkpoint to continue ``run_dir`` from; None when the run was stopped before
    its first checkpoint (it then starts over, in place)."""
    folder = Path(run_dir) / "checkpoints"
    if not (folder / LAST).exists() and not (folder / PREVIOUS).exists():
        warnings.warn(
            f"{run_dir} has no checkpoint yet (killed during its first epoch); "
            "training it from the start",
            stacklevel=2,
        )
        return None
    path, _ = last_checkpoint(folder)
    return path


def resume_run(
    config: ExperimentConfig, run_dir: Path
) -> tuple[Path, Path | None, tuple[dict[str, Any], dict[str, list[float]]] | None]:
    """(run_dir, checkpoint to continue from or None, (metrics, history) if it finished).

    A finished run (``metrics.json`` is written last) is not trained again: its stored
    results are returned, so resuming twice is harmless.
    """
    from hepdl.models.classical import is_classical

    if is_classical(config.model.name):
        raise ConfigError(
            f"--resume continues Lightning training from its checkpoints; model "
            f"'{config.model.name}' is a scikit-learn baseline fitted in one call and has "
            "none: start a new run"
        )
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise DataError(f"{run_dir}: no such run directory to resume")
    check_same_config(config, run_dir)
    finished = finished_result(run_dir)
    if finished is not None:
        warnings.warn(
            f"{run_dir} already finished (metrics.json is there); returning its results "
            "without training",
            stacklevel=2,
        )
        return run_dir, None, finished
    return run_dir, resume_checkpoint(run_dir), None
