"""Particle-level ("generator") jets and their matching to reconstructed jets.

A jet-energy calibration regresses the particle-level jet pT from the reconstructed jet,
so every reconstructed row (detector response and/or pile-up) carries the particle-level
jet it comes from. As CMS GenJets: the same algorithm and radius, clustered from the
visible final-state particles of the hard event only (no neutrinos or lightest
neutralino, no pile-up, no detector), matched to a reconstructed jet as the closest
particle-level jet within ΔR < R/2. A reconstructed jet without such a match (a pile-up
jet, a jet made mostly of fakes) is dropped, as in the CMS JEC derivation: a calibration
target must exist in every row, and NaN targets would only be filtered out later.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepdl.generate._jets import Jets, Particles, _silence_fastjet_banner, delta_r, pt_eta_phi_mass
from hepdl.generate._truth import _same_event_pairs

# Particle-level jets softer than this are not kept as match candidates. Well below any
# selected jet (whose response with pile-up can reach 2 or more at low pT), about the
# CMS GenJet threshold: a softer particle-level jet is not a calibration target.
GEN_JET_PT_MIN = 5.0

# In the metadata (and fingerprint) of the samples that carry the columns.
DESCRIPTION = (
    f"gen_jet_pt/eta/phi/mass: anti-kt jets of the jets' radius, E-scheme, pT >= "
    f"{GEN_JET_PT_MIN} GeV, from the hard event's visible final-state particles (no "
    "neutrinos or neutralinos, no pile-up, no detector); gen_jet_dr: dR to the closest "
    "one within dR < R/2, the match; jets without a match are dropped"
)

GEN_JET_COLUMNS = ("gen_jet_pt", "gen_jet_eta", "gen_jet_phi", "gen_jet_mass", "gen_jet_dr")


@dataclass(frozen=True)
class GenJets:
    """Particle-level jets of one batch, by event then decreasing pT; ``G`` jets."""

    event: np.ndarray  # (G,) int64
    px: np.ndarray  # (G,) float64
    py: np.ndarray  # (G,) float64
    pz: np.ndarray  # (G,) float64
    e: np.ndarray  # (G,) float64

    def __len__(self) -> int:
        return len(self.event)


def cluster_gen_jets(
    particles: Particles, *, radius: float, pt_min: float = GEN_JET_PT_MIN
) -> GenJets:
    """Anti-kT (E-scheme) jets of ``particles`` with pT >= ``pt_min``, momenta only.

    Like :func:`hepdl.generate._jets.cluster` without the constituents (not stored for
    particle-level jets), one FastJet call for the whole batch.
    """
    import awkward as ak
    import fastjet

    inputs = ak.unflatten(
        ak.zip({"px": particles.px, "py": particles.py, "pz": particles.pz, "E": particles.e}),
        particles.counts,
    )
    _silence_fastjet_banner()
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    sequence = fastjet.ClusterSequence(inputs, definition)
    found = sequence.inclusive_jets(min_pt=pt_min)
    n_jets = ak.to_numpy(ak.num(found)).astype(np.int64)  # (n_events,)
    event = np.repeat(np.arange(particles.n_events), n_jets)  # (G,)
    px, py, pz, e = (
        np.asarray(ak.to_numpy(ak.flatten(found[name])), np.float64)
        for name in ("px", "py", "pz", "E")
    )
    order = np.lexsort((-np.hypot(px, py), event))
    return GenJets(event[order], px[order], py[order], pz[order], e[order])


def match_gen_jets(jets: Jets, gen: GenJets, *, max_dr: float) -> tuple[np.ndarray, np.ndarray]:
    """For each reconstructed jet, the closest particle-level jet of its event within
    ΔR < ``max_dr``: ``(index (J,) into gen, -1 for none; dr (J,), NaN for none)``."""
    index = np.full(len(jets), -1, np.int64)
    dr = np.full(len(jets), np.nan)
    if len(jets) == 0 or len(gen) == 0:
        return index, dr
    n_events = int(max(jets.event.max(), gen.event.max())) + 1
    pair_jet, pair_gen = _same_event_pairs(jets.event, gen.event, n_events)  # (P,) each
    _, eta, phi, _ = jets.kinematics()
    _, gen_eta, gen_phi, _ = pt_eta_phi_mass(gen.px, gen.py, gen.pz, gen.e)
    distance = delta_r(eta[pair_jet], phi[pair_jet], gen_eta[pair_gen], gen_phi[pair_gen])
    close = distance < max_dr
    pair_jet, pair_gen, distance = pair_jet[close], pair_gen[close], distance[close]
    order = np.lexsort((distance, pair_jet))  # by jet, then nearest first
    pair_jet, pair_gen, distance = pair_jet[order], pair_gen[order], distance[order]
    first = np.ones(len(pair_jet), dtype=bool)
    first[1:] = pair_jet[1:] != pair_jet[:-1]
    index[pair_jet[first]] = pair_gen[first]
    dr[pair_jet[first]] = distance[first]
    return index, dr


def gen_jet_columns(gen: GenJets, index: np.ndarray, dr: np.ndarray) -> dict[str, np.ndarray]:
    """``gen_jet_pt, _eta, _phi, _mass, _dr`` (R,) float64 of the matched jets ``index``
    (every index >= 0: unmatched jets are dropped before)."""
    pt, eta, phi, mass = pt_eta_phi_mass(gen.px[index], gen.py[index], gen.pz[index], gen.e[index])
    return dict(zip(GEN_JET_COLUMNS, (pt, eta, phi, mass, dr.astype(np.float64)), strict=True))
