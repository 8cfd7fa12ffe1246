"""Pile-up mitigation on jet images (PUMML): jet masses from pixels, and the baselines.

PUMML (Komiske, Metodiev, Nachman, Schwartz, JHEP 12 (2017) 051) pixelises a jet into
three images on the same (Delta eta, Delta phi) grid around the jet axis: the pT of the
charged particles from the leading vertex, of the charged pile-up particles, and of all
neutral particles; a network predicts the leading-vertex share of each pixel's neutral pT.
The corrected jet is then charged leading-vertex pT + predicted neutral leading-vertex pT.

A pixel is a massless four-vector at its centre: p = pT (cos phi, sin phi, sinh eta,
cosh eta). A shift of all eta by the jet's eta is a boost along the beam and a shift of phi
a rotation, so the mass of the sum computed with coordinates relative to the jet axis is
the pixelised jet mass itself.
"""

from __future__ import annotations

import numpy as np

CHARGED_LV, CHARGED_PU, NEUTRAL = 0, 1, 2  # the channels of a PUMML image


def pixel_centres(pixels: tuple[int, int], extent: float) -> tuple[np.ndarray, np.ndarray]:
    """(H,) Delta phi of each row and (W,) Delta eta of each column: the centres of a grid
    over [-extent, extent] (rows grow with phi, columns with eta, as ``jet_images``)."""
    height, width = pixels
    rows = (np.arange(height) + 0.5) * (2 * extent / height) - extent
    columns = (np.arange(width) + 0.5) * (2 * extent / width) - extent
    return rows, columns


def image_jet_mass(pt: np.ndarray, extent: float) -> np.ndarray:
    """(N,) mass of each jet image ``pt`` (N, H, W) of pixel pT in GeV (massless pixels)."""
    n, height, width = pt.shape
    dphi, deta = pixel_centres((height, width), extent)
    phi = np.broadcast_to(dphi[:, None], (height, width)).reshape(-1)
    eta = np.broadcast_to(deta[None, :], (height, width)).reshape(-1)
    flat = pt.reshape(n, -1).astype(np.float64)  # (N, H*W)
    px, py = flat @ np.cos(phi), flat @ np.sin(phi)
    pz, e = flat @ np.sinh(eta), flat @ np.cosh(eta)
    return np.sqrt(np.maximum(e**2 - px**2 - py**2 - pz**2, 0.0))


def corrected_pt(images: np.ndarray, neutral_lv_fraction: np.ndarray) -> np.ndarray:
    """(N, H, W): charged leading-vertex pT + ``neutral_lv_fraction`` (N, H, W) of the
    neutral pT, from PUMML ``images`` (N, 3, H, W)."""
    return images[:, CHARGED_LV] + np.clip(neutral_lv_fraction, 0.0, 1.0) * images[:, NEUTRAL]


def charged_fraction_estimate(images: np.ndarray) -> np.ndarray:
    """(N, H, W) neutral leading-vertex fraction guessed from the charged particles: the
    jet's leading-vertex share of its charged pT, gamma = pT(charged LV) / pT(charged),
    applied to every pixel (the idea of jet cleansing, at jet level); 1 for a jet without
    charged particles."""
    charged_lv = images[:, CHARGED_LV].sum(axis=(1, 2))
    charged = charged_lv + images[:, CHARGED_PU].sum(axis=(1, 2))
    gamma = np.where(charged > 0, charged_lv / np.where(charged > 0, charged, 1.0), 1.0)
    return np.broadcast_to(gamma[:, None, None], images[:, NEUTRAL].shape).copy()


def jet_mass_comparison(
    images: np.ndarray, predicted: np.ndarray, truth: np.ndarray, extent: float
) -> dict[str, dict[str, float]]:
    """How well each correction restores the leading-vertex jet mass.

    ``images`` (N, 3, H, W), ``predicted`` and ``truth`` (N, H, W) neutral leading-vertex
    shares (a network's, and the true one). The reference is the mass of the jet's
    leading-vertex pixels (charged LV + true neutral LV); for each method (``none``: every
    particle, ``charged_fraction``, ``network``) the median and half the 16-84 % width of
    m_method - m_reference in GeV, and the mean reference mass."""
    reference = image_jet_mass(corrected_pt(images, truth), extent)
    methods = {
        "none": images.sum(axis=1),
        "charged_fraction": corrected_pt(images, charged_fraction_estimate(images)),
        "network": corrected_pt(images, predicted),
    }
    summary = {}
    for name, pt in methods.items():
        difference = image_jet_mass(pt, extent) - reference
        low, median, high = np.quantile(difference, [0.16, 0.5, 0.84])
        summary[name] = {"median_gev": float(median), "width_gev": float((high - low) / 2)}
    summary["reference"] = {"mean_mass_gev": float(reference.mean())}
    return summary
