"""The ``shower_shapes`` representation: the physics variables of a shower table, and one
clear error for each kind of bad column."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepdl.config import config_from_dict
from hepdl.data import create_representation, read_table
from hepdl.errors import ConfigError, DataError
from hepdl.physics.shower_shapes import SHOWER_SHAPES, shower_shapes
from hepdl.train.prepared import prepare_data


def shower_table(n: int = 40, seed: int = 2) -> ak.Array:
    """Rows in the layout of ``hepdl showers --geometry cms_ecal``: half EM-like clusters
    (one hot crystal with neighbours, label 1), half soft wide ones (label 0)."""
    rng = np.random.default_rng(seed)
    ecal = rng.normal(0.0, 0.04, (n, 35, 35)).astype(np.float32)
    label = np.arange(n) % 2
    i, j = np.mgrid[0:35, 0:35]
    for k in range(n):
        width = 0.6 if label[k] else 2.5
        energy = rng.uniform(10, 50) if label[k] else rng.uniform(1, 5)
        blob = np.exp(-((i - 17) ** 2 + (j - 17) ** 2) / (2 * width**2))
        ecal[k] += (energy * blob / blob.sum()).astype(np.float32)
    hcal = rng.exponential(0.2, (n, 7, 7)).astype(np.float32)
    return ak.Array({"label": label, "ecal": ecal, "hcal": hcal})


def test_features_are_the_physics_variables() -> None:
    table = shower_table()
    rep = create_representation("shower_shapes", threshold=0.2)
    out = rep(table, source="t")
    assert rep.feature_names == list(SHOWER_SHAPES)
    assert out["features"].shape == (40, 14) and out["features"].dtype == np.float32
    expected = shower_shapes(ak.to_numpy(table["ecal"]), ak.to_numpy(table["hcal"]), threshold=0.2)
    np.testing.assert_allclose(out["features"], expected, rtol=1e-6, atol=1e-6)
    # the EM-like half is narrower: sigma_ietaieta separates the classes
    sigma = out["features"][:, SHOWER_SHAPES.index("sigma_ietaieta")]
    assert sigma[1::2].max() < sigma[::2].min()
    assert rep.config() == {
        "name": "shower_shapes",
        "ecal": "ecal",
        "hcal": "hcal",
        "threshold": 0.2,
        "min_energy": 1.0,
    }
    floor = create_representation("shower_shapes", threshold=0.2, min_energy=30.0)
    loose = floor(table, source="t")["features"]
    e5 = expected[:, 0]
    scale = np.maximum(e5, 1.0) / np.maximum(e5, 30.0)  # ratios rescale, widths do not
    np.testing.assert_allclose(loose[:, 1:6], expected[:, 1:6] * scale[:, None], rtol=1e-5)
    np.testing.assert_allclose(loose[:, 6:9], expected[:, 6:9], rtol=1e-5, atol=1e-6)


def test_other_column_names() -> None:
    table = shower_table(6)
    renamed = ak.Array({"crystals": table["ecal"], "towers": table["hcal"]})
    rep = create_representation("shower_shapes", ecal="crystals", hcal="towers")
    np.testing.assert_array_equal(
        rep(renamed, source="t")["features"],
        create_representation("shower_shapes")(table, source="t")["features"],
    )


def test_bad_columns_give_one_clear_error() -> None:
    rep = create_representation("shower_shapes")
    table = shower_table(4)
    with pytest.raises(
        DataError,
        match=r"^t: column 'hcal' \(did you mean 'ecal'\?\) is not in the table; available "
        r"columns: ecal. set data.representation.ecal and .hcal to the crystal and tower columns$",
    ):
        rep(ak.Array({"ecal": table["ecal"]}), source="t")
    with pytest.raises(DataError, match=r"^t: columns 'ecal', 'hcal' are not in the table"):
        rep(ak.Array({"e": table["hcal"]}), source="t")
    with pytest.raises(
        DataError,
        match=r"t: column 'ecal' has shape \(4, 5, 5\); representation 'shower_shapes' "
        r"expects ECAL crystal windows \(N, H, W\) with H, W >= 7",
    ):
        rep(ak.Array({"ecal": np.zeros((4, 5, 5)), "hcal": np.zeros((4, 1, 1))}), source="t")
    with pytest.raises(DataError, match=r"t: column 'ecal' has shape \(4, 1225\)"):
        rep(ak.Array({"ecal": np.zeros((4, 1225)), "hcal": table["hcal"]}), source="t")
    with pytest.raises(
        DataError,
        match=r"t: column 'hcal' has shape \(4, 6, 6\); representation 'shower_shapes' expects "
        r"HCAL towers \(4, H / r, W / r\) of r x r crystals behind column 'ecal' "
        r"\(4, 35, 35\), e.g. \(4, 7, 7\)",
    ):
        rep(ak.Array({"ecal": table["ecal"], "hcal": np.zeros((4, 6, 6))}), source="t")
    ecal = ak.to_numpy(table["ecal"]).copy()
    ecal[2, 0, 0] = np.nan
    with pytest.raises(DataError, match=r"t: NaN or inf in feature column\(s\) 'ecal' \(1 row"):
        rep(ak.Array({"ecal": ecal, "hcal": table["hcal"]}), source="t")


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match=r"option threshold=-1.0; expected a positive number"):
        create_representation("shower_shapes", threshold=-1.0)
    with pytest.raises(ConfigError, match=r"option min_energy=0; expected a positive number"):
        create_representation("shower_shapes", min_energy=0)
    with pytest.raises(ConfigError, match=r"options ecal and hcal both name column 'ecal'"):
        create_representation("shower_shapes", hcal="ecal")
    with pytest.raises(ConfigError, match=r"option ecal=''; expected the name of a column"):
        create_representation("shower_shapes", ecal="")


def test_a_parquet_shower_file_feeds_an_mlp_config(tmp_path: Path) -> None:
    """The config path: a Parquet file in the shower layout -> standardised features."""
    path = tmp_path / "showers.parquet"
    ak.to_parquet(shower_table(60), path)
    assert ak.to_numpy(read_table(path)["ecal"]).shape == (60, 35, 35)
    config = config_from_dict(
        {
            "data": {
                "files": [str(path)],
                "label_column": "label",
                "signal_class": 1,
                "representation": {"name": "shower_shapes"},
                "split": {"min_rows": 10},
            },
            "model": {"name": "mlp", "hidden": [8]},
        }
    )
    prepared = prepare_data(config)
    assert prepared.inputs["features"].shape == (60, 14)
    np.testing.assert_array_equal(prepared.targets, np.arange(60) % 2)
    import torch

    with torch.no_grad():
        out = prepared.model(features=torch.as_tensor(prepared.inputs["features"][:4]))
    assert out.shape[0] == 4
