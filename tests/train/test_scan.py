"""hepdl scan: a grid through Optuna's GridSampler, failed points recorded, tables checked
against each run's own metrics.json, clear errors before anything trains."""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path

import optuna
import pytest
import typer
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl._cli_scan import register
from hepdl.errors import ConfigError, HepdlError
from hepdl.train._scan_space import parse_grid, parse_param, run_name, yaml_text
from hepdl.train.scan import ScanRequest, run_scan, short_text

COLUMNS = ["f1", "f2", "noise"]
# A floor no split of the toy reaches: the point fails when its data is split, not at load.
TOO_FEW = "expected at least data.split.min_rows = 1000"


def write_config(folder: Path, jets: str) -> Path:
    raw = {
        "name": "toy",
        "seed": 7,
        "data": {
            "files": [jets],
            "representation": {"name": "columns", "columns": COLUMNS},
            "batch_size": 64,
        },
        "model": {"name": "mlp", "hidden": [8]},
        "trainer": {"max_epochs": 1, "early_stopping": None, "output_dir": str(folder / "runs")},
        "evaluate": {"plots": False},
    }
    path = folder / "toy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("scan")
    return write_config(folder, write_feature_file(folder / "jets.parquet", n=400))


@pytest.fixture(scope="module")
def grid_scan(toy: Path):
    """A 2 x 2 grid, two seeds per point; min_rows 1000 makes the split refuse the 400 rows."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    request = ScanRequest(
        config_path=toy,
        grid=[parse_grid("task.lr=0.05,0.2"), parse_grid("data.split.min_rows=5,1000")],
        seeds=2,
        out=toy.parent / "grid",
    )
    return request, run_scan(request)


def _metrics_on_disk(out: Path, lr: str, min_rows: str) -> list[dict]:
    """The metrics.json of every seed of the point, found by its run directory name."""
    [point] = sorted((out / "trials").glob(f"*_lr={lr}_min_rows={min_rows}"))
    return [json.loads(p.read_text()) for p in sorted(point.glob("seed=*/metrics.json"))]


def _best_val_auc_on_disk(out: Path, lr: str, min_rows: str) -> list[float]:
    """Each seed's highest val_auc over its epochs, read from its history.json by hand."""
    [point] = sorted((out / "trials").glob(f"*_lr={lr}_min_rows={min_rows}"))
    found = []
    for path in sorted(point.glob("seed=*/history.json")):
        best = -1.0
        for value in json.loads(path.read_text())["val_auc"]:
            best = value if value > best else best
        found.append(best)
    return found


def _naive_mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    total = 0.0
    for v in values:
        total += (v - mean) ** 2
    return mean, math.sqrt(total / (len(values) - 1))


def test_grid_table_matches_each_runs_metrics(grid_scan) -> None:
    _, result = grid_scan
    assert (result.n_complete, result.n_failed) == (2, 2)
    with open(result.out / "results.csv") as handle:
        rows = {(r["task.lr"], r["data.split.min_rows"]): r for r in csv.DictReader(handle)}
    assert set(rows) == {("0.05", "5"), ("0.2", "5"), ("0.05", "1000"), ("0.2", "1000")}
    for lr in ("0.05", "0.2"):
        runs = _metrics_on_disk(result.out, lr, "5")
        assert len(runs) == 2
        row = rows[(lr, "5")]
        assert (row["runs"], row["failures"], row["error"]) == ("2", "0", "")
        for name in ("auc", "accuracy", "max_sic"):
            mean, std = _naive_mean_std([m[name] for m in runs])
            assert float(row[f"{name}_mean"]) == pytest.approx(mean, rel=1e-12)
            assert float(row[f"{name}_std"]) == pytest.approx(std, rel=1e-9, abs=1e-15)
        chosen_by = _best_val_auc_on_disk(result.out, lr, "5")
        v_mean, v_std = _naive_mean_std(chosen_by)
        assert float(row["val_auc_mean"]) == pytest.approx(v_mean, rel=1e-12)
        md = (result.out / "results.md").read_text()
        mean, std = _naive_mean_std([m["auc"] for m in runs])
        # the validation metric that chooses first, the test metric beside it
        cells = f"| {lr} | 5 | 2 | 0 | {v_mean:.4g} ± {v_std:.4g} | {mean:.4g} ± {std:.4g} |"
        assert cells in md
    summary = json.loads((result.out / "scan.json").read_text())
    best = max(("0.05", "0.2"), key=lambda lr: float(rows[(lr, "5")]["val_auc_mean"]))
    assert summary["best"]["values"] == {"task.lr": float(best), "data.split.min_rows": 5}
    assert (summary["metric"], summary["chooses_by"]) == ("auc", "val_auc")
    assert (summary["n_complete"], summary["n_failed"]) == (2, 2)


def test_failed_points_are_recorded_and_the_scan_goes_on(grid_scan) -> None:
    _, result = grid_scan
    with open(result.out / "results.csv") as handle:
        failed = [r for r in csv.DictReader(handle) if r["data.split.min_rows"] == "1000"]
    assert [(r["runs"], r["failures"]) for r in failed] == [("0", "1"), ("0", "1")]
    assert all(r["error"].startswith("seed 7: DataError: ") for r in failed)
    assert all(TOO_FEW in r["error"] for r in failed)
    study = optuna.load_study(study_name=result.study_name, storage=_sqlite(result.out))
    states = sorted(t.state.name for t in study.trials)
    assert states == ["COMPLETE", "COMPLETE", "FAIL", "FAIL"]
    for trial in study.trials:
        if trial.state.name == "FAIL":
            assert trial.user_attrs["error"].startswith("seed 7: DataError: ")
            assert TOO_FEW in trial.user_attrs["error"]
        else:  # the run directories and every test metric, as user attributes
            assert [Path(d).name for d in trial.user_attrs["run_dirs"]] == ["seed=7", "seed=8"]
            dirs = [Path(d) for d in trial.user_attrs["run_dirs"]]
            saved = [json.loads((d / "metrics.json").read_text()) for d in dirs]
            assert [{k: v for k, v in m.items() if k != "val_auc"} for m in
                    trial.user_attrs["metrics"]] == saved  # fmt: skip
            lr = short_text(trial.user_attrs["values"]["task.lr"])
            chosen_by = _best_val_auc_on_disk(result.out, lr, "5")
            assert [m["val_auc"] for m in trial.user_attrs["metrics"]] == chosen_by
            # the study optimises the validation AUC, never the test AUC
            assert trial.value == pytest.approx(sum(chosen_by) / 2)


def _sqlite(out: Path) -> str:
    return f"sqlite:///{out / 'study.db'}"


def test_heatmap_is_written(grid_scan) -> None:
    _, result = grid_scan
    png = (result.out / "heatmap.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_rerunning_the_same_scan_resumes_without_training(grid_scan) -> None:
    request, result = grid_scan
    again = run_scan(request)
    assert again.study_name == result.study_name
    assert (again.n_complete, again.n_failed) == (2, 2)  # no point trained twice


def test_an_interrupted_point_runs_again_when_the_scan_is_resumed(toy, monkeypatch) -> None:
    import hepdl.train.run as run

    real, calls = run.train_experiment, []

    def interrupted_once(config, **kwargs):
        calls.append(config.task.lr)
        if config.task.lr == 0.2 and calls.count(0.2) == 1:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the point lr = 0.2
        return real(config, **kwargs)

    monkeypatch.setattr(run, "train_experiment", interrupted_once)
    request = ScanRequest(
        config_path=toy, grid=[parse_grid("task.lr=0.05,0.2")], out=toy.parent / "resume"
    )
    with pytest.raises(KeyboardInterrupt):
        run_scan(request)
    result = run_scan(request)
    assert calls.count(0.2) == 2 and calls.count(0.05) == 1  # nothing finished is redone
    assert (result.n_complete, result.n_failed) == (2, 0)
    assert [(r.values["task.lr"], len(r.runs), r.errors) for r in result.rows] == [
        (0.05, 1, []),
        (0.2, 1, []),
    ]


def test_unknown_grid_key_fails_before_training(toy: Path) -> None:
    out = toy.parent / "typo"
    request = ScanRequest(config_path=toy, grid=[parse_grid("task.lrr=0.1,0.2")], out=out)
    with pytest.raises(ConfigError) as err:
        run_scan(request)
    assert str(err.value).startswith(
        f"--grid (task.lrr=0.1): {toy}: unknown config key 'task.lrr' (did you mean 'lr'?); "
        "valid keys in task: kind, loss, optimizer, lr,"
    )
    assert not out.exists()  # nothing ran, no study made


def test_bad_value_of_a_later_grid_point_fails_before_training(toy: Path) -> None:
    out = toy.parent / "late"
    request = ScanRequest(config_path=toy, grid=[parse_grid("trainer.max_epochs=1,0")], out=out)
    with pytest.raises(ConfigError, match=r"^--grid \(trainer.max_epochs=0\): .*max_epochs"):
        run_scan(request)
    assert not out.exists()


def test_missing_postgres_driver_says_what_to_install(toy, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg2", None)  # as if psycopg2 were not installed
    request = ScanRequest(
        config_path=toy,
        grid=[parse_grid("task.lr=0.1")],
        out=toy.parent / "pg-driver",
        storage="postgresql+psycopg2://physicist:s3cret@localhost:1/scans",
    )
    with pytest.raises(ConfigError) as err:
        run_scan(request)
    assert str(err.value) == (
        "--storage postgresql+psycopg2://physicist:***@localhost:1/scans: the postgresql "
        "driver 'psycopg2' is not installed; install it with: pip install psycopg2-binary"
    )
    assert not (toy.parent / "pg-driver" / "trials").exists()


def test_unreachable_postgres_is_one_clear_error_without_the_password(toy) -> None:
    pytest.importorskip("psycopg2")
    request = ScanRequest(
        config_path=toy,
        grid=[parse_grid("task.lr=0.1")],
        out=toy.parent / "pg-closed",
        storage="postgresql+psycopg2://physicist:s3cret@localhost:1/scans",
    )
    with pytest.raises(HepdlError) as err:
        run_scan(request)
    message = str(err.value)
    assert message.startswith(
        "--storage postgresql+psycopg2://physicist:***@localhost:1/scans: cannot connect to "
        "the database: "
    )
    assert message.endswith("(nothing was trained, no study was changed)")
    assert "s3cret" not in message
    assert not (toy.parent / "pg-closed" / "trials").exists()


def test_grid_and_param_parsing() -> None:
    axis = parse_grid("task.lr=1e-4,1e-3,0.01")
    assert axis.values == [1e-4, 1e-3, 0.01] and all(isinstance(v, float) for v in axis.values)
    assert parse_grid("model.hidden=[64,64],[128]").values == [[64, 64], [128]]
    assert yaml.safe_load(yaml_text(1e-5)) == 1e-5  # PyYAML reads '1e-05' as a string
    param = parse_param("task.lr=log:1e-5:1e-1")
    assert (param.kind, param.low, param.high, param.ends()) == ("log", 1e-5, 0.1, [1e-5, 0.1])
    assert parse_param("model.hidden=choice:[16],[32,32]").choices == [[16], [32, 32]]
    assert run_name(3, {"task.lr": 0.001, "model.hidden": [64, 64]}) == (
        "0003_lr=0.001_hidden=64x64"
    )
    with pytest.raises(ConfigError) as err:
        parse_param("task.lr=exp:1:2")
    assert str(err.value) == (
        "--param 'task.lr=exp:1:2': unknown kind 'exp'; expected one of float, log, int, "
        "intlog, choice, e.g. --param task.lr=log:1e-5:1e-1"
    )
    with pytest.raises(ConfigError, match=r"^--grid 'task.lr=0.1,0.1': a value is repeated$"):
        parse_grid("task.lr=0.1,0.1")


def test_optuna_search_samples_inside_the_ranges(toy: Path) -> None:
    request = ScanRequest(
        config_path=toy,
        params=[parse_param("task.lr=log:1e-3:0.3"), parse_param("model.hidden=choice:[4],[6,6]")],
        n_trials=2,
        out=toy.parent / "optuna",
        metric="accuracy",
    )
    result = run_scan(request)
    assert (result.n_complete, result.n_failed) == (2, 0)
    for row in result.rows:
        assert 1e-3 <= row.values["task.lr"] <= 0.3
        assert row.values["model.hidden"] in ([4], [6, 6])
        [metrics] = row.runs
        saved = json.loads((Path(row.run_dirs[0]) / "metrics.json").read_text())
        history = json.loads((Path(row.run_dirs[0]) / "history.json").read_text())
        assert metrics == {**saved, "val_accuracy": max(history["val_accuracy"])}
        assert row.mean("accuracy") == saved["accuracy"]  # the test value, reported
    trials = optuna.load_study(study_name=result.study_name, storage=_sqlite(result.out)).trials
    assert [t.value for t in trials] == [t.user_attrs["metrics"][0]["val_accuracy"] for t in trials]
    assert not (result.out / "heatmap.png").exists()  # a heatmap needs a grid
    assert run_scan(request).n_complete == 2  # --optuna N: N trials in the study, not more


def test_cli_reports_an_unknown_key_and_exits_2(toy: Path) -> None:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["scan", str(toy), "--grid", "task.lrr=0.1"])
    assert result.exit_code == 2
    assert "error: --grid (task.lrr=0.1):" in result.output
    assert "unknown config key 'task.lrr' (did you mean 'lr'?)" in result.output


def test_a_grid_value_the_config_refuses_stops_the_scan_before_any_run(toy: Path) -> None:
    # dropout 1.5 is refused at load (model options are typed), so no point trains.
    request = ScanRequest(
        config_path=toy,
        grid=[parse_grid("task.lr=0.05,0.2"), parse_grid("model.dropout=0.0,1.5")],
        seeds=1,
        out=toy.parent / "refused",
    )
    with pytest.raises(ConfigError) as err:
        run_scan(request)
    assert str(err.value).startswith("--grid (task.lr=0.05, model.dropout=1.5): ")
    assert str(err.value).endswith(
        "model.dropout: model 'mlp' takes a finite number in [0, 1), got 1.5"
    )
    assert not list((toy.parent / "refused").glob("trials/*/seed=*/metrics.json"))
