"""Event-level samples: SUSY-like chargino pairs against W W, heavy Higgs against t t̄.

The two benchmarks of Baldi, Sadowski, Whiteson, Nature Commun. 5 (2014) 4308
(arXiv:1402.4735), the UCI "SUSY" and "HIGGS" data sets, at particle level. This module
holds the Pythia settings of the four classes and turns a batch of Pythia events
(:class:`~hepdl.generate._pythia.FlatEvents`) into one feature row per selected event; the
features themselves are :mod:`hepdl.physics.event_features`.

The selection works on the visible final-state particles of each event: Pythia's, or
those a recipe passes after pile-up overlay and the detector response
(:mod:`hepdl.generate.detector`, particle-flow candidates); without those the objects are
at particle level:

- leptons: e± and μ± with pT > ``lepton_pt_min`` and |η| < ``lepton_eta_max``, isolated:
  the scalar pT sum of the other particles within ΔR < ``isolation_radius`` is below
  ``isolation_max`` times the lepton pT (this keeps leptons from W decays and drops those
  from hadron decays inside jets);
- MET: minus the vector pT sum of all the visible particles. At particle level this is
  the pT sum of the neutrinos and neutralinos (momentum conservation, to 1e-6 GeV); with
  a detector it is the reconstructed MET, with its resolution;
- jets: anti-kT, R = ``jet_radius`` (E-scheme), of the particles except the selected
  leptons, pT > ``jet_pt_min``, |η| < ``jet_eta_max``;
- b-tag: 1 when a B hadron of the event record with pT > ``b_hadron_pt_min`` lies within
  ΔR < ``b_match_radius`` of the jet axis, else 0 (truth tagging: 100 % efficient, no
  mistags).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from hepdl.errors import GenerationError
from hepdl.generate import _jets
from hepdl.generate._jets import Jets, Particles
from hepdl.generate._pythia import FlatEvents
from hepdl.physics.event_features import higgs_features, susy_features

LEPTON_IDS = (11, 13)  # electrons and muons; taus decay before the detector

# Both W's decay to e or mu (+ neutrino): the dilepton final state of SUSY and WW.
_DILEPTON_W = ("24:onMode = off", "24:onIfAny = 11 13")
# Semi-leptonic: the W+ to quarks, the W- to e or mu. Every event of both HIGGS classes has
# one W+ and one W-, so this makes exactly one leptonic W; the lepton is then always
# negative, which no feature sees (production and decays are charge symmetric).
_ONE_LEPTONIC_W = ("24:onMode = off", "24:onPosIfAny = 1 2 3 4 5", "24:onNegIfAny = 11 13")

#: SUSY-like signal: q q̄' → χ̃₁⁺ χ̃₁⁻, χ̃₁± → W± χ̃₁⁰ (BR 1, from the SLHA decay table),
#: W → e/μ ν. Needs ``SLHA:file``: use :func:`susy_settings`. Pythia's sigmaGen for it is
#: the chargino-pair cross section, not folded with the W branching fractions (the W's
#: come from sparticle decays), unlike W W's.
SUSY_SETTINGS: tuple[str, ...] = (
    "SUSY:qqbar2chi+chi- = on",
    "SUSY:idA = 1000024",  # only the lighter chargino pair
    "SUSY:idB = 1000024",
    *_DILEPTON_W,
)

#: SUSY background: q q̄ → W⁺ W⁻, W → e/μ ν.
WW_SETTINGS: tuple[str, ...] = ("WeakDoubleBoson:ffbar2WW = on", *_DILEPTON_W)

#: HIGGS signal: g g → H⁰ (Pythia's H2, id 35, 425 GeV) → W∓ H± (325 GeV), H± → W± h⁰
#: (125 GeV), h⁰ → b b̄, one W → e/μ ν and the other to quarks. H2 → W H± needs its coupling
#: switched on (it is 0 by default); both charge combinations are open.
HEAVY_HIGGS_SETTINGS: tuple[str, ...] = (
    "Higgs:useBSM = on",
    "HiggsBSM:gg2H2 = on",
    "HiggsH2:coup2HchgW = 1.0",
    "35:m0 = 425.0",
    "37:m0 = 325.0",
    "25:m0 = 125.0",
    "35:onMode = off",
    "35:onIfMatch = 24 -37",
    "35:onIfMatch = 37 -24",
    "37:onMode = off",
    "37:onIfMatch = 24 25",
    "25:onMode = off",
    "25:onIfMatch = 5 -5",
    *_ONE_LEPTONIC_W,
)

#: HIGGS background: semi-leptonic t t̄ (g g and q q̄ → t t̄), one W → e/μ ν.
TTBAR_SETTINGS: tuple[str, ...] = ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *_ONE_LEPTONIC_W)

# Everything not in the process is decoupled at this mass (GeV): squarks and sleptons
# (t-channel exchange in q q̄' → χ̃⁺ χ̃⁻), gluino, heavier neutralinos and charginos.
_DECOUPLED = 5000.0
_DECOUPLED_IDS = (
    *range(1000001, 1000007),
    *range(2000001, 2000007),
    *range(1000011, 1000017),
    2000011,
    2000013,
    2000015,
    1000021,
    1000023,
    1000025,
    1000035,
    1000037,
)
_W_MASS = 80.385  # Pythia's 24:m0


def susy_slha(*, chargino_mass: float = 200.0, neutralino_mass: float = 100.0) -> str:
    """A minimal SLHA spectrum for the SUSY-like signal (masses in GeV).

    A pure-wino χ̃₁± of ``chargino_mass`` (U = V = 1) decaying with BR 1 to W± and a
    pure-bino χ̃₁⁰ of ``neutralino_mass``, stable and invisible; tan β = 10; every other
    sparticle decoupled at 5 TeV. With the defaults, 200 and 100 GeV, the signal's dilepton
    MT2 reaches beyond the W W endpoint at m_W (to about 125 GeV), and Pythia's (leading
    order) σ(χ̃₁⁺ χ̃₁⁻) is 0.68 pb at 13 TeV.
    """
    for option, value in (("chargino_mass", chargino_mass), ("neutralino_mass", neutralino_mass)):
        if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
            raise GenerationError(f"SUSY option {option!r} must be a mass > 0 GeV, got {value!r}")
    if chargino_mass <= neutralino_mass + _W_MASS:
        raise GenerationError(
            f"SUSY option 'chargino_mass' must exceed neutralino_mass + m_W = "
            f"{neutralino_mass + _W_MASS:g} GeV for an on-shell decay to W and neutralino, "
            f"got {chargino_mass:g}"
        )
    masses = {code: _DECOUPLED for code in _DECOUPLED_IDS}
    masses[1000022] = float(neutralino_mass)
    masses[1000024] = float(chargino_mass)
    mass_lines = "".join(f"  {code:>8d}   {mass:.6e}\n" for code, mass in sorted(masses.items()))
    identity = "  1  1   1.0\n  2  2   1.0\n"
    return (
        "BLOCK MODSEL\n    1    0   # general MSSM\n"
        "BLOCK SMINPUTS\n    1   1.279340e+02\n    2   1.166370e-05\n    3   1.180000e-01\n"
        "    4   9.118760e+01\n    5   4.180000e+00\n    6   1.730000e+02\n"
        "    7   1.776860e+00\n"
        "BLOCK MINPAR\n    3   1.000000e+01   # tan(beta)\n"
        "BLOCK HMIX Q= 1.0e+03\n    1   5.000000e+03   # mu\n    2   1.000000e+01\n"
        "    3   2.460000e+02\n    4   2.500000e+07   # m_A^2\n"
        "BLOCK ALPHA\n   -1.000000e-01\n"
        f"BLOCK MASS\n{mass_lines}"
        "BLOCK NMIX\n  1  1   1.0\n  2  2   1.0\n  3  3   1.0\n  4  4   1.0\n"
        f"BLOCK UMIX\n{identity}BLOCK VMIX\n{identity}"
        f"BLOCK STOPMIX\n{identity}BLOCK SBOTMIX\n{identity}BLOCK STAUMIX\n{identity}"
        "DECAY   1000024   1.000000e-02   # chi_1+\n"
        "   1.000000e+00   2   1000022   24   # BR(chi_1+ -> chi_10 W+)\n"
        "DECAY   1000022   0.000000e+00   # chi_10: stable\n"
    )


def write_susy_slha(
    path: Path, *, chargino_mass: float = 200.0, neutralino_mass: float = 100.0
) -> Path:
    """Write :func:`susy_slha` to ``path`` (through a temporary name, then renamed)."""
    path = Path(path)
    text = susy_slha(chargino_mass=chargino_mass, neutralino_mass=neutralino_mass)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)
    return path


def susy_settings(slha_file: Path) -> tuple[str, ...]:
    """The SUSY signal's Pythia settings: ``SLHA:file`` then :data:`SUSY_SETTINGS`."""
    name = str(slha_file)
    if any(character.isspace() for character in name):
        raise GenerationError(
            f"SLHA file path {name!r} contains white space, which Pythia's SLHA:file cannot "
            "read; write the spectrum to a path without spaces"
        )
    return (f"SLHA:file = {name}", *SUSY_SETTINGS)


def _exclusive_starts(counts: np.ndarray) -> np.ndarray:
    """(K,) where each of K consecutive groups of sizes ``counts (K,)`` starts."""
    counts = np.asarray(counts, np.int64)
    return np.cumsum(counts) - counts


def same_event_pairs(
    event_a: np.ndarray, event_b: np.ndarray, n_events: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair (i, j) with ``event_a[i] == event_b[j]``; ``event_b`` must be ascending.

    Returns two (P,) index arrays, grouped by i.
    """
    n_b = np.bincount(event_b, minlength=n_events)  # (n,)
    per_a = n_b[event_a]  # (A,)
    first = np.repeat(np.arange(len(event_a)), per_a)  # (P,)
    offset = np.arange(len(first)) - np.repeat(_exclusive_starts(per_a), per_a)
    return first, _exclusive_starts(n_b)[event_a[first]] + offset


def _unknown_charge(pid: np.ndarray) -> np.ndarray:
    """NaN charges: the selection never reads them (only a detector step would)."""
    return np.full(np.shape(pid), np.nan)


def _take(particles: Particles, keep: np.ndarray) -> Particles:
    """The particles where ``keep (M,)`` is true; every per-particle field is cut."""
    cut = {
        field.name: getattr(particles, field.name)[keep]
        for field in dataclasses.fields(particles)
        if field.name != "n_events"
    }
    return dataclasses.replace(particles, **cut)


def isolated_leptons(
    particles: Particles,
    *,
    pt_min: float = 20.0,
    eta_max: float = 2.5,
    isolation_radius: float = 0.3,
    isolation_max: float = 0.15,
) -> np.ndarray:
    """(L,) ascending indices into ``particles`` of the isolated electrons and muons.

    Isolated: Σ pT of the other particles of the event with ΔR(η, φ) < ``isolation_radius``
    is below ``isolation_max`` · pT(lepton).
    """
    pt, eta, phi, _ = _jets.pt_eta_phi_mass(particles.px, particles.py, particles.pz, particles.e)
    candidate = np.flatnonzero(
        np.isin(np.abs(particles.pid), LEPTON_IDS) & (pt > pt_min) & (np.abs(eta) < eta_max)
    )
    lepton, other = same_event_pairs(
        particles.event[candidate], particles.event, particles.n_events
    )  # (P,) each
    near = (other != candidate[lepton]) & (
        _jets.delta_r(eta[candidate[lepton]], phi[candidate[lepton]], eta[other], phi[other])
        < isolation_radius
    )
    cone = np.bincount(lepton[near], weights=pt[other[near]], minlength=len(candidate))
    return candidate[cone < isolation_max * pt[candidate]]


def missing_momentum(particles: Particles) -> np.ndarray:
    """(n, 2) MET⃗ = -Σ p⃗_T of the visible particles of each event (px, py)."""
    n = particles.n_events
    return -np.stack(
        [
            np.bincount(particles.event, weights=particles.px, minlength=n),
            np.bincount(particles.event, weights=particles.py, minlength=n),
        ],
        axis=1,
    )


def is_b_hadron(pid: np.ndarray) -> np.ndarray:
    """(N,) bool: PDG ids of hadrons containing a b quark.

    PDG numbering |id| = ... n_q1 n_q2 n_q3 n_J: a meson has n_q1 = 0 and its heavier quark
    in n_q2, a baryon its heaviest in n_q1; hadrons have n_q3 > 0 (diquarks, with
    n_q3 = 0, are not), and ids from 1000000 on are excited states or new particles.
    """
    code = np.abs(np.asarray(pid, np.int64))
    q1, q2, q3 = (code // 1000) % 10, (code // 100) % 10, (code // 10) % 10
    hadron = (code < 1_000_000) & (q3 > 0)
    return hadron & (((q1 == 0) & (q2 == 5)) | (q1 == 5))


def b_tags(
    jets: Jets, events: FlatEvents, *, match_radius: float, hadron_pt_min: float
) -> np.ndarray:
    """(J,) float64: 1 for a jet with a B hadron (pT > hadron_pt_min) within ΔR < match_radius.

    Every B hadron of the record counts (excited ones too: they lie along the same
    direction as the weakly decaying B they end in).
    """
    pt, eta, phi, _ = _jets.pt_eta_phi_mass(events.px, events.py, events.pz, events.e)
    hadron = np.flatnonzero(is_b_hadron(events.pid) & (pt > hadron_pt_min))  # (H,)
    jet, match = same_event_pairs(jets.event, events.event_of[hadron], events.n_events)
    _, jet_eta, jet_phi, _ = jets.kinematics()
    found = hadron[match]
    close = _jets.delta_r(jet_eta[jet], jet_phi[jet], eta[found], phi[found]) < match_radius
    tagged = np.zeros(len(jets))
    tagged[jet[close]] = 1.0
    return tagged


def jets_without(
    particles: Particles,
    *,
    keep_events: np.ndarray,
    leptons: np.ndarray,
    radius: float,
    pt_min: float,
    eta_max: float,
) -> Jets:
    """Jets of the events where ``keep_events (n,)`` is true, without the ``leptons``.

    ``leptons``: indices into ``particles``; the jets' constituents index the remaining
    particles.
    """
    keep = keep_events[particles.event]
    keep[leptons] = False
    jets = _jets.cluster(_take(particles, keep), radius=radius, pt_min=pt_min)
    _, eta, _, _ = jets.kinematics()
    return jets.take(np.abs(eta) < eta_max)


def _four_momenta(particles: Particles, index: np.ndarray) -> np.ndarray:
    """(..., 4) rows (px, py, pz, E) of the particles at ``index (...)``."""
    p = particles
    return np.stack([p.px[index], p.py[index], p.pz[index], p.e[index]], axis=-1)


def _visible(events: FlatEvents, particles: Particles | None) -> Particles:
    if particles is None:
        return _jets.visible_particles(events, _unknown_charge)
    if particles.n_events != events.n_events:
        raise GenerationError(
            f"particles hold {particles.n_events} events, expected the batch's {events.n_events}"
        )
    return particles


def _padded(values: np.ndarray, row: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """(R, K) table of ``values (J,)`` grouped by ascending ``row (J,)``, and its mask."""
    counts = np.bincount(row, minlength=n_rows)
    slot = np.arange(len(row)) - np.repeat(_exclusive_starts(counts), counts)
    width = int(counts.max()) if n_rows else 0
    table = np.zeros((n_rows, width))
    mask = np.zeros((n_rows, width), bool)
    table[row, slot] = values
    mask[row, slot] = True
    return table, mask


def susy_rows(
    events: FlatEvents,
    *,
    particles: Particles | None = None,
    lepton_pt_min: float = 20.0,
    lepton_eta_max: float = 2.5,
    isolation_radius: float = 0.3,
    isolation_max: float = 0.15,
    jet_radius: float = 0.4,
    jet_pt_min: float = 20.0,
    jet_eta_max: float = 2.5,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The SUSY features of the events with exactly two isolated leptons.

    ``particles``: the visible particles to select from (after pile-up and a detector);
    default Pythia's visible final state of ``events``. Returns the
    :data:`~hepdl.physics.event_features.SUSY_FEATURES` columns, float64 (R,) each, and
    the (R,) ascending batch index of each row's event. MET_rel measures the angle to the
    two leptons and to the jets (module docstring), as the paper's definition does.
    """
    particles = _visible(events, particles)
    leptons = isolated_leptons(
        particles,
        pt_min=lepton_pt_min,
        eta_max=lepton_eta_max,
        isolation_radius=isolation_radius,
        isolation_max=isolation_max,
    )
    keep = np.bincount(particles.event[leptons], minlength=events.n_events) == 2  # (n,)
    rows = np.flatnonzero(keep)  # (R,)
    pair = leptons[keep[particles.event[leptons]]].reshape(-1, 2)  # (R, 2)
    jets = jets_without(
        particles,
        keep_events=keep,
        leptons=pair.ravel(),
        radius=jet_radius,
        pt_min=jet_pt_min,
        eta_max=jet_eta_max,
    )
    jet_phi, jet_mask = _padded(jets.kinematics()[2], np.searchsorted(rows, jets.event), len(rows))
    columns = susy_features(
        _four_momenta(particles, pair),
        missing_momentum(particles)[rows],
        jet_phi=jet_phi,
        jet_mask=jet_mask,
    )
    return columns, rows


def higgs_rows(
    events: FlatEvents,
    *,
    particles: Particles | None = None,
    lepton_pt_min: float = 20.0,
    lepton_eta_max: float = 2.5,
    isolation_radius: float = 0.3,
    isolation_max: float = 0.15,
    jet_radius: float = 0.4,
    jet_pt_min: float = 20.0,
    jet_eta_max: float = 2.5,
    b_match_radius: float = 0.4,
    b_hadron_pt_min: float = 5.0,
    min_b_tags: int = 2,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The HIGGS features of events with exactly one isolated lepton and >= 4 jets.

    ``particles`` as for :func:`susy_rows`. Returns the
    :data:`~hepdl.physics.event_features.HIGGS_FEATURES` columns, float64 (R,) each, and
    the (R,) ascending batch index of each row's event. The four leading jets are used;
    at least ``min_b_tags`` of them must be b-tagged (2, the paper's requirement of
    b-tags on at least two jets; 0 keeps every event).

    How these differ from the UCI HIGGS features: UCI's came from a Delphes detector
    simulation with pile-up, so their leptons, jets and MET carry detector resolution (the
    MET is mismeasured, the jet energy scale and resolution smear every mass) and their
    b-tag is a tagger output with finite efficiency and mistag rate. Here, unless
    ``particles`` come from a detector, everything is particle level: the MET is the exact
    invisible pT, so m_lv sits exactly at m_W whenever the W-mass constraint has a real
    solution; jets are particle-level jets; the b-tag is truth matching (1/0) in every
    case. Peaks are sharper than in UCI and the b-tags cleaner. UCI's features were also
    rescaled; these are in GeV and radians.
    """
    if not isinstance(min_b_tags, (int, np.integer)) or not 0 <= min_b_tags <= 4:
        raise GenerationError(
            f"HIGGS option 'min_b_tags' must be an integer from 0 to 4, got {min_b_tags!r}"
        )
    particles = _visible(events, particles)
    leptons = isolated_leptons(
        particles,
        pt_min=lepton_pt_min,
        eta_max=lepton_eta_max,
        isolation_radius=isolation_radius,
        isolation_max=isolation_max,
    )
    one_lepton = np.bincount(particles.event[leptons], minlength=events.n_events) == 1
    lepton = leptons[one_lepton[particles.event[leptons]]]  # (L,), one per event
    jets = jets_without(
        particles,
        keep_events=one_lepton,
        leptons=lepton,
        radius=jet_radius,
        pt_min=jet_pt_min,
        eta_max=jet_eta_max,
    )
    n_jets = np.bincount(jets.event, minlength=events.n_events)
    rank = np.arange(len(jets)) - _exclusive_starts(n_jets)[jets.event]  # 0: leading jet
    leading = jets.take((rank < 4) & (n_jets[jets.event] >= 4))  # 4 per event, by pT
    tags = b_tags(
        leading, events, match_radius=b_match_radius, hadron_pt_min=b_hadron_pt_min
    ).reshape(-1, 4)  # (R', 4)
    passed = tags.sum(axis=1) >= min_b_tags
    rows = leading.event[::4][passed]  # (R,)
    jet_momenta = np.stack([leading.px, leading.py, leading.pz, leading.e], -1).reshape(-1, 4, 4)
    lepton_row = lepton[np.searchsorted(particles.event[lepton], rows)]  # (R,)
    columns = higgs_features(
        _four_momenta(particles, lepton_row),
        missing_momentum(particles)[rows],
        jet_momenta[passed],
        tags[passed],
    )
    return columns, rows
