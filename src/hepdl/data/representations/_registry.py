"""The representation registry: name -> factory, with checked options.

A representation turns a table (``ak.Array`` of records, one row per jet or event)
into named NumPy arrays, e.g. ``{"features": (N, F) float32}``. It is an object with

- ``name``: its registered name;
- ``feature_names``: the names of the last axis of its ``features`` array;
- ``config() -> dict``: JSON-safe, ``{"name": ..., **options}``; stored with a trained
  model so evaluation can refuse input prepared differently
  (``representation_from_config`` rebuilds the same representation);
- ``__call__(table, *, source) -> dict[str, np.ndarray]``; ``source`` (usually the file
  name) is named in every error;
- ``provides`` (on the class): the names of the arrays ``__call__`` returns, and
  optionally ``optional_provides``, {option: array} for arrays an option adds, so that a
  model's inputs are checked against a config before any data is read
  (``provided_arrays``).

Register a new one with ``@register_representation("name")`` on a class (or factory)
whose keyword arguments are its options. Mistakes in names or options raise
``ConfigError``; mistakes in the data raise ``DataError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import awkward as ak
import numpy as np

from hepdl.errors import ConfigError
from hepdl.registry import Registry


@runtime_checkable
class Representation(Protocol):
    """What ``create_representation`` returns."""

    name: str

    @property
    def feature_names(self) -> list[str]: ...

    def config(self) -> dict[str, Any]: ...

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]: ...


def _option_bounds() -> dict[str, Any]:
    """Every numeric representation option's range by option name (strings and feature
    names are checked by the representations themselves when built)."""
    from pydantic import Field

    from hepdl.limits import MAX_PARTICLES, MAX_PIXELS

    particles = Field(ge=1, le=MAX_PARTICLES, description="hepdl.limits.MAX_PARTICLES")
    return {
        "max_particles": particles,
        "k": particles,
        "pixels": Field(ge=1, le=MAX_PIXELS, description="hepdl.limits.MAX_PIXELS"),
        "extent": Field(gt=0),
        "crop": Field(ge=1, le=MAX_PIXELS, description="hepdl.limits.MAX_PIXELS"),
        "layer_sums.window": Field(ge=1, le=MAX_PIXELS, description="hepdl.limits.MAX_PIXELS"),
        "shower_shapes.threshold": Field(gt=0),
        "shower_shapes.min_energy": Field(gt=0),
        "subjet_radius": Field(gt=0),
        "jet_radius": Field(gt=0),
        "eps": Field(gt=0),
    }


REPRESENTATIONS: Registry[Any] = Registry("representation", bounds=_option_bounds)
register_representation = REPRESENTATIONS.register


def provided_arrays(name: str, options: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The array names representation ``name`` gives with ``options`` (its class's
    ``provides``, plus each ``optional_provides`` array whose option is set); None for a
    representation that declares nothing."""
    factory = REPRESENTATIONS.factory(name)
    declared = getattr(factory, "provides", None)
    if declared is None:
        return None
    optional = getattr(factory, "optional_provides", {})
    return (*declared, *(array for option, array in optional.items() if options.get(option)))


def list_representations() -> list[str]:
    """The registered representation names, sorted."""
    return REPRESENTATIONS.names()


# What every representation has (the module docstring says what each is for).
REQUIRED_MEMBERS = ("name", "feature_names", "config", "__call__")


def create_representation(name: str, **options: Any) -> Any:
    """Build the representation registered as ``name`` with keyword ``options``; a
    ConfigError when the object lacks a member of the protocol (a user's own class)."""
    built = REPRESENTATIONS.create(name, **options)
    missing = [member for member in REQUIRED_MEMBERS if not hasattr(built, member)]
    if missing:
        raise ConfigError(
            f"representation '{name}' ({type(built).__name__}) has no "
            f"{', '.join(missing)}; a representation needs {', '.join(REQUIRED_MEMBERS)} "
            f"(hepdl.data.representations: the protocol, and 'columns' as an example)"
        )
    return built


def representation_from_config(config: Mapping[str, Any]) -> Any:
    """Rebuild a representation from its ``config()`` (``{"name": ..., **options}``)."""
    if "name" not in config:
        raise ConfigError(
            f"representation config {dict(config)} has no 'name'; expected one of "
            f"{', '.join(list_representations())}"
        )
    options = {k: v for k, v in config.items() if k != "name"}
    return create_representation(str(config["name"]), **options)
