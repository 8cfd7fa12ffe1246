"""Per-event quantities a physicist estimates pile-up with, from the clustered particles.

Computed on what the jets are clustered from (after pile-up and, with a detector, on the
particle-flow candidates), so a calibration can use them as inputs:

* ``event_n_charged``: charged particles (tracks) with pT > 0.5 GeV and |η| < 2.5.
* ``event_sum_pt``: scalar sum of the pT of every visible particle with |η| < 5 (the
  calorimeter acceptance; detector candidates lie inside it anyway).
* ``event_rho``: the FastJet median pile-up density ρ = median over jets of pT / A
  (Cacciari, Salam, PLB 659 (2008) 119), with kT jets of R = 0.4 whose axis has |y| < 2
  (FastJet's convention: ghosts and areas live in rapidity, ≈ η for these light jets).
  Areas are FastJet *active* areas with explicit ghosts (``JetMedianBackgroundEstimator``
  of the python bindings, which also counts the empty, ghost-only jets). FastJet scatters
  its ghosts with a static random generator that the bindings cannot seed, so the ghosts
  sit on their fixed grid (``grid_scatter = pt_scatter = 0``): ρ is then the same for the
  same event in any process, whatever ran before. Particles and ghosts are taken up to
  |y| < 3, enough for jets up to |y| < 2 (a kT jet of R = 0.4 reaches about R beyond its
  axis) and half the cost of |y| < 5.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from hepdl.generate._jets import Particles, _silence_fastjet_banner, pt_eta_phi_mass

CHARGED_PT_MIN = 0.5
CHARGED_ETA_MAX = 2.5
SUM_PT_ETA_MAX = 5.0
RHO_RADIUS = 0.4
RHO_JET_RAPIDITY_MAX = 2.0
RHO_GHOST_RAPIDITY_MAX = 3.0
RHO_GHOST_AREA = 0.01  # FastJet's default

# In the metadata (and fingerprint) of the samples that carry the columns.
DESCRIPTION = (
    "per event: pileup_mu (the mean drawn), n_pileup (collisions overlaid) and, from the "
    f"clustered particles, event_n_charged (charge != 0, pT > {CHARGED_PT_MIN} GeV, "
    f"|eta| < {CHARGED_ETA_MAX}), event_sum_pt (scalar pT sum, |eta| < {SUM_PT_ETA_MAX}), "
    f"event_rho (median pT/area of kt R = {RHO_RADIUS} jets with |y| < "
    f"{RHO_JET_RAPIDITY_MAX}; FastJet active areas, explicit ghosts of area "
    f"{RHO_GHOST_AREA} on a fixed grid up to |y| < {RHO_GHOST_RAPIDITY_MAX})"
)

ACTIVITY_COLUMNS = ("event_n_charged", "event_sum_pt", "event_rho")


def event_activity(particles: Particles, events: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``event_n_charged (n,) int64``, ``event_sum_pt (n,)`` and ``event_rho (n,)`` float64
    of each of the ``n`` events of ``particles`` (module docstring), or of the ``n`` events
    numbered ``events`` (ascending, distinct) only: ρ costs about 0.1 s an event at
    mu ~ 35, and most generated events give no row."""
    if events is not None:
        particles = _events_only(particles, np.asarray(events, np.int64))
    pt, eta, _, _ = pt_eta_phi_mass(particles.px, particles.py, particles.pz, particles.e)
    n = particles.n_events
    charged = (particles.charge != 0) & (pt > CHARGED_PT_MIN) & (np.abs(eta) < CHARGED_ETA_MAX)
    inside = np.abs(eta) < SUM_PT_ETA_MAX  # pT = 0 along the beam: η = ±inf, left out
    return {
        "event_n_charged": np.bincount(particles.event[charged], minlength=n).astype(np.int64),
        "event_sum_pt": np.bincount(particles.event[inside], pt[inside], minlength=n),
        "event_rho": median_rho(particles),
    }


def _events_only(particles: Particles, events: np.ndarray) -> Particles:
    """The particles of ``events`` (ascending, distinct), renumbered 0 .. len(events) - 1."""
    chosen = particles.take(np.isin(particles.event, events))
    return replace(chosen, n_events=len(events), event=np.searchsorted(events, chosen.event))


def median_rho(particles: Particles) -> np.ndarray:
    """(n,) float64 ρ of each event, in GeV per unit area (module docstring)."""
    import fastjet

    central = particles.take(np.abs(particles.rapidity()) < RHO_GHOST_RAPIDITY_MAX)
    ghosts = fastjet.GhostedAreaSpec(RHO_GHOST_RAPIDITY_MAX, 1, RHO_GHOST_AREA)
    ghosts.set_grid_scatter(0.0)
    ghosts.set_pt_scatter(0.0)
    estimator = fastjet.JetMedianBackgroundEstimator(
        fastjet.SelectorAbsRapMax(RHO_JET_RAPIDITY_MAX),
        fastjet.JetDefinition(fastjet.kt_algorithm, RHO_RADIUS),
        fastjet.AreaDefinition(fastjet.active_area_explicit_ghosts, ghosts),
    )
    _silence_fastjet_banner()
    bounds = np.searchsorted(central.event, np.arange(particles.n_events + 1))  # (n + 1,)
    px, py, pz, e = (getattr(central, name).tolist() for name in ("px", "py", "pz", "e"))
    rho = np.zeros(particles.n_events)
    for k in range(particles.n_events):  # the bindings take one event at a time
        first, last = bounds[k], bounds[k + 1]
        estimator.set_particles(
            [
                fastjet.PseudoJet(*p)
                for p in zip(
                    px[first:last], py[first:last], pz[first:last], e[first:last], strict=True
                )
            ]
        )
        rho[k] = estimator.rho()
    return rho
