r"""CMS-style ECAL cluster (shower-shape) variables from crystal windows, pure NumPy.

These are the variables that tell a real electron or photon (EG) from a pile-up deposit
(PU) in the CMS barrel ECAL: an EM shower is narrow (most of its energy in 3x3 crystals),
compact in eta, isolated, and leaves little energy in the HCAL behind it, while pile-up
clusters are soft, wide and sit in busy surroundings.

Input, as written by ``hepdl showers --geometry cms_ecal`` (see the shower file format):

* ``ecal`` (N, H, W): crystal energies in GeV, rows = i-eta, columns = i-phi, the particle
  aimed at crystal (H // 2, W // 2); noise may make crystals negative.
* ``hcal`` (N, h, w): HCAL towers of r x r crystals with r = H / h = W / w (5 for the
  CMS-like geometry): tower (a, b) lies behind crystals r a .. r a + r - 1,
  r b .. r b + r - 1.

The cluster is built around the **seed**: the highest crystal of the
(2 ``search`` + 1)^2 block around the window centre (default 3x3; ties go to the first in
row-major order). All matrices below are centred on the seed, rows = eta, columns = phi,
in crystal units; :math:`E_{5\times5}` is the sum of the 5x5 crystals around the seed.

* ``e5x5``: :math:`E_{5\times5}` in GeV.
* ``seed_over_e5x5``: :math:`E_\mathrm{seed}/E_{5\times5}`.
* ``e2x2_over_e5x5``: the largest of the four 2x2 blocks that contain the seed, over
  :math:`E_{5\times5}`.
* ``e2x5_over_e5x5``: CMS ``e2x5Max``: the larger of the two strips 2 crystals in eta
  (the seed's row and the row above or below) by 5 in phi, over :math:`E_{5\times5}`.
  Strips along phi because the magnetic field spreads bremsstrahlung and conversions in
  phi.
* ``e3x5_over_e5x5``: 3 crystals in eta by 5 in phi centred on the seed (the same
  orientation as the 2x5 strips), over :math:`E_{5\times5}`.
* ``e3x3_over_e5x5``: the r9-like ratio :math:`E_{3\times3}/E_{5\times5}`; above ~0.9
  for unconverted photons and electrons.
* ``sigma_ietaieta``, ``sigma_iphiiphi``, ``sigma_ietaiphi``: the log-weighted second
  moments over the 5x5, in crystal units (multiply by 0.0174 for eta units; CMS barrel
  electrons have ~0.01, i.e. ~0.57 crystals)

  .. math::

      w_i = \max\left(0,\ 4.7 + \ln\frac{E_i}{E_{5\times5}}\right)\ (0 \text{ for }
      E_i \le 0),\qquad
      \bar\eta = \frac{\sum_i w_i\,\eta_i}{\sum_i w_i},\qquad
      \sigma_{i\eta i\eta}^2 = \frac{\sum_i w_i(\eta_i - \bar\eta)^2}{\sum_i w_i},

  likewise in phi; ``sigma_ietaiphi`` is the covariance
  :math:`\sum_i w_i(\eta_i-\bar\eta)(\phi_i-\bar\phi)/\sum_i w_i` (crystals squared, it
  can be negative), as CMS's ``sigmaIetaIphi`` is a covariance element. The weights keep
  crystals above :math:`e^{-4.7}` = 0.9% of the cluster energy, so noise does not widen
  the shower. CMS takes the mean position with linear energy weights; here the same log
  weights give mean and spread, so the spread is a true weighted variance (never
  negative) and a single-crystal shower has exactly zero width.
* ``h_over_e``: :math:`H/E`, the energy of the HCAL towers behind the 5x5 (every tower
  that overlaps the seed's 5x5 footprint: one tower for a seed in the middle of a
  tower, up to four otherwise) over :math:`E_{5\times5}`.
* ``n_crystals``: the number of crystals of the 5x5 above ``threshold``.
* ``strip_phi_length``: strip contiguity, the length in crystals of the unbroken run of
  crystals above ``threshold`` along phi in the seed's eta row of the whole window that
  passes through the seed (0 when the seed itself is below ``threshold``). EM showers
  give a short run (3-5 crystals, longer with bremsstrahlung); pile-up spreads make
  ragged or long ones.
* ``ecal_iso``: ECAL isolation, the summed energy of the window's crystals above
  ``threshold`` outside the 5x5 whose centre lies within
  :math:`\Delta R = 0.0174\sqrt{\Delta i\eta^2 + \Delta i\phi^2} <` ``cone`` (0.3) of the
  seed, over :math:`E_{5\times5}`. The threshold keeps the noise of ~900 crystals
  (sigma ~ 1.2 GeV at 40 MeV each) out of the sum. A cone that leaves the window is
  truncated at its edge.
* ``hcal_iso``: HCAL isolation, the summed energy of the towers not counted in H/E
  whose centres lie within ``cone`` of the seed crystal, over :math:`E_{5\times5}`.

Every ratio divides by :math:`\max(E_{5\times5}, E_\mathrm{min})` with ``min_energy``
:math:`E_\mathrm{min}` (default 1 GeV): a window without a real cluster (a MIP-like
pion, a neutron that left nothing in the ECAL, noise only) has :math:`E_{5\times5}` near 0
or negative, and a plain ratio would explode (H/E of 10^5 from 30 MeV of noise), giving
heavy tails that ruin standardised inputs to a linear model or a network. Above
:math:`E_\mathrm{min}` the ratios are the textbook ones. The widths need no floor: they
stay within the 5x5 and are 0 where no crystal has positive energy.

Crystal-unit distances are exact for the CMS barrel; in eta-phi units multiply by
``crystal_size``.
"""

from __future__ import annotations

import numpy as np

SHOWER_SHAPES: tuple[str, ...] = (
    "e5x5",
    "seed_over_e5x5",
    "e2x2_over_e5x5",
    "e2x5_over_e5x5",
    "e3x5_over_e5x5",
    "e3x3_over_e5x5",
    "sigma_ietaieta",
    "sigma_iphiiphi",
    "sigma_ietaiphi",
    "h_over_e",
    "n_crystals",
    "strip_phi_length",
    "ecal_iso",
    "hcal_iso",
)

CRYSTAL_SIZE = 0.0174  # CMS barrel crystal in eta and phi
LOG_WEIGHT_OFFSET = 4.7  # w0 of the CMS log weights
CONE = 0.3  # isolation cone Delta R
CHUNK_ROWS = 2048  # showers per block: temporaries (rows, H, W) float64 stay ~20 MB

_OFFSETS = np.arange(-2, 3)  # crystal offsets of the 5x5 from the seed


def tower_size(ecal_shape: tuple[int, ...], hcal_shape: tuple[int, ...]) -> int:
    """r, the HCAL tower size in crystals: H / h = W / w. ValueError when the shapes are
    not (N, H, W) and (N, h, w) with the same N and one integer r."""
    if len(ecal_shape) != 3 or len(hcal_shape) != 3 or ecal_shape[0] != hcal_shape[0]:
        raise ValueError(
            f"expected ecal (N, H, W) and hcal (N, h, w) with the same N, got {ecal_shape} "
            f"and {hcal_shape}"
        )
    (_, big_h, big_w), (_, small_h, small_w) = ecal_shape, hcal_shape
    if (
        min(small_h, small_w) < 1
        or big_h % small_h
        or big_w % small_w
        or big_h // small_h != big_w // small_w
    ):
        raise ValueError(
            f"expected hcal towers of r x r crystals (H / h = W / w = r integer), got ecal "
            f"{ecal_shape} and hcal {hcal_shape}"
        )
    return big_h // small_h


def shower_shapes(
    ecal: np.ndarray,
    hcal: np.ndarray,
    *,
    threshold: float = 0.1,
    search: int = 1,
    min_energy: float = 1.0,
    cone: float = CONE,
    crystal_size: float = CRYSTAL_SIZE,
) -> np.ndarray:
    """The variables of ``SHOWER_SHAPES`` (module docstring), one row per shower.

    ``ecal`` (N, H, W) and ``hcal`` (N, h, w) in GeV; ``threshold`` (GeV) for
    ``n_crystals``, ``strip_phi_length`` and ``ecal_iso``; ``min_energy`` (GeV > 0) the
    floor of the ratios' denominator; ``search``: the seed is the
    highest crystal within ``search`` crystals of the centre (``search`` <= 1 keeps the
    5x5 inside a 7x7 window; larger values need H, W >= 2 ``search`` + 5). Returns
    (N, len(SHOWER_SHAPES)) float64. Works in blocks of ``CHUNK_ROWS`` showers, so memory
    beyond the inputs stays bounded whatever N.
    """
    ecal = np.asarray(ecal)
    hcal = np.asarray(hcal)
    r = tower_size(ecal.shape, hcal.shape)
    if search < 0 or min(ecal.shape[1:]) < min_window(search):
        raise ValueError(
            f"expected an ecal window of at least {min_window(search)} x {min_window(search)} "
            f"crystals for search={search}, got {ecal.shape}"
        )
    out = np.empty((len(ecal), len(SHOWER_SHAPES)))  # (N, F)
    for start in range(0, len(ecal), CHUNK_ROWS):
        stop = start + CHUNK_ROWS
        out[start:stop] = _block(
            ecal[start:stop].astype(np.float64),
            hcal[start:stop].astype(np.float64),
            r=r,
            threshold=float(threshold),
            min_energy=float(min_energy),
            search=search,
            cone_crystals=float(cone) / float(crystal_size),
        )
    return out


def min_window(search: int = 1) -> int:
    """The smallest window side that holds the 5x5 around any seed candidate."""
    return 2 * search + 5


def seed_crystals(ecal: np.ndarray, *, search: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(i_eta, i_phi) of each shower's seed, each (N,): the highest crystal within
    ``search`` crystals of the window centre, the first in row-major order on ties."""
    n, height, width = ecal.shape
    ci, cj = height // 2, width // 2
    side = 2 * search + 1
    block = ecal[:, ci - search : ci + search + 1, cj - search : cj + search + 1]  # (N, s, s)
    k = np.argmax(block.reshape(n, side * side), axis=1)  # (N,)
    return ci - search + k // side, cj - search + k % side


def _block(
    ecal: np.ndarray,
    hcal: np.ndarray,
    *,
    r: int,
    threshold: float,
    min_energy: float,
    search: int,
    cone_crystals: float,
) -> np.ndarray:
    """``shower_shapes`` on one block: ecal (n, H, W), hcal (n, h, w) -> (n, F)."""
    n, height, width = ecal.shape
    rows = np.arange(n)
    si, sj = seed_crystals(ecal, search=search)  # (n,), (n,)
    m = ecal[
        rows[:, None, None],
        (si[:, None] + _OFFSETS)[:, :, None],
        (sj[:, None] + _OFFSETS)[:, None, :],
    ]  # (n, 5, 5) around the seed at m[:, 2, 2]
    e5 = m.sum(axis=(1, 2))  # (n,)
    e2x2 = np.max(
        [m[:, a : a + 2, b : b + 2].sum(axis=(1, 2)) for a in (1, 2) for b in (1, 2)], axis=0
    )
    e2x5 = np.maximum(m[:, 1:3].sum(axis=(1, 2)), m[:, 2:4].sum(axis=(1, 2)))
    e3x5 = m[:, 1:4].sum(axis=(1, 2))
    e3x3 = m[:, 1:4, 1:4].sum(axis=(1, 2))

    # log weights (n, 5, 5): 0 for crystals <= 0 and for clusters with E5x5 <= 0
    positive = (m > 0) & (e5 > 0)[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_fraction = np.log(np.where(positive, m, 1.0) / np.where(e5 > 0, e5, 1.0)[:, None, None])
    w = np.where(positive, np.maximum(0.0, LOG_WEIGHT_OFFSET + log_fraction), 0.0)
    sum_w = w.sum(axis=(1, 2))  # (n,)
    norm = np.where(sum_w > 0, sum_w, 1.0)
    eta = _OFFSETS[None, :, None].astype(np.float64)  # (1, 5, 1)
    phi = _OFFSETS[None, None, :].astype(np.float64)  # (1, 1, 5)
    mean_eta = (w * eta).sum(axis=(1, 2)) / norm  # (n,)
    mean_phi = (w * phi).sum(axis=(1, 2)) / norm
    d_eta = eta - mean_eta[:, None, None]  # (n, 5, 1)
    d_phi = phi - mean_phi[:, None, None]  # (n, 1, 5)
    sigma_ee = np.sqrt((w * d_eta**2).sum(axis=(1, 2)) / norm)
    sigma_pp = np.sqrt((w * d_phi**2).sum(axis=(1, 2)) / norm)
    sigma_ep = (w * d_eta * d_phi).sum(axis=(1, 2)) / norm

    n_crystals = (m > threshold).sum(axis=(1, 2)).astype(np.float64)
    strip = _strip_through_seed(ecal[rows, si] > threshold, sj)  # (n,)

    # ECAL isolation: crystals of the window in the cone, outside the 5x5, above threshold
    di = np.arange(height)[None, :, None] - si[:, None, None]  # (n, H, 1)
    dj = np.arange(width)[None, None, :] - sj[:, None, None]  # (n, 1, W)
    ring = (di**2 + dj**2 < cone_crystals**2) & ((np.abs(di) > 2) | (np.abs(dj) > 2))
    ecal_iso = np.where(ring & (ecal > threshold), ecal, 0.0).sum(axis=(1, 2))  # (n,)

    # HCAL: towers overlapping the 5x5 (behind) and towers in the cone beyond them
    ta = np.arange(hcal.shape[1])[None, :, None]  # (1, h, 1)
    tb = np.arange(hcal.shape[2])[None, None, :]  # (1, 1, w)
    behind = (
        (ta >= ((si - 2) // r)[:, None, None])
        & (ta <= ((si + 2) // r)[:, None, None])
        & (tb >= ((sj - 2) // r)[:, None, None])
        & (tb <= ((sj + 2) // r)[:, None, None])
    )  # (n, h, w)
    centre = (r - 1) / 2.0  # tower centre in crystals from its first crystal
    t_di = r * ta + centre - si[:, None, None]
    t_dj = r * tb + centre - sj[:, None, None]
    hcal_cone = (t_di**2 + t_dj**2 < cone_crystals**2) & ~behind
    h_behind = np.where(behind, hcal, 0.0).sum(axis=(1, 2))
    hcal_iso = np.where(hcal_cone, hcal, 0.0).sum(axis=(1, 2))

    reference = np.maximum(e5, min_energy)  # (n,) the ratios' denominator

    return np.stack(
        [
            e5,
            m[:, 2, 2] / reference,
            e2x2 / reference,
            e2x5 / reference,
            e3x5 / reference,
            e3x3 / reference,
            sigma_ee,
            sigma_pp,
            sigma_ep,
            h_behind / reference,
            n_crystals,
            strip,
            ecal_iso / reference,
            hcal_iso / reference,
        ],
        axis=1,
    )  # (n, F)


def _strip_through_seed(above: np.ndarray, sj: np.ndarray) -> np.ndarray:
    """Length of the run of True in each row of ``above`` (n, W) through column ``sj``
    (n,); 0 where ``above[sj]`` is False."""
    columns = np.arange(above.shape[1])[None, :]  # (1, W)
    below = ~above
    # the first gap at or right of the seed, and the last gap at or left of it
    right = np.where(below & (columns >= sj[:, None]), columns, above.shape[1]).min(axis=1)
    left = np.where(below & (columns <= sj[:, None]), columns, -1).max(axis=1)
    return np.maximum(right - left - 1, 0).astype(np.float64)
