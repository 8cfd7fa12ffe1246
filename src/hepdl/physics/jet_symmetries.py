"""Transformations of jet constituents for data augmentation, on flat (M,) arrays.

``jet`` arguments are per-constituent copies of their jet's quantity (index a per-jet
array with the constituent's jet index). The rotation and both reflections are exact
(improper) Lorentz transformations that leave the jet's summed four-momentum unchanged;
the smearing follows JetCLR (B. Dillon et al., SciPost Phys. 12 (2022) 188).
"""

from __future__ import annotations

import numpy as np

from hepdl.physics import kinematics


def rotate_about_axis(momenta: np.ndarray, axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Rotate 3-momenta about ``axis`` by ``angle`` (Rodrigues), energies unchanged.

    ``p' = p cos a + (k x p) sin a + k (k . p)(1 - cos a)`` with k the unit ``axis``.
    ``momenta`` (M, 4) as (px, py, pz, E), ``axis`` (M, 3) (any length > 0), ``angle`` (M,).
    Rotating about the jet's 3-momentum keeps the jet momentum and every invariant mass.
    """
    p = momenta[:, :3]
    k = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    dot = (k * p).sum(axis=1, keepdims=True)
    rotated = p * cos + np.cross(k, p) * sin + k * dot * (1.0 - cos)
    return np.concatenate([rotated, momenta[:, 3:]], axis=1)


def reflect_phi(momenta: np.ndarray, jet_phi: np.ndarray) -> np.ndarray:
    """Mirror in azimuth about the jet: ``phi -> 2 phi_J - phi``, pT, pz and E unchanged.

    The mirror plane holds the beam and the jet axis, so Delta phi -> -Delta phi. As a
    linear map of the transverse momentum with u = (cos phi_J, sin phi_J):
    ``pT' = 2 (pT . u) u - pT``.
    """
    u = np.stack([np.cos(jet_phi), np.sin(jet_phi)], axis=1)  # (M, 2)
    transverse = momenta[:, :2]
    mirrored = 2.0 * (transverse * u).sum(axis=1, keepdims=True) * u - transverse
    return np.concatenate([mirrored, momenta[:, 2:]], axis=1)


def reflect_rapidity(momenta: np.ndarray, jet_rapidity: np.ndarray) -> np.ndarray:
    """Mirror in rapidity about the jet: ``y -> 2 y_J - y``, pT, phi and mass unchanged.

    A boost to the jet's rest frame along z, ``z -> -z``, and the boost back. On the
    light-cone components: ``E' + pz' = e^(2 y_J) (E - pz)``,
    ``E' - pz' = e^(-2 y_J) (E + pz)``, so Delta y -> -Delta y.
    """
    plus = np.exp(2.0 * jet_rapidity) * (momenta[:, 3] - momenta[:, 2])
    minus = np.exp(-2.0 * jet_rapidity) * (momenta[:, 3] + momenta[:, 2])
    return np.stack(
        [momenta[:, 0], momenta[:, 1], 0.5 * (plus - minus), 0.5 * (plus + minus)], axis=1
    )


def smear_angles(momenta: np.ndarray, *, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Move each constituent in (eta, phi) by Gaussian steps of width ``scale / pT``.

    ``eta' ~ N(eta, Lambda / pT)``, ``phi' ~ N(phi, Lambda / pT)`` with ``Lambda = scale``
    (GeV; JetCLR uses 0.1): soft constituents move a lot, hard ones barely, so
    IRC-safe observables, dominated by the hard ones, hardly change. pT and mass of each
    constituent are kept. Constituents with pT = 0 are left as they are.
    """
    px, py, pz, energy = momenta.T
    pt = kinematics.pt(px, py)
    moving = pt > 0
    width = np.divide(scale, pt, out=np.zeros_like(pt), where=moving)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = kinematics.pseudorapidity(px, py, pz) + rng.normal(size=pt.shape) * width
    phi = kinematics.phi(px, py) + rng.normal(size=pt.shape) * width
    m2 = np.maximum(energy**2 - (px**2 + py**2 + pz**2), 0.0)
    new_pz = pt * np.sinh(eta)
    smeared = np.stack(
        [pt * np.cos(phi), pt * np.sin(phi), new_pz, np.sqrt(pt**2 + new_pz**2 + m2)], axis=1
    )
    return np.where(moving[:, None], smeared, momenta)
