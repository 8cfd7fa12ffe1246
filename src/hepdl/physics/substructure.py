"""Jet substructure observables, vectorised over all jets at once.

Input everywhere: ``constituents``, an awkward array with one list per jet of records with
fields ``px, py, pz, energy`` in GeV, e.g. from a JetClass-style Parquet table::

    constituents = ak.zip({"px": table["part_px"], "py": table["part_py"],
                           "pz": table["part_pz"], "energy": table["part_energy"]})

Outputs are NumPy arrays with one entry per jet, ``(N,)``. An empty jet (no constituents)
gives 0 for every observable. Angles between a constituent and an axis are measured in
rapidity-phi, as FastJet and FastJet contrib do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import awkward as ak
import numpy as np

from hepdl.physics import kinematics
from hepdl.physics._jets import FlatJets
from hepdl.physics._kt_axes import exclusive_kt_axes_flat, nsubjettiness_from_axes

SUBSTRUCTURE_FEATURES: tuple[str, ...] = (
    "jet_pt",
    "jet_mass",
    "tau1",
    "tau2",
    "tau3",
    "tau21",
    "tau32",
    "n_constituents",
    "pt_d",
    "girth",
)


def jet_four_momentum(
    constituents: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """E-scheme jet four-momentum ``p_J = sum_i p_i``: ``(px, py, pz, E)``, each (N,)."""
    return FlatJets.from_constituents(constituents).jet_momentum


def jet_mass(constituents: Any) -> np.ndarray:
    """Jet invariant mass ``m_J = sqrt(E_J^2 - |p_J|^2)`` of the summed four-momentum, (N,)."""
    return _jet_mass(FlatJets.from_constituents(constituents))


def jet_pt(constituents: Any) -> np.ndarray:
    """Jet transverse momentum ``pT_J = |sum_i pT_i vec|`` (vector sum), (N,)."""
    return _jet_pt(FlatJets.from_constituents(constituents))


def multiplicity(constituents: Any) -> np.ndarray:
    """Number of constituents per jet, int64 (N,)."""
    return FlatJets.from_constituents(constituents).counts


def pt_d(constituents: Any) -> np.ndarray:
    """Momentum dispersion ``pT_D = sqrt(sum_i pT_i^2) / sum_i pT_i``, (N,).

    1 for a single hard constituent, about ``1/sqrt(n)`` for n equal ones (quark jets are
    harder and fewer than gluon jets). 0 for an empty jet.
    """
    return _pt_d(FlatJets.from_constituents(constituents))


def girth(constituents: Any) -> np.ndarray:
    """Jet girth (linear radial moment) ``g = sum_i pT_i DeltaR(i, J) / pT_J``, (N,).

    ``DeltaR`` in rapidity-phi to the E-scheme jet axis, ``pT_J`` the jet's (vector-sum)
    transverse momentum. 0 for an empty jet or one with ``pT_J = 0``.
    """
    return _girth(FlatJets.from_constituents(constituents))


def exclusive_kt_axes(constituents: Any, n: int) -> ak.Array:
    """The N-subjettiness axes of each jet: exclusive kT clustering down to n subjets.

    Each jet's constituents are clustered with the kT algorithm, which repeatedly merges the
    pair with the smallest ``d_ij = min(pT_i^2, pT_j^2) DeltaR_ij^2`` (DeltaR in
    rapidity-phi) by adding four-momenta (E-scheme), until n remain. This is FastJet
    contrib's ``KT_Axes`` (``ExclusiveJetAxes`` with kT and ``R = max_allowable_R``, so beam
    distances never win); all jets are clustered in one vectorised FastJet call.

    Returns an awkward array like the input: per jet, a list of ``px, py, pz, energy``
    records sorted by decreasing pT. A jet with ``k < n`` constituents gets its k
    constituents back (each is its own axis); an empty jet gets an empty list.
    """
    _check_n(n)
    axes = exclusive_kt_axes_flat(FlatJets.from_constituents(constituents), [n])[n]
    records = ak.zip({"px": axes.px, "py": axes.py, "pz": axes.pz, "energy": axes.energy})
    return ak.unflatten(records, axes.counts)


def nsubjettiness(constituents: Any, *, n: int, beta: float = 1.0, r0: float = 0.8) -> np.ndarray:
    """Normalised N-subjettiness ``tau_n`` of each jet with exclusive-kT axes, (N,).

    ``tau_n = sum_k pT_k min_j (DeltaR_jk)^beta / sum_k pT_k R0^beta``

    with k over the jet's constituents, j over its n ``exclusive_kt_axes`` and DeltaR in
    rapidity-phi: FastJet contrib's ``Nsubjettiness(n, KT_Axes(), NormalizedMeasure(beta,
    R0))``. The normalisation makes tau_n dimensionless and cancels in ratios such as
    ``tau_2 / tau_1``. Small tau_n means the radiation is collimated around n axes.
    A jet with n or fewer constituents has ``tau_n = 0``; so does an empty jet.
    """
    _check_n(n)
    _check_positive(beta=beta, r0=r0)
    jets = FlatJets.from_constituents(constituents)
    axes = exclusive_kt_axes_flat(jets, [n])[n]
    return nsubjettiness_from_axes(jets, axes, n=n, beta=beta, r0=r0)


def tau_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``tau_N / tau_{N-1}`` (e.g. ``tau21 = tau_ratio(tau2, tau1)``), 0 where ``den = 0``.

    The denominator vanishes only for jets with too few constituents (or no pT), which carry
    no N-prong information; 0 keeps the feature finite for training instead of NaN.
    """
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den != 0)


def substructure_features(
    constituents: Any,
    *,
    jet_radius: float = 0.8,
    names: Iterable[str] = SUBSTRUCTURE_FEATURES,
) -> dict[str, np.ndarray]:
    """The requested high-level jet features, each (N,), in the order of ``names``.

    Valid names are ``SUBSTRUCTURE_FEATURES``. N-subjettiness uses ``beta = 1`` and
    ``R0 = jet_radius``; the kT clustering is done once and read off at 1, 2 and 3 axes as
    needed. ``n_constituents`` is int64, every other feature float64. Empty jets give 0.

    Raises ValueError for an unknown name, listing the valid ones.
    """
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [name for name in names if name not in _FEATURES]
    if unknown:
        raise ValueError(
            f"unknown substructure feature(s) {unknown}; valid names are {list(_FEATURES)}"
        )
    _check_positive(jet_radius=jet_radius)
    jets = FlatJets.from_constituents(constituents)
    n_axes = {n for name in names for n in _TAU_AXES.get(name, ())}
    axes = exclusive_kt_axes_flat(jets, n_axes) if n_axes else {}
    tau = {n: nsubjettiness_from_axes(jets, axes[n], n=n, beta=1.0, r0=jet_radius) for n in axes}
    return {name: _FEATURES[name](jets, tau) for name in names}


def _jet_pt(jets: FlatJets) -> np.ndarray:
    px, py, _, _ = jets.jet_momentum
    return kinematics.pt(px, py)


def _jet_mass(jets: FlatJets) -> np.ndarray:
    return kinematics.mass(*jets.jet_momentum)


def _pt_d(jets: FlatJets) -> np.ndarray:
    sum_pt = jets.jet_sum(jets.pt)  # (N,)
    root_sum_pt2 = np.sqrt(jets.jet_sum(jets.pt**2))  # (N,)
    return np.divide(root_sum_pt2, sum_pt, out=np.zeros(jets.n_jets), where=sum_pt > 0)


def _girth(jets: FlatJets) -> np.ndarray:
    px, py, pz, energy = jets.jet_momentum  # (N,) each
    pt_jet = kinematics.pt(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        # Empty jets (E = pz = 0) give NaN axes here; no constituent points at them.
        axis_rapidity = kinematics.rapidity(energy, pz)
        dr = kinematics.delta_r(
            jets.rapidity,
            jets.phi,
            axis_rapidity[jets.jet_index],
            kinematics.phi(px, py)[jets.jet_index],
        )  # (M,)
    numerator = jets.jet_sum(jets.pt_weighted(dr))
    return np.divide(numerator, pt_jet, out=np.zeros(jets.n_jets), where=pt_jet > 0)


# Which tau_n each feature needs; the clustering is shared between them.
_TAU_AXES: dict[str, tuple[int, ...]] = {
    "tau1": (1,),
    "tau2": (2,),
    "tau3": (3,),
    "tau21": (1, 2),
    "tau32": (2, 3),
}

_FeatureFn = Callable[[FlatJets, dict[int, np.ndarray]], np.ndarray]
_FEATURES: dict[str, _FeatureFn] = {
    "jet_pt": lambda jets, tau: _jet_pt(jets),
    "jet_mass": lambda jets, tau: _jet_mass(jets),
    "tau1": lambda jets, tau: tau[1],
    "tau2": lambda jets, tau: tau[2],
    "tau3": lambda jets, tau: tau[3],
    "tau21": lambda jets, tau: tau_ratio(tau[2], tau[1]),
    "tau32": lambda jets, tau: tau_ratio(tau[3], tau[2]),
    "n_constituents": lambda jets, tau: jets.counts,
    "pt_d": lambda jets, tau: _pt_d(jets),
    "girth": lambda jets, tau: _girth(jets),
}


def _check_n(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n (the number of axes) must be an integer >= 1, got {n!r}")


def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value!r}")
