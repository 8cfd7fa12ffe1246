"""Exclusive-kT axes with FastJet, and N-subjettiness from those axes.

One FastJet cluster sequence over all jets (its vectorised awkward interface, no Python loop
per jet) serves every number of axes: the clustering history does not depend on n, only
where it is read off.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import awkward as ak
import numpy as np

from hepdl.physics import kinematics
from hepdl.physics._jets import FlatJets


@dataclass(frozen=True)
class FlatAxes:
    """The axes of N jets, stored flat like ``FlatJets``: at most n per jet."""

    px: np.ndarray  # (A,) float64
    py: np.ndarray  # (A,)
    pz: np.ndarray  # (A,)
    energy: np.ndarray  # (A,)
    counts: np.ndarray  # (N,) int64, min(n, constituents of the jet)


def exclusive_kt_axes_flat(jets: FlatJets, n_values: Iterable[int]) -> dict[int, FlatAxes]:
    """Exclusive-kT axes of every jet for each n in ``n_values``, from one clustering.

    The kT algorithm merges the pair with the smallest ``d_ij = min(pT_i^2, pT_j^2)
    DeltaR_ij^2 / R^2`` (DeltaR in rapidity-phi), adding four-momenta (E-scheme). With
    ``R = JetDefinition.max_allowable_R`` (1000) the beam distance ``d_iB = pT_i^2`` never
    wins, so the sequence merges everything into one jet and the exclusive n-jet state is the
    one n merges before the end: exactly FastJet contrib's ``KT_Axes``.

    FastJet's ``exclusive_jets(n)`` raises for any jet with fewer than n constituents (and
    for empty jets), failing the whole batch; ``exclusive_jets_up_to(n)`` instead returns the
    constituents themselves there, which is what contrib's ``ExclusiveJetAxes`` uses too.
    """
    n_values = sorted(set(n_values))
    if jets.counts.sum() == 0:
        # Nothing to cluster (no jets, or only empty ones): every jet has no axes.
        empty = np.zeros(0)
        no_axes = FlatAxes(empty, empty, empty, empty, np.zeros(jets.n_jets, dtype=np.int64))
        return dict.fromkeys(n_values, no_axes)

    import fastjet  # imported here so ``import hepdl.physics`` stays light

    records = ak.unflatten(
        ak.zip({"px": jets.px, "py": jets.py, "pz": jets.pz, "E": jets.energy}), jets.counts
    )
    # Two arguments only: the four-argument form JetDefinition(alg, R, E_scheme, Best) is
    # resolved by the SWIG bindings as (alg, R, extra_param, recombination_scheme) and silently
    # gives pt-scheme recombination and a slow strategy. The defaults are E_scheme and Best.
    jet_definition = fastjet.JetDefinition(
        fastjet.kt_algorithm, fastjet.JetDefinition.max_allowable_R
    )
    with _quiet_fastjet():
        sequence = fastjet.ClusterSequence(records, jet_definition)
        return {n: _to_flat_axes(sequence.exclusive_jets_up_to(n)) for n in n_values}


def nsubjettiness_from_axes(
    jets: FlatJets, axes: FlatAxes, *, n: int, beta: float, r0: float
) -> np.ndarray:
    """Normalised tau_n (N,) of every jet given its n axes (see ``substructure.nsubjettiness``)."""
    # (N, n) axis coordinates, NaN where a jet has fewer than n axes; fmin skips those.
    axis_rapidity, axis_phi = _padded_axis_directions(axes, width=n)
    row = jets.jet_index
    with np.errstate(invalid="ignore"):
        d_rapidity = jets.rapidity[:, np.newaxis] - axis_rapidity[row]  # (M, n)
        d_phi = kinematics.delta_phi(jets.phi[:, np.newaxis], axis_phi[row])  # (M, n)
        min_dr2 = np.fmin.reduce(d_rapidity**2 + d_phi**2, axis=1)  # (M,)
    numerator = jets.jet_sum(jets.pt_weighted(min_dr2 ** (beta / 2.0)))  # (N,)
    denominator = jets.jet_sum(jets.pt) * r0**beta  # (N,)
    tau = np.divide(numerator, denominator, out=np.zeros(jets.n_jets), where=denominator > 0)
    # With n or fewer constituents each one is its own axis: tau_n = 0 by definition.
    tau[jets.counts <= n] = 0.0
    return tau


def _to_flat_axes(exclusive_jets: ak.Array) -> FlatAxes:
    """FastJet's jagged (px, py, pz, E) records -> flat axes ordered by pT within each jet."""
    counts = ak.to_numpy(ak.num(exclusive_jets, axis=1)).astype(np.int64)
    px, py, pz, energy = (
        np.asarray(ak.to_numpy(ak.flatten(exclusive_jets[name], axis=1)), dtype=np.float64)
        for name in ("px", "py", "pz", "E")
    )
    # FastJet returns them in clustering-history order; leading axis first is reproducible.
    jet_index = np.repeat(np.arange(len(counts)), counts)
    order = np.lexsort((-kinematics.pt(px, py), jet_index))
    return FlatAxes(px[order], py[order], pz[order], energy[order], counts)


def _padded_axis_directions(axes: FlatAxes, *, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Rapidity and phi of each jet's axes as (N, width) arrays, NaN-padded."""
    offsets = np.concatenate(([0], np.cumsum(axes.counts)))
    jet_index = np.repeat(np.arange(len(axes.counts)), axes.counts)  # (A,)
    slot = np.arange(len(jet_index)) - offsets[jet_index]  # (A,) position within its jet
    rapidity = np.full((len(axes.counts), width), np.nan)
    phi = np.full((len(axes.counts), width), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rapidity[jet_index, slot] = kinematics.rapidity(axes.energy, axes.pz)
    phi[jet_index, slot] = kinematics.phi(axes.px, axes.py)
    return rapidity, phi


@contextmanager
def _quiet_fastjet() -> Iterator[None]:
    """Silence fastjet's exclusive-jets warning and undo its global ``formatwarning`` change.

    fastjet (3.5) warns "dcut and exclusive jets for jet-finders other than kt ... should be
    interpreted with care" even for kt, because it compares a JetDefinition with an
    algorithm enum; it also replaces ``warnings.formatwarning`` process-wide.
    """
    format_warning = warnings.formatwarning
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="dcut and exclusive jets", category=UserWarning
            )
            yield
    finally:
        warnings.formatwarning = format_warning
