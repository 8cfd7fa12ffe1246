"""Event and jet generation with Pythia 8 and FastJet, written to Parquet.

Each generator is a settings dataclass and a function ``generate(settings, out, *,
overwrite=False, progress=None) -> Path``, registered by name in :data:`GENERATORS`
(the ``hepdl generate NAME`` command). Pythia, FastJet, awkward and pyarrow are imported
only when a generator runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hepdl.generate._parquet import read_metadata
from hepdl.generate.top_vs_qcd import CLASS_NAMES, TopVsQcdSettings, generate_top_vs_qcd

#: name -> (settings class, function(settings, out, *, overwrite, progress) -> Path)
GENERATORS: dict[str, tuple[type, Callable[..., Path]]] = {
    "top-vs-qcd": (TopVsQcdSettings, generate_top_vs_qcd),
}


def list_generators() -> list[str]:
    """The registered generator names."""
    return sorted(GENERATORS)


def get_generator(name: str) -> tuple[type, Callable[..., Path]]:
    """The (settings class, function) of generator ``name``."""
    from hepdl.errors import GenerationError

    try:
        return GENERATORS[name]
    except KeyError:
        raise GenerationError(
            f"unknown generator {name!r}; expected one of {list_generators()}"
        ) from None


__all__ = [
    "CLASS_NAMES",
    "GENERATORS",
    "TopVsQcdSettings",
    "generate_top_vs_qcd",
    "get_generator",
    "list_generators",
    "read_metadata",
]
