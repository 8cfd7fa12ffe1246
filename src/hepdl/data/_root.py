"""ROOT reader: one TTree through uproot, branches as columns (jagged ones stay jagged).

RNTuples (``ROOT::RNTuple``, what uproot >= 5.7 writes for ``file["name"] = {...}``) are
read the same way and count as trees below.

Branch names are matched exactly (uproot's ``expressions`` are never used, so a column
name from a config is not evaluated as Python).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import awkward as ak

from hepdl.data._messages import missing_columns_error, preview
from hepdl.errors import DataError, HepdlError
from hepdl.text import did_you_mean

TREE_CLASSES = ("TTree", "TNtuple", "TNtupleD", "ROOT::RNTuple")


@contextmanager
def _open(path: str) -> Iterator[Any]:
    """The open ROOT file, closed after the block; any failure of uproot inside the block
    (a truncated file fails only when a key or basket is read) becomes one DataError."""
    import uproot

    try:
        rootfile = uproot.open(path)
    except Exception as err:  # uproot raises ValueError, OSError, its own errors, ...
        raise DataError(
            f"{path}: cannot open as ROOT ({type(err).__name__}: {_one_line(err)}); expected "
            f"a ROOT file, complete and not truncated (check the extension or pass fmt=...)"
        ) from err
    try:
        with rootfile:
            yield rootfile
    except HepdlError:
        raise
    except Exception as err:
        raise DataError(
            f"{path}: cannot read as ROOT ({type(err).__name__}: {_one_line(err)}); the file "
            f"may be truncated or corrupt"
        ) from err


def _one_line(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 300 else f"{text[:300]}..."


def tree_names(path: str) -> list[str]:
    """Names of the TTrees in a ROOT file (without cycle numbers), at any depth."""
    with _open(path) as rootfile:
        return _trees(rootfile)


def _trees(rootfile: Any) -> list[str]:
    classes = rootfile.classnames(cycle=False)
    return sorted({name for name, cls in classes.items() if cls in TREE_CLASSES})


def _choose_tree(rootfile: Any, tree: str | None, *, path: str) -> Any:
    trees = _trees(rootfile)
    if tree is None:
        if len(trees) == 1:
            return rootfile[trees[0]]
        if not trees:
            others = preview(sorted(rootfile.classnames(cycle=False).items()))
            raise DataError(
                f"{path}: holds no TTree (or RNTuple); expected one (it holds: {others})"
            )
        raise DataError(
            f"{path}: holds {len(trees)} TTrees ({', '.join(trees)}); pass tree=... to choose one"
        )
    if tree not in trees:
        hint = did_you_mean(tree, trees, cutoff=0.7)
        raise DataError(
            f"{path}: no TTree named '{tree}'{hint}; trees in the file: {preview(trees)}"
        )
    return rootfile[tree]


def root_columns(path: str, *, tree: str | None) -> list[str]:
    """The branch names of the chosen TTree (all of them, readable or not)."""
    with _open(path) as rootfile:
        return list(_choose_tree(rootfile, tree, path=path).keys())


def read_root(path: str, *, columns: Sequence[str] | None, tree: str | None) -> ak.Array:
    """The branches ``columns`` (default: every readable branch) of one TTree."""
    import uproot

    with _open(path) as rootfile:
        ttree = _choose_tree(rootfile, tree, path=path)
        location = f"{path} (tree '{ttree.name}')"
        available = list(ttree.keys())
        if columns is not None:
            missing = [c for c in columns if c not in available]
            if missing:
                raise missing_columns_error(location, missing, available, what="branch")
        wanted = list(columns) if columns is not None else available
        unreadable = [
            name
            for name in wanted
            if isinstance(
                getattr(ttree[name], "interpretation", None),
                uproot.interpretation.identify.UnknownInterpretation,
            )
        ]
        if columns is not None and unreadable:
            raise DataError(
                f"{location}: branch(es) {', '.join(unreadable)} hold objects uproot cannot "
                f"interpret as arrays; expected numeric, string or jagged numeric branches"
            )
        wanted = [name for name in wanted if name not in unreadable]
        if ttree.num_entries == 0:
            raise DataError(f"{location}: the tree has 0 entries; expected at least one row")
        chosen = set(wanted)
        try:
            arrays = ttree.arrays(filter_name=lambda name: name in chosen, library="ak")
        except Exception as err:  # decompression or deserialisation of a damaged basket
            raise DataError(
                f"{location}: cannot read branches ({type(err).__name__}: {err}); "
                f"the file may be truncated or corrupt"
            ) from err
    return arrays[wanted]
