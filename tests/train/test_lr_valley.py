"""The learning-rate finder's suggestion (fastai's valley rule) and that it trains: on a
standard small tabular sample the suggested rate does at least as well as a tenfold
smaller one."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.config import config_from_dict
from hepdl.train.lr_finder import SUGGESTION_SKIP, lr_find_experiment, valley
from hepdl.train.run import train_experiment


def _naive_longest_descent(losses: list[float]) -> tuple[int, int]:
    """fastai's double loop, written out: (start, end) of the longest descent."""
    n = len(losses)
    lds, max_start, max_end = [1] * n, 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end, max_start = i, i - lds[i]
    return max(max_start, 0), max_end


def test_valley_matches_fastai_and_sits_in_the_descent_before_the_minimum():
    lrs = np.geomspace(1e-6, 1.0, 100)
    x = np.log10(lrs)
    rng = np.random.default_rng(0)
    # Flat and noisy, a long descent from 1e-4 to the minimum at 1e-1, then divergence.
    loss = 0.7 - 0.4 / (1 + np.exp(-2.5 * (x + 2.5))) + np.where(x > -1, 3 * (x + 1) ** 2, 0)
    loss = loss + rng.normal(0, 0.004, 100)
    start, at, end = valley(loss, skip_begin=SUGGESTION_SKIP)
    naive_start, naive_end = _naive_longest_descent(list(loss[SUGGESTION_SKIP:]))
    assert (start, end) == (naive_start + SUGGESTION_SKIP, naive_end + SUGGESTION_SKIP)
    length = end - start
    assert at == start + int(length / 3) + int(length / 6)
    minimum = int(np.argmin(loss))
    assert start < at < end <= minimum + 2
    assert 1e-4 < lrs[at] < 1e-2  # on the steep part, well below the minimum at 0.1


def test_valley_needs_three_points_and_skips_nan():
    assert valley([0.5, 0.4], skip_begin=0) is None
    assert valley([np.nan] * 20 + [0.5, 0.4], skip_begin=0) is None
    start, _, end = valley([0.9, np.nan, 0.8, 0.7, 0.6, 0.65], skip_begin=0)
    assert (start, end) == (0, 4)


@pytest.fixture(scope="module")
def cancer_csv(tmp_path_factory) -> tuple[str, list[str]]:
    """scikit-learn's breast cancer table (569 rows, 30 features) as a user's CSV."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    frame.columns = [c.replace(" ", "_") for c in frame.columns]
    path = tmp_path_factory.mktemp("cancer") / "cancer.csv"
    frame.to_csv(path, index=False)
    return str(path), [c for c in frame.columns if c != "target"]


def _config(csv: str, columns: list[str], out: str, **task):
    return config_from_dict(
        {
            "seed": 0,
            "data": {
                "files": [csv],
                "label_column": "target",
                "signal_class": "1",
                "representation": {"name": "columns", "columns": columns},
                "batch_size": 32,
            },
            "model": {"name": "mlp", "hidden": [64, 64]},
            "task": {"optimizer": "adam", **task},
            "trainer": {
                "max_epochs": 4,
                "early_stopping": None,
                "progress_bar": False,
                "output_dir": out,
                "accelerator": "cpu",
            },
            "evaluate": {"plots": False, "bootstrap": 0},
        }
    )


def test_suggested_rate_trains_at_least_as_well_as_a_tenfold_smaller_one(cancer_csv, tmp_path):
    csv, columns = cancer_csv
    found = lr_find_experiment(_config(csv, columns, str(tmp_path)), out_dir=tmp_path / "lr")
    assert found.suggestion is not None and found.valley is not None
    assert found.valley[0] < found.suggestion < found.valley[1]
    rates = {"suggested": found.suggestion, "tenfold smaller": found.suggestion / 10}
    rates["default"] = 1e-3  # task.lr's default, which trains this table well
    losses = {}
    for name, lr in rates.items():
        config = _config(csv, columns, str(tmp_path), lr=lr)
        result = train_experiment(config, run_dir=tmp_path / name)
        losses[name] = min(result.history["val_loss"])
    assert losses["suggested"] <= losses["tenfold smaller"], (found.suggestion, losses)
    # Lightning's steepest-slope rule suggested 6.9e-6 here, whose loss stays near ln 2.
    assert losses["suggested"] <= 1.25 * losses["default"], (found.suggestion, losses)
