"""The ``layer_sums`` representation: per-layer energy sums (and central-window sums) of a
shower file's cell arrays, checked against a naive loop over the cells."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepdl.data import create_representation, read_table
from hepdl.data.representations import layer_sums, representation_from_config
from hepdl.errors import ConfigError, DataError


def cms_table(n: int = 7, seed: int = 0) -> ak.Array:
    """A cms_ecal-like table: ecal (N, 35, 35) with negative noise cells, hcal (N, 7, 7)."""
    rng = np.random.default_rng(seed)
    return ak.Array(
        {
            "energy": rng.uniform(5, 200, n),
            "ecal": rng.normal(0.1, 0.5, (n, 35, 35)).astype(np.float32),
            "hcal": rng.normal(0.2, 1.0, (n, 7, 7)).astype(np.float32),
        }
    )


def naive_sum(cells: np.ndarray, window: int | None = None) -> list[float]:
    """Per row, the sum of the cells within ``window`` rows/columns around the centre
    (all of them without a window), one cell at a time."""
    result = []
    for row in cells:
        height, width = row.shape
        total = 0.0
        for i in range(height):
            for j in range(width):
                inside = window is None or (
                    abs(i - (height - 1) / 2) <= (window - 1) / 2
                    and abs(j - (width - 1) / 2) <= (window - 1) / 2
                )
                if inside:
                    total += float(row[i, j])
        result.append(total)
    return result


def test_sums_and_windows_match_a_naive_loop() -> None:
    table = cms_table()
    rep = create_representation("layer_sums", layers=["ecal", "hcal"], window=[3, 5])
    features = rep(table, source="t.parquet")["features"]
    assert rep.feature_names == ["ecal_sum", "hcal_sum", "ecal_sum_3x3", "ecal_sum_5x5"]
    assert features.shape == (7, 4) and features.dtype == np.float32
    ecal, hcal = ak.to_numpy(table["ecal"]), ak.to_numpy(table["hcal"])
    expected = np.array(
        [naive_sum(ecal), naive_sum(hcal), naive_sum(ecal, 3), naive_sum(ecal, 5)]
    ).T  # (N, 4)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-4)
    # The 3 x 3 window is the hit crystal (17, 17) and its eight neighbours.
    np.testing.assert_allclose(features[:, 2], ecal[:, 16:19, 16:19].sum(axis=(1, 2)), rtol=1e-5)


def test_windows_per_layer_in_the_order_given() -> None:
    table = cms_table()
    rep = create_representation(
        "layer_sums", layers=["ecal", "hcal"], window={"hcal": [1, 3], "ecal": 5}
    )
    names = ["ecal_sum", "hcal_sum", "hcal_sum_1x1", "hcal_sum_3x3", "ecal_sum_5x5"]
    assert rep.feature_names == names
    features = rep(table, source="t")["features"]
    ecal, hcal = ak.to_numpy(table["ecal"]), ak.to_numpy(table["hcal"])
    np.testing.assert_allclose(features[:, 2], hcal[:, 3, 3], rtol=1e-6)  # the centre tower
    np.testing.assert_allclose(features[:, 3], naive_sum(hcal, 3), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(features[:, 4], naive_sum(ecal, 5), rtol=1e-5, atol=1e-4)


def test_only_the_windows_of_a_cluster() -> None:
    table = cms_table()
    rep = create_representation(
        "layer_sums", layers=["ecal", "hcal"], window={"ecal": 5, "hcal": 1}, whole_layers=False
    )
    assert rep.feature_names == ["ecal_sum_5x5", "hcal_sum_1x1"]
    features = rep(table, source="t")["features"]
    ecal, hcal = ak.to_numpy(table["ecal"]), ak.to_numpy(table["hcal"])
    expected = np.array([naive_sum(ecal, 5), naive_sum(hcal, 1)]).T
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-5)


def test_calogan_layers_with_an_even_window() -> None:
    rng = np.random.default_rng(2)
    shapes = {"layer_0": (3, 96), "layer_1": (12, 12), "layer_2": (12, 6)}
    table = ak.Array({k: rng.random((5, *s)).astype(np.float32) for k, s in shapes.items()})
    rep = create_representation(
        "layer_sums", layers=list(shapes), window={"layer_1": 4, "layer_2": 4}
    )
    features = rep(table, source="calogan")["features"]
    assert rep.feature_names == [
        "layer_0_sum",
        "layer_1_sum",
        "layer_2_sum",
        "layer_1_sum_4x4",
        "layer_2_sum_4x4",
    ]
    cells = {k: ak.to_numpy(table[k]) for k in shapes}
    expected = [naive_sum(cells[k]) for k in shapes]
    expected += [naive_sum(cells["layer_1"], 4), naive_sum(cells["layer_2"], 4)]
    np.testing.assert_allclose(features, np.array(expected).T, rtol=1e-5)
    # The 4 x 4 window of the 12 x 12 layer is rows and columns 4..7.
    np.testing.assert_allclose(features[:, 3], cells["layer_1"][:, 4:8, 4:8].sum(axis=(1, 2)))


def test_chunks_give_the_same_features(monkeypatch: pytest.MonkeyPatch) -> None:
    table = cms_table(n=10)
    rep = create_representation("layer_sums", layers=["ecal", "hcal"], window=5)
    whole = rep(table, source="t")["features"]
    monkeypatch.setattr(layer_sums, "CHUNK_ROWS", 3)  # 3 + 3 + 3 + 1 rows
    np.testing.assert_array_equal(rep(table, source="t")["features"], whole)


def test_a_shower_parquet_file_read_by_hepdl(tmp_path: Path) -> None:
    table = cms_table(n=4)
    path = tmp_path / "showers.parquet"
    ak.to_parquet(table, path)  # fixed-size nested lists, as hepdl showers writes them
    read = read_table(path)
    features = create_representation("layer_sums", layers=["ecal"])(read, source=str(path))
    np.testing.assert_allclose(features["features"][:, 0], naive_sum(ak.to_numpy(table["ecal"])))


def test_config_round_trip() -> None:
    rep = create_representation("layer_sums", layers=["ecal", "hcal"], window=[3, 5])
    assert rep.config() == {
        "name": "layer_sums",
        "layers": ["ecal", "hcal"],
        "window": {"ecal": [3, 5]},  # a list of sizes is on the first layer
        "whole_layers": True,
    }
    again = representation_from_config(rep.config())
    assert again.config() == rep.config() and again.feature_names == rep.feature_names
    plain = create_representation("layer_sums", layers=["ecal"])
    assert plain.config()["window"] is None and plain.feature_names == ["ecal_sum"]


def test_missing_column_is_named() -> None:
    rep = create_representation("layer_sums", layers=["ecal", "hcall"])
    with pytest.raises(DataError) as err:
        rep(cms_table(), source="showers.parquet")
    assert str(err.value) == (
        "showers.parquet: column 'hcall' (did you mean 'hcal'?) is not in the table; "
        "available columns: energy, ecal, hcal. The 'layer_sums' representation needs ecal, hcall"
    )


def test_a_column_that_is_not_an_image_is_refused() -> None:
    rep = create_representation("layer_sums", layers=["energy"])
    with pytest.raises(DataError) as err:
        rep(cms_table(), source="showers.parquet")
    assert str(err.value) == (
        "showers.parquet: column 'energy' is not a layer of calorimeter cells: representation "
        "'layer_sums' expects one fixed-size 2D cell array per row (e.g. ecal (N, 35, 35)); "
        "got shape () per row"
    )
    jagged = ak.Array({"ecal": [[[1.0, 2.0]], [[1.0]]]})
    with pytest.raises(DataError, match="got rows of different lengths, missing values or non"):
        create_representation("layer_sums", layers=["ecal"])(jagged, source="j")
    words = ak.Array({"ecal": [["a", "b"], ["c", "d"]]})
    with pytest.raises(DataError, match="column 'ecal' is not a layer of calorimeter cells"):
        create_representation("layer_sums", layers=["ecal"])(words, source="w")


def test_non_finite_cells_name_the_feature() -> None:
    table = cms_table()
    ecal = ak.to_numpy(table["ecal"]).copy()
    ecal[3, 0, 0] = np.nan  # outside the window: only the layer sum is NaN
    bad = ak.Array({"ecal": ecal, "hcal": table["hcal"]})
    rep = create_representation("layer_sums", layers=["ecal", "hcal"], window=5)
    with pytest.raises(DataError, match=r"ecal_sum\b.*row 3|row 3.*ecal_sum\b") as err:
        rep(bad, source="nan.parquet")
    assert "nan.parquet" in str(err.value) and "ecal_sum_5x5" not in str(err.value)


@pytest.mark.parametrize(
    ("window", "layer", "size"),
    [(37, "ecal", "35 x 35"), (4, "ecal", "35 x 35"), (9, "hcal", "7 x 7")],
)
def test_a_window_that_does_not_fit_centred(window: int, layer: str, size: str) -> None:
    rep = create_representation("layer_sums", layers=["ecal", "hcal"], window={layer: window})
    with pytest.raises(DataError) as err:
        rep(cms_table(), source="s.parquet")
    assert str(err.value).startswith(
        f"s.parquet: representation 'layer_sums': option window={window} does not fit centred "
        f"in layer '{layer}' of {size} cells;"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layers": []}, "option layers=[]; expected a non-empty list of cell columns"),
        ({"layers": "ecal"}, "option layers='ecal'; expected a non-empty list of cell columns"),
        ({"layers": ["ecal", "ecal"]}, "option layers repeats ecal"),
        ({"layers": ["ecal", 3]}, "every entry must be a column name"),
        ({"window": 0}, "option window=0; expected an integer >= 1"),
        ({"window": [5, 5]}, "option window repeats a size: [5, 5]"),
        ({"window": []}, "option window is empty"),
        ({"window": {}}, "option window is empty (an empty mapping)"),
        ({"whole_layers": False}, "option whole_layers=false leaves no feature"),
        ({"whole_layers": "no", "window": 5}, "option whole_layers='no'; expected true or false"),
        ({"window": {"ecal": [3, 3]}}, "option window.ecal repeats a size: [3, 3]"),
        ({"window": {"ecal": -1}}, "option window.ecal=-1; expected an integer >= 1"),
        (
            {"window": {"layer_1": 5}},
            "option window names layer_1, which is not in layers ['ecal', 'hcal']",
        ),
    ],
)
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_representation("layer_sums", **options)
    assert str(err.value).startswith("representation 'layer_sums': option")
    assert message in str(err.value)


def test_an_experiment_config_takes_windows_per_layer() -> None:
    from hepdl.config import config_from_dict

    representation = {"name": "layer_sums", "layers": ["ecal", "hcal"], "window": {"ecal": 5}}
    config = config_from_dict({"data": {"files": ["s.parquet"], "representation": representation}})
    rep = representation_from_config(config.data.representation.model_dump())
    assert rep.feature_names == ["ecal_sum", "hcal_sum", "ecal_sum_5x5"]
