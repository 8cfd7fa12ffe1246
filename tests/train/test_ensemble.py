"""Seed ensembles: members on the same test jets, the mean-score classifier, resuming."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
import yaml
from sklearn.metrics import roc_auc_score
from tests.conftest import write_feature_file
from tests.train.test_compare import write_run
from typer.testing import CliRunner

from hepdl._cli_compare import register
from hepdl.config import config_from_dict
from hepdl.errors import ConfigError, DataError
from hepdl.train.compare import load_run, save_predictions
from hepdl.train.ensemble import (
    ensemble_costs,
    mean_scores,
    member_seeds,
    train_ensemble,
    write_ensemble,
)


def _members(tmp_path: Path) -> list:
    costs = [(100, 2.0, 1000.0), (100, 4.0, 3000.0)]
    return [
        load_run(
            write_run(
                tmp_path,
                f"seed-{i}",
                model="mlp",
                config_name="toy",
                seed=i,
                metrics={
                    "auc": 0.7,
                    "rejection_at_eps_s_0.3": 5.0,
                    "n_parameters": p,
                    "train_seconds_per_epoch": s,
                    "inference_jets_per_second": r,
                },
            )
        )
        for i, (p, s, r) in enumerate(costs)
    ]


def test_mean_scores_average_jet_by_jet(tmp_path):
    members = _members(tmp_path)
    labels, scores = mean_scores(members)
    (y0, s0), (_, s1) = (m.predictions() for m in members)
    np.testing.assert_array_equal(labels, y0)
    for i in (0, 17, 399):
        assert scores[i] == pytest.approx((s0[i] + s1[i]) / 2)


def test_members_on_other_jets_are_refused(tmp_path):
    members = _members(tmp_path)
    labels, scores = members[1].predictions()
    save_predictions(members[1].run_dir, labels=labels[::-1], scores=scores)
    with pytest.raises(DataError) as err:
        mean_scores(members)
    assert str(err.value) == (
        f"ensemble: {members[1].run_dir} was tested on other jets than {members[0].run_dir} "
        "(400 vs 400 test labels, or in another order); keep data.split.seed and the data "
        "fixed across seeds"
    )


def test_costs_of_running_every_member(tmp_path):
    costs = ensemble_costs(_members(tmp_path))
    # A jet costs 1/1000 + 1/3000 s in the two members: 750 jets/s together.
    assert costs == {
        "n_parameters": 200.0,
        "train_seconds_per_epoch": 6.0,
        "inference_jets_per_second": pytest.approx(750.0),
    }


def test_write_ensemble_adds_the_mean_score_row(tmp_path):
    members = _members(tmp_path)
    result = write_ensemble(members, out_dir=tmp_path / "ens", name="toy")
    labels, scores = mean_scores(members)
    assert result.metrics["auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    saved = json.loads((tmp_path / "ens" / "ensemble" / "metrics.json").read_text())
    assert saved["auc"] == result.metrics["auc"] and saved["n_parameters"] == 200
    rows = result.comparison.table.splitlines()[2:]
    names = sorted(row.split(" | ")[0] for row in rows)
    assert names == ["| toy", "| toy (mean score of 2)"]  # the members, their average
    ensemble_row = next(r for r in rows if r.startswith("| toy"))
    assert ensemble_row.startswith(f"| toy (mean score of 2) | {result.metrics['auc']:.4f} |")
    assert ensemble_row.endswith("| 200 | 6 | 750 | 2 |")


def test_seeds_must_be_positive():
    config = config_from_dict({"data": {"files": ["x.parquet"]}})
    assert member_seeds(config, 3) == [42, 43, 44]
    with pytest.raises(ConfigError, match="--seeds: expected at least 1 member, got 0"):
        member_seeds(config, 0)


def _toy_config(tmp_path: Path) -> Path:
    jets = write_feature_file(tmp_path / "jets.parquet")
    path = tmp_path / "toy.yaml"
    raw = {
        "name": "toy",
        "seed": 5,
        "data": {
            "files": [jets],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
        },
        "model": {"name": "mlp", "hidden": [8]},
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(tmp_path)},
        "evaluate": {"plots": False},
    }
    path.write_text(yaml.safe_dump(raw))
    return path


def test_tiny_ensemble_trains_seeds_on_one_split_and_resumes(tmp_path):
    from hepdl.config import load_config

    config = load_config(_toy_config(tmp_path))
    out = tmp_path / "ens"
    result = train_ensemble(config, n_seeds=2, out_dir=out)
    assert [m.run_dir.name for m in result.members] == ["seed-5", "seed-6"]
    seeds = [
        yaml.safe_load((out / d / "config.yaml").read_text())["seed"] for d in ("seed-5", "seed-6")
    ]
    assert seeds == [5, 6]
    (y5, s5), (y6, s6) = (m.predictions() for m in result.members)
    np.testing.assert_array_equal(y5, y6)  # same test jets
    assert not np.allclose(s5, s6)  # other initialisation, other scores
    assert result.metrics["auc"] == pytest.approx(roc_auc_score(y5, (s5 + s6) / 2), abs=1e-12)
    assert (out / "comparison.md").is_file() and (out / "roc_comparison.png").is_file()
    stamp = (out / "seed-5" / "metrics.json").stat().st_mtime_ns
    again = train_ensemble(config, n_seeds=3, out_dir=out)  # resumes: only seed 7 trains
    assert (out / "seed-5" / "metrics.json").stat().st_mtime_ns == stamp
    assert [m.run_dir.name for m in again.members] == ["seed-5", "seed-6", "seed-7"]


def test_cli_ensemble(tmp_path):
    app = typer.Typer()
    register(app)
    args = ["ensemble", str(_toy_config(tmp_path)), "--seeds", "2", "--out", str(tmp_path / "e")]
    result = CliRunner().invoke(app, [*args, "--set", "model.hidden=[4]"])
    assert result.exit_code == 0, result.output
    assert "| toy (mean score of 2) |" in result.output
    hidden = yaml.safe_load((tmp_path / "e" / "seed-6" / "config.yaml").read_text())["model"]
    assert hidden["hidden"] == [4]
    bad = CliRunner().invoke(app, [*args, "--seeds", "0"])
    assert bad.exit_code == 2 and "--seeds: expected at least 1 member, got 0" in bad.output
