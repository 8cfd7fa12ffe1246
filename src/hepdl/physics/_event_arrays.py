"""Checks of the per-event arrays that the event-level feature functions take."""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.physics import kinematics


def as_event_array(
    name: str, value: Any, *, tail: tuple[int, ...], n_events: int | None = None
) -> np.ndarray:
    """``value`` as a finite float64 array of shape ``(E, *tail)``.

    Raises DataError naming ``name`` for a wrong shape, a different event count than
    ``n_events`` or a NaN/inf entry.
    """
    expected = "(E, " + ", ".join(str(size) for size in tail) + ")"
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"{name} must be a float array of shape {expected}, got {type(value).__name__}"
        ) from None
    if array.ndim != 1 + len(tail) or array.shape[1:] != tail:
        raise DataError(f"{name} must have shape {expected}, got {array.shape}")
    if n_events is not None and len(array) != n_events:
        raise DataError(f"{name} has {len(array)} events, expected {n_events} like the others")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(array.reshape(len(array), -1)), axis=1))[0])
        raise DataError(f"{name} has a NaN or infinite value in event {bad}")
    return array


def pt_eta_phi(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pT, η and φ of four-momenta ``p (..., 4)``; η = ±inf along the beam."""
    pt = kinematics.pt(p[..., 0], p[..., 1])
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(p[..., 2] / np.where(pt > 0, pt, 1.0))
    eta = np.where(pt > 0, eta, np.copysign(np.inf, p[..., 2]))
    return pt, eta, kinematics.phi(p[..., 0], p[..., 1])
