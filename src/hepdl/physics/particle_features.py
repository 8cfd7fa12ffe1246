"""Per-particle and particle-pair features of the ParticleNet / Particle Transformer inputs.

Pure NumPy on arrays of any shape; the caller pads and masks. References: ParticleNet
(H. Qu, L. Gouskos, Phys. Rev. D 101 (2020) 056019) and Particle Transformer (H. Qu, C. Li,
S. Qian, ICML 2022, arXiv:2202.03772).
"""

from __future__ import annotations

import numpy as np

from hepdl.physics import kinematics

PARTICLE_TYPES: tuple[str, ...] = (
    "is_charged_hadron",
    "is_neutral_hadron",
    "is_photon",
    "is_electron",
    "is_muon",
)

PAIRWISE_FEATURES: tuple[str, ...] = ("ln_delta", "ln_kt", "ln_z", "ln_m2")

# Particle Transformer's floor inside every logarithm.
DEFAULT_EPS = 1e-8


def particle_type_onehot(pid: np.ndarray, charge: np.ndarray) -> np.ndarray:
    """The ParT particle-type one-hot from PDG id and charge, shape ``pid.shape + (5,)``.

    In the order of ``PARTICLE_TYPES``:

    - electron: ``|pid| = 11``; muon: ``|pid| = 13``; photon: ``pid = 22``;
    - charged hadron: ``charge != 0`` and not an electron or muon;
    - neutral hadron: ``charge = 0`` and not a photon.

    This is how JetClass derives its ``part_is*`` flags from Delphes candidates: exactly
    one flag is 1 for every particle.
    """
    abs_pid = np.abs(np.asarray(pid)).astype(np.int64)
    charged = np.asarray(charge) != 0
    electron = abs_pid == 11
    muon = abs_pid == 13
    photon = abs_pid == 22
    charged_hadron = charged & ~electron & ~muon
    neutral_hadron = ~charged & ~photon & ~electron & ~muon
    flags = [charged_hadron, neutral_hadron, photon, electron, muon]
    return np.stack(flags, axis=-1).astype(np.float64)


def pairwise_features(a: np.ndarray, b: np.ndarray, *, eps: float = DEFAULT_EPS) -> np.ndarray:
    """Particle Transformer's interaction features of particle pairs, ``(..., 4)``.

    ``a`` and ``b`` are four-momenta ``(..., 4)`` as (px, py, pz, E) that broadcast against
    each other (e.g. ``(N, P, 1, 4)`` and ``(N, 1, P, 4)`` for all pairs). With y the
    rapidity and the logarithms floored at ``eps``:

    - ``ln Delta``, ``Delta = sqrt((y_a - y_b)^2 + (phi_a - phi_b)^2)``;
    - ``ln kT``, ``kT = min(pT_a, pT_b) Delta``;
    - ``ln z``, ``z = min(pT_a, pT_b) / (pT_a + pT_b)``;
    - ``ln m^2``, ``m^2 = (E_a + E_b)^2 - |p_a + p_b|^2``.

    A particle paired with itself has Delta = 0: ln Delta = ln kT = ln eps, z = 1/2.
    Pairs involving padding (zero four-vectors) give meaningless values; mask them.
    """
    return np.stack(pairwise_feature_list(a, b, eps=eps), axis=-1)


def pairwise_feature_list(
    a: np.ndarray, b: np.ndarray, *, eps: float = DEFAULT_EPS
) -> list[np.ndarray]:
    """``pairwise_features`` as four separate contiguous arrays (broadcast shape each).

    Faster for large batches: every pass runs over contiguous memory, and the caller can
    write each feature where it wants without an intermediate ``(..., 4)`` copy.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    # Per-particle quantities on the small (unbroadcast) arrays first.
    ax, ay, az, ae = (a[..., i] for i in range(4))
    bx, by, bz, be = (b[..., i] for i in range(4))
    with np.errstate(divide="ignore", invalid="ignore"):
        pt_a, pt_b = kinematics.pt(ax, ay), kinematics.pt(bx, by)
        y_a, y_b = kinematics.rapidity(ae, az), kinematics.rapidity(be, bz)
        phi_a, phi_b = kinematics.phi(ax, ay), kinematics.phi(bx, by)
        d_phi = np.abs(phi_a - phi_b)  # (...) broadcast from here on
        d_phi = np.minimum(d_phi, 2.0 * np.pi - d_phi)  # wrapped: only its square is used
        delta = np.hypot(y_a - y_b, d_phi)
        pt_min = np.minimum(pt_a, pt_b)
        kt = pt_min * delta
        z = pt_min / np.maximum(pt_a + pt_b, eps)
        m2 = (ae + be) ** 2 - (ax + bx) ** 2 - (ay + by) ** 2 - (az + bz) ** 2
        features = [delta, kt, z, m2]
        for f in features:
            np.maximum(f, eps, out=f)
            np.log(f, out=f)
    return features
