"""A classical baseline honours a given split (the BDT used to split the training file)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from hepdl.config import ExperimentConfig
from hepdl.train.classical import train_classical


def _part(path, n, seed):
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    frame = pd.DataFrame({"x1": rng.normal(label, 1.0), "x2": rng.normal(size=n), "label": label})
    frame.to_parquet(path)
    return frame


def test_bdt_trains_on_the_training_file_and_tests_on_the_test_file(tmp_path):
    sizes = (("train", 300), ("val", 80), ("test", 57))
    parts = {name: _part(tmp_path / f"{name}.parquet", n, s) for s, (name, n) in enumerate(sizes)}
    config = ExperimentConfig.model_validate(
        {
            "seed": 3,
            "data": {
                "files": [str(tmp_path / "train.parquet")],
                "streaming": {
                    "val_files": [str(tmp_path / "val.parquet")],
                    "test_files": [str(tmp_path / "test.parquet")],
                },
                "representation": {"name": "columns", "columns": ["x1", "x2"]},
                "standardize": False,
            },
            "model": {"name": "bdt", "max_iter": 10},
            "trainer": {"output_dir": str(tmp_path / "runs")},
            "evaluate": {"plots": False},
        }
    )
    result = train_classical(config, run_dir=tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert (metrics["n_train"], metrics["n_val"], metrics["n_test"]) == (300, 80, 57)
    assert metrics["test_rows"]["files"] == [str(tmp_path / "test.parquet")]
    assert metrics["test_rows"]["n_rows"] == 57
    # The same fit by scikit-learn on the training file, scored on the test file.
    reference = HistGradientBoostingClassifier(max_iter=10, random_state=3)
    train, test = parts["train"], parts["test"]
    reference.fit(train[["x1", "x2"]], train["label"])
    auc = roc_auc_score(test["label"], reference.predict_proba(test[["x1", "x2"]])[:, 1])
    assert abs(result.metrics["auc"] - auc) < 1e-9
