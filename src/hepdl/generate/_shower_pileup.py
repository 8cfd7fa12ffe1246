"""Pile-up on the calorimeter window: soft particles of minimum-bias Pythia collisions.

Each shower's window receives the particles of Poisson(mu) minimum-bias collisions drawn
from a :class:`hepdl.generate.pileup.PileupLibrary` (every copy rotated in azimuth, so a
reused collision lands elsewhere). The window sits at eta = 0, phi = 0 of the barrel; a
particle lands at (phi, eta) x R on the front face (R = the geometry's radius), charged
particles bent by the solenoid (B = 3.8 T): those below pT = 0.3 B R / 2 = 0.74 GeV curl
up before the ECAL, the others arrive turned by asin(0.3 B R / (2 pT)) in phi. Each
particle then showers like a signal particle of its kind (photons and electrons
electromagnetically, muons as minimum-ionising tracks, hadrons hadronically).
"""

from __future__ import annotations

import numpy as np

from hepdl.generate._shower_spots import Spots, em_spots, hadronic_spots, mip_spots
from hepdl.generate.calo_geometry import CaloGeometry

B_TESLA = 3.8
# Window margin: particles up to this many cells outside still spill energy into it.
_MARGIN_CELLS = 3


def particle_spots(
    geometry: CaloGeometry,
    pid: np.ndarray,
    energy: np.ndarray,
    offset_cm: np.ndarray,
    shower: np.ndarray,
    rng: np.random.Generator,
) -> Spots:
    """The spots of K particles (``pid`` (K,), ``energy`` (K,) GeV) entering the front face
    at ``offset_cm`` (K, 2) from their shower's impact point, for showers ``shower`` (K,)."""
    apid = np.abs(pid)
    index = np.arange(len(pid))
    em = (apid == 11) | (apid == 22)
    muon = apid == 13
    hadron = ~(em | muon)
    start = np.full(len(pid), -geometry.upstream_x0)
    charged = _charged(pid)
    parts = [
        em_spots(geometry, energy[em], apid[em] == 22, start[em], index[em], rng),
        mip_spots(geometry, np.full(int(muon.sum()), np.inf), index[muon], rng),
        hadronic_spots(
            geometry, energy[hadron], charged[hadron], apid[hadron] > 1000, index[hadron], rng
        ),
    ]
    spots = Spots.concatenate(parts)
    owner = spots.shower  # (M,) the particle of each spot
    # The particle's own entry point, at the front face whatever the spot's depth.
    shrink = geometry.to_front_face(np.nan_to_num(spots.z_cm, posinf=0.0))
    spots.x_cm = spots.x_cm + offset_cm[owner, 0] / shrink
    spots.y_cm = spots.y_cm + offset_cm[owner, 1] / shrink
    spots.shower = shower[owner]
    return spots


def _charged(pid: np.ndarray) -> np.ndarray:
    """Charged hadrons and leptons (what leaves a track): by PDG id, no table needed for
    the species that reach a calorimeter (pi, K, p, e, mu and their antiparticles)."""
    apid = np.abs(pid)
    return np.isin(apid, (11, 13, 211, 321, 2212, 3222, 3112, 3312, 3334))


class MinBiasOverlay:
    """Minimum-bias particles for the windows of a batch of showers.

    ``library``: a ``PileupLibrary`` (or anything with ``draw(rng, n) ->`` particles with
    ``event, px, py, pz, e, pid, charge``)."""

    def __init__(self, library: object, *, mu: float) -> None:
        self.library = library
        self.mu = float(mu)

    def spots(
        self, geometry: CaloGeometry, n_showers: int, rng: np.random.Generator
    ) -> tuple[Spots, np.ndarray]:
        """(spots of every window's pile-up, (N,) number of collisions per shower)."""
        counts = rng.poisson(self.mu, n_showers)
        drawn = self.library.draw(rng, int(counts.sum()))  # type: ignore[attr-defined]
        shower_of_copy = np.repeat(np.arange(n_showers), counts)
        pt = np.hypot(drawn.px, drawn.py)
        p = np.sqrt(pt**2 + drawn.pz**2)
        eta = np.arctanh(np.clip(drawn.pz / np.maximum(p, 1e-12), -0.999999, 0.999999))
        phi = np.arctan2(drawn.py, drawn.px)
        radius_m = geometry.radius_cm / 100.0
        bend = 0.3 * B_TESLA * radius_m / 2.0  # GeV: the pT that just reaches the radius
        charged = drawn.charge != 0
        reaches = ~charged | (pt > bend)
        phi = phi - np.sign(drawn.charge) * np.arcsin(np.clip(bend / np.maximum(pt, 1e-12), 0, 1))
        phi = (phi + np.pi) % (2 * np.pi) - np.pi
        layer = geometry.layers[0]
        half_x = (layer.shape[1] / 2 + _MARGIN_CELLS) * layer.cell_cm[1]
        half_y = (layer.shape[0] / 2 + _MARGIN_CELLS) * layer.cell_cm[0]
        x, y = phi * geometry.radius_cm, eta * geometry.radius_cm  # columns phi, rows eta
        keep = reaches & (np.abs(x) < half_x) & (np.abs(y) < half_y)
        spots = particle_spots(
            geometry,
            drawn.pid[keep],
            drawn.e[keep],
            np.stack([x[keep], y[keep]], axis=1),
            shower_of_copy[drawn.event[keep]],
            rng,
        )
        return spots, counts
