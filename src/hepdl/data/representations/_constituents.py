"""Jagged constituent columns of a jet table -> checked, pT-ordered, padded NumPy arrays.

Every constituent representation starts here, so they share one set of checks and error
messages: a missing column, a flat column where a list per jet is expected, missing
(None) values, NaN/inf, or columns whose lists differ in length each raise one DataError
naming the source, the column and the first bad row.

The jet axis used for relative coordinates is the E-scheme sum of *all* the jet's
constituents (before any truncation), so it needs no ``jet_*`` columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import awkward as ak
import numpy as np

from hepdl.data._messages import rows
from hepdl.data.entries import is_jagged
from hepdl.data.representations._table import require_columns
from hepdl.errors import DataError, NonFiniteInputError
from hepdl.physics import kinematics

FOUR_MOMENTUM_COLUMNS: tuple[str, ...] = ("part_px", "part_py", "part_pz", "part_energy")


@dataclass(frozen=True)
class PaddedJets:
    """N jets, constituents ordered by decreasing pT, padded (0) or truncated to P slots."""

    px: np.ndarray  # (N, P) float64, GeV, 0 where masked
    py: np.ndarray  # (N, P)
    pz: np.ndarray  # (N, P)
    energy: np.ndarray  # (N, P)
    mask: np.ndarray  # (N, P) bool, True for a real constituent
    index: np.ndarray  # (N, P) int64, position in the table's lists, -1 where masked
    counts: np.ndarray  # (N,) int64, constituents per jet before truncation
    jet_momentum: np.ndarray  # (N, 4) float64, (px, py, pz, E) summed over all constituents
    extras: dict[str, np.ndarray]  # other requested columns, (N, P) float64, 0 where masked

    @property
    def n_jets(self) -> int:
        return int(self.mask.shape[0])

    @property
    def four_momentum(self) -> np.ndarray:  # (N, P, 4)
        return np.stack([self.px, self.py, self.pz, self.energy], axis=-1)

    def masked(self, values: np.ndarray) -> np.ndarray:
        """``values`` (N, P) with padded slots set to exactly 0 (no NaN from empty slots)."""
        return np.where(self.mask, values, 0.0)

    @cached_property
    def pt(self) -> np.ndarray:  # (N, P)
        return kinematics.pt(self.px, self.py)

    @cached_property
    def eta(self) -> np.ndarray:  # (N, P) pseudorapidity
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.masked(kinematics.pseudorapidity(self.px, self.py, self.pz))

    @cached_property
    def phi(self) -> np.ndarray:  # (N, P)
        return self.masked(kinematics.phi(self.px, self.py))

    @cached_property
    def jet_pt(self) -> np.ndarray:  # (N,)
        return kinematics.pt(self.jet_momentum[:, 0], self.jet_momentum[:, 1])

    @cached_property
    def jet_eta(self) -> np.ndarray:  # (N,), 0 for an empty jet
        px, py, pz = self.jet_momentum[:, 0], self.jet_momentum[:, 1], self.jet_momentum[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            eta = kinematics.pseudorapidity(px, py, pz)
        return np.where(self.counts > 0, eta, 0.0)

    @cached_property
    def jet_phi(self) -> np.ndarray:  # (N,)
        return kinematics.phi(self.jet_momentum[:, 0], self.jet_momentum[:, 1])

    @cached_property
    def delta_eta(self) -> np.ndarray:  # (N, P), eta_i - eta_J
        return self.masked(self.eta - self.jet_eta[:, None])

    @cached_property
    def delta_phi(self) -> np.ndarray:  # (N, P), phi_i - phi_J wrapped to [-pi, pi)
        return self.masked(kinematics.delta_phi(self.phi, self.jet_phi[:, None]))


def read_constituents(
    table: ak.Array,
    *,
    source: str,
    representation: str,
    max_particles: int | None,
    extra_columns: Sequence[str] = (),
) -> PaddedJets:
    """The four-momenta (and ``extra_columns``, e.g. part_charge) of every jet, padded.

    Constituents are ordered by decreasing pT within each jet and the first
    ``max_particles`` kept (all when None, P = the largest multiplicity). The ordering is
    one lexsort over all constituents of all jets, not a loop.
    """
    names = [*FOUR_MOMENTUM_COLUMNS, *(c for c in extra_columns if c not in FOUR_MOMENTUM_COLUMNS)]
    flat, counts = read_flat(table, names, source=source, representation=representation)
    n_jets = len(counts)
    jet_index = np.repeat(np.arange(n_jets), counts)  # (M,)
    offsets = np.concatenate(([0], np.cumsum(counts)))
    position = np.arange(len(jet_index)) - offsets[jet_index]  # (M,) index within its jet
    pt = kinematics.pt(flat["part_px"], flat["part_py"])
    order = np.lexsort((position, -pt, jet_index))  # by jet, then decreasing pT (stable)
    slot = np.arange(len(order)) - offsets[jet_index[order]]  # (M,) rank within its jet
    width = int(counts.max(initial=0)) if max_particles is None else max_particles
    keep = slot < width
    rows_kept, slots_kept, taken = jet_index[order][keep], slot[keep], order[keep]

    def padded(values: np.ndarray, *, fill: float = 0.0, dtype: type = np.float64) -> np.ndarray:
        out = np.full((n_jets, width), fill, dtype=dtype)
        out[rows_kept, slots_kept] = values[taken]
        return out

    momentum = np.stack(
        [np.bincount(jet_index, weights=flat[c], minlength=n_jets) for c in FOUR_MOMENTUM_COLUMNS],
        axis=1,
    )  # (N, 4)
    mask = np.zeros((n_jets, width), dtype=bool)
    mask[rows_kept, slots_kept] = True
    return PaddedJets(
        px=padded(flat["part_px"]),
        py=padded(flat["part_py"]),
        pz=padded(flat["part_pz"]),
        energy=padded(flat["part_energy"]),
        mask=mask,
        index=padded(position, fill=-1, dtype=np.int64),
        counts=counts,
        jet_momentum=momentum,
        extras={c: padded(flat[c]) for c in names if c not in FOUR_MOMENTUM_COLUMNS},
    )


def read_flat(
    table: ak.Array,
    names: Sequence[str],
    *,
    source: str,
    representation: str,
    kind: str = "representation",
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Jagged columns ``names`` flattened to (M,) float64 each, and the lists' lengths (N,).

    DataError for a missing, flat, non-numeric, None, NaN or inf column, or one whose
    lists differ in length from the first column's.
    """
    require_columns(table, names, source=source, representation=representation, kind=kind)
    counts = None
    flat: dict[str, np.ndarray] = {}
    for name in names:
        values, column_counts = flat_column(
            table, name, source=source, representation=representation, kind=kind
        )
        if counts is not None and not np.array_equal(column_counts, counts):
            row = int(np.argmax(column_counts != counts))
            raise DataError(
                f"{source}: column '{name}' has {column_counts[row]} constituents in row {row} "
                f"but '{names[0]}' has {counts[row]}; every part_* column needs one entry per "
                f"constituent"
            )
        counts = column_counts
        flat[name] = values
    if counts is None:
        counts = np.zeros(len(table), dtype=np.int64)
    return flat, counts


def flat_column(
    table: ak.Array, name: str, *, source: str, representation: str, kind: str = "representation"
) -> tuple[np.ndarray, np.ndarray]:
    """One jagged numeric column flattened to (M,) float64, and its list lengths (N,)."""
    column = table[name]
    layout = ak.to_layout(column)
    if not is_jagged(layout) or column.ndim != 2:
        raise DataError(
            f"{source}: column '{name}' has type {column.type.content}; the "
            f"'{representation}' {kind} expects one list of numbers per jet "
            f"(var * float64), one entry per constituent"
        )
    missing = ak.to_numpy(ak.fill_none(ak.any(ak.is_none(column, axis=1), axis=1), True))
    if missing.any():
        raise DataError(
            f"{source}: column '{name}' has missing (None) values in "
            f"{rows(int(missing.sum()))}, the first at row {int(np.argmax(missing))}; "
            f"expected a number for every constituent"
        )
    values = ak.to_numpy(ak.flatten(column, axis=1))
    if values.dtype.kind not in "biuf":
        raise DataError(
            f"{source}: column '{name}' has type {column.type.content}; expected numbers"
        )
    values = values.astype(np.float64)
    counts = ak.to_numpy(ak.num(column, axis=1)).astype(np.int64)
    bad = ~np.isfinite(values)
    if bad.any():
        bad_rows = np.unique(np.repeat(np.arange(len(counts)), counts)[bad])
        raise NonFiniteInputError(
            f"{source}: column '{name}' has NaN or inf in {rows(len(bad_rows))}, the first "
            f"at row {int(bad_rows[0])}; expected finite numbers",
            rows=[int(r) for r in bad_rows],
        )
    return values, counts
