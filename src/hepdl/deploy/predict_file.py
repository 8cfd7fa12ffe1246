"""``hepdl predict``: a finished run's predictions for every entry of a file, written as
a Parquet file or a ROOT tree, one output entry per input entry, in input order.

The input is read chunk by chunk (``hepdl.data.chunked``), each chunk goes through
``Predictor.predict`` and is written at once (``table_writers``), so memory is about one
chunk whatever the file's size. The output columns are the run's prediction columns with
a prefix (``hepdl_score``, ``hepdl_p_top``, ``hepdl_<target>``, ``hepdl_valid``) beside
the input columns the user keeps. An entry without a valid input (no constituents, a
non-finite input) gets NaN in every prediction column and ``hepdl_valid`` False: it is
never dropped, so entry i of the output is entry i of the input.

With ``friend=True`` the ROOT output holds only the predictions, in tree ``hepdl``
(default) with the input's entry count and order, to be attached to the input tree:
``tree->AddFriend("hepdl", "out.root")`` in ROOT.

The output is written to an exclusively created temporary beside ``out`` and renamed
onto it only when every chunk is written and the written entry count is the input's;
any error (or Ctrl-C) removes the temporary, so ``out`` is whole or absent.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.deploy.table_writers import OUTPUT_FORMATS, open_writer, written_entries
from hepdl.errors import ConfigError, DataError

DEFAULT_PREFIX = "hepdl_"
DEFAULT_CHUNK_ROWS = 100_000
FRIEND_TREE = "hepdl"  # default tree name of a --friend output
NEW_TREE = "Events"  # default tree name of a ROOT output from a file without a tree
# Exclusive creation, never through a link (as hepdl.atomic creates its temporaries).
_EXCLUSIVE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


@dataclass(frozen=True)
class PredictSummary:
    """What ``predict_file`` wrote."""

    out: Path
    fmt: str  # "parquet" or "root"
    tree: str | None  # the ROOT tree written
    entries: int
    valid: int  # entries with a prediction
    columns: list[str]  # every output column, kept ones first
    prefix: str = DEFAULT_PREFIX
    friend: bool = False

    @property
    def invalid(self) -> int:
        """Entries without a valid input: NaN predictions, valid False."""
        return self.entries - self.valid

    def add_friend(self) -> str:
        """The ROOT line that attaches a friend output to the input tree."""
        return f'tree->AddFriend("{self.tree}", "{self.out}");'

    def lines(self) -> list[str]:
        """The summary ``hepdl predict`` prints."""
        where = f"{self.out} (tree '{self.tree}')" if self.tree else str(self.out)
        lines = [
            f"wrote {self.entries} entries to {where}",
            f"valid: {self.valid}; without a valid input: {self.invalid} "
            f"(NaN predictions, {self.prefix}valid False)",
            f"columns: {', '.join(self.columns)}",
        ]
        if self.friend:
            lines.append(f"attach it in ROOT: {self.add_friend()}")
        return lines


def predict_to_file(
    run_dir: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    prefix: str = DEFAULT_PREFIX,
    keep: Sequence[str] = (),
    tree: str | None = None,
    friend: bool = False,
    input_tree: str | None = None,
    input_key: str | None = None,
    backend: str = "torch",
    onnx_file: str | Path | None = None,
    overwrite: bool = False,
) -> PredictSummary:
    """Write run ``run_dir``'s predictions for every entry of ``data`` to ``out``
    (``.parquet`` or ``.root``, by extension)."""
    from hepdl.data.chunked import iter_chunks
    from hepdl.deploy.predictor import VALID, Predictor

    out, data = Path(out), Path(data)
    keep = list(dict.fromkeys(keep))
    fmt = _output_format(out, data=data, friend=friend, overwrite=overwrite, keep=keep)
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigError(f"--chunk-rows {chunk_rows!r}: expected an integer >= 1")
    predictor = Predictor.from_run(run_dir, backend=backend, onnx_file=onnx_file)
    names = {name: f"{prefix}{name}" for name in predictor.output_names()}
    clash = [k for k in keep if k in names.values()]
    if clash:
        raise ConfigError(
            f"--keep {', '.join(clash)}: is also the name of a prediction column "
            f"({', '.join(names.values())}); drop it from --keep or choose another --prefix"
        )
    source = _open_input(predictor, data, tree=input_tree, key=input_key, keep=keep)
    if source.n_rows == 0:
        raise DataError(f"{data}: has 0 entries; expected at least one to predict")
    wanted = predictor.read_columns()
    columns = None if wanted is None else list(dict.fromkeys([*wanted, *keep]))
    out_tree = (
        (tree or (FRIEND_TREE if friend else source.tree or NEW_TREE)) if fmt == "root" else None
    )
    valid = 0
    with _temporary(out) as tmp:
        writer = open_writer(tmp, fmt, chunk_rows=chunk_rows, tree=out_tree, shown=out)
        try:
            for start, stop, table in iter_chunks(source, columns=columns, chunk_rows=chunk_rows):
                predicted = predictor.predict(table, source=source.chunk_name(start, stop))
                valid += int(np.count_nonzero(predicted[VALID]))
                kept = {name: table[name] for name in keep}
                writer.write({**kept, **{names[k]: v for k, v in predicted.items()}})
        finally:
            writer.close()
        written = written_entries(tmp, fmt, tree=out_tree)
        check_entry_count(out, written, expected=source.n_rows, data=data, tree=out_tree)
    return PredictSummary(
        out=out,
        fmt=fmt,
        tree=out_tree,
        entries=written,
        valid=valid,
        columns=[*keep, *names.values()],
        prefix=prefix,
        friend=friend,
    )


def check_entry_count(
    out: Path, written: int, *, expected: int, data: Path, tree: str | None
) -> None:
    """A DataError unless the output holds exactly the input's ``expected`` entries (a
    friend tree is aligned by entry number, so one entry more or less shifts them all)."""
    if written != expected:
        where = f"tree '{tree}' of {out}" if tree else str(out)
        raise DataError(
            f"{where}: would hold {written} entries, but {data} has {expected}; "
            "entry i of the output must be entry i of the input, so nothing was written"
        )


def _output_format(
    out: Path, *, data: Path, friend: bool, overwrite: bool, keep: Sequence[str]
) -> str:
    """The output's format, after the checks that need no reading."""
    fmt = OUTPUT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"--out {out}: unknown extension '{out.suffix}'; expected one of "
            f"{', '.join(OUTPUT_FORMATS)}"
        )
    if friend and fmt != "root":
        raise ConfigError(
            f"--out {out}: --friend writes a ROOT friend tree; give a .root output, or drop "
            "--friend (a Parquet output can be joined by row number)"
        )
    if friend and keep:
        raise ConfigError(
            f"--keep {', '.join(keep)}: a --friend tree holds only the predictions (the "
            "input tree has the rest); drop --keep or --friend"
        )
    if os.path.lexists(out) and os.path.lexists(data) and _same_file(out, data):
        raise ConfigError(f"--out {out}: is the input file --data {data}; choose another name")
    if os.path.lexists(out) and not overwrite:
        raise ConfigError(f"--out {out}: exists already; pass --overwrite to replace it")
    if out.is_dir():
        raise ConfigError(f"--out {out}: is a directory; expected a file name")
    if not out.parent.is_dir():
        raise ConfigError(f"--out {out}: folder {out.parent} does not exist; create it first")
    return fmt


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _open_input(
    predictor: Any, data: Path, *, tree: str | None, key: str | None, keep: Sequence[str]
) -> Any:
    """The input file checked, read as the run read its files: ``data.format``,
    ``data.column_names``, ``data.columns`` / ``data.preset``, and the run's ``data.tree``
    (ROOT) / ``data.key`` (HDF5) unless ``tree`` / ``key`` are given."""
    from hepdl.data import detect_format
    from hepdl.data.chunked import open_chunked, with_own_columns

    section = predictor.config.data
    kind = detect_format(str(data), fmt=section.format)
    if tree is None and kind == "root":
        tree = section.tree
    if key is None and kind == "hdf5":
        key = section.key
    source = open_chunked(
        str(data),
        fmt=section.format,
        tree=tree,
        key=key,
        column_names=section.column_names if kind == "csv" else None,
        mapping=section.columns,
        preset=section.preset,
    )
    source = with_own_columns(source, keep)
    source.require(
        list(keep),
        what="branch" if source.fmt == "root" else "column",
        hint="--keep names columns of the input to copy to the output",
    )
    return source


@contextmanager
def _temporary(out: Path) -> Iterator[Path]:
    """An exclusively created empty temporary beside ``out``, renamed onto ``out`` when
    the block ends without error; removed on any error, Ctrl-C included."""
    from hepdl.atomic import sync_folder, write_error

    tmp = out.with_name(f".{out.name}.{secrets.token_hex(6)}.tmp")
    try:
        os.close(os.open(tmp, _EXCLUSIVE, 0o666))
    except FileExistsError:
        raise DataError(f"{tmp}: exists already; not writing {out} through it") from None
    except OSError as err:
        raise write_error(out, err) or err from None
    try:
        yield tmp
        os.replace(tmp, out)
    except OSError as err:
        error = write_error(out, err)
        if error is None:
            raise
        raise error from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    sync_folder(out.parent)
