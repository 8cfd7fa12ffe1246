"""Weight initialisations of the lectures, for one layer ``w (n_out, n_in)``, ``b (n_out,)``.

- ``gaussian``: w_jk ~ N(0, sigma_w^2 / n_in), b_j ~ N(0, sigma_b^2), the mean-field
  parametrisation of Poole et al. (2016): with sigma_w = 1 the weighted input keeps the
  variance of its inputs, and (sigma_w^2, sigma_b^2) are the axes of the order-to-chaos
  phase diagram.
- ``xavier`` (Glorot & Bengio 2010): w_jk ~ N(0, 2 / (n_in + n_out)), b = 0, which keeps
  the variance of both the activations and the backpropagated errors for tanh/sigmoid.
- ``he`` (He et al. 2015): w_jk ~ N(0, 2 / n_in), b = 0, which compensates the half of
  the inputs that a ReLU sets to zero.
"""

from __future__ import annotations

import numpy as np

from hepdl.errors import ConfigError
from hepdl.text import did_you_mean

__all__ = ["INITIALIZATIONS", "initialize_layer"]

INITIALIZATIONS = ("gaussian", "xavier", "he")


def initialize_layer(
    n_in: int,
    n_out: int,
    *,
    scheme: str,
    rng: np.random.Generator,
    sigma_w: float = 1.0,
    sigma_b: float = 0.0,
    dtype: np.dtype | type = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(n_out, n_in)`` and biases ``(n_out,)`` drawn by ``scheme``.

    ``sigma_w`` and ``sigma_b`` are used by ``gaussian`` only.
    """
    if scheme not in INITIALIZATIONS:
        raise ConfigError(
            f"init: unknown initialisation {scheme!r}{did_you_mean(str(scheme), INITIALIZATIONS)}"
            f"; choose from {', '.join(INITIALIZATIONS)}"
        )
    if scheme == "gaussian":
        if not (np.isfinite(sigma_w) and sigma_w >= 0 and np.isfinite(sigma_b) and sigma_b >= 0):
            raise ConfigError(
                f"sigma_w, sigma_b: expected finite numbers >= 0, got {sigma_w} and {sigma_b}"
            )
        std_w, std_b = sigma_w / np.sqrt(n_in), sigma_b
    elif scheme == "xavier":
        std_w, std_b = np.sqrt(2.0 / (n_in + n_out)), 0.0
    else:  # he
        std_w, std_b = np.sqrt(2.0 / n_in), 0.0
    w = rng.normal(0.0, std_w, size=(n_out, n_in)).astype(dtype)
    b = (rng.normal(0.0, std_b, size=n_out) if std_b > 0 else np.zeros(n_out)).astype(dtype)
    return w, b
