"""Four-vector kinematics in collider coordinates, vectorised with NumPy.

Every function is built from NumPy ufuncs only, so it works element-wise on scalars, NumPy
arrays of any shape and awkward (jagged) arrays alike, and returns the same kind of array.
Momenta and energies are in GeV; angles in radians.

Coordinates: the beam is along z, the transverse plane is (x, y).
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Anything NumPy ufuncs accept: a float, an np.ndarray, or an awkward Array.
ArrayLike = Any

_TWO_PI = 2.0 * np.pi


def pt(px: ArrayLike, py: ArrayLike) -> ArrayLike:
    """Transverse momentum ``pT = sqrt(px^2 + py^2)``."""
    return np.hypot(px, py)


def rapidity(energy: ArrayLike, pz: ArrayLike) -> ArrayLike:
    """Rapidity ``y = 1/2 ln((E + pz) / (E - pz))``.

    ``y`` is additive under boosts along the beam, which is why jet algorithms and
    N-subjettiness measure angles in (y, phi). It is ``+-inf`` for a particle moving exactly
    along the beam (``E = |pz|``) and NaN where ``E = pz = 0``.
    """
    return 0.5 * np.log((energy + pz) / (energy - pz))


def pseudorapidity(px: ArrayLike, py: ArrayLike, pz: ArrayLike) -> ArrayLike:
    """Pseudorapidity ``eta = -ln tan(theta / 2) = asinh(pz / pT)``.

    Equal to the rapidity for massless particles; depends only on the polar angle.
    The ``asinh`` form avoids the cancellation of ``ln((|p| + pz) / (|p| - pz))``.
    """
    return np.arcsinh(pz / pt(px, py))


def phi(px: ArrayLike, py: ArrayLike) -> ArrayLike:
    """Azimuthal angle ``phi = atan2(py, px)`` in ``[-pi, pi]``."""
    return np.arctan2(py, px)


def mass(px: ArrayLike, py: ArrayLike, pz: ArrayLike, energy: ArrayLike) -> ArrayLike:
    """Invariant mass ``m = sqrt(E^2 - |p|^2)``.

    For (nearly) massless four-vectors rounding can make ``m^2`` slightly negative; it is
    clipped to 0 so the result is never NaN.
    """
    m2 = energy**2 - (px**2 + py**2 + pz**2)
    return np.sqrt(np.maximum(m2, 0.0))


def delta_phi(phi1: ArrayLike, phi2: ArrayLike) -> ArrayLike:
    """Azimuthal difference ``phi1 - phi2`` wrapped to ``[-pi, pi)``.

    ``((phi1 - phi2 + pi) mod 2 pi) - pi``, so two particles either side of ``phi = +-pi``
    are close, not ``2 pi`` apart.
    """
    wrapped = (phi1 - phi2 + np.pi) % _TWO_PI - np.pi
    # A difference just below -pi can round to exactly +pi after the modulo; fold it back so
    # the interval stays half-open.
    return np.where(wrapped >= np.pi, wrapped - _TWO_PI, wrapped)


def delta_r(y1: ArrayLike, phi1: ArrayLike, y2: ArrayLike, phi2: ArrayLike) -> ArrayLike:
    """Angular distance ``DeltaR = sqrt((y1 - y2)^2 + DeltaPhi^2)``.

    Pass rapidities for the FastJet convention (used by jet clustering and
    N-subjettiness) or pseudorapidities for the detector convention.
    """
    return np.hypot(y1 - y2, delta_phi(phi1, phi2))
