"""Jet tables for the representation tests, and the shared constituent reader's checks.

The builders here are imported by the other ``test_data_repr_*`` files.
"""

from __future__ import annotations

from collections.abc import Sequence

import awkward as ak
import numpy as np
import pytest

from hepdl.data.representations._constituents import read_constituents
from hepdl.errors import DataError


def make_table(
    pt: Sequence[Sequence[float]],
    eta: Sequence[Sequence[float]],
    phi: Sequence[Sequence[float]],
    *,
    mass: Sequence[Sequence[float]] | None = None,
    charge: Sequence[Sequence[float]] | None = None,
    pid: Sequence[Sequence[int]] | None = None,
) -> ak.Array:
    """A JetClass-style table from per-jet lists of (pT, eta, phi[, m]) of constituents."""
    columns: dict[str, list] = {"part_px": [], "part_py": [], "part_pz": [], "part_energy": []}
    masses = mass if mass is not None else [[0.0] * len(p) for p in pt]
    for p, e, f, m in zip(pt, eta, phi, masses, strict=True):
        p, e, f, m = (np.asarray(v, dtype=np.float64) for v in (p, e, f, m))
        pz = p * np.sinh(e)
        columns["part_px"].append((p * np.cos(f)).tolist())
        columns["part_py"].append((p * np.sin(f)).tolist())
        columns["part_pz"].append(pz.tolist())
        columns["part_energy"].append(np.sqrt(p**2 + pz**2 + m**2).tolist())
    if charge is not None:
        columns["part_charge"] = [list(c) for c in charge]
    if pid is not None:
        columns["part_pid"] = [list(c) for c in pid]
    columns["label"] = list(range(len(pt)))
    return ak.Array(columns)


def random_table(
    rng: np.random.Generator,
    *,
    n_jets: int,
    min_particles: int = 0,
    max_particles: int = 12,
    spread: float = 0.3,
) -> ak.Array:
    """Random massive constituents around (eta, phi) = (0.5, 3.0), with charges and pids."""
    counts = rng.integers(min_particles, max_particles + 1, n_jets)
    pids = np.array([211, -211, 321, 2212, 130, 2112, 22, 11, -11, 13, -13])
    charges = np.array([1, -1, 1, 1, 0, 0, 0, -1, 1, -1, 1])
    kinds = [rng.integers(0, len(pids), c) for c in counts]
    return make_table(
        [rng.exponential(20.0, c) + 0.5 for c in counts],
        [rng.normal(0.5, spread, c) for c in counts],
        [rng.normal(3.0, spread, c) for c in counts],
        mass=[rng.uniform(0.0, 0.5, c) for c in counts],
        charge=[charges[k] for k in kinds],
        pid=[pids[k] for k in kinds],
    )


def table_lists(table: ak.Array, column: str) -> list[list[float]]:
    return [list(map(float, row)) for row in ak.to_list(table[column])]


# ---------------------------------------------------------------- the shared reader


def test_constituents_ordered_by_pt_padded_and_truncated() -> None:
    table = make_table(
        [[5.0, 20.0, 10.0], [], [1.0]], [[0, 0.1, 0.2], [], [0]], [[0, 0, 0], [], [1]]
    )
    jets = read_constituents(table, source="m", representation="sequence", max_particles=2)
    assert jets.mask.tolist() == [[True, True], [False, False], [True, False]]
    assert jets.index.tolist() == [[1, 2], [-1, -1], [0, -1]]
    assert np.allclose(jets.pt, [[20.0, 10.0], [0.0, 0.0], [1.0, 0.0]])
    assert jets.counts.tolist() == [3, 0, 1]
    # The jet axis sums all constituents, also those cut by max_particles.
    assert np.allclose(jets.jet_momentum[0], ak.to_numpy(ak.sum(table_four(table), axis=1))[0])
    everything = read_constituents(table, source="m", representation="x", max_particles=None)
    assert everything.mask.shape == (3, 3)


def table_four(table: ak.Array) -> ak.Array:
    return ak.concatenate(
        [table[c][..., np.newaxis] for c in ("part_px", "part_py", "part_pz", "part_energy")],
        axis=2,
    )


def test_constituent_reader_errors_name_source_column_and_row() -> None:
    table = make_table([[1.0, 2.0], [3.0]], [[0, 0], [0]], [[0, 0], [0]])

    def read(t: ak.Array) -> None:
        read_constituents(t, source="jets.parquet", representation="sequence", max_particles=4)

    with pytest.raises(DataError) as info:
        read(table[["part_px", "part_py", "part_pz"]])
    assert str(info.value).startswith(
        "jets.parquet: column 'part_energy' is not in the table; available columns: part_px"
    )
    assert "The 'sequence' representation needs part_px, part_py, part_pz, part_energy" in str(
        info.value
    )
    flat = ak.with_field(table, np.array([1.0, 2.0]), "part_pz")
    with pytest.raises(
        DataError,
        match=r"jets\.parquet: column 'part_pz' has type float64; the 'sequence' representation "
        r"expects one list of numbers per jet",
    ):
        read(flat)
    missing = ak.with_field(table, ak.Array([[1.0, None], [2.0]]), "part_pz")
    with pytest.raises(
        DataError,
        match=r"column 'part_pz' has missing \(None\) values in 1 row, the first at row 0",
    ):
        read(missing)
    nan = ak.with_field(table, ak.Array([[1.0, 1.0], [np.inf]]), "part_pz")
    with pytest.raises(
        DataError, match=r"column 'part_pz' has NaN or inf in 1 row, the first at row 1"
    ):
        read(nan)
    short = ak.with_field(table, ak.Array([[1.0, 1.0], []]), "part_energy")
    with pytest.raises(
        DataError, match=r"column 'part_energy' has 0 constituents in row 1 but 'part_px' has 1"
    ):
        read(short)
    text = ak.with_field(table, ak.Array([["a", "b"], ["c"]]), "part_pz")
    with pytest.raises(
        DataError, match=r"column 'part_pz' has type var \* string; expected numbers"
    ):
        read(text)
