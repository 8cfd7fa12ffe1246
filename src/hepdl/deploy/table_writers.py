"""Tables written chunk by chunk: Parquet (one row group per chunk) and ROOT (one TTree,
extended per chunk), so an output as large as its input never sits in memory.

A writer takes dicts of columns (each with one entry per row: (n,) NumPy arrays or
awkward arrays, jagged ones included) of the same names every call, writes them to
``path`` (an existing empty temporary the caller renames when all is written) and
says how many entries it wrote; :func:`written_entries` reads the count back from the
closed file, so a caller can check it against its input before the rename.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError

# extension -> format of the output
OUTPUT_FORMATS = {".parquet": "parquet", ".root": "root"}


class ParquetChunkWriter:
    """``pyarrow.parquet.ParquetWriter``: the first chunk fixes the schema; each chunk is
    one row group (of at most ``row_group_rows`` rows)."""

    def __init__(self, path: Path, *, row_group_rows: int, shown: Path | None = None) -> None:
        self.path = Path(path)
        self.shown = Path(shown or path)
        self.row_group_rows = row_group_rows
        self.entries = 0
        self._writer: Any = None

    def write(self, columns: dict[str, Any]) -> None:
        import awkward as ak
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = ak.to_arrow_table(ak.zip(dict(columns), depth_limit=1), extensionarray=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema)
        elif table.schema != self._writer.schema:
            try:  # e.g. a column with missing values in this chunk only: nullable there
                table = table.cast(self._writer.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as err:
                raise DataError(
                    f"{self.shown}: rows {self.entries}-{self.entries + len(table)} have "
                    f"column types {table.schema} that differ from the first chunk's "
                    f"({self._writer.schema}): {err}"
                ) from None
        self._writer.write_table(table, row_group_size=self.row_group_rows)
        self.entries += len(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class RootChunkWriter:
    """One TTree ``tree`` (``mktree``: a TTree, which ROOT can attach as a friend; uproot's
    ``file[name] = ...`` would write an RNTuple) extended by each chunk. A jagged column
    ``x`` gets uproot's counter branch ``nx`` beside it."""

    def __init__(self, path: Path, *, tree: str, shown: Path | None = None) -> None:
        import uproot

        self.path = Path(path)
        self.shown = Path(shown or path)
        self.tree = tree
        self.entries = 0
        self._file = uproot.recreate(str(self.path))
        self._tree: Any = None

    def write(self, columns: dict[str, Any]) -> None:
        columns = {name: _branch_values(name, values) for name, values in columns.items()}
        try:
            if self._tree is None:
                types = {
                    k: v.dtype if isinstance(v, np.ndarray) else v.type.content
                    for k, v in columns.items()
                }
                self._tree = self._file.mktree(self.tree, types)
            self._tree.extend(columns)
        except (TypeError, ValueError) as err:  # uproot's word for a type a TTree cannot hold
            types = ", ".join(f"{k} ({_type_name(v)})" for k, v in columns.items())
            raise DataError(
                f"{self.shown}: cannot write these columns as branches of a TTree: {types} "
                f"({err}); keep numeric columns (flat or jagged) or write a .parquet output"
            ) from None
        self.entries += len(next(iter(columns.values())))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def open_writer(
    path: Path, fmt: str, *, chunk_rows: int, tree: str | None, shown: Path | None = None
) -> Any:
    """The chunk writer of format ``fmt`` (a value of ``OUTPUT_FORMATS``) on ``path``;
    ``shown``: the name its messages give the file (the target of a temporary ``path``)."""
    if fmt == "parquet":
        return ParquetChunkWriter(path, row_group_rows=chunk_rows, shown=shown)
    if tree is None:
        raise ValueError("a ROOT output needs a tree name")
    return RootChunkWriter(path, tree=tree, shown=shown)


def written_entries(path: Path, fmt: str, *, tree: str | None) -> int:
    """The entry count of the closed file ``path`` as a reader sees it."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    import uproot

    with uproot.open(str(path)) as rootfile:
        return int(rootfile[tree].num_entries)


def _type_name(values: Any) -> str:
    return str(values.dtype) if isinstance(values, np.ndarray) else str(values.type.content)


def _branch_values(name: str, values: Any) -> Any:
    """A column as uproot writes it: a NumPy array (flat), or an awkward array of lists."""
    import awkward as ak

    if isinstance(values, np.ndarray):
        return values
    array = ak.Array(values)
    if isinstance(array.type.content, ak.types.OptionType):  # missing values somewhere
        raise DataError(
            f"column '{name}' ({array.type.content}) has missing values, which a ROOT branch "
            "cannot hold; write a .parquet output or keep another column"
        )
    if array.ndim == 1:
        return ak.to_numpy(array)
    return array
