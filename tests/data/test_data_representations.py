"""The representation registry and the `columns` and `substructure` representations."""

from __future__ import annotations

import json

import awkward as ak
import numpy as np
import pytest
from tests.real_files import HZZ

import hepdl.data.representations._registry as registry
from hepdl.data import (
    create_representation,
    list_representations,
    read_table,
    register_representation,
    representation_from_config,
)
from hepdl.errors import ConfigError, DataError


def jets() -> ak.Array:
    """Three jets; constituent four-momenta (px, py, pz, E) in GeV, massless particles."""
    px = [[100.0, 50.0, 20.0], [200.0, 10.0], [80.0, 60.0, 30.0, 5.0]]
    py = [[10.0, -5.0, 4.0], [0.0, 8.0], [20.0, -10.0, 5.0, 1.0]]
    pz = [[30.0, 10.0, 2.0], [40.0, 3.0], [10.0, 20.0, -5.0, 0.5]]
    energy = [
        [float(np.sqrt(x * x + y * y + z * z)) for x, y, z in zip(a, b, c, strict=True)]
        for a, b, c in zip(px, py, pz, strict=True)
    ]
    return ak.Array(
        {
            "jet_pt": np.array([155.0, 210.0, 170.0]),
            "jet_nparticles": np.array([3, 2, 4]),
            "is_top": np.array([True, False, True]),
            "part_px": px,
            "part_py": py,
            "part_pz": pz,
            "part_energy": energy,
        }
    )


# ---------------------------------------------------------------- registry


def test_builtins_are_listed() -> None:
    builtins = {"columns", "substructure", "image", "sequence", "point_cloud", "graph", "tree"}
    assert builtins <= set(list_representations())
    assert list_representations() == sorted(list_representations())


CONSTITUENT_REPRESENTATIONS = ["substructure", "image", "sequence", "point_cloud", "graph", "tree"]


@pytest.mark.parametrize("name", CONSTITUENT_REPRESENTATIONS)
def test_constituent_representations_dtypes_and_config(name: str) -> None:
    """Floats are float32, masks bool, indices int64; config() survives JSON."""
    from tests.data.test_data_representations_tables import random_table

    table = random_table(np.random.default_rng(5), n_jets=4, min_particles=2)
    rep = create_representation(name)
    out = rep(table, source="m")
    for key, array in out.items():
        assert array.dtype in (np.float32, np.int64, np.bool_), (key, array.dtype)
        assert (array.dtype == np.bool_) == (key.endswith("mask")), key
    assert len(out[next(iter(out))]) in (4, 5)  # (N, ...) arrays, or the tree's offsets (N + 1)
    again = representation_from_config(json.loads(json.dumps(rep.config())))
    assert again.config() == rep.config()


@pytest.mark.parametrize("name", CONSTITUENT_REPRESENTATIONS[1:])
def test_a_table_without_jets_gives_empty_arrays(name: str) -> None:
    """A chunk of zero jets is valid input: arrays with N = 0 (tree: offsets [0])."""
    from tests.data.test_data_representations_tables import random_table

    table = random_table(np.random.default_rng(5), n_jets=3)[:0]
    out = create_representation(name)(table, source="m")
    full = create_representation(name)(random_table(np.random.default_rng(5), n_jets=3), source="m")
    assert set(out) == set(full)
    for key, array in out.items():
        expected = (1,) if key == "offsets" else (0, *full[key].shape[1:])
        assert array.shape == expected and array.dtype == full[key].dtype, key


@pytest.mark.parametrize("name", CONSTITUENT_REPRESENTATIONS)
def test_constituent_representations_name_a_missing_column(name: str) -> None:
    from tests.data.test_data_representations_tables import random_table

    table = random_table(np.random.default_rng(6), n_jets=2, min_particles=1)
    table = table[[f for f in table.fields if f != "part_energy"]]
    with pytest.raises(DataError) as info:
        create_representation(name)(table, source="j.pq")
    message = str(info.value)
    assert message.startswith("j.pq: column 'part_energy' is not in the table; available")
    assert f"The '{name}' representation needs part_px, part_py, part_pz, part_energy" in message


def test_unknown_name_lists_valid_and_closest() -> None:
    with pytest.raises(ConfigError) as info:
        create_representation("colums", columns=["jet_pt"])
    message = str(info.value)
    assert "unknown representation 'colums' (did you mean 'columns'?)" in message
    assert "valid representations: " in message and "substructure" in message


def test_unknown_and_missing_options() -> None:
    with pytest.raises(ConfigError, match=r"'columns' has no option 'colums' \(did you mean"):
        create_representation("columns", colums=["jet_pt"])
    with pytest.raises(ConfigError, match=r"'columns' needs option\(s\) columns"):
        create_representation("columns")
    with pytest.raises(ConfigError, match=r"no option 'radius' \(did you mean 'jet_radius'\?\)"):
        create_representation("substructure", radius=0.4)


def test_register_a_new_representation(monkeypatch: pytest.MonkeyPatch) -> None:
    factories = registry.REPRESENTATIONS._factories
    monkeypatch.setattr(registry.REPRESENTATIONS, "_factories", dict(factories))

    @register_representation("count")
    class Count:
        name = "count"

        def __init__(self, *, column: str) -> None:
            self.column = column

        @property
        def feature_names(self) -> list[str]:
            return [f"n_{self.column}"]

        def config(self) -> dict:
            return {"name": self.name, "column": self.column}

        def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
            counts = ak.to_numpy(ak.num(table[self.column])).astype(np.float32)
            return {"features": counts[:, None]}

    assert "count" in list_representations()
    rep = create_representation("count", column="part_px")
    assert isinstance(rep, registry.Representation)
    assert rep(jets(), source="mem")["features"][:, 0].tolist() == [3.0, 2.0, 4.0]
    with pytest.raises(ValueError, match="already registered"):
        register_representation("columns")(Count)


# ---------------------------------------------------------------- columns


def test_columns_values_equal_table_columns() -> None:
    table = jets()
    rep = create_representation("columns", columns=["jet_nparticles", "jet_pt", "is_top"])
    out = rep(table, source="jets.parquet")
    assert list(out) == ["features"]
    features = out["features"]
    assert features.dtype == np.float32
    assert features.shape == (3, 3)
    assert features[:, 0].tolist() == ak.to_list(table.jet_nparticles)
    assert features[:, 1].tolist() == ak.to_list(table.jet_pt)
    assert features[:, 2].tolist() == [1.0, 0.0, 1.0]
    assert rep.feature_names == ["jet_nparticles", "jet_pt", "is_top"]


def test_columns_on_real_root_file() -> None:
    table = read_table(HZZ, columns=["NMuon", "MET_px", "MET_py"])
    features = create_representation("columns", columns=["MET_px", "MET_py"])(
        table, source=str(HZZ)
    )["features"]
    assert features.shape == (2421, 2)
    assert np.array_equal(features[:, 0], ak.to_numpy(table.MET_px))


def test_columns_config_round_trip() -> None:
    rep = create_representation("columns", columns=["jet_pt"])
    config = json.loads(json.dumps(rep.config()))
    assert config == {"name": "columns", "columns": ["jet_pt"]}
    again = representation_from_config(config)
    assert np.array_equal(
        again(jets(), source="m")["features"], rep(jets(), source="m")["features"]
    )


def test_columns_refuses_jagged_missing_nonfinite_and_strings() -> None:
    table = jets()
    with pytest.raises(DataError) as info:
        create_representation("columns", columns=["part_px"])(table, source="jets.parquet")
    message = str(info.value)
    assert message.startswith("jets.parquet: column 'part_px' is jagged (var * float64")
    assert "'substructure'" in message
    with pytest.raises(DataError, match=r"jets\.parquet: column 'jet_ptt' \(did you mean 'jet_pt"):
        create_representation("columns", columns=["jet_ptt"])(table, source="jets.parquet")
    bad = ak.Array({"x": [1.0, np.nan, 3.0], "y": [1.0, None, 2.0], "s": ["a", "b", "c"]})
    with pytest.raises(DataError, match=r"f\.csv: NaN or inf .* 'x' \(1 row, first at row 1\)"):
        create_representation("columns", columns=["x"])(bad, source="f.csv")
    with pytest.raises(DataError, match=r"f\.csv: NaN or inf .* 'y' \(1 row, first at row 1\)"):
        create_representation("columns", columns=["y"])(bad, source="f.csv")
    with pytest.raises(DataError, match=r"f\.csv: column 's' has type string"):
        create_representation("columns", columns=["s"])(bad, source="f.csv")


def test_columns_bad_options() -> None:
    with pytest.raises(ConfigError, match="option columns is empty"):
        create_representation("columns", columns=[])
    with pytest.raises(ConfigError, match="expected a list of column names"):
        create_representation("columns", columns="jet_pt")
    with pytest.raises(ConfigError, match="repeats jet_pt"):
        create_representation("columns", columns=["jet_pt", "jet_pt"])


# ---------------------------------------------------------------- substructure


def test_substructure_matches_physics_and_defaults_to_all_features() -> None:
    from hepdl.physics.substructure import SUBSTRUCTURE_FEATURES, substructure_features

    table = jets()
    rep = create_representation("substructure")
    assert rep.feature_names == list(SUBSTRUCTURE_FEATURES)
    assert rep.config() == {
        "name": "substructure",
        "features": list(SUBSTRUCTURE_FEATURES),
        "jet_radius": 0.8,
    }
    features = rep(table, source="jets.parquet")["features"]
    assert features.shape == (3, len(SUBSTRUCTURE_FEATURES))
    assert features.dtype == np.float32
    constituents = ak.zip(
        {
            "px": table.part_px,
            "py": table.part_py,
            "pz": table.part_pz,
            "energy": table.part_energy,
        }
    )
    expected = substructure_features(constituents, jet_radius=0.8, names=SUBSTRUCTURE_FEATURES)
    for j, name in enumerate(SUBSTRUCTURE_FEATURES):
        assert np.allclose(features[:, j], expected[name], rtol=1e-6), name
    pt = np.hypot([170.0, 210.0, 175.0], [9.0, 8.0, 16.0])  # |sum of px|, |sum of py|
    assert np.allclose(features[:, 0], pt, rtol=1e-6)
    assert features[:, SUBSTRUCTURE_FEATURES.index("n_constituents")].tolist() == [3, 2, 4]


def test_substructure_subset_and_radius() -> None:
    rep = create_representation("substructure", features=["tau21", "jet_mass"], jet_radius=0.4)
    assert rep.config() == {
        "name": "substructure",
        "features": ["tau21", "jet_mass"],
        "jet_radius": 0.4,
    }
    assert rep(jets(), source="m")["features"].shape == (3, 2)
    assert representation_from_config(rep.config()).config() == rep.config()


def test_substructure_bad_options() -> None:
    with pytest.raises(
        ConfigError,
        match=r"unknown feature 'tau12' \(did you mean 'tau2'\?\); valid features: jet_pt",
    ):
        create_representation("substructure", features=["tau12"])
    with pytest.raises(ConfigError, match=r"jet_radius=-1; expected a positive number"):
        create_representation("substructure", jet_radius=-1)


def test_substructure_missing_constituent_columns() -> None:
    table = jets()[["jet_pt", "part_px", "part_py"]]
    with pytest.raises(DataError) as info:
        create_representation("substructure")(table, source="jets.parquet")
    message = str(info.value)
    assert message.startswith("jets.parquet: columns 'part_pz' (did you mean 'part_py'?), ")
    assert "'part_energy' are not in the table; available columns: jet_pt, part_px" in message
    assert "needs part_px, part_py, part_pz, part_energy" in message


def test_substructure_refuses_flat_constituent_columns() -> None:
    table = ak.Array({"part_px": [1.0], "part_py": [1.0], "part_pz": [1.0], "part_energy": [2.0]})
    with pytest.raises(DataError, match=r"f\.pq: column\(s\) part_px, .* are not jagged"):
        create_representation("substructure")(table, source="f.pq")
