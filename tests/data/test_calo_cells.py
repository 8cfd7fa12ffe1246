"""The calo_cells representation: cell arrays of a shower file as images, coarser layers
block-repeated onto the first layer's grid, the per-pixel signal fraction, the central
crop, and one clear error for each kind of bad input."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepdl.data import create_representation
from hepdl.data.representations import provided_arrays
from hepdl.errors import ConfigError, DataError


def calo_table(n: int = 40, *, seed: int = 0, pileup: float = 3.0) -> ak.Array:
    """Showers in the calo_format layout of ``cms_ecal``: a signal blob of 5-50 GeV at
    crystal (17, 17) (a little of it in the HCAL tower behind), Gaussian noise of 40 MeV
    per crystal and ``pileup`` GeV-scale deposits at random crystals. Signal columns hold
    the signal part alone."""
    rng = np.random.default_rng(seed)
    energy = rng.uniform(5, 50, n)
    i, j = np.mgrid[0:35, 0:35]
    shift = rng.uniform(-0.5, 0.5, (n, 2))
    r2 = (i[None] - 17 - shift[:, :1, None]) ** 2 + (j[None] - 17 - shift[:, 1:, None]) ** 2
    profile = np.exp(-r2 / 1.2) + 0.02 * np.exp(-np.sqrt(r2) / 2.5)
    ecal_signal = 0.95 * energy[:, None, None] * profile / profile.sum((1, 2), keepdims=True)
    hcal_signal = np.zeros((n, 7, 7))
    hcal_signal[:, 3, 3] = 0.05 * energy
    pileup_cells = np.zeros((n, 35, 35))
    for row in range(n):
        k = rng.poisson(pileup * 10)
        np.add.at(
            pileup_cells[row], (rng.integers(0, 35, k), rng.integers(0, 35, k)),
            rng.exponential(0.6, k),
        )  # fmt: skip
    noise = rng.normal(0, 0.04, (n, 35, 35))
    ecal = ecal_signal + pileup_cells + noise
    hcal = hcal_signal + rng.exponential(0.2, (n, 7, 7))
    return ak.Array(
        {
            "label": np.zeros(n, dtype=np.int64),
            "particle": ["e-"] * n,
            "energy": energy,
            "ecal": ecal.astype(np.float32),
            "hcal": hcal.astype(np.float32),
            "ecal_signal": ecal_signal.astype(np.float32),
            "hcal_signal": hcal_signal.astype(np.float32),
            "pileup_mu": np.full(n, pileup),
        }
    )


def cells(**options):
    return create_representation("calo_cells", **options)


def test_one_layer_is_the_image_in_gev():
    table = calo_table(5)
    out = cells(layers=["ecal"])(table, source="f.parquet")
    assert set(out) == {"image"}
    assert out["image"].dtype == np.float32
    np.testing.assert_array_equal(out["image"][:, 0], ak.to_numpy(table["ecal"]))


def test_a_coarser_layer_is_block_repeated_with_its_energy_shared():
    table = calo_table(4)
    image = cells(layers=["ecal", "hcal"])(table, source="f")["image"]  # (4, 2, 35, 35)
    hcal = ak.to_numpy(table["hcal"])
    assert image.shape == (4, 2, 35, 35)
    for row in range(4):  # a naive loop: pixel (a, b) lies behind tower (a // 5, b // 5)
        for a in range(0, 35, 3):
            for b in range(0, 35, 4):
                assert image[row, 1, a, b] == pytest.approx(hcal[row, a // 5, b // 5] / 25)
    np.testing.assert_allclose(image[:, 1].sum((1, 2)), hcal.sum((1, 2)), rtol=1e-5)


def test_the_signal_fraction_per_pixel():
    table = calo_table(6)
    out = cells(layers=["ecal", "hcal"], signal=["ecal_signal", "hcal_signal"])(table, source="f")
    fraction = out["pixel_target"]
    assert fraction.shape == (6, 1, 35, 35) and fraction.dtype == np.float32
    ecal, hcal = ak.to_numpy(table["ecal"]), ak.to_numpy(table["hcal"])
    es, hs = ak.to_numpy(table["ecal_signal"]), ak.to_numpy(table["hcal_signal"])
    for row, a, b in [(0, 17, 17), (1, 0, 0), (2, 16, 18), (5, 34, 3)]:
        total = ecal[row, a, b] + hcal[row, a // 5, b // 5] / 25
        signal = es[row, a, b] + hs[row, a // 5, b // 5] / 25
        expected = 0.0 if total <= 0 else min(max(signal / total, 0.0), 1.0)
        assert fraction[row, 0, a, b] == pytest.approx(expected, rel=1e-4, abs=1e-6)
    total = out["image"].sum(1)
    assert (fraction[:, 0][total <= 0] == 0).all()
    assert fraction.min() >= 0 and fraction.max() <= 1
    assert fraction[:, 0, 17, 17].min() > 0.5  # the shower core is signal-dominated


def test_a_central_crop_keeps_the_centre_crystal_central():
    table = calo_table(3)
    full = cells(signal=["ecal_signal"])(table, source="f")
    out = cells(signal=["ecal_signal"], crop=25)(table, source="f")
    assert out["image"].shape == (3, 1, 25, 25) and out["pixel_target"].shape == (3, 1, 25, 25)
    np.testing.assert_array_equal(out["image"][:, :, 12, 12], full["image"][:, :, 17, 17])
    np.testing.assert_array_equal(out["pixel_target"], full["pixel_target"][:, :, 5:30, 5:30])
    assert cells(crop=[5, 7])(table, source="f")["image"].shape == (3, 1, 5, 7)


def test_it_declares_what_it_provides_and_its_config_rebuilds_it():
    assert provided_arrays("calo_cells", {}) == ("image",)
    assert provided_arrays("calo_cells", {"signal": ["ecal_signal"]}) == ("image", "pixel_target")
    rep = cells(layers=["ecal", "hcal"], crop=9)
    assert rep.feature_names == ["ecal", "hcal"]
    assert rep.config() == {
        "name": "calo_cells", "layers": ["ecal", "hcal"], "signal": None, "crop": [9, 9],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layers": "ecal"}, "option layers='ecal'; expected a non-empty list of column names"),
        ({"layers": []}, "option layers=[]; expected a non-empty list"),
        ({"layers": ["ecal", "ecal"]}, "option layers names a column twice: ['ecal', 'ecal']"),
        (
            {"layers": ["ecal", "hcal"], "signal": ["ecal_signal"]},
            "option signal names 1 column(s) ['ecal_signal'] for 2 layer(s) ['ecal', 'hcal']",
        ),
        ({"crop": 0}, "option crop=0; expected one size or [height, width]"),
        ({"crop": [3, 4, 5]}, "option crop=[3, 4, 5]; expected one size"),
    ],
)
def test_bad_options_are_one_config_error(options, message):
    with pytest.raises(ConfigError) as err:
        cells(**options)
    assert str(err.value).startswith("representation 'calo_cells': ")
    assert message in str(err.value)


def test_a_layer_that_does_not_divide_the_grid_is_named():
    table = ak.with_field(calo_table(2), np.zeros((2, 6, 6), np.float32), "odd")
    with pytest.raises(DataError) as err:
        cells(layers=["ecal", "odd"])(table, source="showers.parquet")
    assert str(err.value) == (
        "showers.parquet: layer 'odd' has 6 x 6 cells, which do not divide the 35 x 35 grid "
        "of the first layer 'ecal'; list a layer whose cell counts divide the others' first "
        "(the finest), or read the layers separately"
    )


def test_a_missing_column_is_named_with_the_closest():
    with pytest.raises(DataError) as err:
        cells(layers=["ecall"])(calo_table(2), source="showers.parquet")
    assert str(err.value).startswith("showers.parquet: column 'ecall' (did you mean 'ecal'?)")


def test_a_signal_column_of_another_shape_than_its_layer():
    table = calo_table(2)
    with pytest.raises(DataError) as err:
        cells(layers=["ecal"], signal=["hcal_signal"])(table, source="f")
    assert "signal column 'hcal_signal' has cells of shape (7, 7), but its layer 'ecal' has " in (
        str(err.value)
    )


def test_a_crop_larger_than_the_grid():
    with pytest.raises(DataError) as err:
        cells(crop=40)(calo_table(2), source="f")
    assert "option crop=[40, 40] is larger than the 35 x 35 grid of layer 'ecal'" in str(err.value)


def test_ragged_or_non_finite_cells_are_refused():
    ragged = ak.Array({"ecal": [[[1.0, 2.0], [3.0]], [[1.0, 2.0], [3.0, 4.0]]]})
    with pytest.raises(DataError) as err:
        cells()(ragged, source="f")
    assert "column 'ecal' must hold one fixed-size 2D cell array per row" in str(err.value)
    values = ak.to_numpy(calo_table(3)["ecal"]).copy()
    values[2, 4, 4] = np.nan
    with pytest.raises(DataError) as err:
        cells()(ak.Array({"ecal": values}), source="f")
    assert "column 'ecal' has NaN or infinite cell energies in 1 row(s) (first: row 2)" in (
        str(err.value)
    )
