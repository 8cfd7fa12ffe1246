"""Energy spots of electromagnetic and hadronic showers (the GFlash picture).

A shower is represented by M energy *spots*, each a point deposit (depth z, transverse
distance r and azimuth from the shower axis, energy) drawn from the shower's fluctuating
profiles; binning them into cells (``_shower_cells``) gives the cell energies. Every
function here works on a batch of showers at once (arrays over spots carry the index of
their shower), so a chunk of showers is a handful of NumPy calls.

Electromagnetic showers (Grindhammer & Peters, hep-ex/0001020; Geant4's GFlash
homogeneous parameterisation):

- longitudinal: dE/dt = E f(t), f a gamma distribution in t (radiation lengths from the
  shower start) with shape alpha and rate beta; its maximum T = (alpha - 1) / beta.
  With y = E / E_c: <ln T> = ln(ln y + C) (C = -0.5 for e+-, +0.5 for photons, the PDG's
  t_max = ln y + C), <ln alpha> = ln(0.21 + (0.458 + 2.26 / Z) ln y),
  sigma(ln T) = 1 / (-1.4 + 1.26 ln y), sigma(ln alpha) = 1 / (-0.58 + 0.86 ln y),
  corr(ln T, ln alpha) = 0.705 - 0.023 ln y: every shower draws its own (T, alpha);
- radial, in Moliere radii at depth tau = t / T: a core and a tail,
  f(r) = p 2 r Rc^2 / (r^2 + Rc^2)^2 + (1 - p) 2 r Rt^2 / (r^2 + Rt^2)^2 with
  Rc = z1 + z2 tau, Rt = k1 (exp(k3 (tau - k2)) + exp(k4 (tau - k2))),
  p = p1 exp((p2 - tau) / p3 - exp((p2 - tau) / p3)) and GFlash's coefficients;
- the number of spots N = 93 ln(Z) E^0.876 (E in GeV) carries the shape fluctuations.

Hadronic showers (after Wigmans, "Calorimetry", and Groom's parameterisations):

- the first interaction at a depth drawn from exp(-z / lambda_I); a charged hadron leaves a
  minimum-ionising track before it (a neutron none); no interaction inside: it punches
  through;
- the electromagnetic fraction (pi0 -> gamma gamma) f_em ~ Beta with mean
  1 - (E / E0)^(k - 1), k = 0.82, E0 = 1 GeV (pions) or 2.6 GeV (baryons), deposited as an
  electromagnetic shower starting at the interaction;
- the rest deposits (1 - f_em) E h/e (non-compensation: the section's h/e) with a gamma
  profile in lambda_I from the interaction, maximum at 0.2 ln E + 0.7 lambda_I, decay
  length E^0.13 lambda_I, and a wider radial profile (core 0.1 lambda_I, tail 0.35 lambda_I).

What is left out (the limits): no magnetic field inside the calorimeter, no
bremsstrahlung in the tracker beyond the upstream X0, one electromagnetic sub-shower per
hadronic shower, no back-scattering, no time structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepdl.generate.calo_geometry import CaloGeometry

EM_OFFSET = {"electron": -0.5, "photon": 0.5}  # PDG's C_j in t_max = ln(E/E_c) + C_j

# One EM spot per this many GeV at least (a floor for soft pile-up particles) and at most
# this many spots per shower: above ~200 GeV more spots no longer change a cell's energy.
_MIN_SPOTS = 8
_MAX_SPOTS = 40_000

# Hadronic radial profile in lambda_I: (core radius, tail radius, core weight).
_HAD_CORE, _HAD_TAIL, _HAD_CORE_WEIGHT = 0.1, 0.35, 0.6
# Sampling steps of a minimum-ionising track (cm) and the spread of each step's energy
# (a gamma of shape 4: a skewed, Landau-like spread of relative width 0.5).
_MIP_STEP_CM = 1.0
_MIP_SHAPE = 4.0


@dataclass
class Spots:
    """M point deposits; ``shower`` (M,) int64 says which shower each belongs to."""

    shower: np.ndarray  # (M,) int64
    z_cm: np.ndarray  # (M,) depth from the front face (inf: leaked out the back)
    x_cm: np.ndarray  # (M,) transverse position at that depth, relative to the impact
    y_cm: np.ndarray  # (M,)
    energy: np.ndarray  # (M,) deposited energy before the section's response (GeV)
    hadronic: np.ndarray  # (M,) bool: from the non-electromagnetic part (h/e, its a)
    r_moliere: np.ndarray  # (M,) lateral distance in local Moliere radii (EM), else nan
    t_x0: np.ndarray  # (M,) depth in X0 from the calorimeter front (nan: upstream)

    @staticmethod
    def concatenate(parts: list[Spots]) -> Spots:
        return Spots(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    @staticmethod
    def empty() -> Spots:
        zeros = np.zeros(0)
        return Spots(np.zeros(0, np.int64), zeros, zeros, zeros, zeros,
                     np.zeros(0, bool), zeros, zeros)  # fmt: skip


_FIELDS = ("shower", "z_cm", "x_cm", "y_cm", "energy", "hadronic", "r_moliere", "t_x0")


def em_spot_counts(energy: np.ndarray, z_eff: float) -> np.ndarray:
    """GFlash's spot multiplicity N = 93 ln(Z) E^0.876 (E in GeV), clipped."""
    n = 93.0 * np.log(z_eff) * np.power(np.maximum(energy, 1e-6), 0.876)
    return np.clip(np.rint(n), _MIN_SPOTS, _MAX_SPOTS).astype(np.int64)


def em_profile_parameters(
    energy: np.ndarray, offset: np.ndarray, geometry: CaloGeometry, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Each shower's fluctuated (T, alpha) of its longitudinal gamma profile, (N,) each."""
    first = geometry.sections[0]
    ln_y = np.log(np.maximum(energy / first.critical_gev, 1.0))
    ln_y_fluct = np.maximum(ln_y, 3.0)  # the sigma formulas diverge below ln y ~ 1.1
    mean_ln_t = np.log(np.maximum(ln_y + offset, 0.3))
    mean_ln_a = np.log(0.21 + (0.458 + 2.26 / first.z_eff) * ln_y)
    sigma_t = 1.0 / (-1.4 + 1.26 * ln_y_fluct)
    sigma_a = 1.0 / (-0.58 + 0.86 * ln_y_fluct)
    rho = 0.705 - 0.023 * ln_y_fluct
    g1, g2 = rng.standard_normal((2, len(energy)))
    ln_t = mean_ln_t + sigma_t * g1
    ln_a = mean_ln_a + sigma_a * (rho * g1 + np.sqrt(1 - rho**2) * g2)
    return np.exp(ln_t), np.maximum(np.exp(ln_a), 1.05)


def _radial_moliere(
    tau: np.ndarray,
    owner: np.ndarray,
    energy: np.ndarray,
    z_eff: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """(M,) lateral distances in Moliere radii of spots at relative depths ``tau`` (M,),
    spot m in the shower ``owner[m]`` of ``energy`` (K,) GeV (GFlash)."""
    ln_e = np.log(np.maximum(energy, 1e-3))  # (K,): the energy terms once per shower
    z1 = (0.0251 + 0.00319 * ln_e)[owner]
    k4 = (0.3585 + 0.0412 * ln_e)[owner]
    p3 = np.maximum(1.313 - 0.0686 * ln_e, 0.2)[owner]
    tau = tau.astype(np.float32)  # single precision: ~2x faster, far below the fluctuations
    r_core = z1 + (0.1162 - 0.000381 * z_eff) * tau
    k1, k2, k3 = 0.659 - 0.00309 * z_eff, 0.645, -2.59
    r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
    x = (0.401 + 0.00187 * z_eff - tau) / p3
    p_core = (2.632 - 0.00094 * z_eff) * np.exp(x - np.exp(x))
    radius = np.where(rng.random(len(tau), dtype=np.float32) < p_core, r_core, r_tail)
    u = rng.random(len(tau))
    # inverse of the cumulative r^2 / (r^2 + R^2) of 2 r R^2 / (r^2 + R^2)^2
    return radius * np.sqrt(u / np.maximum(1.0 - u, 1e-12))


def _lateral(radius_cm: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    phi = rng.uniform(0.0, 2.0 * np.pi, len(radius_cm))
    return radius_cm * np.cos(phi), radius_cm * np.sin(phi)


def em_spots(
    geometry: CaloGeometry,
    energy: np.ndarray,
    photon: np.ndarray,
    start_x0: np.ndarray,
    shower: np.ndarray,
    rng: np.random.Generator,
) -> Spots:
    """Electromagnetic showers of ``energy`` (K,) GeV, ``photon`` (K,) bool (else e+-),
    starting ``start_x0`` (K,) radiation lengths into the calorimeter (negative: in the
    upstream material, whose part of the shower is lost), of showers ``shower`` (K,)."""
    if len(energy) == 0:
        return Spots.empty()
    offset = np.where(photon, EM_OFFSET["photon"], EM_OFFSET["electron"])
    t_max, alpha = em_profile_parameters(energy, offset, geometry, rng)
    beta = (alpha - 1.0) / t_max
    counts = em_spot_counts(energy, geometry.sections[0].z_eff)
    owner = np.repeat(np.arange(len(energy)), counts)  # (M,) which of the K showers
    t = rng.gamma(alpha[owner], 1.0 / beta[owner])  # (M,) X0 from the shower start
    depth_x0 = start_x0[owner] + t
    z = geometry.depth_from_x0(depth_x0)
    z = np.where(depth_x0 < 0, np.nan, z)  # deposited upstream: lost
    section = geometry.section_index(np.nan_to_num(z, nan=0.0, posinf=0.0))
    r = _radial_moliere(t / t_max[owner], owner, energy, geometry.sections[0].z_eff, rng)
    x, y = _lateral(r * geometry.section_table("moliere_cm")[section], rng)
    return Spots(
        shower=shower[owner],
        z_cm=z,
        x_cm=x,
        y_cm=y,
        energy=(energy / counts)[owner],
        hadronic=np.zeros(len(owner), bool),
        r_moliere=r,
        t_x0=np.where(depth_x0 < 0, np.nan, depth_x0),
    )


def mip_spots(
    geometry: CaloGeometry, stop_cm: np.ndarray, shower: np.ndarray, rng: np.random.Generator
) -> Spots:
    """Minimum-ionising tracks along the axis from the front to ``stop_cm`` (K,)."""
    stop_cm = np.minimum(stop_cm, geometry.depth_cm)
    steps = np.floor(stop_cm / _MIP_STEP_CM).astype(np.int64)
    owner = np.repeat(np.arange(len(stop_cm)), steps)
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(steps) - steps, steps)
    z = (rank + 0.5) * _MIP_STEP_CM
    per_cm = geometry.section_table("mip_gev_per_cm")[geometry.section_index(z)]
    energy = per_cm * _MIP_STEP_CM * rng.gamma(_MIP_SHAPE, 1.0 / _MIP_SHAPE, len(z))
    keep = energy > 0  # nothing in the gap
    zeros = np.zeros(int(keep.sum()))
    return Spots(shower[owner][keep], z[keep], zeros, zeros.copy(), energy[keep],
                 np.zeros(len(zeros), bool), np.full(len(zeros), np.nan),
                 geometry.depth_in_x0(z[keep]))  # fmt: skip


def em_fraction_mean(energy: np.ndarray, baryon: np.ndarray) -> np.ndarray:
    """Groom's <f_em> = 1 - (E / E0)^(k - 1), k = 0.82, E0 = 1 GeV (2.6 GeV for baryons)."""
    e0 = np.where(baryon, 2.6, 1.0)
    return np.clip(1.0 - np.power(np.maximum(energy / e0, 1.0), 0.82 - 1.0), 0.0, 0.95)


def hadronic_spots(
    geometry: CaloGeometry,
    energy: np.ndarray,
    charged: np.ndarray,
    baryon: np.ndarray,
    shower: np.ndarray,
    rng: np.random.Generator,
) -> Spots:
    """Hadronic showers of ``energy`` (K,) GeV entering at the front face."""
    if len(energy) == 0:
        return Spots.empty()
    k = len(energy)
    first_lambda = rng.exponential(1.0, k)  # interaction depth in lambda_I
    z_int = geometry.depth_from_lambda(first_lambda)  # inf: punches through
    interacts = np.isfinite(z_int)
    parts = [mip_spots(geometry, np.where(charged, z_int, 0.0), shower, rng)]
    e, sh = energy[interacts], shower[interacts]
    if len(e):
        mean = em_fraction_mean(e, baryon[interacts])
        concentration = 12.0  # std of f_em ~ sqrt(m (1 - m) / 13): ~0.13 at m = 0.5
        f_em = rng.beta(np.maximum(mean * concentration, 1e-3),
                        np.maximum((1 - mean) * concentration, 1e-3))  # fmt: skip
        start_x0 = geometry.depth_in_x0(z_int[interacts])
        parts.append(em_spots(geometry, f_em * e, np.ones(len(e), bool), start_x0, sh, rng))
        parts.append(_hadronic_part(geometry, (1 - f_em) * e, first_lambda[interacts], sh, rng))
    return Spots.concatenate(parts)


def _hadronic_part(
    geometry: CaloGeometry,
    energy: np.ndarray,
    start_lambda: np.ndarray,
    shower: np.ndarray,
    rng: np.random.Generator,
) -> Spots:
    ln_e = np.log(np.maximum(energy, 0.1))
    t_max = np.maximum(0.2 * ln_e + 0.7, 0.1)
    decay = np.power(np.maximum(energy, 0.1), 0.13)
    beta = 1.0 / decay
    alpha = 1.0 + t_max * beta
    counts = np.clip(np.rint(200.0 * np.power(np.maximum(energy, 1e-3), 0.8)), _MIN_SPOTS,
                     _MAX_SPOTS).astype(np.int64)  # fmt: skip
    owner = np.repeat(np.arange(len(energy)), counts)
    depth_lambda = start_lambda[owner] + rng.gamma(alpha[owner], 1.0 / beta[owner])
    z = geometry.depth_from_lambda(depth_lambda)
    section = geometry.section_index(np.nan_to_num(z, posinf=0.0))
    core = rng.random(len(owner)) < _HAD_CORE_WEIGHT
    u = rng.random(len(owner))
    r = np.where(core, _HAD_CORE, _HAD_TAIL) * np.sqrt(u / np.maximum(1 - u, 1e-12))
    x, y = _lateral(r * geometry.section_table("lambda_cm")[section], rng)
    return Spots(shower[owner], z, x, y, (energy / counts)[owner],
                 np.ones(len(owner), bool), np.full(len(owner), np.nan),
                 geometry.depth_in_x0(np.nan_to_num(z, posinf=geometry.depth_cm)))  # fmt: skip
