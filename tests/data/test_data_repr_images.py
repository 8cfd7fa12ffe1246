"""The ``image`` representation against a loop-per-particle implementation and hand-made jets."""

from __future__ import annotations

import json
import math

import awkward as ak
import numpy as np
import pytest
from tests.data.test_data_representations_tables import make_table, random_table, table_lists

from hepdl.data import create_representation, representation_from_config
from hepdl.errors import ConfigError, DataError


def wrap(angle: float) -> float:
    while angle >= math.pi:
        angle -= 2 * math.pi
    while angle < -math.pi:
        angle += 2 * math.pi
    return angle


def naive_image(table: ak.Array, row: int, *, pixels: int, extent: float, **options) -> np.ndarray:
    """One jet image with plain Python loops: translate, rotate, flip, pixelise, normalise."""
    columns = [table_lists(table, c)[row] for c in ("part_px", "part_py", "part_pz", "part_energy")]
    particles = list(zip(*columns, strict=True))
    split = options["channels"] == "charged_neutral"
    charges = table_lists(table, "part_charge")[row] if split else [1] * len(particles)
    n_channels = 2 if split else 1
    image = np.zeros((n_channels, pixels, pixels))
    if not particles:
        return image
    jx, jy, jz = (sum(p[i] for p in particles) for i in range(3))
    jet_eta, jet_phi = math.asinh(jz / math.hypot(jx, jy)), math.atan2(jy, jx)
    points = []
    for k, (px, py, pz, e) in enumerate(particles):
        pt = math.hypot(px, py)
        w = pt if options["weight"] == "pt" else e
        channel = 0 if charges[k] != 0 else 1
        x, y = math.asinh(pz / pt) - jet_eta, wrap(math.atan2(py, px) - jet_phi)
        points.append([x, y, w, channel])
    total = sum(p[2] for p in points)
    if options["center"] == "centroid":
        cx = sum(p[0] * p[2] for p in points) / total
        cy = sum(p[1] * p[2] for p in points) / total
        for p in points:
            p[0], p[1] = p[0] - cx, wrap(p[1] - cy)
    if options["rotate"]:
        sxx = sum(p[2] * p[0] ** 2 for p in points)
        syy = sum(p[2] * p[1] ** 2 for p in points)
        sxy = sum(p[2] * p[0] * p[1] for p in points)
        alpha = math.pi / 2 - 0.5 * math.atan2(2 * sxy, sxx - syy)
        for p in points:
            x, y = p[0], p[1]
            p[0] = x * math.cos(alpha) - y * math.sin(alpha)
            p[1] = x * math.sin(alpha) + y * math.cos(alpha)
    if options["flip"]:
        for axis in (0, 1):
            if sum(p[2] for p in points if p[axis] < 0) > sum(p[2] for p in points if p[axis] > 0):
                for p in points:
                    p[axis] = -p[axis]
    size = 2 * extent / pixels
    for x, y, w, channel in points:
        column, line = math.floor((x + extent) / size), math.floor((y + extent) / size)
        if 0 <= column < pixels and 0 <= line < pixels:
            image[channel, line, column] += w
    if options["normalize"] == "sum":
        image /= image.sum()
    elif options["normalize"] == "jet":
        image /= total
    return image


OPTION_SETS = [
    {"center": "centroid", "rotate": True, "flip": True, "weight": "pt"},
    {"center": "jet_axis", "rotate": False, "flip": True, "weight": "energy"},
    {"center": "centroid", "rotate": True, "flip": False, "weight": "pt"},
    {"center": "jet_axis", "rotate": False, "flip": False, "weight": "pt"},
]


@pytest.mark.parametrize("options", OPTION_SETS)
@pytest.mark.parametrize("channels, normalize", [("total", "sum"), ("charged_neutral", "jet")])
def test_images_match_a_particle_loop(options: dict, channels: str, normalize: str) -> None:
    table = random_table(np.random.default_rng(7), n_jets=5, min_particles=1, max_particles=20)
    options = {**options, "channels": channels, "normalize": normalize}
    rep = create_representation("image", pixels=15, extent=0.7, **options)
    images = rep(table, source="m")["image"]
    assert images.shape == (5, 2 if channels == "charged_neutral" else 1, 15, 15)
    assert images.dtype == np.float32
    for row in range(5):
        expected = naive_image(table, row, pixels=15, extent=0.7, **options)
        assert np.allclose(images[row], expected, rtol=1e-5, atol=1e-7), row


def test_two_particle_jet_lands_in_the_expected_pixels() -> None:
    # Equal pT at phi = +-0.3 around eta = 0: jet axis and centroid at the origin, the
    # principal axis already vertical. Pixels of 0.2 over [-1, 1]: y = +0.3 -> row 6,
    # y = -0.3 -> row 3, x = 0 -> column 5.
    table = make_table([[10.0, 10.0]], [[0.0, 0.0]], [[0.3, -0.3]])
    plain = {"center": "jet_axis", "rotate": False, "flip": False, "normalize": "none"}
    image = create_representation("image", pixels=10, extent=1.0, **plain)(table, source="m")
    assert np.argwhere(image["image"][0, 0]).tolist() == [[3, 5], [6, 5]]
    assert image["image"][0, 0, 3, 5] == pytest.approx(10.0)
    full = create_representation("image", pixels=10, extent=1.0)(table, source="m")["image"]
    assert np.argwhere(full[0, 0]).tolist() == [[3, 5], [6, 5]]
    assert full[0, 0, 6, 5] == pytest.approx(0.5)


def test_rotation_turns_a_diagonal_jet_vertical_and_flip_puts_the_hard_side_up() -> None:
    # Two particles on the diagonal: after rotation both sit on x = 0 at y = +-0.283.
    # 11 pixels of 2/11 over [-1, 1]: x = 0 -> column 5, y = 0.283 -> row 7, -0.283 -> 3.
    table = make_table([[10.0, 10.0]], [[0.2, -0.2]], [[0.2, -0.2]])
    common = {"pixels": 11, "extent": 1.0, "center": "centroid", "normalize": "none"}
    rotated = create_representation("image", rotate=True, flip=False, **common)
    assert np.argwhere(rotated(table, source="m")["image"][0, 0]).tolist() == [[3, 5], [7, 5]]
    unrotated = create_representation("image", rotate=False, flip=False, **common)
    assert np.argwhere(unrotated(table, source="m")["image"][0, 0]).tolist() == [[4, 4], [6, 6]]
    # Hard particle lower left: the flip moves it to the upper right.
    skewed = make_table([[30.0, 10.0]], [[-0.3, 0.2]], [[-0.3, 0.2]])
    image = create_representation("image", rotate=False, flip=True, **common)(skewed, source="m")
    hardest = np.unravel_index(np.argmax(image["image"][0, 0]), (11, 11))
    assert hardest[0] > 5 and hardest[1] > 5


def test_leading_subjet_centering() -> None:
    # A hard two-particle prong at eta ~ 0.31 and a soft one at eta = -0.3: the leading
    # kT subjet (R = 0.3) is the hard prong, which lands in the central pixel.
    table = make_table([[50.0, 40.0, 20.0]], [[0.30, 0.32, -0.3]], [[0.0, 0.0, 0.0]])
    rep = create_representation(
        "image",
        pixels=21,
        extent=1.0,
        center="leading_subjet",
        rotate=False,
        flip=False,
        normalize="none",
    )
    image = rep(table, source="m")["image"][0, 0]
    assert image[10, 10] == pytest.approx(90.0)
    assert image.sum() == pytest.approx(110.0)
    centroid = create_representation("image", pixels=21, extent=1.0, rotate=False, flip=False)
    assert centroid(table, source="m")["image"][0, 0, 10, 10] == 0.0


def test_charged_neutral_channels_split_the_total_image() -> None:
    table = random_table(np.random.default_rng(8), n_jets=4, min_particles=1)
    split = create_representation("image", pixels=9, channels="charged_neutral", normalize="none")
    total = create_representation("image", pixels=9, normalize="none")
    assert split.feature_names == ["pt_charged", "pt_neutral"]
    assert total.feature_names == ["pt"]
    two = split(table, source="m")["image"]
    one = total(table, source="m")["image"]
    assert np.allclose(two.sum(axis=1), one[:, 0], rtol=1e-6)
    charged_pt = [
        sum(math.hypot(px, py) for px, py, q in zip(a, b, c, strict=True) if q != 0)
        for a, b, c in zip(
            table_lists(table, "part_px"),
            table_lists(table, "part_py"),
            table_lists(table, "part_charge"),
            strict=True,
        )
    ]
    # the window (0.8) holds every constituent of these narrow jets
    assert np.allclose(two[:, 0].sum(axis=(1, 2)), charged_pt, rtol=1e-5)


def test_normalisations_and_constituents_outside_the_window() -> None:
    # Jet axis at eta = 0.51: the hard one at Delta eta = -0.51 is inside [-0.8, 0.8],
    # the soft one at +0.99 outside.
    table = make_table([[30.0, 10.0]], [[0.0, 1.5]], [[0.0, 0.0]])

    def image(normalize: str) -> np.ndarray:
        rep = create_representation(
            "image",
            pixels=5,
            extent=0.8,
            center="jet_axis",
            rotate=False,
            flip=False,
            normalize=normalize,
        )
        return rep(table, source="m")["image"]

    assert image("none").sum() == pytest.approx(30.0)
    assert image("sum").sum() == pytest.approx(1.0)
    assert image("jet").sum() == pytest.approx(30.0 / 40.0)


def test_empty_jet_gives_an_empty_image() -> None:
    table = make_table([[], [10.0]], [[], [0.1]], [[], [0.2]], charge=[[], [1]])
    for center in ("centroid", "leading_subjet", "jet_axis"):
        rep = create_representation("image", pixels=8, center=center, channels="charged_neutral")
        images = rep(table, source="m")["image"]
        assert np.isfinite(images).all() and not images[0].any(), center
        assert images[1].sum() == pytest.approx(1.0), center
    only_empty = create_representation("image", pixels=8, center="leading_subjet")
    assert not only_empty(table[:1], source="m")["image"].any()


def test_image_needs_part_charge_for_charged_neutral_channels() -> None:
    table = make_table([[10.0]], [[0.0]], [[0.0]])
    with pytest.raises(DataError) as info:
        create_representation("image", channels="charged_neutral")(table, source="j.parquet")
    assert str(info.value).startswith("j.parquet: column 'part_charge' is not in the table")
    assert "The 'image' representation needs" in str(info.value)


def test_image_bad_options() -> None:
    with pytest.raises(
        ConfigError, match=r"option pixels=\[40\]; expected one integer \(square image\) or two"
    ):
        create_representation("image", pixels=[40])
    with pytest.raises(ConfigError, match=r"option pixels=0; expected an integer >= 1"):
        create_representation("image", pixels=[0, 3])
    with pytest.raises(
        ConfigError,
        match=r"representation 'image': option weight='et'; expected one of pt, energy",
    ):
        create_representation("image", weight="et")
    with pytest.raises(
        ConfigError,
        match=r"option center='centriod' \(did you mean 'centroid'\?\); expected one of centroid",
    ):
        create_representation("image", center="centriod")
    with pytest.raises(ConfigError, match=r"option extent=0; expected a positive number"):
        create_representation("image", extent=0)
    with pytest.raises(ConfigError, match=r"option flip=1; expected true or false"):
        create_representation("image", flip=1)
    with pytest.raises(
        ConfigError, match=r"option normalize='max'; expected one of sum, jet, none"
    ):
        create_representation("image", normalize="max")


def test_image_config_round_trip_and_rectangular_pixels() -> None:
    rep = create_representation("image", pixels=[8, 12], extent=0.4, weight="energy")
    config = json.loads(json.dumps(rep.config()))
    assert config["pixels"] == [8, 12] and config["weight"] == "energy"
    again = representation_from_config(config)
    assert again.config() == rep.config()
    table = random_table(np.random.default_rng(9), n_jets=2, min_particles=1)
    assert again(table, source="m")["image"].shape == (2, 1, 8, 12)
