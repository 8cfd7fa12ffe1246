"""The (sigma_w^2, sigma_b^2) grid shared by the phase diagram and its trained networks."""

from __future__ import annotations

import numpy as np

from hepdl.errors import ConfigError


def variance_grid(
    sigma_w2: np.ndarray | None, sigma_b2: np.ndarray | None, *, n_w: int, n_b: int
) -> tuple[np.ndarray, np.ndarray]:
    """The grids given, or ``n_w`` values of sigma_w^2 in [0.25, 4] and ``n_b`` of sigma_b^2
    in [0, 0.3]: both phases and the boundary between them (sigma_w^2 = 1 to about 2.5)."""
    sw2 = np.linspace(0.25, 4.0, n_w) if sigma_w2 is None else np.asarray(sigma_w2, float)
    sb2 = np.linspace(0.0, 0.3, n_b) if sigma_b2 is None else np.asarray(sigma_b2, float)
    if sw2.ndim != 1 or sb2.ndim != 1 or not (sw2.size and sb2.size):
        raise ConfigError("sigma_w2, sigma_b2: expected non-empty 1-D grids of variances")
    if (sw2 < 0).any() or (sb2 < 0).any():
        raise ConfigError("sigma_w2, sigma_b2: expected variances >= 0")
    return sw2, sb2
