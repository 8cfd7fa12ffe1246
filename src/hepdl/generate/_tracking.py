"""Charged-particle tracking: efficiency and transverse-momentum resolution.

Plain functions of NumPy arrays; :mod:`hepdl.generate.detector` applies them to a batch.
"""

from __future__ import annotations

import numpy as np


def lognormal_factor(rng: np.random.Generator, sigma: np.ndarray) -> np.ndarray:
    """Random factors with mean 1 and standard deviation ``sigma`` (elementwise), always > 0.

    f = exp(μ + s·z), z ~ N(0, 1), with s² = ln(1 + σ²) and μ = -s²/2, so that
    E[f] = 1 and Var[f] = σ². A Gaussian factor 1 + σ·z would give negative energies or
    momenta where σ is not small; Delphes smears with the same log-normal law.
    """
    sigma = np.asarray(sigma, np.float64)
    s2 = np.log1p(sigma * sigma)
    return np.exp(-0.5 * s2 + np.sqrt(s2) * rng.standard_normal(sigma.shape))


def tracking_efficiency(
    pt: np.ndarray,
    *,
    pt_min: float,
    pt_plateau: float,
    turn_on: float,
    plateau: float,
) -> np.ndarray:
    """(N,) probability to reconstruct the track of a charged particle of transverse momentum pT.

    ε(pT) = 0 for pT < pt_min, ``turn_on`` for pt_min <= pT < pt_plateau and ``plateau``
    above (a step function, like the efficiency formulas of the Delphes cards).
    """
    return np.where(pt < pt_min, 0.0, np.where(pt < pt_plateau, turn_on, plateau))


def pt_resolution(pt: np.ndarray, *, constant: float, slope: float) -> np.ndarray:
    """(N,) relative resolution σ(pT)/pT = a ⊕ b·pT = sqrt(a² + (b·pT)²).

    a (``constant``) comes from multiple scattering, b (``slope``, per GeV) from the
    finite hit resolution at the lever arm of the tracker: stiff tracks bend little.
    """
    return np.hypot(constant, slope * pt)


def reconstruct_tracks(
    pt: np.ndarray,
    abs_eta: np.ndarray,
    charged: np.ndarray,
    rng: np.random.Generator,
    *,
    eta_max: float,
    pt_min: float,
    pt_plateau: float,
    turn_on: float,
    plateau: float,
    resolution_constant: float,
    resolution_slope: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which particles leave a track, and the measured/true pT ratio of each track.

    ``pt``, ``abs_eta``, ``charged`` are (N,). A charged particle inside |η| < eta_max is
    tracked with probability :func:`tracking_efficiency`; its pT is multiplied by a
    log-normal factor of mean 1 and width :func:`pt_resolution`. Returns ``track (K,)``
    (indices of the tracked particles, increasing), ``scale (K,)`` (measured pT / true pT)
    and ``sigma (K,)`` (the relative resolution of each track).
    """
    candidate = np.flatnonzero(charged & (abs_eta < eta_max))  # (C,)
    efficiency = tracking_efficiency(
        pt[candidate], pt_min=pt_min, pt_plateau=pt_plateau, turn_on=turn_on, plateau=plateau
    )
    track = candidate[rng.random(len(candidate)) < efficiency]  # (K,)
    sigma = pt_resolution(pt[track], constant=resolution_constant, slope=resolution_slope)
    return track, lognormal_factor(rng, sigma), sigma
