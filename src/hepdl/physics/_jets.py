"""A flat, validated view of jagged jet constituents, shared by the substructure observables.

The jagged constituent array is flattened once into contiguous NumPy arrays plus the index
of the jet each constituent belongs to. Every per-jet sum then is one ``np.bincount`` over
all constituents of all jets, instead of a Python loop over jets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import awkward as ak
import numpy as np

from hepdl.errors import DataError
from hepdl.physics import kinematics

CONSTITUENT_FIELDS: tuple[str, ...] = ("px", "py", "pz", "energy")


@dataclass(frozen=True)
class FlatJets:
    """Constituents of N jets, M constituents in all, stored flat.

    Derived quantities are computed on first use and cached, so observables computed
    together (``substructure_features``) share them.
    """

    px: np.ndarray  # (M,) float64
    py: np.ndarray  # (M,)
    pz: np.ndarray  # (M,)
    energy: np.ndarray  # (M,)
    counts: np.ndarray  # (N,) int64, constituents per jet

    @classmethod
    def from_constituents(cls, constituents: Any) -> FlatJets:
        """Validate an awkward array of jets (lists of px/py/pz/energy records) and flatten it."""
        array = constituents if isinstance(constituents, ak.Array) else ak.Array(constituents)
        fields = ak.fields(array)
        missing = [name for name in CONSTITUENT_FIELDS if name not in fields]
        if missing:
            raise DataError(
                f"constituents lack field(s) {missing}: expected one list of records per jet "
                f"with fields {list(CONSTITUENT_FIELDS)} (GeV), got fields {fields}"
            )
        if array.ndim != 2:
            raise DataError(
                "constituents must have 2 dimensions (jets x constituents), "
                f"got {array.ndim}: type {array.type}"
            )
        flat = {name: _flat_field(array, name) for name in CONSTITUENT_FIELDS}
        counts = ak.to_numpy(ak.num(array, axis=1)).astype(np.int64)
        return cls(**flat, counts=counts)

    @property
    def n_jets(self) -> int:
        return len(self.counts)

    @cached_property
    def jet_index(self) -> np.ndarray:  # (M,) int64
        return np.repeat(np.arange(self.n_jets), self.counts)

    def jet_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum per-constituent ``values`` (M,) over each jet: (N,), 0 for an empty jet."""
        return np.bincount(self.jet_index, weights=values, minlength=self.n_jets)

    @cached_property
    def pt(self) -> np.ndarray:  # (M,)
        return kinematics.pt(self.px, self.py)

    @cached_property
    def rapidity(self) -> np.ndarray:  # (M,)
        # A constituent exactly along the beam has y = +-inf; it has pT = 0, so every
        # observable here gives it zero weight (see ``pt_weighted``).
        with np.errstate(divide="ignore", invalid="ignore"):
            return kinematics.rapidity(self.energy, self.pz)

    @cached_property
    def phi(self) -> np.ndarray:  # (M,)
        return kinematics.phi(self.px, self.py)

    @cached_property
    def jet_momentum(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """E-scheme jet four-momentum: the sum of constituent four-momenta, each (N,)."""
        return (
            self.jet_sum(self.px),
            self.jet_sum(self.py),
            self.jet_sum(self.pz),
            self.jet_sum(self.energy),
        )

    def pt_weighted(self, values: np.ndarray) -> np.ndarray:
        """``pT_i * values_i`` per constituent (M,), exactly 0 where ``pT_i = 0``.

        Guards ``0 * inf`` (a zero-pT constituent has an infinite rapidity distance).
        """
        with np.errstate(invalid="ignore"):
            return np.where(self.pt > 0.0, self.pt * values, 0.0)


def _flat_field(array: ak.Array, name: str) -> np.ndarray:
    """One constituent field flattened over jets as finite float64 (M,)."""
    try:
        values = ak.to_numpy(ak.flatten(array[name], axis=1), allow_missing=False)
    except ValueError as error:
        raise DataError(f"constituent field {name!r} has missing (None) values") from error
    values = np.asarray(values, dtype=np.float64)
    if not np.isfinite(values).all():
        raise DataError(f"constituent field {name!r} contains NaN or inf values")
    return values
