"""What a finished run leaves behind, and loading it back.

run_dir/
  config.yaml          the resolved experiment config
  preprocessing.json   representation config, feature and class names, standardisation
  model.safetensors    the best weights (safetensors: loading runs no code)
  checkpoints/         Lightning checkpoints (best.ckpt, last.ckpt)
  logs/, tensorboard/  per-epoch metrics
  history.json, metrics.json, *.png
  test_rows.json       which rows were tested (files, count, a fingerprint of the rows)
  row_keys.npz         one 64-bit key per training and validation row, to recognise them
  FAILED               only in a run that failed before metrics.json: the error
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.atomic import write_bytes, write_json, write_text
from hepdl.config import ExperimentConfig, ModelConfig, load_config
from hepdl.errors import ConfigError, DataError, HepdlError
from hepdl.paths import check_run_name

FAILED_FILE = "FAILED"
# The meaning of a run directory's files; bump it when one changes, so that a run of
# another format is refused by name (preprocessing.json's ``written_by``) rather than
# misread. Runs written before the record existed are of format 1.
RUN_FORMAT = 1
# The run directories new_run_dir creates inside a created_run_dirs() block.
_CREATED: ContextVar[list[Path] | None] = ContextVar("hepdl_created_run_dirs", default=None)


@dataclass(frozen=True)
class Preprocessing:
    """preprocessing.json: how rows become inputs, and the task's target coding (its
    ``saved()`` entries: class names and signal class for a classifier, the target
    columns and their scaling under ``targets`` for a regressor)."""

    representation: dict[str, Any]
    feature_names: list[str]
    standardizer: dict[str, Any] | None
    class_names: list[str] = field(default_factory=list)
    signal_class: int | None = None
    targets: dict[str, Any] | None = None
    written_by: dict[str, Any] = field(default_factory=lambda: writer_record())

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def writer_record() -> dict[str, Any]:
    """Which hepdl wrote a run, and the run format it wrote (``RUN_FORMAT``)."""
    from hepdl import __version__

    return {"hepdl": __version__, "run_format": RUN_FORMAT}


def check_run_format(written_by: Any, *, path: Path) -> None:
    """ConfigError unless ``written_by`` (preprocessing.json's record) is of RUN_FORMAT."""
    from hepdl import __version__

    found = written_by.get("run_format") if isinstance(written_by, dict) else None
    if found == RUN_FORMAT:
        return
    if not isinstance(found, int) or isinstance(found, bool):
        raise DataError(
            f"{path}: 'written_by' should be an object with an integer 'run_format', got "
            f"{written_by!r}; the run directory is damaged"
        )
    wrote = written_by.get("hepdl", "?")
    remedy = (
        f"upgrade hepdl to {wrote} or later"
        if found > RUN_FORMAT
        else f"train it again, or load it with hepdl {wrote}"
    )
    raise ConfigError(
        f"{path.parent}: written by hepdl {wrote} in run format {found}; this hepdl "
        f"{__version__} reads run format {RUN_FORMAT}: {remedy}"
    )


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    metrics: dict[str, Any]
    history: dict[str, list[float]]


def new_run_dir(config: ExperimentConfig) -> Path:
    """``<output_dir>/<name>-<YYYYmmdd-HHMMSS>``, with a suffix if that exists already."""
    root = Path(config.trainer.output_dir)
    check_run_name(config.name, key="name")  # a name, never a path out of output_dir
    stem = f"{config.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    run_dir, i = root / stem, 1
    while run_dir.exists():
        run_dir, i = root / f"{stem}-{i}", i + 1
    run_dir.mkdir(parents=True)
    created = _CREATED.get()
    if created is not None:
        created.append(run_dir)
    return run_dir


@contextmanager
def created_run_dirs() -> Iterator[list[Path]]:
    """The run directories :func:`new_run_dir` makes inside the block (in this thread or
    task), so a failed run can be marked even when its folder was named inside it."""
    created: list[Path] = []
    token = _CREATED.set(created)
    try:
        yield created
    finally:
        _CREATED.reset(token)


def mark_failed(run_dir: Path, error: BaseException) -> Path | None:
    """Write ``run_dir/FAILED`` (the error's type and message) unless the run finished
    (metrics.json is written last); returns the marker, None when nothing was marked."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or (run_dir / "metrics.json").is_file():
        return None
    reason = f"{type(error).__name__}: {error}".rstrip(": ")
    marker = run_dir / FAILED_FILE
    try:
        write_text(marker, f"{reason}\n")
    except (OSError, HepdlError):  # a full disk: the error being reported says more
        return None
    return marker


def failure_of(run_dir: Path) -> str | None:
    """The error recorded in ``run_dir/FAILED``, or None for a run not marked failed."""
    marker = Path(run_dir) / FAILED_FILE
    if not marker.is_file():
        return None
    return marker.read_text().strip() or "failed (no error recorded)"


def model_hyperparameters(
    model: ModelConfig,
    *,
    representation: str,
    in_features: int | None,
    head: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> dict:
    """The options of the ``model`` section with the data-derived ones filled in: the
    input width where the model takes ``in_features``, and the task's ``head`` options
    (output units and activation) that the config leaves out. ``representation``: the
    representation's name, for the error when it gives no flat features."""
    from hepdl.models import model_options

    options = model.options()
    options = {**options, **head(options)}
    if "in_features" in model_options(model.name):
        if in_features is None:
            raise ConfigError(
                f"model '{model.name}' needs the input(s) ['features'], but "
                f"representation '{representation}' gives none; choose "
                "data.representation.name to match (sequence for RNNs, point_cloud for "
                "PFN/EFN/ParticleNet/ParT, substructure or columns for the MLP)"
            )
        options = {"in_features": in_features, **options}
    return options


def save_trained(run_dir: Path, model: Any, preprocessing: Preprocessing) -> None:
    from safetensors.torch import save

    from hepdl.train._compatibility import MODEL_KEY, registered_name

    # The architecture's name in the file: loading into another model can name both.
    name = registered_name(model)
    metadata = {MODEL_KEY: name} if name else None
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    write_bytes(run_dir / "model.safetensors", save(tensors, metadata=metadata))
    write_json(run_dir / "preprocessing.json", preprocessing.to_dict())


# preprocessing.json: each key and the JSON types its value may have (None: null allowed).
_PREPROCESSING_TYPES: dict[str, tuple[type | None, ...]] = {
    "representation": (dict,),
    "feature_names": (list,),
    "standardizer": (dict, None),
    "class_names": (list,),
    "signal_class": (int, None),
    "targets": (dict, None),
    "written_by": (dict,),
}
_JSON_NAMES = {dict: "an object", list: "a list", int: "an integer", str: "a string", None: "null"}


def read_run_json(path: Path, *, shape: type = dict, damaged: str = "the run directory") -> Any:
    """The JSON value of a run's file ``path``, which must be of ``shape`` (an object by
    default); DataError naming the file when it is unreadable, not JSON or another shape
    (``damaged``: what the error calls damaged)."""
    path = Path(path)
    try:
        value = json.loads(path.read_bytes())
    except OSError as err:
        raise DataError(f"{path}: cannot read it ({err.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid JSON ({err}); {damaged} is damaged") from None
    if not isinstance(value, shape):
        raise DataError(
            f"{path}: expected {_JSON_NAMES.get(shape, shape.__name__)} at the top, got "
            f"{type(value).__name__}; {damaged} is damaged"
        )
    return value


def read_run_npz(path: Path, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The arrays ``names`` of a run's ``.npz`` file ``path`` (row_keys.npz,
    predictions.npz), loaded without pickle; DataError naming the file when it is
    truncated, not an npz archive, or lacks one of them."""
    import zipfile

    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as saved:
            missing = [name for name in names if name not in saved.files]
            if missing:
                raise DataError(
                    f"{path}: holds {sorted(saved.files)}, not {', '.join(missing)}; the run "
                    f"directory is damaged"
                )
            return {name: np.asarray(saved[name]) for name in names}
    except DataError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{path}: not a readable NumPy .npz archive ({type(err).__name__}: {err}); the "
            f"run directory is damaged"
        ) from None


def record_problems(
    raw: Mapping[str, Any],
    types: Mapping[str, tuple[type | None, ...]],
    *,
    required: set[str],
) -> list[str]:
    """What is wrong with the JSON object ``raw`` against ``types`` (each key and the JSON
    types its value may have, None: null): the ``required`` keys it lacks, the keys it has
    that ``types`` does not know, and the values of another type; [] when nothing is."""
    problems = [f"'{key}' is missing" for key in sorted(required - raw.keys())]
    problems += [f"unknown key '{key}'" for key in sorted(raw.keys() - types.keys())]
    for key, value in raw.items():
        allowed = types.get(key)
        if allowed is None or any(
            value is None if t is None else isinstance(value, t) and not isinstance(value, bool)
            for t in allowed
        ):
            continue
        wanted = " or ".join(_JSON_NAMES[t] for t in allowed)
        problems.append(f"'{key}' should be {wanted}, got {type(value).__name__}")
    return problems


def read_preprocessing(path: Path) -> Preprocessing:
    """A run's ``preprocessing.json``; DataError naming the file and the key when it is
    not JSON, not an object, lacks a key, has an unknown one or one of another type."""
    return preprocessing_from_dict(read_run_json(path), path=path)


def preprocessing_from_dict(
    raw: Mapping[str, Any], *, path: Path, where: str = "", damaged: str = "the run directory"
) -> Preprocessing:
    """The ``Preprocessing`` of the JSON object ``raw``, read from file ``path`` (at key
    ``where`` of it, "" for the whole file), checked as :func:`read_preprocessing` does;
    ``damaged``: what its errors call damaged."""
    required = {"representation", "feature_names", "standardizer"}
    problems = record_problems(raw, _PREPROCESSING_TYPES, required=required)
    names = [raw.get(k) for k in ("feature_names", "class_names")]
    if not problems and not all(all(isinstance(n, str) for n in v or []) for v in names):
        problems.append("'feature_names' and 'class_names' should hold strings")
    if not problems and not isinstance(raw["representation"].get("name"), str):
        problems.append("'representation' should have a 'name' string")
    if problems:
        at = f" '{where}'" if where else ""
        raise DataError(
            f"{path}:{at} not a hepdl preprocessing record: {'; '.join(problems)}; "
            f"{damaged} is damaged"
        )
    if "written_by" in raw:  # runs before the record: format 1
        check_run_format(raw["written_by"], path=path)
    return Preprocessing(**raw)


def trained_hyperparameters(config: ExperimentConfig, prep: Preprocessing) -> dict[str, Any]:
    """The keyword arguments ``create_model(config.model.name, ...)`` builds the run's
    network with: the model section's options, the input width and the task's head (its
    output units from the saved class names or targets)."""
    from hepdl.tasks import task_class

    coding = task_class(config.task.kind).targets_from_saved(config.task, prep.to_dict())
    return model_hyperparameters(
        config.model,
        representation=str(prep.representation.get("name")),
        in_features=len(prep.feature_names),
        head=coding.head_options,
    )


def build_trained(config: ExperimentConfig, prep: Preprocessing, weights_path: Path) -> Any:
    """The network of ``config`` and ``prep`` with the weights of ``weights_path`` (a
    ``.safetensors`` file, loaded without pickle; its names and shapes checked against the
    network first), in eval mode. What a run directory and a model folder
    (``hepdl.deploy.pretrained``) both rebuild their network with."""
    from hepdl.models import create_model
    from hepdl.train._compatibility import load_weights

    model = create_model(config.model.name, **trained_hyperparameters(config, prep))
    load_weights(model, Path(weights_path), model_name=config.model.name)
    model.eval()
    return model


def load_estimator(path: Path, *, model_name: str) -> Any:
    """The fitted scikit-learn baseline ``model_name`` of the skops file ``path``, loaded
    without pickle: every type in the file is audited, and one outside plain scikit-learn
    estimators and the few the baseline is known to hold is refused (DataError)."""
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    from hepdl.train.classical import _TRUSTED_TYPES

    trusted = _TRUSTED_TYPES[model_name]
    try:
        return sio.load(path, trusted=trusted)
    except UntrustedTypesFoundException as err:
        raise DataError(
            f"{path}: refusing to load: it holds types a fitted '{model_name}' does not "
            f"contain ({err}); expected only scikit-learn estimators and {trusted}"
        ) from None
    except Exception as err:  # a truncated or foreign file: skops raises many kinds
        raise DataError(f"{path}: not a readable skops model file ({err})") from None


def load_trained(run_dir: Path) -> tuple[ExperimentConfig, Any, Preprocessing]:
    """The config, the model with its best weights (eval mode) and the preprocessing."""
    run_dir = Path(run_dir)
    for name in ("config.yaml", "preprocessing.json", "model.safetensors"):
        if not (run_dir / name).is_file():
            raise ConfigError(f"{run_dir}: not a finished hepdl run ({name} is missing)")
    config = load_config(run_dir / "config.yaml")
    prep = read_preprocessing(run_dir / "preprocessing.json")
    return config, build_trained(config, prep, run_dir / "model.safetensors"), prep


def run_task_kind(run_dir: Path) -> str:
    """The ``task.kind`` of a run directory's saved config (classify for older runs)."""
    import yaml

    path = Path(run_dir) / "config.yaml"
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"{path}: cannot read the run's config ({err})") from None
    task = raw.get("task") if isinstance(raw, dict) else None
    return str(task.get("kind", "classify")) if isinstance(task, dict) else "classify"
