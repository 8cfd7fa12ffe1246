"""From the ``data`` section of a config to labelled feature arrays.

    files / class_files / generate  ->  table (awkward)  ->  labels
                                    ->  representation   ->  features (N, F)

Evaluation goes through the same function with the representation saved at training.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepdl._paths import cache_dir
from hepdl.config import DataConfig, GenerateSource
from hepdl.errors import DataError


@dataclass(frozen=True)
class LabeledSample:
    """Labelled rows and their representation. ``inputs`` holds every array the
    representation gives (``features``, ``image``, ``points``, ``mask``, ...), each (N, ...);
    ``features`` is ``inputs["features"]`` (flat (N, F) or per particle (N, P, F)), if any."""

    inputs: dict[str, np.ndarray]
    features: np.ndarray | None
    labels: np.ndarray  # (N,) int64; all 0 (one class) when the task needs no labels
    class_names: list[str]
    feature_names: list[str]
    representation: dict[str, Any]  # the representation's config, saved with the model
    source: str
    weight_variable: np.ndarray | None = None  # (N,) data.reweight.column, if asked for
    # The flat columns the task asked for (regression targets, ...), each (N,) float64.
    columns: dict[str, np.ndarray] = field(default_factory=dict)


def generated_sample(source: GenerateSource, *, progress: Any = None) -> Path:
    """The Parquet file for these generator settings, generating it on first use.

    The file name carries a hash of the settings, so a changed setting never reuses a
    stale sample; the generator writes atomically, so an interrupted run leaves no file.
    """
    from hepdl.generate import SampleSettings, generate

    options = source.settings_options()
    # Settings left unset since they were added do not change the name of a cached sample;
    # SAMPLE_REVISION does, whenever generation writes other columns for the same settings.
    settings = source.model_dump(exclude={"pileup_range"} if source.pileup_range is None else set())
    described = json.dumps({**settings, **_revision()}, sort_keys=True)
    digest = hashlib.sha256(described.encode()).hexdigest()[:12]
    name = source.sample.replace(",", "+")
    path = cache_dir() / "samples" / f"{name}-{source.jets_per_class}-{digest}.parquet"
    if not path.exists():
        # An interrupted first run left its finished chunks beside the path: resumed here.
        # Chunks run on every core; the file does not depend on it.
        jobs = max(1, os.cpu_count() or 1)
        generate(source.sample, SampleSettings(**options), path, progress=progress, jobs=jobs)
    return path


# Revision of the generated files' columns: 2 added the particle-level jets (gen_jet_*)
# and the pile-up columns to reconstructed samples, so older cached ones are not reused.
SAMPLE_REVISION = 2


def _revision() -> dict[str, int]:
    """The digest entry of ``SAMPLE_REVISION`` (absent at 1, the names before it)."""
    return {} if SAMPLE_REVISION == 1 else {"sample_revision": SAMPLE_REVISION}


def _read_labeled(
    data: DataConfig, paths: list[str], *, labels_needed: bool = True
) -> tuple[Any, np.ndarray, list[str], str]:
    from hepdl.data.labels import labels_from_column
    from hepdl.data.readers import read_metadata, read_table

    tables, labels, class_names = [], [], data.classes
    where = {"tree": data.tree, "key": data.key, "fmt": data.format}
    for path in paths:
        table = read_table(path, columns=data.columns, preset=data.preset, **where)
        if labels_needed:
            metadata = read_metadata(path, preset=None if data.columns else data.preset, **where)
            y, names = labels_from_column(
                table, data.label_column, classes=class_names, source=path, metadata=metadata
            )
            class_names = names
        else:  # a task without classes (regression): every row in one group
            y = np.zeros(len(table), dtype=np.int64)
        tables.append(table)
        labels.append(y)
    import awkward as ak

    table = tables[0] if len(tables) == 1 else ak.concatenate(tables)
    return table, np.concatenate(labels), list(class_names or []), ", ".join(paths)


def load_sample(
    data: DataConfig,
    *,
    files: list[str] | None = None,
    representation: dict[str, Any] | None = None,
    progress: Any = None,
    labels_needed: bool = True,
    columns: Mapping[str, str] | None = None,
    optional_columns: frozenset[str] = frozenset(),
) -> LabeledSample:
    """Read (or generate), label and represent the jets of ``data``.

    ``files`` replaces the config's source (evaluation on another file); ``representation``
    replaces the config's representation by one saved with a trained model.
    ``labels_needed``: read class labels (at least two classes); without, every row is
    class 0. ``columns``: flat numeric columns the task needs, each mapped to the config
    key that names it (for the error when one is missing, e.g. ``task.targets``);
    those in ``optional_columns`` are left out of ``columns`` when the table lacks them
    (an evaluation file without the truth).
    """
    from hepdl.data import create_representation
    from hepdl.data.labels import labels_from_files, require_classes

    if files is not None:
        table, labels, class_names, source = _read_labeled(data, files, labels_needed=labels_needed)
    elif data.class_files:
        table, labels, class_names = labels_from_files(
            data.class_files,
            columns=data.columns,
            preset=data.preset,
            tree=data.tree,
            key=data.key,
            fmt=data.format,
        )
        source = ", ".join(p for ps in data.class_files.values() for p in ps)
    elif data.generate is not None:
        path = str(generated_sample(data.generate, progress=progress))
        table, labels, class_names, source = _read_labeled(
            data, [path], labels_needed=labels_needed
        )
    else:
        table, labels, class_names, source = _read_labeled(
            data, data.files, labels_needed=labels_needed
        )

    if len(labels) == 0:
        raise DataError(f"{source}: no rows to train or evaluate on")
    if labels_needed:
        require_classes(labels, class_names, source=source, minimum=2)
    wanted = {
        name: _column(table, name, source=source, key=key)
        for name, key in (columns or {}).items()
        if name in table.fields or name not in optional_columns
    }

    if representation is None:
        rep = create_representation(data.representation.name, **data.representation.options())
    else:
        options = {k: v for k, v in representation.items() if k != "name"}
        rep = create_representation(representation["name"], **options)
    arrays = {
        name: np.asarray(values, np.float32) if np.issubdtype(values.dtype, np.floating) else values
        for name, values in rep(table, source=source).items()
    }
    variable = None
    if data.reweight is not None:
        variable = _column(table, data.reweight.column, source=source, key="data.reweight.column")
    return LabeledSample(
        columns=wanted,
        weight_variable=variable,
        inputs=arrays,
        features=arrays.get("features"),
        labels=np.asarray(labels, dtype=np.int64),
        class_names=list(class_names),
        feature_names=list(rep.feature_names),
        representation=rep.config(),
        source=source,
    )


def signal_index(data: DataConfig, class_names: list[str]) -> int:
    """Index of the signal class: ``data.signal_class``, else the last class."""
    from hepdl.data.labels import signal_class_index

    return signal_class_index(class_names, data.signal_class)


def split_rows(
    data: DataConfig, labels: np.ndarray, *, seed: int, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) row indices: the split of ``data.split`` (class-stratified with
    ``stratify``, where the task has classes), then, with ``data.train_size``, a seeded
    stratified subset of the training rows (validation and test rows stay the same
    whatever the size, as a learning curve needs)."""
    from hepdl.data.splits import split_indices, training_subset

    split = data.split
    train_idx, val_idx, test_idx = split_indices(
        len(labels),
        fractions=(split.train, split.val, split.test),
        seed=split.seed,
        stratify=labels if stratify else None,
    )
    if data.train_size is not None:
        train_idx = training_subset(train_idx, labels, size=data.train_size, seed=seed)
    return train_idx, val_idx, test_idx


def _column(table: Any, name: str, *, source: str, key: str) -> np.ndarray:
    """One flat numeric column of the table, (N,) float64, or a DataError naming the file,
    the config ``key`` that asked for it and the column."""
    from hepdl._text import did_you_mean

    if name not in table.fields:
        raise DataError(
            f"{source}: {key} '{name}' is not a column"
            f"{did_you_mean(name, table.fields)}; columns: {', '.join(table.fields)}"
        )
    try:
        values = np.asarray(table[name], dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{source}: {key} '{name}' must hold one number per row") from None
    if values.ndim != 1:
        raise DataError(f"{source}: {key} '{name}' must hold one number per row")
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raise DataError(
            f"{source}: {key} '{name}' has {len(bad)} NaN or infinite value(s) (first in "
            f"row {bad[0]}); expected a finite number in every row"
        )
    return values
