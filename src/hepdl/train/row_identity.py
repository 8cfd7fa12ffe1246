"""Which rows a run saw: a 64-bit key per row, kept per split in ``row_keys.npz``.

A row's key hashes the arrays the model consumed for it (the representation's inputs
before standardisation, so a file read again with the run's saved representation gives
the same keys). The run keeps the sorted keys of its training, validation and test rows:

- ``hepdl compare`` refuses runs whose test rows differ: the fingerprint of their test
  keys (the SHA-256 of the sorted keys: independent of row order and of where the file
  lies, different as soon as one row differs). metrics.json's ``test_rows`` record (files
  and row positions, ``hepdl.data.splits.tested_rows_record``) is the check for runs
  without keys;
- ``hepdl evaluate`` warns when it is asked to judge rows the model was fitted or
  selected on (training and validation keys).

Arrays that are not one entry per row (the node arrays of clustering trees) are left out
of the keys; a sample with none gets no file.

Training standardises a sample's features in place (``hepdl.train.prepared``: the rows
are held once), so it takes their keys first with :func:`keep_row_keys`; from then on
:func:`sample_row_keys` of that sample returns those keys, of the rows as they were read.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

ROW_KEYS_FILE = "row_keys.npz"
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / golden ratio: spreads the bits
# id(sample) -> the keys of its rows as read, for samples whose arrays were then changed in
# place; an entry goes with its sample (so an id is never reused while in here).
_KEPT: dict[int, np.ndarray | None] = {}


def row_keys(inputs: Mapping[str, Any], n_rows: int) -> np.ndarray | None:
    """One uint64 key per row (N,) of the arrays of ``inputs`` with ``n_rows`` rows (in
    name order); None when no array has one entry per row."""
    keys = np.full(n_rows, 0x243F6A8885A308D3, dtype=np.uint64)
    used = False
    for name in sorted(inputs):
        array = inputs[name]
        if not isinstance(array, np.ndarray) or array.ndim == 0 or len(array) != n_rows:
            continue
        used = True
        for word in _words(array).T:  # (N,) per 8 bytes of the row
            keys = _mix((keys ^ word) * _MULTIPLIER)
    return keys if used else None


def _words(array: np.ndarray) -> np.ndarray:
    """The bytes of each row as uint64 words (N, W), zero-padded to a multiple of 8."""
    raw = np.ascontiguousarray(array).reshape(len(array), -1).view(np.uint8)  # (N, B)
    pad = (-raw.shape[1]) % 8
    if pad:
        raw = np.concatenate([raw, np.zeros((len(raw), pad), np.uint8)], axis=1)
    return raw.view(np.uint64)


def _mix(h: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return h ^ (h >> np.uint64(31))


def fingerprint(keys: np.ndarray) -> str:
    """16 hex digits naming a set of rows: the SHA-256 of their sorted keys."""
    return hashlib.sha256(np.sort(keys).tobytes()).hexdigest()[:16]


def sample_row_keys(sample: Any) -> np.ndarray | None:
    """:func:`row_keys` of a sample's inputs (``hepdl.train.inputs.LabeledSample``): those
    :func:`keep_row_keys` took before its arrays were changed in place, if it did."""
    if id(sample) in _KEPT:
        return _KEPT[id(sample)]
    return row_keys(sample.inputs, len(sample.labels))


def keep_row_keys(sample: Any) -> np.ndarray | None:
    """The keys (N,) of ``sample``'s rows as they are now, kept as its
    :func:`sample_row_keys` for as long as the sample lives: call it before changing the
    sample's arrays in place (once: :func:`require_as_read`)."""
    require_as_read(sample)
    keys = row_keys(sample.inputs, len(sample.labels))
    weakref.finalize(sample, _KEPT.pop, id(sample), None)
    _KEPT[id(sample)] = keys
    return keys


def require_as_read(sample: Any) -> None:
    """RuntimeError for a sample whose arrays were changed in place after
    :func:`keep_row_keys` (standardised by an earlier ``prepare_data``): reused, it would be
    scaled twice, or trained on as if it were raw."""
    if id(sample) in _KEPT:
        raise RuntimeError(
            f"the sample of {sample.source} was standardised in place by an earlier "
            "prepare_data, so its arrays are no longer the rows as read; read it again "
            "(hepdl.train.inputs.load_sample) instead of reusing it"
        )


def write_row_keys(
    run_dir: Path, sample: Any, *, train: np.ndarray, val: np.ndarray, test: np.ndarray
) -> Path | None:
    """row_keys.npz of a run on ``sample`` split into row indices ``train``, ``val`` and
    ``test`` (each the sorted keys, uint64); None when the sample gives no keys."""
    from hepdl.atomic import write_npz

    keys = sample_row_keys(sample)
    if keys is None:
        return None
    path = Path(run_dir) / ROW_KEYS_FILE
    write_npz(path, **{part: np.sort(keys[rows]) for part, rows in _parts(train, val, test)})
    return path


def _parts(*rows: np.ndarray) -> zip:
    return zip(("train", "val", "test"), rows, strict=True)


def tested_fingerprint(run_dir: Path) -> tuple[int, str] | None:
    """(number of test rows, :func:`fingerprint` of their keys) of a run, or None for a
    run that kept no keys."""
    path = Path(run_dir) / ROW_KEYS_FILE
    if not path.is_file():
        return None
    from hepdl.train.artifacts import read_run_npz

    test = read_run_npz(path, ["test"])["test"]
    return len(test), fingerprint(test)


def seen_rows(run_dir: Path, keys: np.ndarray) -> dict[str, int] | None:
    """How many of the rows ``keys`` (N,) the run trained on ("train") and selected its
    epoch on ("val"); None when the run recorded no keys."""
    path = Path(run_dir) / ROW_KEYS_FILE
    if not path.is_file():
        return None
    from hepdl.train.artifacts import read_run_npz

    saved = read_run_npz(path, ["train", "val"])
    return {part: int(np.isin(keys, saved[part]).sum()) for part in ("train", "val")}
