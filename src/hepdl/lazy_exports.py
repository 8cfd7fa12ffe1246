"""Public names of a package, imported from their submodules on first use.

A package ``__init__`` that imported every submodule would load torch, Lightning, awkward
or matplotlib with the package (Lightning alone is ~400 MB resident), so ``hepdl --help``,
loading a config and the NumPy scratch engine would pay for all of them. Instead:

    from hepdl.lazy_exports import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(
        __name__, {"hepdl.data.readers": ["read_table"], "hepdl.data.scaling": ["Standardizer"]}
    )

``hepdl.data.read_table`` then imports ``hepdl.data.readers`` the first time it is read
(PEP 562), and keeps the value in the package so later reads cost nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from importlib import import_module
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """A module ``__getattr__``, ``__dir__`` and ``__all__`` for ``package`` whose public
    names ``exports[m]`` are attributes of the module ``m``."""
    table = {name: module for module, names in exports.items() for name in names}
    if len(table) != sum(len(names) for names in exports.values()):
        raise ValueError(f"{package}: a name is exported from two modules")

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        setattr(sys.modules[package], name, value)  # read once; later reads skip this hook
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__, sorted(table)
