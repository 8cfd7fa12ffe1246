"""The Energy Flow quark/gluon .npz files (preset energyflow-qg) read onto hepdl's names."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hepdl.config import DataConfig
from hepdl.data import read_metadata, read_table
from hepdl.errors import DataError

# Reference values written out here, not taken from the reader: PDG masses (GeV) and charges.
MASS = {22: 0.0, 211: 0.13957039, 321: 0.493677, 2212: 0.93827209, 11: 0.00051099895, 130: 0.497611}
CHARGE = {22: 0, 211: 1, -211: -1, 321: 1, -321: -1, 2212: 1, -2212: -1, 11: -1, -11: 1, 130: 0}


def write_qg(path: Path, *, n: int = 6, width: int = 7, seed: int = 0, **extra) -> Path:
    """A small file in the energyflow qg_jets layout: X (n, width, 4) zero-padded, y (n,)."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, width, 4))
    pids = np.array(list(CHARGE))
    for i in range(n):
        k = i + 1 if i < width else width  # 1 .. width particles
        x[i, :k, 0] = np.sort(rng.uniform(1.0, 50.0, k))[::-1]
        x[i, :k, 1] = rng.normal(0.0, 1.0, k)
        x[i, :k, 2] = rng.uniform(0.0, 2 * np.pi, k)
        x[i, :k, 3] = rng.choice(pids, k)
    arrays = {"X": x, "y": (np.arange(n) % 2).astype(np.float64), **extra}
    np.savez(path, **arrays)
    return path


def naive(x: np.ndarray) -> list[list[tuple[float, float, float, float]]]:
    """(px, py, pz, E) of every real particle, jet by jet, one particle at a time."""
    jets = []
    for row in x:
        particles = []
        for pt, y, phi, pid in row:
            if pt == 0:
                continue
            m = MASS[abs(int(pid))]
            mt = math.sqrt(m * m + pt * pt)
            particles.append(
                (pt * math.cos(phi), pt * math.sin(phi), mt * math.sinh(y), mt * math.cosh(y))
            )
        jets.append(particles)
    return jets


@pytest.fixture
def qg_file(tmp_path: Path) -> Path:
    return write_qg(tmp_path / "qg.npz")


def test_four_vectors_charges_and_labels_match_a_per_particle_loop(qg_file: Path) -> None:
    table = read_table(qg_file)  # preset detected: exactly X and y
    raw = np.load(qg_file)
    expected = naive(raw["X"])
    assert table["jet_nparticles"].tolist() == [len(j) for j in expected] == [1, 2, 3, 4, 5, 6]
    for name, axis in zip(("part_px", "part_py", "part_pz", "part_energy"), range(4), strict=True):
        got = table[name].tolist()
        for jet, ref in zip(got, expected, strict=True):
            np.testing.assert_allclose(jet, [p[axis] for p in ref], rtol=1e-12, atol=1e-12)
    for i, ref in enumerate(expected):
        px, py, pz, e = (sum(p[a] for p in ref) for a in range(4))
        assert table["jet_pt"][i] == pytest.approx(math.hypot(px, py), rel=1e-12)
        assert table["jet_energy"][i] == pytest.approx(e, rel=1e-12)
        assert table["jet_mass"][i] == pytest.approx(
            math.sqrt(max(e * e - px * px - py * py - pz * pz, 0)), abs=1e-9
        )
        assert table["jet_eta"][i] == pytest.approx(math.asinh(pz / math.hypot(px, py)), rel=1e-12)
        assert table["jet_phi"][i] == pytest.approx(math.atan2(py, px), rel=1e-12)
    real = raw["X"][raw["X"][..., 0] > 0]
    assert np.concatenate(table["part_pid"].to_list()).tolist() == real[:, 3].astype(int).tolist()
    charges = np.concatenate(table["part_charge"].to_list())
    assert charges.tolist() == [CHARGE[int(p)] for p in real[:, 3]]
    assert table["label"].tolist() == [0, 1, 0, 1, 0, 1]
    # Each particle's mass is the PDG mass of its id.
    e, px, py, pz = (
        np.concatenate(table[c].to_list()) for c in ("part_energy", "part_px", "part_py", "part_pz")
    )
    masses = np.array([MASS[abs(int(p))] for p in real[:, 3]])
    # m^2 = E^2 - p^2 up to the rounding of E^2 ~ 10^3 GeV^2 in float64.
    np.testing.assert_allclose(e**2 - px**2 - py**2 - pz**2, masses**2, rtol=0, atol=1e-9)


def test_class_names_from_the_preset_and_a_config_that_selects_it(qg_file: Path) -> None:
    from hepdl.train.inputs import load_sample

    assert read_metadata(qg_file)["hepdl"]["class_names"] == ["gluon", "quark"]
    config = DataConfig(
        files=[str(qg_file)],
        format="npz",
        preset="energyflow-qg",
        representation={"name": "point_cloud", "max_particles": 8},
    )
    sample = load_sample(config)
    assert sample.class_names == ["gluon", "quark"]
    assert sample.labels.tolist() == [0, 1, 0, 1, 0, 1]
    assert sample.inputs["mask"].sum(axis=1).tolist() == [1, 2, 3, 4, 5, 6]


def test_format_npz_whatever_the_suffix_and_the_raw_arrays_without_preset(tmp_path: Path) -> None:
    path = write_qg(tmp_path / "qg.npz")
    renamed = path.rename(tmp_path / "qg.data")
    table = read_table(renamed, fmt="npz", preset="energyflow-qg")
    assert table["jet_nparticles"].tolist() == [1, 2, 3, 4, 5, 6]
    raw = read_table(renamed, fmt="npz", preset=None)  # the file's own arrays
    assert raw.fields == ["X", "y"] and len(raw) == 6
    np.testing.assert_array_equal(raw["X"].to_numpy(), np.load(renamed, allow_pickle=False)["X"])


def test_a_representation_reads_the_mapped_table(qg_file: Path) -> None:
    from hepdl.data import create_representation

    arrays = create_representation("point_cloud", max_particles=4)(read_table(qg_file), source="qg")
    assert arrays["features"].shape[:2] == (6, 4)
    assert arrays["mask"].sum(axis=1).tolist() == [1, 2, 3, 4, 4, 4]


def test_missing_y_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "no_y.npz"
    np.savez(path, X=np.ones((3, 2, 4)))
    with pytest.raises(DataError, match=r"no_y\.npz.*'y'") as err:
        read_table(path, preset="energyflow-qg")
    assert "energyflow-qg" in str(err.value)


def test_wrong_last_dimension_names_the_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "three.npz"
    np.savez(path, X=np.ones((3, 2, 3)), y=np.array([0, 1, 0]))
    with pytest.raises(DataError) as err:
        read_table(path)  # detected by its keys, refused for its shape
    assert str(err.value) == (
        f"{path}: key 'X' has shape (3, 2, 3); preset 'energyflow-qg' expects (N, M, 4), "
        "per particle (pT, rapidity, phi, pid) (preset: null reads the arrays as they are)"
    )


def test_bad_labels_unknown_pids_and_lengths_are_refused(tmp_path: Path) -> None:
    x = np.zeros((2, 1, 4))
    x[:, 0] = (10.0, 0.1, 0.2, 211)
    np.savez(tmp_path / "labels.npz", X=x, y=np.array([0, 2]))
    with pytest.raises(DataError, match=r"labels\.npz: key 'y' must hold one label per jet"):
        read_table(tmp_path / "labels.npz")
    x[1, 0, 3] = 999
    np.savez(tmp_path / "pid.npz", X=x, y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"pid\.npz: key 'X' has particle ids \[999\]"):
        read_table(tmp_path / "pid.npz")
    np.savez(tmp_path / "lengths.npz", X=x, y=np.array([0, 1, 1]))
    with pytest.raises(DataError, match=r"lengths\.npz: arrays of different lengths"):
        read_table(tmp_path / "lengths.npz")
    (tmp_path / "broken.npz").write_bytes(b"not a zip archive")
    with pytest.raises(DataError, match=r"broken\.npz: cannot read as \.npz"):
        read_table(tmp_path / "broken.npz")
