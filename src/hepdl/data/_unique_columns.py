"""Refuse a file whose columns repeat a name.

Parquet, CSV headers, HDF5 (a 2-D dataset's name attribute, fields of several datasets in
one group, pandas tables) and ROOT trees can all hold two columns of the same name. Every
reader would then keep one of them silently (pandas renames the second ``a.1``, a dict
keeps the last), so a model trains on whichever column won; hepdl refuses the file
instead, as pyarrow does when asked to select such a column.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from hepdl.data._messages import preview
from hepdl.errors import DataError


def refuse_repeated(source: str, names: Iterable[object], *, what: str = "column") -> None:
    """DataError naming each name of ``names`` that appears more than once in ``source``."""
    counts = Counter(str(n) for n in names)
    repeated = [f"'{n}' ({k} times)" for n, k in counts.items() if k > 1]
    if repeated:
        noun = f"{what} name" if len(repeated) == 1 else f"{what} names"
        raise DataError(
            f"{source}: repeated {noun} {preview(repeated)}; expected each {what} once "
            f"(a reader would keep one of them silently): rename or drop the copies"
        )
