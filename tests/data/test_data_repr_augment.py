"""Physics augmentations: rotations about the jet axis, reflections, soft smearing."""

from __future__ import annotations

import json
import math

import awkward as ak
import numpy as np
import pytest
from tests.data.test_data_representations_tables import make_table, random_table

from hepdl.data.representations import (
    augmentation_from_config,
    create_augmentation,
    list_augmentations,
)
from hepdl.errors import ConfigError, DataError

COLUMNS = ("part_px", "part_py", "part_pz", "part_energy")


def four(table: ak.Array) -> list[np.ndarray]:
    """Per jet, the (n, 4) constituent four-momenta."""
    lists = [ak.to_list(table[c]) for c in COLUMNS]
    return [
        np.array(list(zip(*rows, strict=True))).reshape(-1, 4) for rows in zip(*lists, strict=True)
    ]


def pair_masses(p: np.ndarray) -> np.ndarray:
    total = p[:, None, :] + p[None, :, :]
    return total[..., 3] ** 2 - (total[..., :3] ** 2).sum(axis=-1)


def sample() -> ak.Array:
    table = random_table(np.random.default_rng(31), n_jets=40, min_particles=0, max_particles=10)
    return ak.with_field(table, np.arange(40.0), "jet_pt")


def test_augmentations_are_registered() -> None:
    assert list_augmentations() == ["reflect", "rotate", "smear"]
    with pytest.raises(
        ConfigError, match=r"unknown augmentation 'rotation' \(did you mean 'rotate'"
    ):
        create_augmentation("rotation")


def test_rotation_about_the_jet_axis_keeps_the_jet_and_all_masses() -> None:
    table = sample()
    rotated = create_augmentation("rotate")(table, rng=np.random.default_rng(0), source="m")
    assert ak.to_list(ak.num(rotated.part_px)) == ak.to_list(ak.num(table.part_px))
    assert ak.to_list(rotated.label) == ak.to_list(table.label)
    assert ak.to_list(rotated.jet_pt) == ak.to_list(table.jet_pt)
    angles = []
    for before, after in zip(four(table), four(rotated), strict=True):
        if len(before) == 0:
            assert len(after) == 0
            continue
        jet = before.sum(axis=0)
        assert np.allclose(after.sum(axis=0), jet, rtol=1e-9, atol=1e-9)
        assert np.allclose(after[:, 3], before[:, 3])
        assert np.allclose(pair_masses(after), pair_masses(before), rtol=1e-6, atol=1e-6)
        if len(before) < 2:
            continue  # a lone constituent lies on the axis: no angle to measure
        # one rotation angle per jet: the angle between the components normal to the axis
        axis = jet[:3] / np.linalg.norm(jet[:3])
        jet_angles = []
        for old, new in zip(before[:, :3], after[:, :3], strict=True):
            u, v = old - axis * (old @ axis), new - axis * (new @ axis)
            jet_angles.append(math.atan2(np.cross(u, v) @ axis, u @ v))
        turn = np.exp(1j * np.array(jet_angles))  # compare on the circle: no 2 pi wrap issue
        assert np.allclose(turn, turn[0], atol=1e-6)
        angles.append(jet_angles[0])
    assert len(set(np.round(angles, 6))) == len(angles)  # a new angle for every jet
    again = create_augmentation("rotate")(table, rng=np.random.default_rng(0), source="m")
    assert ak.to_list(again.part_px) == ak.to_list(rotated.part_px)


def eta_phi_pt_mass(p: np.ndarray) -> np.ndarray:
    pt = np.hypot(p[:, 0], p[:, 1])
    rapidity = 0.5 * np.log((p[:, 3] + p[:, 2]) / (p[:, 3] - p[:, 2]))
    mass2 = p[:, 3] ** 2 - (p[:, :3] ** 2).sum(axis=1)
    return np.stack([rapidity, np.arctan2(p[:, 1], p[:, 0]), pt, mass2], axis=1)


@pytest.mark.parametrize("axis", ["phi", "rapidity"])
def test_reflections_mirror_about_the_jet_axis(axis: str) -> None:
    table = sample()
    reflect = create_augmentation("reflect", axes=[axis])
    mirrored = reflect(table, rng=np.random.default_rng(1), source="m")
    flipped = 0
    jets = 0
    for before, after in zip(four(table), four(mirrored), strict=True):
        if len(before) == 0:
            continue
        jets += 1
        jet = before.sum(axis=0)
        assert np.allclose(after.sum(axis=0), jet, rtol=1e-9, atol=1e-8)
        old, new = eta_phi_pt_mass(before), eta_phi_pt_mass(after)
        if np.allclose(after, before):
            continue
        flipped += 1
        jet_y = 0.5 * math.log((jet[3] + jet[2]) / (jet[3] - jet[2]))
        jet_phi = math.atan2(jet[1], jet[0])
        index = 0 if axis == "rapidity" else 1
        centre = jet_y if axis == "rapidity" else jet_phi
        moved = (2 * centre - old[:, index] + math.pi) % (2 * math.pi) - math.pi
        got = (new[:, index] + math.pi) % (2 * math.pi) - math.pi
        if axis == "rapidity":
            moved, got = 2 * centre - old[:, index], new[:, index]
        assert np.allclose(got, moved, atol=1e-9)
        kept = [i for i in range(3) if i != index]
        assert np.allclose(new[:, kept], old[:, kept], atol=1e-9)
        assert np.allclose(new[:, 3], old[:, 3], atol=1e-7)  # masses
    assert 0.25 * jets < flipped < 0.75 * jets  # each jet flipped with probability 1/2


def test_smearing_width_scales_with_one_over_pt() -> None:
    n = 2000
    pts = [[1.0] * n + [100.0] * n]
    etas = [[0.0] * (2 * n)]
    table = make_table(pts, etas, [[0.0] * (2 * n)], mass=[[0.1] * (2 * n)])
    smeared = create_augmentation("smear", scale=0.1)(
        table, rng=np.random.default_rng(2), source="m"
    )
    before, after = four(table)[0], four(smeared)[0]
    old, new = eta_phi_pt_mass(before), eta_phi_pt_mass(after)
    assert np.allclose(new[:, 2:], old[:, 2:], atol=1e-9)  # pT and mass kept
    pseudo = np.arcsinh(after[:, 2] / np.hypot(after[:, 0], after[:, 1]))
    soft, hard = slice(0, n), slice(n, 2 * n)
    assert np.std(pseudo[soft]) == pytest.approx(0.1, rel=0.1)
    assert np.std(pseudo[hard]) == pytest.approx(0.001, rel=0.1)
    assert np.std(new[soft, 1]) == pytest.approx(0.1, rel=0.1)
    assert np.std(new[hard, 1]) == pytest.approx(0.001, rel=0.1)


def test_augmentation_errors_and_config_round_trip() -> None:
    table = sample()[["part_px", "part_py", "part_pz"]]
    with pytest.raises(DataError) as info:
        create_augmentation("rotate")(table, rng=np.random.default_rng(0), source="jets.parquet")
    assert str(info.value).startswith("jets.parquet: column 'part_energy' is not in the table")
    assert "The 'rotate' augmentation needs part_px, part_py, part_pz, part_energy" in str(
        info.value
    )
    with pytest.raises(
        ConfigError, match=r"augmentation 'smear': option scale=-1; expected a positive number"
    ):
        create_augmentation("smear", scale=-1)
    with pytest.raises(
        ConfigError,
        match=r"augmentation 'reflect': option axes has unknown name 'eta'; valid names: phi, "
        r"rapidity",
    ):
        create_augmentation("reflect", axes=["eta"])
    for aug in (
        create_augmentation("rotate"),
        create_augmentation("reflect", axes=["rapidity"]),
        create_augmentation("smear", scale=0.5),
    ):
        config = json.loads(json.dumps(aug.config()))
        assert augmentation_from_config(config).config() == aug.config()
    assert create_augmentation("smear", scale=0.5).config() == {"name": "smear", "scale": 0.5}
