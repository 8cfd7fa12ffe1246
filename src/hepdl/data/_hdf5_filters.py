"""HDF5 datasets whose compression h5py cannot decompress, read through PyTables.

pandas writes ``df.to_hdf(..., complib=...)`` through PyTables, which carries its own
blosc, blosc2, bzip2 and (when built with it) lzo filters; h5py has only zlib (gzip),
szip and lzf unless the ``hdf5plugin`` package is installed (imported here when it is).
So a dataset is read with h5py, and when a filter is missing, with PyTables; when
neither has the filter, the DataError names the compression and how to re-save.

Safety: PyTables unpickles, with the full ``pickle`` module, every attribute of each
node it opens (the node and the groups above it): a crafted file would run code as
soon as the node is opened (checked: an ``os.system`` pickle in ``values_block_0_kind``
runs on ``get_node``). So before PyTables opens anything, every such attribute is
decoded here with the restricted loader, and a pickle naming code is refused. Opcodes
run in the same order in both loaders, so a pickle that the restricted loader rejects
for any other reason fails in ``pickle`` before it can name code. The object blocks of
pandas' fixed layout are read as raw bytes, never through PyTables' object atom.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.data._safe_pickle import UnsafePickleError, safe_loads
from hepdl.errors import DataError

# HDF5 filter ids (registered at The HDF Group) -> the compression's usual name.
FILTER_NAMES = {
    1: "zlib (gzip)",
    2: "shuffle",
    3: "fletcher32",
    4: "szip",
    5: "nbit",
    6: "scaleoffset",
    32000: "lzf",
    32001: "blosc",
    307: "bzip2",
    305: "lzo",
    32004: "lz4",
    32008: "bitshuffle",
    32015: "zstd",
    32026: "blosc2",
}
# Filters PyTables may carry, by the library name tables.which_lib_version knows.
PYTABLES_LIBRARIES = {32001: "blosc", 307: "bzip2", 305: "lzo", 32026: "blosc2"}


def use_hdf5plugin() -> None:
    """Register the ``hdf5plugin`` filters with h5py when that package is installed."""
    try:
        import hdf5plugin  # noqa: F401  (registers blosc, bzip2, lz4, zstd, ... on import)
    except ImportError:
        pass


def read_values(dataset: Any, *, path: str) -> np.ndarray:
    """The whole of an h5py ``dataset``: by h5py, else through PyTables (see above)."""
    try:
        return dataset[()]
    except OSError as err:
        return _read_with_pytables(dataset, path=path, err=err)


def read_object_row(dataset: Any, *, path: str) -> bytes:
    """Row 0 of a variable-length uint8 dataset (pandas' pickled object block) as bytes."""
    try:
        return np.asarray(dataset[0], dtype=np.uint8).tobytes()
    except OSError as err:
        return bytes(_read_with_pytables(dataset, path=path, err=err, raw_row=True))


def _filters(dataset: Any) -> list[int]:
    plist = dataset.id.get_create_plist()
    return [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]


def _name(code: int) -> str:
    return f"{FILTER_NAMES.get(code, 'an unknown filter')} (HDF5 filter {code})"


def _remedy(codes: list[int]) -> str:
    """How to get the filters ``codes``: hdf5plugin has most; LZO comes only with a
    PyTables built against liblzo2 (conda's pytables is; PyPI's wheels are not)."""
    if 305 in codes:
        return (
            "LZO needs a PyTables built with it (conda install pytables, or pip install "
            "--no-binary tables tables with liblzo2 installed)"
        )
    return "install the filter (pip install hdf5plugin: blosc, bzip2, lz4, zstd)"


def _read_with_pytables(dataset: Any, *, path: str, err: OSError, raw_row: bool = False) -> Any:
    import h5py

    missing = [code for code in _filters(dataset) if not h5py.h5z.filter_avail(code)]
    if not missing:  # not a compression problem: a truncated or damaged dataset
        raise DataError(f"{path}: cannot read HDF5 dataset '{dataset.name}' ({err})") from err
    unreadable = [code for code in missing if not _pytables_has(code)]
    if unreadable:
        names = " and ".join(_name(code) for code in unreadable)
        raise DataError(
            f"{path}: HDF5 dataset '{dataset.name}' is compressed with {names}, which "
            f"neither h5py nor PyTables here can decompress; {_remedy(unreadable)}, or "
            f"re-save the file with a common compression, e.g. df.to_hdf(..., complib='zlib')"
        ) from err
    _refuse_code_in_attributes(dataset, path=path)
    import tables

    with tables.open_file(path, "r") as h5file:
        node = h5file.get_node(dataset.name)
        if raw_row:  # never node.read(): its object atom would unpickle the row
            return node._read_array(0, 1, 1)[0]
        return node.read()


def _pytables_has(code: int) -> bool:
    import tables

    library = PYTABLES_LIBRARIES.get(code)
    return library is not None and tables.which_lib_version(library) is not None


def _refuse_code_in_attributes(dataset: Any, *, path: str) -> None:
    """DataError when an attribute PyTables would unpickle (of the dataset or a group
    above it) is a pickle naming Python code."""
    parts = dataset.name.strip("/").split("/")
    names = ["/"] + ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]
    for name in names:
        node = dataset.file[name]
        for attribute in node.attrs:
            try:
                value = node.attrs[attribute]
            except OSError:  # a type h5py cannot read is no string PyTables would unpickle
                continue
            if not isinstance(value, bytes | np.bytes_):
                continue
            try:
                safe_loads(bytes(value))
            except UnsafePickleError as bad:
                raise DataError(
                    f"{path}: HDF5 attribute '{name.rstrip('/')}/{attribute}' is a pickle "
                    f"naming Python code ({bad}); hepdl does not open such files with "
                    f"PyTables, which would run it. Re-save the table with numeric and "
                    f"string columns only, or as Parquet"
                ) from None
            except Exception:  # not a pickle (plain text): PyTables keeps it as text too
                continue
