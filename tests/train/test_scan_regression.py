"""hepdl scan and learning-curve for a regression: the default metric is the task's
(relative resolution, minimised), a response is scanned for the point nearest 1, and a
classifier's scan keeps its metric, direction and study name. Points are chosen by the
validation metrics of each run's history, never by its test metrics: the fake runs' test
numbers favour another point than their validation numbers. Training is replaced by
hand-written run directories, so nothing here trains a network."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import typer
import yaml
from typer.testing import CliRunner

from hepdl._cli_scan import register
from hepdl.errors import ConfigError
from hepdl.train.learning_curve import run_learning_curve
from hepdl.train.scan import ScanRequest, parse_grid, resolve_metric, run_scan, validate_points

# (response, relative resolution) of the fake run at each learning rate: on the test rows
FAKE = {0.001: (0.90, 0.20), 0.01: (0.99, 0.15), 0.1: (1.08, 0.10)}
# ... and at its best validation epoch: another point is best (resolution 0.01, response 0.001)
FAKE_VAL = {0.001: (0.97, 0.18), 0.01: (1.06, 0.12), 0.1: (0.93, 0.14)}


def write_config(folder: Path, *, kind: str = "regress") -> Path:
    task = {"kind": "regress", "targets": ["gen_pt"], "ratio_to": "jet_pt", "bins": 4}
    raw = {
        "name": "jec",
        "seed": 7,
        "data": {
            "files": [str(folder / "jets.parquet")],  # never read: training is faked
            "representation": {"name": "columns", "columns": ["jet_pt", "jet_eta"]},
        },
        "model": {"name": "mlp", "hidden": [8]},
        "task": task if kind == "regress" else {"kind": "classify"},
        "trainer": {"max_epochs": 1, "output_dir": str(folder / "runs")},
        "evaluate": {"plots": False},
    }
    path = folder / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def fake_training(monkeypatch) -> list[Any]:
    """train_experiment writes metrics.json of FAKE's numbers at the config's lr (the
    resolution grows by 0.01 per seed and shrinks with more training rows)."""
    import hepdl.train.run as run
    from hepdl.train.artifacts import TrainResult

    trained: list[Any] = []

    def fake(config: Any, *, run_dir: Path, **_: Any) -> TrainResult:
        response, relres = FAKE[config.task.lr]
        val_response, val_relres = FAKE_VAL[config.task.lr]
        shift = 0.01 * (config.seed - 7)
        if config.data.train_size is not None:
            shift += 10.0 / config.data.train_size
        relres, val_relres = relres + shift, val_relres + shift
        metrics = {
            "n_test": 80,
            "targets": ["gen_pt"],
            "response": response,
            "relative_resolution": relres,
            "rmse": 100 * relres,
        }
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
        trained.append(config)
        # two epochs; the second is the best one in each metric's direction
        history = {
            "val_loss": [1.0, 0.5],
            "val_resolution": [val_relres + 0.05, val_relres],
            "val_response": [val_response - 0.2, val_response],
        }
        return TrainResult(run_dir=run_dir, metrics=metrics, history=history)

    monkeypatch.setattr(run, "train_experiment", fake)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return trained


def _request(folder: Path, lrs: str = "0.001,0.01,0.1", **options: Any) -> ScanRequest:
    """A grid over task.lr of the regression config in ``folder``."""
    grid = [parse_grid(f"task.lr={lrs}")]
    return ScanRequest(config_path=write_config(folder), grid=grid, **options)


def test_regression_scan_minimises_the_relative_resolution_by_default(tmp_path, fake_training):
    result = run_scan(_request(tmp_path, seeds=2, out=tmp_path / "scan"))
    assert (result.metric, result.direction) == ("relative_resolution", "minimize")
    assert result.selection == "val_resolution"
    # the validation resolution chooses lr 0.01; the test resolution would have chosen 0.1
    assert result.best is not None and result.best.values == {"task.lr": 0.01}
    summary = json.loads((result.out / "scan.json").read_text())
    assert (summary["metric"], summary["direction"]) == ("relative_resolution", "minimize")
    assert summary["chooses_by"] == "val_resolution"
    assert "target" not in summary
    assert summary["best"]["mean"] == pytest.approx(0.125)  # 0.12 and 0.13 over two seeds
    assert summary["best"]["test_mean"] == pytest.approx(0.155)  # reported beside it
    md = (result.out / "results.md").read_text()
    header = "| task.lr | runs | failures | val_resolution | relative_resolution |"
    assert md.splitlines()[4].startswith(header)
    study = optuna.load_study(study_name=result.study_name, storage=_sqlite(result.out))
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert sorted(t.value for t in study.trials) == pytest.approx([0.125, 0.145, 0.185])
    assert (result.out / "heatmap.png").stat().st_size > 5000
    assert len(fake_training) == 6


def test_a_response_is_scanned_for_the_point_nearest_one(tmp_path, fake_training):
    request = _request(tmp_path, metric="response", out=tmp_path / "response")
    result = run_scan(request)
    # validation response 0.97 (lr 0.001) is nearest 1; on the test rows 0.99 (lr 0.01) is
    assert result.best is not None and result.best.values == {"task.lr": 0.001}
    summary = json.loads((result.out / "scan.json").read_text())
    assert (summary["direction"], summary["target"]) == ("minimize", 1.0)
    assert summary["best"]["mean"] == pytest.approx(0.97)
    study = optuna.load_study(study_name=result.study_name, storage=_sqlite(result.out))
    assert sorted(t.value for t in study.trials) == pytest.approx([0.03, 0.06, 0.07])  # |r - 1|
    explicit = run_scan(dataclasses.replace(request, direction="maximize", out=tmp_path / "max"))
    assert explicit.best is not None and explicit.best.values == {"task.lr": 0.01}  # 1.06
    assert explicit.study_name != result.study_name


def _sqlite(out: Path) -> str:
    return f"sqlite:///{out / 'study.db'}"


def test_a_metric_without_a_validation_counterpart_is_refused(tmp_path, fake_training):
    request = _request(tmp_path, "0.01", metric="n_test", out=tmp_path / "nodir")
    with pytest.raises(ConfigError) as err:
        run_scan(request)
    assert str(err.value) == (
        "--metric 'n_test': no validation counterpart among the task's per-epoch metrics "
        "(val_loss, val_rmse, val_resolution, val_response); a scan chooses by validation "
        "metrics only: give one of these, or a test metric that has one"
    )
    assert fake_training == []  # refused before anything trains


def test_validation_counterparts_of_test_metrics():
    from hepdl.train.selection import validation_metric

    classify = ["train_loss", "val_loss", "val_accuracy", "val_auc", "val_rejection_at_eps_s_0.3"]
    assert validation_metric("auc", classify) == "val_auc"
    assert validation_metric("val_auc", classify) == "val_auc"  # a validation metric itself
    assert validation_metric("rejection_at_eps_s_0.3", classify) == "val_rejection_at_eps_s_0.3"
    two_targets = ["val_loss", "val_resolution_pt", "val_resolution_e", "val_response_pt"]
    # metrics.json's top-level numbers are the first target's
    assert validation_metric("relative_resolution", two_targets) == "val_resolution_pt"
    with pytest.raises(ConfigError, match=r"^--metric 'max_sic': no validation counterpart"):
        validation_metric("max_sic", classify)


def test_a_classifier_scan_keeps_auc_maximize_and_its_study_name(tmp_path):
    config = write_config(tmp_path, kind="classify")
    request = ScanRequest(config_path=config, grid=[parse_grid("task.lr=0.01,0.1")])
    resolved = resolve_metric(request, validate_points(request))
    assert (resolved.metric, resolved.direction, resolved.target) == ("auc", "maximize", None)
    before = ScanRequest(
        config_path=config,
        grid=[parse_grid("task.lr=0.01,0.1")],
        metric="auc",
        direction="maximize",
    )
    assert resolved.digest() == before.digest()  # the same study is joined and resumed
    accuracy = resolve_metric(
        ScanRequest(config_path=config, grid=request.grid, metric="accuracy"),
        validate_points(request),
    )
    assert accuracy.direction == "maximize"


def test_regression_learning_curve_plots_the_relative_resolution(tmp_path, fake_training):
    result = run_learning_curve(
        write_config(tmp_path), sizes=[100, 1000], seeds=2, out=tmp_path / "lc"
    )
    assert (result.metric, result.direction) == ("relative_resolution", "minimize")
    by_size = {row.values["data.train_size"]: row for row in result.rows}
    # lr 0.001: 0.20, +0.005 over seeds 7 and 8, +10 / 100 rows
    assert by_size[100].mean("relative_resolution") == pytest.approx(0.20 + 0.005 + 0.1)
    assert result.best is not None and result.best.values == {"data.train_size": 1000}
    assert (result.out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (result.out / "heatmap.png").exists()


def test_cli_scan_of_a_regression_defaults_to_its_metric(tmp_path, fake_training):
    app = typer.Typer()
    register(app)
    config = write_config(tmp_path)
    args = ["scan", str(config), "--grid", "task.lr=0.01,0.1", "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    table = result.output.split("best by")[0]
    assert all(word in table for word in ("val_resolution", "(chooses)", "relative_resolut"))
    assert (
        "best by val_resolution: {'task.lr': 0.01} (val_resolution = 0.1200; test "
        "relative_resolution = 0.1500, reported, not used to choose)"
    ) in " ".join(result.output.split())
    more = ["--out", str(tmp_path / "cli-lc"), "--set", "task.lr=0.01"]
    curve = CliRunner().invoke(
        app,
        [*("learning-curve", str(config), "--sizes", "100,1000", "--seeds", "1"), *more],
    )
    assert curve.exit_code == 0, curve.output
    assert (
        "best by val_resolution: {'data.train_size': 1000} (val_resolution = 0.1300; test "
        "relative_resolution = 0.1600, reported, not used to choose)"
    ) in " ".join(curve.output.split())
