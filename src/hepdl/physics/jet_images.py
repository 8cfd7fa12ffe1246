"""Jet images: the preprocessing of the jet-image papers and the pixelisation.

Input everywhere: padded constituents of N jets, coordinates ``x`` (Delta eta, horizontal)
and ``y`` (Delta phi, vertical) relative to some origin, intensities ``w`` (pT or E) and a
``mask``, all (N, P). Padded slots must have ``w = 0``. The standard order (J. Cogan et
al., JHEP 02 (2015) 118; L. de Oliveira et al., JHEP 07 (2016) 069; S. Macaluso and
D. Shih, JHEP 10 (2018) 121) is

1. translate: the intensity centroid (or the leading subjet) to the origin;
2. rotate: the principal axis of the intensity distribution to the vertical (y) axis;
3. flip: the heavier half-planes to x > 0 and y > 0 (most intensity upper right);
4. pixelise; 5. normalise.

Each step is a function here; all are vectorised over jets.
"""

from __future__ import annotations

import numpy as np


def centroid(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intensity centroid ``(sum_i w_i x_i / sum_i w_i, sum_i w_i y_i / sum_i w_i)``, (N,) each.

    (0, 0) for a jet with no intensity.
    """
    total = w.sum(axis=1)  # (N,)
    safe = np.where(total > 0, total, 1.0)
    return (w * x).sum(axis=1) / safe, (w * y).sum(axis=1) / safe


def principal_angle(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Angle (N,) of the principal axis to the x axis, from second moments about the origin.

    With ``S_xx = sum w x^2``, ``S_yy = sum w y^2``, ``S_xy = sum w x y`` the axis of
    largest spread is at ``theta = 1/2 atan2(2 S_xy, S_xx - S_yy)`` (the eigenvector of the
    largest eigenvalue of the 2x2 moment matrix). 0 for an isotropic or empty jet.
    """
    s_xx = (w * x * x).sum(axis=1)
    s_yy = (w * y * y).sum(axis=1)
    s_xy = (w * x * y).sum(axis=1)
    return 0.5 * np.arctan2(2.0 * s_xy, s_xx - s_yy)


def rotate_to_vertical(
    x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate each jet about the origin so its principal axis is along y.

    The rotation angle is ``alpha = pi/2 - theta`` (``principal_angle``):
    ``x' = x cos(alpha) - y sin(alpha)``, ``y' = x sin(alpha) + y cos(alpha)``. The axis'
    sign is ambiguous (theta and theta + pi); ``flip`` fixes it.
    """
    alpha = (0.5 * np.pi - principal_angle(x, y, w))[:, None]  # (N, 1)
    cos, sin = np.cos(alpha), np.sin(alpha)
    return x * cos - y * sin, x * sin + y * cos


def flip_to_upper_right(
    x: np.ndarray, y: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mirror x (and y) so that ``sum_{x>0} w >= sum_{x<0} w`` (and the same for y)."""
    flip_x = (w * (x < 0)).sum(axis=1) > (w * (x > 0)).sum(axis=1)  # (N,)
    flip_y = (w * (y < 0)).sum(axis=1) > (w * (y > 0)).sum(axis=1)
    return np.where(flip_x[:, None], -x, x), np.where(flip_y[:, None], -y, y)


def pixelise(
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    channel: np.ndarray,
    *,
    n_channels: int,
    pixels: tuple[int, int],
    extent: float,
) -> np.ndarray:
    """Sum intensities into ``(N, C, H, W)`` pixels covering ``[-extent, extent]^2``.

    Pixel ``[n, c, i, j]`` collects the constituents of jet n in channel c with
    ``y`` in ``[-extent + i dy, -extent + (i + 1) dy)`` and ``x`` likewise in column j,
    ``dy = 2 extent / H``, ``dx = 2 extent / W``: row i grows with y, column j with x.
    Constituents outside the window are dropped. One ``np.bincount`` for all jets.
    """
    n_jets, _ = x.shape
    height, width = pixels
    column = np.floor((x + extent) * (width / (2.0 * extent)))  # (N, P)
    row = np.floor((y + extent) * (height / (2.0 * extent)))
    inside = (column >= 0) & (column < width) & (row >= 0) & (row < height) & (w != 0)
    jet = np.broadcast_to(np.arange(n_jets)[:, None], x.shape)
    flat = ((jet * n_channels + channel) * height + row) * width + column  # (N, P)
    counts = np.bincount(
        flat[inside].astype(np.int64),
        weights=w[inside],
        minlength=n_jets * n_channels * height * width,
    )
    return counts.reshape(n_jets, n_channels, height, width)


def leading_subjet(momenta: np.ndarray, mask: np.ndarray, *, radius: float) -> np.ndarray:
    """Four-momentum (N, 4) of each jet's hardest kT subjet of radius ``radius``.

    The constituents (``momenta`` (N, P, 4) as px, py, pz, E; ``mask`` (N, P)) are
    reclustered with the inclusive kT algorithm at R = ``radius`` (FastJet, E-scheme, one
    vectorised call for all jets) and the subjet with the largest pT is returned, as in
    de Oliveira et al. who centre on the leading kT subjet of R = 0.3. Zeros for an
    empty jet.
    """
    import awkward as ak
    import fastjet  # imported here so ``import hepdl.physics`` stays light

    out = np.zeros((mask.shape[0], 4))
    if not mask.any():
        return out  # FastJet refuses a batch in which every jet is empty
    counts = mask.sum(axis=1)
    columns = {name: momenta[..., i][mask] for i, name in enumerate(("px", "py", "pz", "E"))}
    records = ak.unflatten(ak.zip(columns, with_name="Momentum4D"), counts)
    # Two arguments only: see hepdl.physics._kt_axes on the four-argument SWIG pitfall.
    definition = fastjet.JetDefinition(fastjet.kt_algorithm, float(radius))
    subjets = fastjet.ClusterSequence(records, definition).inclusive_jets()
    pt2 = subjets.px**2 + subjets.py**2
    best = ak.firsts(subjets[ak.argmax(pt2, axis=1, keepdims=True)])  # (N,), None if empty
    for i, name in enumerate(("px", "py", "pz", "E")):
        out[:, i] = ak.to_numpy(ak.fill_none(best[name], 0.0))
    return out
