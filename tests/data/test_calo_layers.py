"""Representation ``calo_layers``: every cell of every layer as one flat vector beside the
incident energy, the cell names that record the layout, and the way back into layers."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest

from hepdl.data import create_representation
from hepdl.data.representations.calo_layers import layer_layout, split_layers
from hepdl.errors import ConfigError, DataError


def calogan_table(n: int = 5, seed: int = 0) -> ak.Array:
    rng = np.random.default_rng(seed)
    return ak.Array(
        {
            "energy": rng.uniform(1, 100, n),
            "layer_0": rng.exponential(0.1, (n, 3, 96)).astype(np.float32),
            "layer_1": rng.exponential(0.5, (n, 12, 12)).astype(np.float32),
            "layer_2": rng.exponential(0.01, (n, 12, 6)).astype(np.float32),
        }
    )


def test_cells_are_the_layers_flattened_row_by_row_in_order() -> None:
    table = calogan_table()
    rep = create_representation("calo_layers")
    assert rep.feature_names == []  # the layout is known once a table is read
    arrays = rep(table, source="s.parquet")
    cells, energy = arrays["cells"], arrays["incident_energy"]
    assert cells.shape == (5, 504) and cells.dtype == np.float32
    assert energy.shape == (5, 1) and energy.dtype == np.float32
    np.testing.assert_allclose(energy[:, 0], ak.to_numpy(table["energy"]), rtol=1e-6)
    names = rep.feature_names
    assert len(names) == 504 and names[0] == "layer_0:0:0" and names[95] == "layer_0:0:95"
    assert names[288] == "layer_1:0:0" and names[-1] == "layer_2:11:5"
    for i in (0, 100, 300, 503):  # one cell at a time, from its name
        layer, row, column = names[i].split(":")
        expected = ak.to_numpy(table[layer])[:, int(row), int(column)]
        np.testing.assert_array_equal(cells[:, i], expected)
    layout = layer_layout(names)
    assert layout == {"layer_0": (3, 96), "layer_1": (12, 12), "layer_2": (12, 6)}
    back = split_layers(cells, layout)
    for layer in layout:
        np.testing.assert_array_equal(back[layer], ak.to_numpy(table[layer]))


def test_chosen_layers_and_their_order() -> None:
    rep = create_representation("calo_layers", layers=["layer_2", "layer_1"])
    cells = rep(calogan_table(), source="s")["cells"]
    assert cells.shape == (5, 72 + 144) and rep.feature_names[0] == "layer_2:0:0"
    assert rep.config() == {"name": "calo_layers", "layers": ["layer_2", "layer_1"],
                            "energy": "energy"}  # fmt: skip


def test_bad_input_is_refused_with_the_column_named() -> None:
    table = calogan_table()
    with pytest.raises(DataError, match="layer_9"):
        create_representation("calo_layers", layers=["layer_9"])(table, source="s.parquet")
    bad = ak.with_field(table, np.array([5.0, 0.0, 3.0, -1.0, 2.0]), "energy")
    with pytest.raises(DataError, match=r"s.parquet: column 'energy' has 2 incident energies"):
        create_representation("calo_layers")(bad, source="s.parquet")
    with pytest.raises(ConfigError, match="option layers='layer_0'; expected a non-empty list"):
        create_representation("calo_layers", layers="layer_0")
    with pytest.raises(ConfigError, match="every entry must be a distinct column name"):
        create_representation("calo_layers", layers=["layer_0", "layer_0"])
    rep = create_representation("calo_layers", layers=["layer_1"])
    rep(table, source="a.parquet")
    other = ak.Array({"energy": [1.0], "layer_1": np.ones((1, 4, 4), np.float32)})
    with pytest.raises(DataError, match=r"b\.parquet: the layers have cells"):
        rep(other, source="b.parquet")
    with pytest.raises(DataError, match=r"do not fill the layers"):
        split_layers(np.ones((2, 10)), {"a": (3, 3)})
