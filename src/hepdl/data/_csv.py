"""CSV files as they come: compressed or not, with a header line or with names given.

Compression (gzip, bzip2, xz, zstd) is recognised by the file's first bytes, so a
``.csv.gz`` and a gzip'd file with any other name (read with ``data.format: csv``) both
read; pandas alone infers it from the extension only.

Header: the first line names the columns, unless ``column_names`` are given (a file
without a header line, as the UCI repository ships them): then every line is a row and
there must be exactly one name per field. A header whose entries are non-integer
numbers (``28.79,16.0,...``) is the first row of a header-less file, and is refused
with the advice to give ``data.column_names``: read as names, it would silently lose
that row and name the columns after its values.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hepdl.data._messages import missing_columns_error, preview
from hepdl.data._unique_columns import refuse_repeated
from hepdl.errors import DataError

# First bytes of each compression pandas can read -> its name for pandas' `compression`.
MAGIC = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
# Extensions of those compressions, stripped before the format is looked up (.csv.gz).
COMPRESSED_SUFFIXES = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}


def compression(name: str) -> str | None:
    """The compression of file ``name`` from its first bytes (None: not compressed)."""
    with Path(name).open("rb") as stream:
        head = stream.read(8)
    return next((kind for magic, kind in MAGIC.items() if head.startswith(magic)), None)


def _error(name: str, err: Exception, names: Sequence[str] | None) -> DataError:
    layout = (
        f"{len(names)} comma-separated fields per line (data.column_names)"
        if names
        else "a header line with column names, then one row per line"
    )
    return DataError(f"{name}: cannot parse as CSV ({err}); expected {layout}")


def _read(
    name: Any, *, names: Sequence[str] | None, source: str | None = None, **options: Any
) -> Any:
    """``pd.read_csv`` of ``name`` (a path, or a binary stream of plain CSV named
    ``source`` in errors) with its compression; header-less when ``names``."""
    import pandas as pd

    header = {"header": None, "names": list(names)} if names else {}
    packed = compression(name) if source is None else None
    try:
        return pd.read_csv(name, compression=packed, **header, **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise _error(source or name, err, names) from err
    except ImportError as err:  # zstd needs the optional zstandard package
        raise DataError(
            f"{name}: is {compression(name)}-compressed, which needs a package not "
            f"installed here ({err}); pip install zstandard, or decompress the file"
        ) from err
    except (OSError, EOFError) as err:  # a truncated gzip/bz2/xz stream
        raise DataError(
            f"{name}: cannot decompress ({err}); expected a complete {compression(name)} file"
        ) from err


def csv_header(name: str, *, names: Sequence[str] | None = None) -> list[str]:
    """The column names: ``names`` (checked against the first line's field count), else
    the header line (refused when it looks like a row of numbers)."""
    if names:
        fields = len(_read(name, names=None, nrows=1, header=None).columns)
        if fields != len(names):
            raise DataError(
                f"{name}: data.column_names gives {len(names)} names ({preview(names)}) but "
                f"the first line has {fields} fields; expected one name per field"
            )
        repeated = sorted({n for n in names if list(names).count(n) > 1})
        if repeated:
            raise DataError(f"{name}: data.column_names repeats {', '.join(repeated)}")
        return [str(n) for n in names]
    header = [str(h) for h in _read(name, names=None, nrows=0).columns]
    _refuse_repeated_header(name, len(header))
    numbers = [h for h in header if _is_non_integer_number(h)]
    if numbers:
        raise DataError(
            f"{name}: the first line holds numbers ({preview(numbers[:3])}), not column "
            f"names; this file has no header line: give the names of its "
            f"{len(header)} fields in data.column_names (column_names= in Python)"
        )
    return header


def _refuse_repeated_header(name: str, fields: int) -> None:
    """pandas renames a repeated header entry (``a``, ``a.1``): read the line as it is.
    Blank entries (an unnamed index column) are left to pandas' ``Unnamed: i``."""
    first = _read(name, names=None, header=None, nrows=1, dtype=str, keep_default_na=False)
    raw = [str(v) for v in first.iloc[0].tolist()] if len(first) else []
    if len(raw) == fields:
        refuse_repeated(name, [v for v in raw if v.strip()])


def _is_non_integer_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return not text.strip().lstrip("+-").isdigit()


def read_csv(name: str, *, columns: list[str] | None, names: Sequence[str] | None = None) -> Any:
    """The file as a DataFrame: ``columns`` (None: all) in that order."""
    header = csv_header(name, names=names)
    if columns is not None:
        missing = [c for c in columns if c not in header]
        if missing:
            raise missing_columns_error(name, missing, header)
    frame = _read(name, names=names, usecols=columns)
    frame.columns = [str(c) for c in frame.columns]
    return frame if columns is None else frame[columns]
