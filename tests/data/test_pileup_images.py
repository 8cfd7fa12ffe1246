"""PUMML jet images (``pileup_images``) and the jet masses built from them."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepdl.data import create_representation
from hepdl.errors import DataError
from hepdl.physics.pileup_mitigation import (
    charged_fraction_estimate,
    corrected_pt,
    image_jet_mass,
    pixel_centres,
)


def _jets(particles: list[list[tuple[float, float, float, float, bool]]]) -> ak.Array:
    """Jets from (pt, eta, phi, charge, is_pileup) tuples, massless constituents."""
    columns: dict[str, list] = {k: [] for k in ("px", "py", "pz", "energy", "charge", "pu")}
    for jet in particles:
        pt, eta, phi, charge, pileup = (np.array(v, float) for v in zip(*jet, strict=True))
        for key, values in zip(
            columns,
            (
                pt * np.cos(phi),
                pt * np.sin(phi),
                pt * np.sinh(eta),
                pt * np.cosh(eta),
                charge,
                pileup,
            ),
            strict=True,
        ):
            columns[key].append(values.tolist())
    return ak.Array(
        {
            "part_px": columns["px"],
            "part_py": columns["py"],
            "part_pz": columns["pz"],
            "part_energy": columns["energy"],
            "part_charge": columns["charge"],
            "part_is_pileup": columns["pu"],
        }
    )


def test_channels_and_the_neutral_share_per_pixel():
    # one jet along eta = 0.1, phi = 0.2: a charged LV hadron on the axis, a charged
    # pile-up one, and two neutrals (LV 30 GeV, PU 10 GeV) in the same pixel
    table = _jets([[(100, 0.1, 0.2, 1, False), (5, 0.3, 0.0, -1, True),
                    (30, 0.1, 0.35, 0, False), (10, 0.1, 0.35, 0, True)]])  # fmt: skip
    arrays = create_representation("pileup_images", pixels=25, extent=0.5)(table, source="t")
    image, target = arrays["image"], arrays["pixel_target"]
    assert image.shape == (1, 3, 25, 25) and target.shape == (1, 1, 25, 25)
    np.testing.assert_allclose(image.sum(axis=(2, 3))[0], [100, 5, 40], rtol=1e-5)
    row, column = np.unravel_index(np.argmax(image[0, 2]), (25, 25))
    assert target[0, 0, row, column] == pytest.approx(0.75)  # 30 of the pixel's 40 GeV
    assert (target[0, 0][image[0, 2] == 0] == 0).all()
    np.testing.assert_array_equal(arrays["pixel_energy"][:, 0], image[:, 2])  # the neutrals


def test_a_file_without_pileup_flags_is_refused_with_the_fix():
    table = _jets([[(10, 0.0, 0.0, 1, False)]])[["part_px", "part_py", "part_pz", "part_energy",
                                                  "part_charge"]]  # fmt: skip
    with pytest.raises(DataError, match=r"no column 'part_is_pileup'.*--pileup"):
        create_representation("pileup_images")(table, source="jets.parquet")


def test_image_mass_matches_the_massless_four_vector_sum():
    rng = np.random.default_rng(1)
    pixels, extent = (40, 40), 0.4
    pt = rng.exponential(5.0, (3, *pixels))
    rows, columns = pixel_centres(pixels, extent)
    masses = []
    for jet in pt:  # the naive loop over pixels, at absolute eta = 1.3, phi = 2.0
        p = np.zeros(4)
        for i, dphi in enumerate(rows):
            for j, deta in enumerate(columns):
                eta, phi = 1.3 + deta, 2.0 + dphi
                p += jet[i, j] * np.array([np.cos(phi), np.sin(phi), np.sinh(eta), np.cosh(eta)])
        masses.append(np.sqrt(p[3] ** 2 - p[0] ** 2 - p[1] ** 2 - p[2] ** 2))
    np.testing.assert_allclose(image_jet_mass(pt, extent), masses, rtol=1e-6)


def test_corrections_keep_charged_lv_and_scale_the_neutrals():
    images = np.zeros((2, 3, 2, 2))
    images[:, 0, 0, 0] = [30.0, 0.0]  # charged LV
    images[:, 1, 0, 1] = [10.0, 0.0]  # charged PU
    images[:, 2, 1, 1] = [20.0, 8.0]  # neutrals
    gamma = charged_fraction_estimate(images)
    np.testing.assert_allclose(gamma[:, 0, 0], [0.75, 1.0])  # 30 / 40; no charged: 1
    corrected = corrected_pt(images, gamma)
    np.testing.assert_allclose(corrected.sum(axis=(1, 2)), [30 + 0.75 * 20, 8.0])


def test_the_true_share_restores_the_reference_mass_and_no_correction_overshoots():
    from hepdl.physics.pileup_mitigation import jet_mass_comparison

    rng = np.random.default_rng(4)
    images = rng.exponential(2.0, (50, 3, 10, 10))
    truth = rng.uniform(0.0, 1.0, (50, 10, 10))
    summary = jet_mass_comparison(images, truth, truth, 0.4)
    assert summary["network"] == {"median_gev": 0.0, "width_gev": 0.0}
    # every particle in: pile-up only adds pT, so the mass is too high
    assert summary["none"]["median_gev"] > 0
    assert summary["reference"]["mean_mass_gev"] > 0
