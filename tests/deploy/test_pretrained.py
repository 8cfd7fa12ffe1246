"""Model folders (``hepdl save-pretrained``, ``hepdl.from_pretrained``) of real finished runs.

Three runs are trained once per module on a toy file (an MLP classifier, a logistic
regression, an MLP regression: one epoch each, ~120 jets). A folder's predictions must
equal its run's (``Predictor.from_run``) bit for bit; each disagreement between a folder's
files is one error naming the file; loading never unpickles; the model card parses with
huggingface_hub (offline) and the folder loads from huggingface_hub's local cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import pytest
from tests.deploy.runs import make_run, write_jet_file
from typer.testing import CliRunner

import hepdl
from hepdl.cli import app
from hepdl.config import config_from_dict
from hepdl.deploy.predictor import Predictor
from hepdl.deploy.pretrained import from_pretrained, save_pretrained
from hepdl.errors import ConfigError, DataError

FLAT = {"name": "columns", "columns": ["f1", "f2"]}
RUNS = {
    "mlp": ({"name": "mlp", "hidden": [8]}, None),
    "logistic_regression": ({"name": "logistic_regression"}, None),
    "regression": (
        {"name": "mlp", "hidden": [8]},
        {"kind": "regress", "targets": ["gen_pt"], "lr": 0.001},
    ),
}


def _train(root: Path, jets: str, model: dict, task: dict | None) -> Path:
    from hepdl.train.run import train_experiment

    raw = {
        "name": model["name"],
        "seed": 5,
        "data": {
            "files": [jets],
            "representation": FLAT,
            "standardize": True,
            "batch_size": 16,
            "split": {"min_rows": 1},
        },
        "model": model,
        "task": task or {"lr": 0.001},
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(root)},
        "evaluate": {"plots": False},
    }
    return Path(train_experiment(config_from_dict(raw)).run_dir)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """name -> (run directory, its model folder); and the jets as a table."""
    root = tmp_path_factory.mktemp("pretrained")
    jets = write_jet_file(root / "jets.parquet", n_jets=120)
    runs = {}
    for name, (model, task) in RUNS.items():
        run = _train(root / name, jets, model, task)
        runs[name] = (run, save_pretrained(run, root / f"{name}-folder").folder)
    return runs, ak.from_arrow(pq.read_table(jets))


@pytest.fixture
def folder(trained, tmp_path):
    """A copy of the MLP classifier's folder, to damage."""
    runs, _ = trained
    return Path(shutil.copytree(runs["mlp"][1], tmp_path / "copy"))


def _edit_config(folder: Path, edit) -> Path:
    path = folder / "config.json"
    raw = json.loads(path.read_text())
    edit(raw)
    path.write_text(json.dumps(raw))
    return path


# ----------------------------------------------------------------------------- round trip
@pytest.mark.parametrize("name", list(RUNS))
def test_folder_predicts_what_its_run_predicts(trained, name):
    runs, table = trained
    run, folder = runs[name]
    got = hepdl.from_pretrained(folder).predict(table)
    want = Predictor.from_run(run).predict(table)
    assert list(got) == list(want)
    for column in want:
        assert got[column].shape == (len(table),)
        np.testing.assert_array_equal(got[column], want[column])
    assert got["valid"].all()


def test_logistic_regression_folder_against_a_naive_computation(trained):
    """score = sigmoid(w . (x - mean) / std + b), from config.json and the estimator."""
    runs, table = trained
    folder = runs["logistic_regression"][1]
    predictor = from_pretrained(folder)
    scaler = json.loads((folder / "config.json").read_text())["preprocessing"]["standardizer"]
    raw = np.column_stack([ak.to_numpy(table["f1"]), ak.to_numpy(table["f2"])])  # (N, 2)
    x = (raw - scaler["mean"]) / np.asarray(scaler["std"])
    estimator = predictor.model
    z = x @ estimator.coef_[0] + estimator.intercept_[0]
    np.testing.assert_allclose(predictor.predict(table)["score"], 1 / (1 + np.exp(-z)), rtol=1e-5)


def test_folder_files_and_config(trained):
    runs, _ = trained
    run, folder = runs["mlp"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
    ]
    config = json.loads((folder / "config.json").read_text())
    weights = (folder / "model.safetensors").read_bytes()
    assert weights == (run / "model.safetensors").read_bytes()
    assert config["weights"] == {
        "model.safetensors": {"sha256": hashlib.sha256(weights).hexdigest(), "size": len(weights)}
    }
    assert config["library_name"] == "hepdl"
    assert config["written_by"] == {"hepdl": hepdl.__version__, "run_format": 1}
    assert config["model"] == {
        "name": "mlp",
        "kind": "network",
        "hyperparameters": {
            "in_features": 2,
            "hidden": [8],
            "output": "sigmoid",
            "out_features": 1,
        },
    }
    assert config["task"]["kind"] == "classify" and config["task"]["section"]["loss"] == "bce"
    assert config["data"]["label_column"] == "label" and config["data"]["columns"] is None
    prep = json.loads((run / "preprocessing.json").read_text())
    assert config["preprocessing"] == prep
    assert config["preprocessing"]["class_names"] == ["qcd", "top"]
    baseline = json.loads((runs["logistic_regression"][1] / "config.json").read_text())
    assert baseline["model"] == {
        "name": "logistic_regression",
        "kind": "classical",
        "hyperparameters": {},
    }
    assert list(baseline["weights"]) == ["model.skops"]
    assert not (runs["logistic_regression"][1] / "model.safetensors").exists()


# ----------------------------------------------------------------------------- refusals
def test_weights_of_another_size_are_refused(folder):
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    weights.write_bytes(weights.read_bytes() + b"\0")
    message = (
        f"{weights}: holds {size + 1} bytes, but config.json records {size}: the two are not "
        "of one model folder (the file truncated or replaced, or config.json edited); copy "
        "the whole folder again"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_weights_of_another_sha256_are_refused(folder):
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    recorded = hashlib.sha256(data).hexdigest()
    data[-1] ^= 0xFF  # a tensor's last byte: same size, still a readable file
    weights.write_bytes(bytes(data))
    message = (
        f"{weights}: its SHA-256 is {hashlib.sha256(data).hexdigest()}, but config.json records "
        f"{recorded}: the two are not of one model folder (the file changed or replaced, or "
        "config.json edited); copy the whole folder again"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_tensors_that_do_not_fit_the_described_model_are_refused(folder):
    """A consistent config.json (hidden [4] everywhere) over the weights of hidden [8]."""

    def narrower(raw):
        raw["experiment"]["model"]["hidden"] = [4]
        raw["model"]["hyperparameters"]["hidden"] = [4]

    _edit_config(folder, narrower)
    weights = folder / "model.safetensors"
    message = (
        f"{weights}: holds weights of model 'mlp' with other sizes, which do not fit model "
        "'mlp' (MLP): different shapes layers.0.weight (8, 2) (model: (4, 2)), layers.0.bias "
        "(8,) (model: (4,)), layers.2.weight (1, 8) (model: (1, 4))"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda raw: raw.pop("weights"), "'weights' is missing"),
        (lambda raw: raw.update(extra=1), "unknown key 'extra'"),
        (lambda raw: raw.update(model=[]), "'model' should be an object, got list"),
        (lambda raw: raw.update(library_name=3), "'library_name' should be a string, got int"),
    ],
    ids=["missing", "unknown", "model-type", "name-type"],
)
def test_config_keys_missing_unknown_or_of_another_type_are_refused(folder, edit, problem):
    path = _edit_config(folder, edit)
    message = f"{path}: not a hepdl model config: {problem}; the model folder is damaged"
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_weights_of_another_kind_are_refused(folder):
    path = _edit_config(folder, lambda raw: raw.update(weights={"model.skops": {}}))
    message = (
        f"{path}: 'weights' lists ['model.skops'], expected ['model.safetensors'] for a network "
        "model; the model folder is damaged"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_onnx_backend_runs_the_export_in_the_folder(trained, folder):
    from hepdl.deploy import export_onnx

    runs, table = trained
    onnx_file = folder / "model.onnx"
    message = (
        f"{onnx_file}: no such file; backend 'onnx' runs the export of the folder's weights: "
        f"hepdl export RUN_DIR --out {onnx_file}"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder, backend="onnx")
    export_onnx(runs["mlp"][0], onnx_file)
    got = from_pretrained(folder, backend="onnx").predict(table)
    want = from_pretrained(folder).predict(table)
    np.testing.assert_allclose(got["score"], want["score"], atol=1e-5)
    np.testing.assert_array_equal(got["valid"], want["valid"])
    export_onnx(runs["regression"][0], onnx_file, overwrite=True)  # other weights: refused
    with pytest.raises(ConfigError, match="is the export of other weights than run") as err:
        from_pretrained(folder, backend="onnx")
    assert str(err.value).endswith(
        f"export it again: hepdl export RUN_DIR --out {onnx_file} --overwrite, RUN_DIR the "
        "run this folder was saved from"
    )


def test_another_run_format_is_refused(folder):
    path = _edit_config(folder, lambda raw: raw["written_by"].update(run_format=2))
    version = hepdl.__version__
    message = (
        f"{folder}: written by hepdl {version} in run format 2; this hepdl {version} reads run "
        f"format 1: upgrade hepdl to {version} or later"
    )
    assert path.parent == folder
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_another_library_is_refused(folder):
    path = _edit_config(folder, lambda raw: raw.update(library_name="timm"))
    message = (
        f"{path}: 'library_name' is 'timm': the model of another library, not a hepdl model folder"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_a_description_that_disagrees_with_the_run_config_is_refused(folder):
    path = _edit_config(folder, lambda raw: raw["model"]["hyperparameters"].update(hidden=[4]))
    message = (
        f"{path}: 'model.hyperparameters.hidden' is [4], but the run config under 'experiment' "
        "gives [8]; config.json disagrees with itself: it was edited or damaged after hepdl "
        "wrote it"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_a_bad_preprocessing_record_is_refused(folder):
    path = _edit_config(folder, lambda raw: raw["preprocessing"].pop("feature_names"))
    message = (
        f"{path}: 'preprocessing' not a hepdl preprocessing record: 'feature_names' is missing; "
        "the model folder is damaged"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_missing_files_are_refused(folder):
    weights = folder / "model.safetensors"
    size = weights.stat().st_size
    weights.unlink()
    message = (
        f"{weights}: is missing (config.json lists it, {size} bytes); copy the whole model "
        "folder again"
    )
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)
    (folder / "config.json").unlink()
    message = (
        f"{folder}: not a hepdl model folder (config.json is missing); write one with: "
        f"hepdl save-pretrained RUN_DIR --out {folder}"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        from_pretrained(folder)


def test_config_that_is_not_json_is_refused(folder):
    path = folder / "config.json"
    path.write_text("{not json")
    with pytest.raises(
        DataError, match=f"^{re.escape(str(path))}: not valid JSON .*; the model folder is damaged$"
    ):
        from_pretrained(folder)


# ----------------------------------------------------------------------------- no pickle
def test_loading_unpickles_nothing(trained, monkeypatch):
    runs, table = trained
    import torch

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used while loading a model folder")

    for name in ("load", "loads"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    with pytest.raises(AssertionError, match="pickle was used"):  # the patch is in force
        pickle.loads(pickle.dumps(1))
    for name in RUNS:
        predictions = from_pretrained(runs[name][1]).predict(table)
        assert predictions["valid"].all()


# ----------------------------------------------------------------------------- writing
def test_an_existing_folder_is_refused_unless_overwrite(trained, tmp_path):
    runs, _ = trained
    run, written = runs["mlp"]
    out = tmp_path / "model"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(
        ConfigError,
        match=f"^{re.escape(f'{out}: exists already; pass --overwrite to replace it')}$",
    ):
        save_pretrained(run, out)
    message = (
        f"{out}: exists and is not a hepdl model folder (no config.json of library 'hepdl'); "
        "not replacing it: choose another --out"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        save_pretrained(run, out, overwrite=True)
    assert (out / "notes.txt").read_text() == "mine"
    # A model folder is replaced whole, with nothing left beside it.
    shutil.rmtree(out)
    save_pretrained(runs["regression"][0], out)
    saved = save_pretrained(run, out, overwrite=True)
    assert sorted(os.listdir(tmp_path)) == ["model"]
    assert saved.files == {name: (out / name).stat().st_size for name in saved.files}
    assert (out / "config.json").read_bytes() == (written / "config.json").read_bytes()


def test_an_unfinished_run_is_refused(tmp_path):
    run = make_run(
        tmp_path,
        write_jet_file(tmp_path / "jets.parquet"),
        model={"name": "mlp", "hidden": [4]},
        representation=FLAT,
    )
    message = (
        f"{run}: not a finished hepdl run (metrics.json is missing: still training, or stopped "
        "before it); a model folder describes a run's test metrics: finish the run first"
    )
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        save_pretrained(run, tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_a_failed_write_leaves_no_folder(trained, tmp_path, monkeypatch):
    runs, _ = trained
    from hepdl.deploy import pretrained

    def broken(*args, **kwargs):
        raise DataError("disk full")

    monkeypatch.setattr(pretrained, "model_card", broken)
    with pytest.raises(DataError, match=r"^disk full$"):
        save_pretrained(runs["mlp"][0], tmp_path / "model")
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------------------- the card
def test_model_card_parses_with_huggingface_hub(trained, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(pytest.importorskip("huggingface_hub.constants"), "HF_HUB_OFFLINE", True)
    runs, _ = trained
    run, folder = runs["mlp"]
    metrics = json.loads((run / "metrics.json").read_text())
    card = huggingface_hub.ModelCard.load(folder / "README.md")
    assert card.data.library_name == "hepdl"
    assert {"hepdl", "classify", "mlp", "pytorch"} <= set(card.data.tags)
    keys = ["auc", "accuracy", "rejection_at_eps_s_0.3", "rejection_at_eps_s_0.5"]
    assert card.data.metrics == keys
    results = {r.metric_type: r for r in card.data.eval_results}
    assert list(results) == keys
    for key in keys:
        assert results[key].metric_value == metrics[key]
        assert results[key].dataset_split == "test"
    recorded = card.data.to_dict()["hepdl"]["test_metrics"]
    assert recorded["auc"]["std"] == metrics["uncertainties"]["auc"]["std"]
    assert (
        recorded["rejection_at_eps_s_0.3"]["binomial_high"]
        == (metrics["uncertainties"]["rejection_at_eps_s_0.3"]["binomial_high"])
    )
    sections = re.findall(r"^## (.+)$", card.text, flags=re.M)
    assert sections == [
        "Model",
        "Training data",
        "Metrics (test set)",
        "Intended use and limitations",
        "How to load it",
    ]
    assert (
        f"| test AUC | {metrics['auc']:.4g} | ± {metrics['uncertainties']['auc']['std']:.4g}"
        in card.text
    )
    assert (
        f"{metrics['n_train']} training, {metrics['n_val']} validation, {metrics['n_test']} test"
        in card.text
    )
    assert "epoch 1 of 1, the best val_loss on the validation rows" in card.text


def test_regression_card_records_the_errors(trained, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    huggingface_hub = pytest.importorskip("huggingface_hub")
    runs, _ = trained
    run, folder = runs["regression"]
    metrics = json.loads((run / "metrics.json").read_text())
    card = huggingface_hub.ModelCard.load(folder / "README.md")
    recorded = card.data.to_dict()["hepdl"]["test_metrics"]
    assert recorded["response"] == {
        "value": metrics["response"],
        "error": metrics["response_error"],
    }
    assert recorded["rmse"] == {"value": metrics["rmse"]}
    assert "- targets: gen_pt" in card.text
    baseline = (runs["logistic_regression"][1] / "README.md").read_text()
    assert "the model kept is one fit (no epochs to choose between)" in baseline
    assert "- architecture: `logistic_regression` (classical), 3 parameters" in baseline


def test_folder_loads_from_the_huggingface_cache(trained, tmp_path, monkeypatch):
    """The cache layout snapshot_download keeps (refs/main, snapshots/<commit>/ linking
    into blobs/), found offline with local_files_only."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    huggingface_hub = pytest.importorskip("huggingface_hub")
    monkeypatch.setattr(pytest.importorskip("huggingface_hub.constants"), "HF_HUB_OFFLINE", True)
    runs, table = trained
    folder = runs["logistic_regression"][1]
    repo, commit = tmp_path / "models--physicist--top-baseline", "a" * 40
    snapshot = repo / "snapshots" / commit
    for sub in ("refs", "blobs", snapshot):
        (repo / sub).mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    for file in folder.iterdir():
        blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, blob)
        (snapshot / file.name).symlink_to(os.path.relpath(blob, snapshot))
    found = huggingface_hub.snapshot_download(
        "physicist/top-baseline", cache_dir=tmp_path, local_files_only=True
    )
    assert Path(found) == snapshot
    got = hepdl.from_pretrained(found).predict(table)
    want = from_pretrained(folder).predict(table)
    for column in want:
        np.testing.assert_array_equal(got[column], want[column])


# ----------------------------------------------------------------------------- the CLI
def test_save_pretrained_command(trained, tmp_path):
    runs, _ = trained
    run = runs["regression"][0]
    out = tmp_path / "model"
    result = CliRunner().invoke(app, ["save-pretrained", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split(" (")[0] for line in lines[:3]] == [
        f"wrote {out / name}" for name in ("config.json", "model.safetensors", "README.md")
    ]
    assert lines[3] == f"load it with: hepdl.from_pretrained({str(out)!r})"
    assert from_pretrained(out).output_names() == ["gen_pt", "valid"]
    again = CliRunner().invoke(app, ["save-pretrained", str(run), "--out", str(out)])
    assert again.exit_code == 2
    assert again.output.strip() == f"error: {out}: exists already; pass --overwrite to replace it"


def test_from_pretrained_is_a_light_top_level_name():
    code = (
        "import sys, hepdl; assert 'torch' not in sys.modules; "
        "assert 'from_pretrained' in dir(hepdl); "
        "from hepdl.deploy.pretrained import from_pretrained; "
        "assert hepdl.from_pretrained is from_pretrained"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
