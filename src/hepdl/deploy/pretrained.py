"""A finished run as a self-describing model folder, in the Hugging Face convention.

folder/
  config.json        everything that rebuilds the model and its preprocessing: the model's
                     name, kind and hyper-parameters, the task, the data section's read-time
                     settings, the saved representation, features, standardisation and
                     target coding (``preprocessing``), the run's resolved config
                     (``experiment``), who wrote it (``written_by``) and the SHA-256 and size
                     of the weights file (``weights``); ``library_name: hepdl``
  model.safetensors  the network's weights (safetensors: loading runs no code), or
  model.skops        a scikit-learn baseline (skops: every type audited, no pickle)
  README.md          the model card (``hepdl.deploy.model_card``): YAML front matter
                     (library_name, tags, the test metrics with their uncertainties) and
                     what the model is, what it was trained on, how it did, what it is
                     for and how to load it

:func:`save_pretrained` writes it into a temporary folder renamed at the end, so a folder is
whole or absent. :func:`from_pretrained` loads it back as a ``Predictor`` (``predict(table)``)
and refuses, one error naming the file, a folder whose files disagree: weights of another
size or SHA-256 than config.json records, tensors that do not fit the model config.json
describes, a config.json with keys missing, unknown or of another type, of another run
format, or whose descriptive sections differ from the run config they were written from.

The descriptive sections (``model``, ``task``, ``data``) are written for readers (and the
Hub); what is loaded is rebuilt from ``experiment`` and ``preprocessing`` and must give them.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hepdl.deploy.model_card import CLASSICAL, LIBRARY, NETWORK, model_card
from hepdl.deploy.onnx_file import CLASSICAL_FILE, NEURAL_FILE, weights_digest
from hepdl.errors import ConfigError, DataError

if TYPE_CHECKING:
    from hepdl.deploy.predictor import Predictor

CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
ONNX_FILE = "model.onnx"  # optional: ``hepdl export RUN --out FOLDER/model.onnx``
# The data section's settings applied when a table is read (TableShape, read_columns).
READ_TIME = (
    "format",
    "column_names",
    "tree",
    "key",
    "columns",
    "preset",
    "label_column",
    "particle_layout",
    "jet_clustering",
    "event_check",
)
DESCRIBED = ("model", "task", "data")  # the sections that must follow from the others
# config.json: each key and the JSON types its value may have; all are required.
_CONFIG_TYPES: dict[str, tuple[type | None, ...]] = {
    "library_name": (str,),
    "written_by": (dict,),
    "model": (dict,),
    "task": (dict,),
    "data": (dict,),
    "preprocessing": (dict,),
    "experiment": (dict,),
    "weights": (dict,),
}
_WEIGHTS_TYPES: dict[str, tuple[type | None, ...]] = {"sha256": (str,), "size": (int,)}
_BLOCK = 1 << 20  # bytes per read while copying and hashing the weights
_DAMAGED = "the model folder"


@dataclass(frozen=True)
class SavedModel:
    """What :func:`save_pretrained` wrote: the folder and each file's size in bytes."""

    folder: Path
    files: dict[str, int]


# ----------------------------------------------------------------------------- writing
def save_pretrained(
    run_dir: str | Path, out_dir: str | Path, *, overwrite: bool = False
) -> SavedModel:
    """Write the finished run ``run_dir`` (network or scikit-learn baseline) as the model
    folder ``out_dir``; an existing ``out_dir`` is refused unless ``overwrite``, and then
    only a hepdl model folder (or an empty folder) is replaced."""
    from hepdl.atomic import sync_folder, write_error, write_json, write_text
    from hepdl.deploy.predictor import Predictor

    run_dir, out_dir = Path(run_dir), Path(out_dir)
    metrics = _finished_metrics(run_dir)
    _check_out(out_dir, run_dir=run_dir, overwrite=overwrite)
    predictor = Predictor.from_run(run_dir)  # loads and checks all: a folder that loads
    weights = CLASSICAL_FILE if predictor.classical else NEURAL_FILE
    config = describe(predictor.config, predictor.preprocessing, classical=predictor.classical)
    tmp = out_dir.parent / f".{out_dir.name}.{secrets.token_hex(6)}.tmp"
    try:
        tmp.mkdir()
    except OSError as err:  # a read-only or full folder: one error naming it
        raise write_error(out_dir, err) or err from None
    try:
        digest, size = _copy_hashed(run_dir / weights, tmp / weights)
        config["weights"] = {weights: {"sha256": digest, "size": size}}
        write_json(tmp / CONFIG_FILE, config)
        hyper = config["model"]["hyperparameters"]
        card = model_card(predictor, metrics, run_dir=run_dir, weights=weights, hyper=hyper)
        write_text(tmp / CARD_FILE, card)
        files = {name: (tmp / name).stat().st_size for name in (CONFIG_FILE, weights, CARD_FILE)}
        _move_into_place(tmp, out_dir)
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        error = write_error(out_dir, err) if isinstance(err, OSError) else None
        if error is not None:
            raise error from None
        raise
    sync_folder(out_dir.parent)
    return SavedModel(folder=out_dir, files=files)


def describe(config: Any, prep: Any, *, classical: bool) -> dict[str, Any]:
    """config.json without ``weights``: the run's ``config`` (ExperimentConfig) and
    ``prep`` (Preprocessing) with the sections a reader (or the Hub) looks for, as JSON
    reads them back (tuples as lists)."""
    from hepdl.train.artifacts import trained_hyperparameters, writer_record

    hyper = config.model.options() if classical else trained_hyperparameters(config, prep)
    data = config.data.model_dump(mode="json")
    described = {
        "library_name": LIBRARY,
        "written_by": writer_record(),
        "model": {
            "name": config.model.name,
            "kind": CLASSICAL if classical else NETWORK,
            "hyperparameters": hyper,
        },
        "task": {"kind": config.task.kind, "section": config.task.model_dump(mode="json")},
        "data": {key: data[key] for key in READ_TIME},
        "preprocessing": prep.to_dict(),
        "experiment": config.to_dict(),
    }
    return json.loads(json.dumps(described))


def _finished_metrics(run_dir: Path) -> dict[str, Any]:
    """The run's metrics.json, written last: a run without it is refused as unfinished."""
    from hepdl.train.artifacts import failure_of, read_run_json

    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    path = run_dir / "metrics.json"
    if not path.is_file():
        failure = failure_of(run_dir)
        why = f"it failed: {failure}" if failure else "still training, or stopped before it"
        raise ConfigError(
            f"{run_dir}: not a finished hepdl run (metrics.json is missing: {why}); a model "
            "folder describes a run's test metrics: finish the run first"
        )
    return read_run_json(path)


def _check_out(out: Path, *, run_dir: Path, overwrite: bool) -> None:
    """ConfigError unless ``out`` can be written: absent, or with ``overwrite`` a hepdl
    model folder or an empty folder (never a run directory or any other folder)."""
    if not out.parent.is_dir():
        raise DataError(f"{out.parent}: no such folder to write {out.name} into")
    if not os.path.lexists(out):
        return
    if not overwrite:
        raise ConfigError(f"{out}: exists already; pass --overwrite to replace it")
    if out.is_symlink() or not out.is_dir():
        raise ConfigError(f"{out}: is not a folder; --out names the model folder to write")
    if out.resolve() in (run_dir.resolve(), *run_dir.resolve().parents):
        raise ConfigError(f"{out}: holds the run {run_dir}; write the model folder elsewhere")
    if any(out.iterdir()) and not _is_model_folder(out):
        raise ConfigError(
            f"{out}: exists and is not a hepdl model folder (no {CONFIG_FILE} of library "
            f"'{LIBRARY}'); not replacing it: choose another --out"
        )


def _is_model_folder(folder: Path) -> bool:
    try:
        raw = json.loads((folder / CONFIG_FILE).read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(raw, dict) and raw.get("library_name") == LIBRARY


def _copy_hashed(source: Path, target: Path) -> tuple[str, int]:
    """Copy ``source`` to ``target`` block by block (memory bounded, written atomically);
    the SHA-256 (hex) and size of the bytes written."""
    from hepdl.atomic import replacing

    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as reading, replacing(target, needed=source.stat().st_size) as out:
        for block in iter(lambda: reading.read(_BLOCK), b""):
            digest.update(block)
            out.write(block)
            size += len(block)
    return digest.hexdigest(), size


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the complete folder ``tmp`` to ``out``; an old ``out`` (checked to be
    replaceable) is set aside first and removed only once the new one is in place."""
    if not os.path.lexists(out):
        os.replace(tmp, out)
        return
    old = out.with_name(f".{out.name}.{secrets.token_hex(6)}.old")
    os.replace(out, old)
    try:
        os.replace(tmp, out)
    except BaseException:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------- loading
def from_pretrained(
    folder: str | Path, *, backend: str = "torch", batch_size: int = 8192
) -> Predictor:
    """The ``Predictor`` of the model folder ``folder`` (written by :func:`save_pretrained`,
    or downloaded: ``huggingface_hub.snapshot_download`` gives such a folder), loaded
    without pickle: the network from safetensors, a baseline from skops with its types
    audited. ``backend="onnx"`` runs ``folder/model.onnx`` (``hepdl export`` of the same
    weights) in ONNX Runtime instead."""
    from hepdl.deploy.predictor import BACKENDS, Predictor
    from hepdl.train.artifacts import build_trained, load_estimator

    if backend not in BACKENDS:
        raise ConfigError(f"backend '{backend}': expected one of {', '.join(BACKENDS)}")
    folder = Path(folder)
    config, prep, classical = read_model_folder(folder)
    if backend == "onnx":
        from hepdl.deploy.onnx_file import open_export

        if not (folder / ONNX_FILE).is_file():
            raise ConfigError(
                f"{folder / ONNX_FILE}: no such file; backend 'onnx' runs the export of the "
                f"folder's weights: hepdl export RUN_DIR --out {folder / ONNX_FILE}"
            )
        model = open_export(
            folder / ONNX_FILE,
            run_dir=folder,
            classical=classical,
            exported_by=f"hepdl export RUN_DIR --out {folder / ONNX_FILE} --overwrite, RUN_DIR "
            "the run this folder was saved from",
        )
    elif classical:
        model = load_estimator(folder / CLASSICAL_FILE, model_name=config.model.name)
    else:
        model = build_trained(config, prep, folder / NEURAL_FILE)
    return Predictor.from_parts(
        folder, config, prep, model, classical=classical, backend=backend, batch_size=batch_size
    )


def read_model_folder(folder: Path) -> tuple[Any, Any, bool]:
    """(ExperimentConfig, Preprocessing, whether a classical baseline) of the model folder
    ``folder``, its config.json checked against itself and against its weights file."""
    from hepdl.config import config_from_dict
    from hepdl.models.classical import is_classical
    from hepdl.train.artifacts import (
        check_run_format,
        preprocessing_from_dict,
        read_run_json,
        record_problems,
    )

    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such model folder")
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            f"{folder}: not a hepdl model folder ({CONFIG_FILE} is missing); write one with: "
            f"hepdl save-pretrained RUN_DIR --out {folder}"
        )
    raw = read_run_json(path, damaged=_DAMAGED)
    problems = record_problems(raw, _CONFIG_TYPES, required=set(_CONFIG_TYPES))
    if problems:
        raise DataError(
            f"{path}: not a hepdl model config: {'; '.join(problems)}; {_DAMAGED} is damaged"
        )
    if raw["library_name"] != LIBRARY:
        raise ConfigError(
            f"{path}: 'library_name' is {raw['library_name']!r}: the model of another "
            f"library, not a {LIBRARY} model folder"
        )
    check_run_format(raw["written_by"], path=path)
    prep = preprocessing_from_dict(
        raw["preprocessing"], path=path, where="preprocessing", damaged=_DAMAGED
    )
    config = config_from_dict(raw["experiment"], source=f"{path} 'experiment'")
    classical = is_classical(config.model.name)
    expected = describe(config, prep, classical=classical)
    for key in DESCRIBED:
        if raw[key] != expected[key]:
            raise DataError(
                f"{path}: {_difference(raw[key], expected[key], key)}; config.json disagrees "
                "with itself: it was edited or damaged after hepdl wrote it"
            )
    _check_weights_file(folder, raw["weights"], classical=classical)
    return config, prep, classical


def _difference(found: Any, expected: Any, key: str) -> str:
    """Where config.json's ``found`` (at ``key``) first differs from ``expected``."""
    if isinstance(found, dict) and isinstance(expected, dict):
        for name in sorted(found.keys() | expected.keys()):
            here = f"{key}.{name}"
            if name not in found:
                return f"'{here}' is missing (the 'experiment' gives {expected[name]!r})"
            if name not in expected:
                return f"unknown key '{here}'"
            if found[name] != expected[name]:
                return _difference(found[name], expected[name], here)
    return f"'{key}' is {found!r}, but the run config under 'experiment' gives {expected!r}"


def _check_weights_file(folder: Path, weights: dict[str, Any], *, classical: bool) -> None:
    """DataError unless ``weights`` (config.json's) lists just the weights file of the
    model's kind, and that file is there with the recorded size and SHA-256."""
    from hepdl.train.artifacts import record_problems

    path = folder / CONFIG_FILE
    name = CLASSICAL_FILE if classical else NEURAL_FILE
    if list(weights) != [name]:
        kind = CLASSICAL if classical else NETWORK
        raise DataError(
            f"{path}: 'weights' lists {sorted(weights)}, expected ['{name}'] for a {kind} "
            f"model; {_DAMAGED} is damaged"
        )
    entry = weights[name]
    problems = (
        record_problems(entry, _WEIGHTS_TYPES, required=set(_WEIGHTS_TYPES))
        if isinstance(entry, dict)
        else [f"should be an object, got {type(entry).__name__}"]
    )
    if problems:
        raise DataError(f"{path}: 'weights.{name}': {'; '.join(problems)}; {_DAMAGED} is damaged")
    file = folder / name
    if not file.is_file():
        raise DataError(
            f"{file}: is missing ({CONFIG_FILE} lists it, {entry['size']} bytes); copy the "
            "whole model folder again"
        )
    size = file.stat().st_size
    if size != entry["size"]:
        raise DataError(
            f"{file}: holds {size} bytes, but {CONFIG_FILE} records {entry['size']}: the two "
            f"are not of one model folder (the file truncated or replaced, or {CONFIG_FILE} "
            "edited); copy the whole folder again"
        )
    digest = weights_digest(folder, classical=classical)
    if digest != entry["sha256"]:
        raise DataError(
            f"{file}: its SHA-256 is {digest}, but {CONFIG_FILE} records {entry['sha256']}: "
            f"the two are not of one model folder (the file changed or replaced, or "
            f"{CONFIG_FILE} edited); copy the whole folder again"
        )


# ----------------------------------------------------------------------------- the card
