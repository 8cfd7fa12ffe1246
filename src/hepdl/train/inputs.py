"""From the ``data`` section of a config to labelled feature arrays.

    files / class_files / generate  ->  table (awkward)  ->  labels
                                    ->  representation   ->  features (N, F)

Evaluation goes through the same function with the representation saved at training.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.config import DataConfig, GenerateSource
from hepdl.errors import DataError
from hepdl.paths import cache_dir


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
    files: list[str] = field(default_factory=list)  # the files read, in row order
    # (n_train, n_val, n_test) rows of a given split (read in that order); None: split here
    given_sizes: tuple[int, int, int] | None = None
    test_files: list[str] = field(default_factory=list)  # a given split's test files
    row_weights: np.ndarray | None = None  # (N,) float64 from data.weights_file, if given


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


@dataclass
class _Read:
    """The rows of some files: table, labels (N,), class names, per-row weights or None."""

    table: Any
    labels: np.ndarray
    class_names: list[str]
    source: str
    weights: np.ndarray | None
    rows_per_file: list[int]


def _read_labeled(data: DataConfig, paths: list[str], *, labels_needed: bool = True) -> _Read:
    import awkward as ak

    from hepdl.data.labels import labels_from_column
    from hepdl.data.readers import read_metadata, read_table
    from hepdl.data.side_arrays import read_side_array, side_file

    tables, labels, weights, class_names = [], [], [], data.classes
    where = {"tree": data.tree, "key": data.key, "fmt": data.format}
    where["column_names"] = data.column_names  # a CSV file without a header line
    for path in paths:
        table = read_table(path, columns=data.columns, preset=data.preset, **where)
        if labels_needed and data.labels_file is not None:  # an array beside the features
            name = side_file(data.labels_file, path)
            values = read_side_array(name, kind="labels", feature_file=path, rows=len(table))
            column = {data.label_column: values}
            y, class_names = labels_from_column(
                ak.Array(column),
                data.label_column,
                classes=class_names,
                source=name,
                max_classes=data.max_classes,
            )
        elif labels_needed:
            metadata = read_metadata(path, preset=None if data.columns else data.preset, **where)
            y, names = labels_from_column(
                table,
                data.label_column,
                classes=class_names,
                source=path,
                metadata=metadata,
                max_classes=data.max_classes,
            )
            class_names = names
        else:  # a task without classes (regression): every row in one group
            y = np.zeros(len(table), dtype=np.int64)
        if data.weights_file is not None:
            name = side_file(data.weights_file, path)
            weights.append(
                read_side_array(name, kind="weights", feature_file=path, rows=len(table))
            )
        tables.append(table)
        labels.append(y)
    table = tables[0] if len(tables) == 1 else ak.concatenate(tables)
    return _Read(
        table=table,
        labels=np.concatenate(labels),
        class_names=list(class_names or []),
        source=", ".join(paths),
        weights=np.concatenate(weights) if weights else None,
        rows_per_file=[len(t) for t in tables],
    )


def given_split_files(data: DataConfig) -> tuple[list[str], list[str]] | None:
    """(val files, test files) of a given split: ``data.val_files``/``test_files``, or the
    streaming section's (a baseline reading a streamed study in memory); None: none."""
    if data.val_files:
        return list(data.val_files), list(data.test_files)
    if data.streaming is not None:
        return list(data.streaming.val_files), list(data.streaming.test_files)
    return None


def _read_given_split(
    data: DataConfig, given: tuple[list[str], list[str]], *, labels_needed: bool
) -> tuple[_Read, tuple[int, int, int]]:
    """The training, validation and test files read as one sample, in that order, and
    the rows of each part; a DataError when one file is named by two parts."""
    from hepdl.data.splits import check_disjoint_files

    parts = {"data.files": data.files}
    prefix = "data.streaming." if not data.val_files else "data."
    parts.update({f"{prefix}val_files": given[0], f"{prefix}test_files": given[1]})
    check_disjoint_files(parts)
    read = _read_labeled(
        data, [p for ps in parts.values() for p in ps], labels_needed=labels_needed
    )
    sizes, start = [], 0
    for files in parts.values():
        sizes.append(sum(read.rows_per_file[start : start + len(files)]))
        start += len(files)
    return read, (sizes[0], sizes[1], sizes[2])


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
    from hepdl.data.splits import check_disjoint_files
    from hepdl.data.table_options import TableShape

    given_sizes, read_files, row_weights = None, list(files or data.files), None
    given = given_split_files(data) if files is None else None
    if files is not None or given is not None or (data.files and not data.class_files):
        if given is not None:
            read, given_sizes = _read_given_split(data, given, labels_needed=labels_needed)
            read_files = [*data.files, *given[0], *given[1]]
        else:
            if files is None:  # a file listed twice (or a copy) would count its rows twice
                check_disjoint_files({"data.files": read_files})
            read = _read_labeled(data, read_files, labels_needed=labels_needed)
        table, labels, class_names, source = read.table, read.labels, read.class_names, read.source
        row_weights = read.weights
    elif data.class_files:
        table, labels, class_names = labels_from_files(
            data.class_files,
            columns=data.columns,
            preset=data.preset,
            tree=data.tree,
            key=data.key,
            fmt=data.format,
            column_names=data.column_names,
        )
        read_files = [p for ps in data.class_files.values() for p in ps]
        source = ", ".join(read_files)
    else:
        path = str(generated_sample(data.generate, progress=progress))
        read = _read_labeled(data, [path], labels_needed=labels_needed)
        table, labels, class_names, source = read.table, read.labels, read.class_names, read.source
        read_files = [path]

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
    # Flat particle columns unpacked, events clustered into jets, or refused as one jet.
    table = TableShape.of(data, representation=rep.name)(table, source=source)
    arrays = {
        name: np.asarray(values, np.float32) if np.issubdtype(values.dtype, np.floating) else values
        for name, values in rep(table, source=source).items()
    }
    variable = None
    if data.reweight is not None:
        variable = _column(table, data.reweight.column, source=source, key="data.reweight.column")
    if given_sizes is not None:  # the same event in two parts of a given split is a leak
        _refuse_shared_rows(arrays, given_sizes, data, given)
    return LabeledSample(
        files=read_files,
        given_sizes=given_sizes,
        test_files=list(given[1]) if given_sizes is not None else [],
        row_weights=row_weights,
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


def _refuse_shared_rows(
    arrays: dict[str, np.ndarray],
    sizes: tuple[int, int, int],
    data: DataConfig,
    given: tuple[list[str], list[str]],
) -> None:
    """A DataError when a validation or test row repeats a row of another part exactly."""
    from hepdl.data.splits import check_disjoint_rows, given_split

    n = sum(sizes)
    per_row = {k: v for k, v in arrays.items() if len(v) == n}  # not a tree's node arrays
    if not per_row:
        return
    index = given_split(sizes)
    names = [", ".join(data.files), ", ".join(given[0]), ", ".join(given[1])]
    parts = dict(
        zip(("training", "validation", "test"), zip(index, names, strict=True), strict=True)
    )
    check_disjoint_rows(per_row, parts)


def split_rows(
    data: DataConfig,
    labels: np.ndarray,
    *,
    seed: int,
    stratify: bool = True,
    given: tuple[int, int, int] | None = None,
    class_names: Sequence[str] | None = None,
    source: str = "the sample",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) row indices: the given split (``given``: the rows of the
    training, validation and test files, read in that order), else the split of
    ``data.split`` (class-stratified with ``stratify``, where the task has classes); then,
    with ``data.train_size``, a seeded stratified subset of the training rows
    (validation and test rows stay the same whatever the size, as a learning curve needs).
    A validation or test split below ``data.split.min_rows`` rows, or without a row of
    every class of ``class_names`` (a task with classes), is a DataError."""
    from hepdl.data.splits import (
        check_evaluation_splits,
        given_split,
        split_indices,
        training_subset,
    )

    split = data.split
    if given is not None:
        train_idx, val_idx, test_idx = given_split(given)
    else:
        train_idx, val_idx, test_idx = split_indices(
            len(labels),
            fractions=(split.train, split.val, split.test),
            seed=split.seed,
            stratify=labels if stratify else None,
        )
    check_evaluation_splits(
        {"validation": val_idx, "test": test_idx},
        labels,
        min_rows=split.min_rows,
        class_names=class_names if stratify else None,
        source=source,
        advice=(
            ": give more rows in data.val_files / data.test_files"
            if given is not None
            else ": give more rows, raise data.split.val / data.split.test, or lower "
            "data.split.min_rows"
        ),
    )
    if data.train_size is not None:
        train_idx = training_subset(train_idx, labels, size=data.train_size, seed=seed)
    return train_idx, val_idx, test_idx


def _column(table: Any, name: str, *, source: str, key: str) -> np.ndarray:
    """One flat numeric column of the table, (N,) float64, or a DataError naming the file,
    the config ``key`` that asked for it and the column."""
    from hepdl.text import did_you_mean

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


def tested_rows(sample: LabeledSample, test_idx: np.ndarray) -> dict[str, object]:
    """The ``test_rows`` record of metrics.json (``hepdl.data.splits.tested_rows_record``):
    the test files and rows of a given split, else the rows ``test_idx`` of the files read."""
    from hepdl.data.splits import tested_rows_record

    if sample.given_sizes is not None:  # positions in the test files alone
        n_train, n_val, _ = sample.given_sizes
        return tested_rows_record(sample.test_files, np.asarray(test_idx) - n_train - n_val)
    return tested_rows_record(sample.files, test_idx)
