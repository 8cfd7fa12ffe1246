"""Physics validation: the checks on hand-made files, soft drop on hand-made jets, and
(slow) the real samples passing every check."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pytest
from tests.generate.records import momentum

from hepdl.generate._parquet import write_atomic
from hepdl.generate.validation import mass_peak, validate
from hepdl.physics.grooming import softdrop_mass


def test_mass_peak_finds_the_mode() -> None:
    rng = np.random.default_rng(1)
    mass = np.concatenate([rng.normal(80.0, 6.0, 400), rng.uniform(20, 300, 200)])
    assert abs(mass_peak(mass) - 80.0) <= 5.0


def test_event_level_check_compares_the_class_means(tmp_path: Path) -> None:
    met = np.array([10.0, 200.0, 20.0, 150.0, 30.0, 400.0])
    label = np.array([0, 1, 0, 1, 0, 1])
    path = write_atomic(
        pa.table({"missing_energy_magnitude": met, "label": label}),
        tmp_path / "events.parquet",
        {"kind": "event", "class_names": ["ww", "susy"]},
        overwrite=False,
    )
    [result] = validate(path, tmp_path / "out")
    assert result.passed and result.measured == pytest.approx(met[1::2].mean() - met[::2].mean())
    saved = json.loads((tmp_path / "out/validation.json").read_text())
    assert saved["checks"][0]["check"] == "mean missing_energy_magnitude: susy > ww"
    assert saved["rows_per_class"] == {"ww": 3, "susy": 3}
    assert (tmp_path / "out/missing_energy_magnitude.png").is_file()


def _jet(*particles: tuple[float, float, float]) -> dict[str, list[float]]:
    p4 = [momentum(pt, eta, phi) for pt, eta, phi in particles]
    return {k: [float(v[i]) for v in p4] for i, k in enumerate(("px", "py", "pz", "energy"))}


def test_softdrop_removes_soft_wide_angle_radiation() -> None:
    two_prong = [(300.0, 0.0, 0.0), (200.0, 0.3, 0.2)]
    soft_wide = (3.0, -0.6, -0.5)  # z = 3/503 < 0.1: dropped
    jets = ak.Array([_jet(*two_prong, soft_wide), _jet(*two_prong), _jet()])
    (px, py, pz, e) = (np.array(v) for v in zip(*[momentum(*p) for p in two_prong], strict=True))
    prong_mass = np.sqrt(e.sum() ** 2 - px.sum() ** 2 - py.sum() ** 2 - pz.sum() ** 2)
    groomed = softdrop_mass(jets)
    np.testing.assert_allclose(groomed[:2], [prong_mass, prong_mass], rtol=1e-9)
    assert groomed[2] == 0.0


@pytest.mark.slow
def test_generated_samples_pass_every_physics_check(tmp_path: Path) -> None:
    from hepdl.generate import SampleSettings, generate

    for sample, expected in (
        ("top-vs-qcd", {"top soft-drop mass peak [GeV]", "median tau32: top < qcd"}),
        ("w-vs-qcd", {"w soft-drop mass peak [GeV]", "median tau21: w < qcd"}),
        ("quark-vs-gluon", {"mean n_constituents: gluon > quark"}),
    ):
        out = generate(sample, SampleSettings(150, seed=2), tmp_path / f"{sample}.parquet").path
        results = validate(out, tmp_path / sample)
        assert {r.check for r in results} == expected
        assert all(r.passed for r in results), results
