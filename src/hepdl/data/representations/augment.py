"""Physics augmentations: random transformations of a jet table, applied before a
representation.

They are a registry of their own (not representation options), because they are random,
act on the table rather than on a representation's arrays, and must be usable in front of
any representation: ``create_augmentation(name, **options)``, ``list_augmentations()``,
``augmentation_from_config``. Each one is called as ``aug(table, rng=..., source=...)``
and returns a new table in which only the constituent columns ``part_px, part_py,
part_pz, part_energy`` changed (the lists keep their lengths and order; every other column,
``jet_*`` included, is passed through).

- ``rotate``: rotation by a uniform random angle about the jet axis (E-scheme sum of
  the constituents' 3-momenta); jet four-momentum and all masses unchanged.
- ``reflect``: with probability 1/2 each (per jet), Delta phi -> -Delta phi and/or
  Delta y -> -Delta y about the jet axis; jet four-momentum unchanged.
- ``smear``: JetCLR's soft smearing, (eta, phi) of each constituent moved by
  N(0, scale / pT); changes the jet momentum slightly (by soft constituents mostly).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data.representations._constituents import FOUR_MOMENTUM_COLUMNS, read_flat
from hepdl.data.representations._options import name_list, positive_float
from hepdl.errors import ConfigError
from hepdl.physics import jet_symmetries, kinematics
from hepdl.registry import Registry

AUGMENTATIONS: Registry[Any] = Registry("augmentation")
register_augmentation = AUGMENTATIONS.register


def list_augmentations() -> list[str]:
    """The registered augmentation names, sorted."""
    return AUGMENTATIONS.names()


def create_augmentation(name: str, **options: Any) -> Any:
    """Build the augmentation registered as ``name`` with keyword ``options``."""
    return AUGMENTATIONS.create(name, **options)


def augmentation_from_config(config: Mapping[str, Any]) -> Any:
    """Rebuild an augmentation from its ``config()`` (``{"name": ..., **options}``)."""
    if "name" not in config:
        raise ConfigError(
            f"augmentation config {dict(config)} has no 'name'; expected one of "
            f"{', '.join(list_augmentations())}"
        )
    return create_augmentation(
        str(config["name"]), **{k: v for k, v in config.items() if k != "name"}
    )


class _ConstituentTransform(ABC):
    """Reads the four-momentum columns flat, transforms them, writes them back."""

    name = ""

    def config(self) -> dict[str, Any]:
        return {"name": self.name}

    def __call__(self, table: ak.Array, *, rng: np.random.Generator, source: str) -> ak.Array:
        flat, counts = read_flat(
            table,
            FOUR_MOMENTUM_COLUMNS,
            source=source,
            representation=self.name,
            kind="augmentation",
        )
        momenta = np.stack([flat[c] for c in FOUR_MOMENTUM_COLUMNS], axis=1)  # (M, 4)
        jet_index = np.repeat(np.arange(len(counts)), counts)  # (M,)
        jet = np.stack(
            [
                np.bincount(jet_index, weights=momenta[:, i], minlength=len(counts))
                for i in range(4)
            ],
            axis=1,
        )  # (N, 4) summed four-momentum of each jet
        new = self._transform(momenta, jet, jet_index, rng)
        for i, column in enumerate(FOUR_MOMENTUM_COLUMNS):
            table = ak.with_field(table, ak.unflatten(new[:, i], counts), column)
        return table

    @abstractmethod
    def _transform(
        self, momenta: np.ndarray, jet: np.ndarray, jet_index: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """New constituent four-momenta (M, 4) from ``momenta`` (M, 4); ``jet`` (N, 4)."""


@register_augmentation("rotate")
class RotateAugmentation(_ConstituentTransform):
    """Rotate each jet about its axis by an angle drawn uniformly from [0, 2 pi)."""

    name = "rotate"

    def _transform(
        self, momenta: np.ndarray, jet: np.ndarray, jet_index: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        angle = rng.uniform(0.0, 2.0 * np.pi, size=len(jet))  # (N,)
        return jet_symmetries.rotate_about_axis(momenta, jet[jet_index, :3], angle[jet_index])


REFLECTION_AXES: tuple[str, ...] = ("phi", "rapidity")


@register_augmentation("reflect")
class ReflectAugmentation(_ConstituentTransform):
    """Mirror each jet about its axis in ``axes`` (default both), each with probability 1/2."""

    name = "reflect"

    def __init__(self, *, axes: Sequence[str] = REFLECTION_AXES) -> None:
        self._axes = name_list(
            axes,
            option="axes",
            representation=self.name,
            known=REFLECTION_AXES,
            kind="augmentation",
        )

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "axes": list(self._axes)}

    def _transform(
        self, momenta: np.ndarray, jet: np.ndarray, jet_index: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        for axis in self._axes:
            chosen = (rng.random(len(jet)) < 0.5)[jet_index]  # (M,)
            if axis == "phi":
                mirrored = jet_symmetries.reflect_phi(
                    momenta, kinematics.phi(jet[:, 0], jet[:, 1])[jet_index]
                )
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    rapidity = kinematics.rapidity(jet[:, 3], jet[:, 2])
                mirrored = jet_symmetries.reflect_rapidity(momenta, rapidity[jet_index])
            momenta = np.where(chosen[:, None], mirrored, momenta)
        return momenta


@register_augmentation("smear")
class SmearAugmentation(_ConstituentTransform):
    """Gaussian (eta, phi) smearing of width ``scale / pT`` (``scale`` in GeV, default 0.1)."""

    name = "smear"

    def __init__(self, *, scale: float = 0.1) -> None:
        self._scale = positive_float(
            scale, option="scale", representation=self.name, kind="augmentation"
        )

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "scale": self._scale}

    def _transform(
        self, momenta: np.ndarray, jet: np.ndarray, jet_index: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        return jet_symmetries.smear_angles(momenta, scale=self._scale, rng=rng)
