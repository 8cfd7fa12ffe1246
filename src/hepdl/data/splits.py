"""Train/validation/test splits of row indices, deterministic by seed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hepdl.errors import ConfigError, DataError

SPLIT_NAMES = ("train", "val", "test")


def check_fractions(fractions: Sequence[float]) -> tuple[float, float, float]:
    """(train, val, test) fractions: three finite numbers >= 0 summing to 1, train > 0."""
    values = tuple(float(f) for f in fractions)
    if len(values) != 3:
        raise ConfigError(
            f"split fractions {list(fractions)}: expected three numbers (train, val, test)"
        )
    if not all(np.isfinite(values)) or min(values) < 0 or values[0] <= 0:
        raise ConfigError(f"split fractions {list(values)}: expected train > 0 and val, test >= 0")
    if abs(sum(values) - 1.0) > 1e-6:
        raise ConfigError(
            f"split fractions {list(values)} sum to {sum(values):g}; expected them to sum to 1"
        )
    return values[0], values[1], values[2]


def _counts(rows: int, fractions: tuple[float, float, float], *, what: str) -> list[int]:
    """Rows per split: val and test rounded (at least 1 when their fraction is > 0)."""
    val, test = (max(int(np.floor(rows * f + 0.5)), 1 if f > 0 else 0) for f in fractions[1:])
    train = rows - val - test
    if train < 1:
        needed = 1 + sum(f > 0 for f in fractions[1:])
        raise DataError(
            f"too few rows to split: {what} cannot fill the "
            f"{'/'.join(n for n, f in zip(SPLIT_NAMES, fractions, strict=True) if f > 0)} "
            f"splits with fractions {list(fractions)}; expected at least {needed} rows"
        )
    return [train, val, test]


def split_indices(
    n: int,
    *,
    fractions: Sequence[float] = (0.6, 0.2, 0.2),
    seed: int,
    stratify: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint (train, val, test) row indices covering ``range(n)``, each sorted, int64.

    The same ``n``, ``fractions``, ``seed`` and ``stratify`` give the same split (NumPy
    ``default_rng(seed)``). With ``stratify`` (labels (n,)) every class is split on its
    own, so each split keeps the class fractions; every class then needs a row in each
    split with a non-zero fraction. Val and test get ``round(n * fraction)`` rows (at
    least one when their fraction is > 0); train gets the rest.
    """
    values = check_fractions(fractions)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise DataError(f"cannot split {n!r} rows; expected a positive number of rows")
    rng = np.random.default_rng(seed)
    if stratify is None:
        order = rng.permutation(n)  # (n,)
        parts = np.split(order, np.cumsum(_counts(n, values, what=f"{n} rows"))[:2])
        return _finish(parts)
    labels = np.asarray(stratify)
    if labels.shape != (n,):
        raise DataError(
            f"stratify labels have shape {labels.shape}; expected ({n},), one label per row"
        )
    classes, inverse = np.unique(labels, return_inverse=True)
    pieces: list[list[np.ndarray]] = [[], [], []]
    for c, value in enumerate(classes.tolist()):
        members = rng.permutation(np.flatnonzero(inverse == c))
        what = f"class {value!r} with {len(members)} rows"
        chunks = np.split(members, np.cumsum(_counts(len(members), values, what=what))[:2])
        for piece, chunk in zip(pieces, chunks, strict=True):
            piece.append(chunk)
    return _finish([np.concatenate(p) for p in pieces])


# Fewer validation or test rows than this and their AUC, loss or resolution is noise
# (data.split.min_rows; 20 rows of two classes give an AUC uncertain by about +-0.1).
MIN_EVALUATION_ROWS = 20


def check_evaluation_splits(
    parts: Mapping[str, np.ndarray],
    labels: np.ndarray,
    *,
    min_rows: int = MIN_EVALUATION_ROWS,
    class_names: Sequence[str] | None = None,
    source: str,
    advice: str = "",
) -> None:
    """A DataError when a split of ``parts`` ({"validation": row indices, ...}) has fewer
    than ``min_rows`` rows or, with ``class_names`` (a task with classes; ``labels`` (N,)
    int indices into them), lacks a row of some class: its metrics would mean nothing.
    The message names the split, its row count and its rows per class."""
    labels = np.asarray(labels)
    names = list(class_names or [])
    for split, rows in parts.items():
        counts = np.bincount(labels[rows], minlength=len(names)).tolist() if names else []
        shown = ", ".join(f"{c}: {k}" for c, k in zip(names, counts, strict=False))
        per_class = f" ({shown})" if names else ""
        if len(rows) < min_rows:
            raise DataError(
                f"{source}: the {split} split has {len(rows)} rows{per_class}; expected at "
                f"least data.split.min_rows = {min_rows}, or its metrics are noise{advice}"
            )
        absent = [c for c, k in zip(names, counts, strict=False) if k == 0]
        if absent:
            raise DataError(
                f"{source}: the {split} split has {len(rows)} rows{per_class} and none of "
                f"class {', '.join(repr(c) for c in absent)}; expected every class in it, "
                f"or its ROC and AUC mean nothing{advice}"
            )


def _finish(parts: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    train, val, test = (np.sort(p).astype(np.int64) for p in parts)
    return train, val, test


def training_subset(
    train_idx: np.ndarray, labels: np.ndarray, *, size: int, seed: int
) -> np.ndarray:
    """``size`` rows of the training split ``train_idx`` (sorted, int64), class-stratified.

    Class c with n_c of the n training rows gets k_c = floor(size * n_c / n) rows plus one
    for the largest remainders (so sum k_c = size), at least one each; its rows are the
    first k_c of a permutation drawn with ``default_rng(seed)``. Validation and test rows
    are never touched.
    """
    train_idx = np.asarray(train_idx, dtype=np.int64)
    n = len(train_idx)
    if size > n:
        raise DataError(
            f"data.train_size {size} is larger than the training split, which has {n} rows; "
            f"expected at most {n}"
        )
    classes, counts = np.unique(np.asarray(labels)[train_idx], return_counts=True)
    if size < len(classes):
        raise DataError(
            f"data.train_size {size} cannot hold one row of each of the {len(classes)} classes; "
            f"expected at least {len(classes)}"
        )
    share = size * counts / n  # (K,) the exact stratified shares
    take = np.maximum(np.floor(share).astype(np.int64), 1)
    for c in np.argsort(-(share - np.floor(share)), kind="stable"):  # largest remainders
        if take.sum() >= size:
            break
        take[c] += 1
    while take.sum() > size:  # the "at least one" above overshot: trim the largest classes
        take[np.argmax(take)] -= 1
    rng = np.random.default_rng(seed)
    train_labels = np.asarray(labels)[train_idx]
    chosen = [
        rng.permutation(train_idx[train_labels == value])[:k]
        for value, k in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def given_split(sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) row indices of a sample read as train files, then val files,
    then test files, with ``sizes`` = (n_train, n_val, n_test) rows: consecutive ranges."""
    ends = np.cumsum(sizes)  # (3,)
    train, val, test = (
        np.arange(end - n, end, dtype=np.int64) for n, end in zip(sizes, ends, strict=True)
    )
    return train, val, test


def check_disjoint_files(
    parts: Mapping[str, Sequence[str]],
    *,
    what: str = "splits",
    expected: str = "expected the train, validation and test files to be disjoint",
) -> None:
    """A DataError when one file is named twice: by two of ``parts`` ({config key or
    class: files}) or twice in one; the same file by its path, another path to it (a
    link, ``os.path.samefile``) or a copy of it (equal size and contents)."""
    by_inode: dict[tuple[int, int] | str, tuple[str, str]] = {}
    by_size: dict[int, list[tuple[str, str]]] = {}
    digests: dict[str, bytes] = {}  # hashed only where two files have the same size

    def digest(name: str) -> bytes:
        if name not in digests:
            digests[name] = _digest(name)
        return digests[name]

    for key, files in parts.items():
        for name in files:
            path = Path(name)
            stat = path.stat() if path.is_file() else None
            identity = (stat.st_dev, stat.st_ino) if stat else str(path.resolve())
            if identity in by_inode:
                _refuse_twice((key, name), by_inode[identity], what, expected, copy=False)
            by_inode[identity] = (key, name)
            if stat is None:
                continue  # the reader says it is missing
            for other in by_size.setdefault(stat.st_size, []):
                if digest(name) == digest(other[1]):
                    _refuse_twice((key, name), other, what, expected, copy=True)
            by_size[stat.st_size].append((key, name))


def _refuse_twice(
    first: tuple[str, str], second: tuple[str, str], what: str, expected: str, *, copy: bool
) -> None:
    (key, name), (other_key, other) = first, second
    same = "a copy of" if copy else "the same file as"
    if key == other_key:
        raise DataError(
            f"{name} is given twice in {key} (as {same} {other}); expected each file once, "
            f"or its rows count twice and reach more than one split"
        )
    raise DataError(
        f"{name} is in {key} and {other} in {other_key}: the same file in two {what}"
        f"{' (equal contents)' if copy else ''}; {expected}"
    )


def _digest(name: str) -> bytes:
    """BLAKE2b of the file's bytes."""
    digest = hashlib.blake2b(digest_size=16)
    with open(name, "rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
    return digest.digest()


def row_fingerprints(arrays: dict[str, np.ndarray]) -> np.ndarray:
    """(N,) 16-byte digests of each row of ``arrays`` (each (N, ...)): equal rows, equal
    digests; the names are sorted so the order of the dict does not matter."""
    n = len(next(iter(arrays.values())))
    flat = [np.ascontiguousarray(arrays[k]).reshape(n, -1).view(np.uint8) for k in sorted(arrays)]
    rows = np.concatenate([f.reshape(n, -1) for f in flat], axis=1)  # (N, bytes per row)
    return np.array([hashlib.blake2b(r.tobytes(), digest_size=16).digest() for r in rows])


def check_disjoint_rows(
    arrays: dict[str, np.ndarray], parts: dict[str, tuple[np.ndarray, str]]
) -> None:
    """A DataError when a row of one split is identical (same inputs, by fingerprint) to a
    row of another. ``parts``: {config key: (row indices, its files)}.

    Continuous inputs never repeat by chance, so there one shared row is a copied row.
    Inputs that repeat inside a split (discrete features: counts, categories, pixels of
    binary images) also repeat across splits by chance; there the splits are refused only
    when at least half of the smaller split's distinct rows are in the other one."""
    digests = row_fingerprints(arrays)
    keys = list(parts)
    for i, first in enumerate(keys):
        rows_a, files_a = parts[first]
        for second in keys[i + 1 :]:
            rows_b, files_b = parts[second]
            distinct_a, distinct_b = np.unique(digests[rows_a]), np.unique(digests[rows_b])
            common = np.intersect1d(distinct_a, distinct_b, assume_unique=True)
            repeats_inside = len(distinct_a) < len(rows_a) or len(distinct_b) < len(rows_b)
            if repeats_inside and len(common) < 0.5 * min(len(distinct_a), len(distinct_b)):
                continue
            if len(common):
                where_a = int(np.flatnonzero(np.isin(digests[rows_a], common))[0])
                where_b = int(np.flatnonzero(np.isin(digests[rows_b], common))[0])
                raise DataError(
                    f"{first} ({files_a}) and {second} ({files_b}) share {len(common)} "
                    f"identical row(s) (first: row {where_a} and row {where_b}); expected "
                    f"disjoint splits, or the test rows were trained on"
                )


def tested_rows_record(files: Sequence[str], rows: np.ndarray) -> dict[str, object]:
    """What a run was tested on, for ``metrics.json`` ("test_rows"): the absolute paths of
    the files read (in order), the number of test rows and the SHA-256 of their row
    indices (int64, positions in those files laid end to end). Two runs tested on the same
    rows of the same files have equal records, whatever their representation or model."""
    index = np.ascontiguousarray(np.sort(np.asarray(rows, dtype=np.int64)))
    return {
        "files": [str(Path(f).resolve()) for f in files],
        "n_rows": len(index),
        "index_sha256": hashlib.sha256(index.tobytes()).hexdigest(),
    }
