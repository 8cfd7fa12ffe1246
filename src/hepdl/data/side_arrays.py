"""Labels and per-row weights kept in their own ``.npy``/``.npz`` files beside a feature file.

Many public data sets ship ``X.npy`` and ``y.npy`` (or one ``.npz`` with both) rather
than one table. ``data.labels_file`` / ``data.weights_file`` name that array; a
``{stem}`` in the name stands for the feature file's name without its extensions, so
``{stem}_labels.npy`` finds ``train_labels.npy`` beside ``train.csv`` and
``val_labels.npy`` beside ``val.csv`` (one array per file of a given split). Row ``i`` of
the array belongs to row ``i`` of the feature file: the lengths must agree.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hepdl.errors import ConfigError, DataError

# The array of an .npz holding several: its name, tried in this order, per kind of array.
_NPZ_NAMES = {"labels": ("labels", "label", "y"), "weights": ("weights", "weight", "w")}
_CHECK_ROWS = 1 << 20  # rows of a weights array checked at a time


def side_file(template: str, feature_file: str) -> str:
    """The side file of ``feature_file``: ``template`` with ``{stem}`` replaced by the
    feature file's name without extensions (``train.csv.gz`` -> ``train``)."""
    stem = Path(feature_file).name.split(".")[0]
    try:
        return template.format(stem=stem)
    except (KeyError, IndexError, ValueError):
        raise ConfigError(
            f"'{template}': the only placeholder a side file may hold is {{stem}} (the "
            f"feature file's name without extensions)"
        ) from None


def read_side_array(path: str, *, kind: str, feature_file: str, rows: int) -> np.ndarray:
    """The (rows,) array of ``path`` (``kind``: "labels" or "weights") for the ``rows``
    rows of ``feature_file``; a DataError naming both files when the lengths differ."""
    values = checked_side_array(path, kind=kind, feature_file=feature_file, rows=rows)
    return np.asarray(values, dtype=np.float64) if kind == "weights" else np.asarray(values)


def checked_side_array(
    path: str, *, kind: str, feature_file: str, rows: int, mmap: bool = False
) -> np.ndarray:
    """The checked (rows,) array of ``path``; with ``mmap`` a ``.npy`` stays on disk (a
    memory map, sliced chunk by chunk when streaming; an ``.npz`` is read whole)."""
    values = _load(path, kind=kind, mmap=mmap)
    if values.ndim == 2 and values.shape[1] == 1:  # a column vector (N, 1)
        values = values[:, 0]
    if values.ndim != 1:
        raise DataError(
            f"{path}: {kind} array has shape {values.shape}; expected one value per row, (N,)"
        )
    if len(values) != rows:
        raise DataError(
            f"{path} holds {len(values)} {kind} but {feature_file} has {rows} rows; expected "
            f"one {kind[:-1]} per row of the feature file, in the same order"
        )
    if kind == "weights":
        for start in range(0, rows, _CHECK_ROWS):  # bounded memory for a memory map
            part = np.asarray(values[start : start + _CHECK_ROWS], dtype=np.float64)
            bad = np.flatnonzero(~np.isfinite(part) | (part < 0))
            if len(bad):
                row = start + int(bad[0])
                raise DataError(
                    f"{path}: weight {part[bad[0]]!r} in row {row}; expected finite weights >= 0"
                )
    return values


def side_rows(path: str, *, kind: str, start: int, stop: int) -> np.ndarray:
    """Rows ``[start, stop)`` of a side array checked before by ``checked_side_array``:
    from a memory map for ``.npy``, so a stream holds only its chunk's values."""
    values = _load(path, kind=kind, mmap=True)
    if values.ndim == 2:  # a column vector (N, 1)
        values = values[:, 0]
    return np.array(values[start:stop])


def _load(path: str, *, kind: str, mmap: bool = False) -> np.ndarray:
    if not Path(path).is_file():
        raise DataError(f"{path}: no such {kind} file (data.{kind}_file)")
    try:
        # Never unpickle a file a user was handed; mmap_mode applies to .npy only.
        loaded = np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except (ValueError, OSError) as err:
        raise DataError(f"{path}: not a NumPy .npy/.npz file without objects ({err})") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.files)
        chosen = names[0] if len(names) == 1 else None
        for name in _NPZ_NAMES[kind]:
            if chosen is None and name in names:
                chosen = name
        if chosen is None:
            raise DataError(
                f"{path}: holds arrays {names}; expected one array, or one named "
                f"{' or '.join(_NPZ_NAMES[kind])}"
            )
        return loaded[chosen]
