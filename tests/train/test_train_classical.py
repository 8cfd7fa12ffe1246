"""Classical baselines (logistic regression, SVM, random forest, BDT) through the neural
data path: same split, same standardisation, same metrics; saved with skops, not pickle."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score
from tests.conftest import write_feature_file

from hepdl.config import ExperimentConfig
from hepdl.data.splits import split_indices
from hepdl.errors import ConfigError, DataError
from hepdl.models.classical import create_classical, is_classical, list_classical_models
from hepdl.train._timing import without_timings
from hepdl.train.classical import (
    MODEL_FILE,
    classical_scores,
    is_classical_run,
    load_classical,
    train_classical,
)

BASELINES = ["logistic_regression", "svm", "random_forest", "bdt"]
COLUMNS = ["f1", "f2", "noise"]


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_feature_file(tmp_path_factory.mktemp("classical") / "jets.parquet")


def _config(out: Path, jets: str, model: dict[str, Any], **top: Any) -> ExperimentConfig:
    # Validated without config_from_dict: its model-option check knows only neural models.
    raw = {
        "name": "toy",
        "seed": 7,
        "data": {"files": [jets], "representation": {"name": "columns", "columns": COLUMNS}},
        "model": model,
        "trainer": {"progress_bar": False, "output_dir": str(out)},
        "evaluate": {"plots": False},
        **top,
    }
    return ExperimentConfig.model_validate(raw)


def _raw_splits(jets: str) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Features (N, F), labels (N,) and the stratified (train, val, test) split by hand."""
    table = pq.read_table(jets).to_pandas()
    x, y = table[COLUMNS].to_numpy(), table["label"].to_numpy()
    return x, y, split_indices(len(y), fractions=(0.6, 0.2, 0.2), seed=0, stratify=y)


def _standardized_splits(jets: str) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """As ``_raw_splits`` with x' = (x - mean) / std, mean and population std of train rows."""
    x, y, idx = _raw_splits(jets)
    mean, std = x[idx[0]].mean(axis=0), x[idx[0]].std(axis=0)
    return ((x - mean) / std).astype(np.float32), y, idx


def test_registry_names():
    assert list_classical_models() == sorted([*BASELINES, "binned_calibration", "least_squares"])
    assert all(is_classical(name) for name in BASELINES)
    assert not is_classical("mlp")


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_separates_toy_and_reloads_identically(tmp_path, jets, name):
    config = _config(tmp_path, jets, {"name": name}, evaluate={"plots": True})
    result = train_classical(config, run_dir=tmp_path / "run")
    run = result.run_dir
    for file in ("config.yaml", "preprocessing.json", MODEL_FILE, "metrics.json", "history.json"):
        assert (run / file).is_file(), file
    for plot in ("roc.png", "scores.png", "history.png"):
        assert (run / plot).is_file(), plot
    assert not (run / "model.safetensors").exists() and is_classical_run(run)
    metrics = json.loads((run / "metrics.json").read_text())
    # Two unit Gaussians shifted by 2 sigma each: the optimal AUC is Phi(2) = 0.977.
    assert metrics["auc"] > 0.9
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (360, 120, 120)

    x, y, (train, _, test) = _standardized_splits(jets)
    loaded_config, estimator, prep = load_classical(run)
    assert loaded_config.model.name == name and prep.signal_class == 1
    raw, _, (raw_train, _, _) = _raw_splits(jets)
    np.testing.assert_allclose(prep.standardizer["mean"], raw[raw_train].mean(axis=0), rtol=1e-6)
    reloaded = classical_scores(estimator, x[test], signal_class=1)
    assert roc_auc_score(y[test] == 1, reloaded) == pytest.approx(metrics["auc"], abs=1e-12)
    # A fresh estimator with the experiment seed, fitted on the hand-made training rows,
    # gives the very same scores: same split, same scaling, same random_state (the BDT with
    # the number of trees its validation loss chose).
    kept = {"max_iter": metrics["stages_kept"]} if name == "bdt" else {}
    fresh = create_classical(name, seed=7, **kept).fit(x[train], y[train])
    np.testing.assert_allclose(reloaded, fresh.predict_proba(x[test])[:, 1], rtol=1e-6, atol=1e-7)


def test_bdt_history_has_one_point_per_boosting_stage(tmp_path, jets):
    config = _config(tmp_path, jets, {"name": "bdt", "max_iter": 15, "learning_rate": 0.2})
    result = train_classical(config, run_dir=tmp_path / "run")
    assert sorted(result.history) == ["train_accuracy", "train_loss", "val_accuracy", "val_loss"]
    assert all(len(values) == 15 for values in result.history.values())
    # Boosting lowers the training loss stage by stage.
    assert result.history["train_loss"][-1] < result.history["train_loss"][0]
    assert result.metrics["epochs"] == 15
    kept = result.metrics["stages_kept"]  # the trees kept: the lowest validation loss
    assert result.metrics["best_epoch_score"] == min(result.history["val_loss"])
    assert result.metrics["best_epoch_score"] == result.history["val_loss"][kept - 1]


def test_history_is_the_log_loss_and_accuracy_of_the_fit(tmp_path, jets):
    result = train_classical(
        _config(tmp_path, jets, {"name": "logistic_regression"}), run_dir=tmp_path / "run"
    )
    x, y, (_, val, _) = _standardized_splits(jets)
    _, estimator, _ = load_classical(result.run_dir)
    p = estimator.predict_proba(x[val])[:, 1]
    pairs = zip(p, y[val], strict=True)
    naive = -np.mean([np.log(pi) if yi == 1 else np.log(1 - pi) for pi, yi in pairs])
    assert result.history["val_loss"] == [pytest.approx(naive, rel=1e-6)]
    assert result.history["val_accuracy"] == [pytest.approx(np.mean((p > 0.5) == y[val]))]


def test_metrics_have_the_keys_of_the_neural_path(tmp_path, jets):
    from hepdl.train.run import train_experiment

    neural = train_experiment(
        _config(
            tmp_path / "nn",
            jets,
            {"name": "mlp", "hidden": [4]},
            trainer={"max_epochs": 1, "progress_bar": False, "output_dir": str(tmp_path)},
        ),
        run_dir=tmp_path / "nn",
    )
    classical = train_classical(_config(tmp_path, jets, {"name": "bdt", "max_iter": 5}))
    # The same keys in the same order, but a fit's seconds in place of seconds per epoch,
    # and what the BDT's validation-loss early stopping kept.
    shared = [key for key in neural.metrics if key != "train_seconds_per_epoch"]
    assert [key for key in classical.metrics if key in neural.metrics] == shared
    extra = {"fit_seconds", "early_stopping", "stages_kept"}
    assert set(classical.metrics) - set(neural.metrics) == extra


def test_same_seed_same_metrics_other_seed_other_forest(tmp_path, jets):
    model = {"name": "random_forest", "n_estimators": 20}
    runs = [
        train_classical(_config(tmp_path, jets, model, seed=seed), run_dir=tmp_path / str(i))
        for i, seed in enumerate((7, 7, 8))
    ]
    metrics = [without_timings(json.loads((r.run_dir / "metrics.json").read_text())) for r in runs]
    assert metrics[0] == metrics[1]  # wall-clock timings aside, the same file
    x, _, (_, _, test) = _standardized_splits(jets)
    scores = [classical_scores(load_classical(r.run_dir)[1], x[test], signal_class=1) for r in runs]
    np.testing.assert_array_equal(scores[0], scores[1])
    assert not np.array_equal(scores[0], scores[2])


def test_bad_option_names_the_option(tmp_path, jets):
    config = _config(tmp_path, jets, {"name": "random_forest", "n_estimator": 10})
    message = (
        "model.n_estimator: classical model 'random_forest' has no option 'n_estimator' "
        "(did you mean 'n_estimators'?); valid options: n_estimators, max_depth, "
        "min_samples_leaf, random_state"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        train_classical(config, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_random_state_comes_from_the_seed(tmp_path, jets):
    config = _config(tmp_path, jets, {"name": "bdt", "random_state": 3})
    message = "model.random_state is set from the experiment seed; remove it from the config"
    with pytest.raises(ConfigError, match=re.escape(message)):
        train_classical(config)


def test_unknown_baseline_lists_the_valid_ones(tmp_path, jets):
    message = (
        "unknown classical model 'bdtt' (did you mean 'bdt'?); valid classical models: "
        "bdt, binned_calibration, least_squares, logistic_regression, random_forest, svm"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        train_classical(_config(tmp_path, jets, {"name": "bdtt"}))


def test_load_refuses_types_the_baseline_does_not_hold(tmp_path, jets):
    import skops.io as sio

    run = train_classical(
        _config(tmp_path, jets, {"name": "bdt", "max_iter": 3}), run_dir=tmp_path / "run"
    ).run_dir
    x, y, (train, _, _) = _standardized_splits(jets)
    # A forest's sklearn.tree._tree.Tree is not among the types a BDT file may hold.
    sio.dump(create_classical("random_forest", seed=0).fit(x[train], y[train]), run / MODEL_FILE)
    with pytest.raises(DataError, match=r"model\.skops: refusing to load: .*sklearn\.tree\._tree"):
        load_classical(run)


def test_load_names_the_missing_file(tmp_path):
    with pytest.raises(
        ConfigError, match=re.escape(f"{tmp_path}: not a finished hepdl classical run")
    ):
        load_classical(tmp_path)
