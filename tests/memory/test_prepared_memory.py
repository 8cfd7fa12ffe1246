"""The in-memory data path holds the features once: ``prepare_data`` standardises float32
features in place (hepdl.train.prepared), with the numbers of ``Standardizer.transform``,
row keys of the rows as read, and a sample reused after it is refused rather than scaled
twice. An ensemble, a scan and a baseline trained so give the bytes the copying path gave.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from tests.conftest import write_feature_file
from tests.memory.training_memory import traced_prepare, write_config, write_wide_file

from hepdl.config import load_config
from hepdl.data.scaling import Standardizer
from hepdl.errors import DataError
from hepdl.train import prepared
from hepdl.train.inputs import load_sample
from hepdl.train.prepared import prepare_data
from hepdl.train.row_identity import ROW_KEYS_FILE, row_keys, sample_row_keys


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The config of a one-epoch MLP on 3000 rows x 28 float32 columns, standardised."""
    folder = tmp_path_factory.mktemp("wide")
    names = write_wide_file(folder / "wide.parquet", rows=3000, features=28, seed=3)
    return write_config(folder, folder / "wide.parquet", names)


def _raw(config):
    """A fresh read of the config's sample: the rows as they are in the file."""
    return load_sample(config.data)


def test_features_are_standardised_in_place_with_the_numbers_of_transform(wide) -> None:
    config = load_config(wide)
    data = prepare_data(config)
    raw = _raw(config).inputs["features"]  # (N, 28) float32
    naive = Standardizer().fit(raw[data.train_idx], feature_names=data.sample.feature_names)
    expected = naive.transform(raw)  # (N, 28) float32, a new array
    features = data.inputs["features"]
    assert features.dtype == np.float32 and features.shape == (3000, 28)
    assert features.tobytes() == expected.tobytes()  # bit for bit
    np.testing.assert_array_equal(data.scaler.mean, naive.mean)
    np.testing.assert_array_equal(data.scaler.std, naive.std)
    # one array: the sample's features are the standardised ones, no raw copy is kept
    assert features is data.sample.inputs["features"] is data.sample.features
    assert not np.shares_memory(features, raw)


def test_row_keys_are_those_of_the_rows_as_read(wide) -> None:
    config = load_config(wide)
    data = prepare_data(config)
    raw = _raw(config)
    expected = row_keys(raw.inputs, len(raw.labels))  # (N,) uint64
    assert len(np.unique(expected)) == 3000
    np.testing.assert_array_equal(sample_row_keys(data.sample), expected)
    # hashing the (now standardised) arrays again would give other keys
    assert not np.array_equal(row_keys(data.sample.inputs, 3000), expected)


def test_a_sample_reused_after_standardisation_is_refused(wide, monkeypatch) -> None:
    config = load_config(wide)
    first = prepare_data(config)
    reused = first.sample
    before = reused.inputs["features"].copy()
    monkeypatch.setattr("hepdl.train.inputs.load_sample", lambda *a, **k: reused)
    with pytest.raises(RuntimeError, match="was standardised in place by an earlier prepare_data"):
        prepare_data(config)
    np.testing.assert_array_equal(reused.inputs["features"], before)  # not scaled twice
    raw_data = config.data.model_copy(update={"standardize": False})
    unscaled = config.model_copy(update={"data": raw_data})
    with pytest.raises(RuntimeError, match="no longer the rows as read"):
        prepare_data(unscaled)  # nor trained on as if raw


def test_prepared_data_holds_the_features_once(wide) -> None:
    # NumPy allocations traced in a fresh interpreter: features 20000 x 28 float32 (2.1 MiB)
    # plus labels, keys and split indices (8 bytes a row each, 0.15 MiB); the copying path
    # held 2.1 x the features (a raw and a standardised copy)
    folder = wide.parent / "traced"
    folder.mkdir()
    names = write_wide_file(folder / "wide.parquet", rows=20_000, features=28)
    held, _ = traced_prepare(write_config(folder, folder / "wide.parquet", names))
    features_mib = 20_000 * 28 * 4 / 2**20
    assert features_mib < held < 1.4 * features_mib


def test_transform_in_place_gives_transform_s_numbers_in_the_same_array() -> None:
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(40_000, 3)) * [1.0, 1e3, 1e-3] + [5.0, -2.0, 0.0]).astype(np.float32)
    scaler = Standardizer().fit(x[:30_000], feature_names=["a", "b", "c"])
    expected = scaler.transform(x)
    naive = ((x.astype(np.float64) - scaler.mean) / scaler.std).astype(np.float32)
    np.testing.assert_array_equal(expected, naive)
    out = scaler.transform_in_place(x)  # 40000 rows: more than one block
    assert out is x
    assert x.tobytes() == expected.tobytes()


@pytest.mark.parametrize(
    ("array", "found"),
    [
        (np.zeros((4, 2), np.float64), "a float64 array"),
        (np.zeros((4, 2), np.int64), "a int64 array"),
        (np.broadcast_to(np.zeros(2, np.float32), (4, 2)), "a read-only float32 array"),
    ],
)
def test_transform_in_place_refuses_what_it_cannot_overwrite(array, found) -> None:
    scaler = Standardizer().fit(np.eye(2) + 1, feature_names=["a", "b"])
    message = f"input to transform_in_place: {found}; expected a writeable float32 array"
    with pytest.raises(DataError, match=f"^{message}"):
        scaler.transform_in_place(array)


def _copying(sample, scaler):
    """The path before in-place scaling: a new standardised array beside the raw one."""
    return scaler.transform(sample.inputs["features"]).astype(np.float32, copy=False)


def _ensemble_files(config_path: Path, out: Path) -> dict[str, bytes]:
    from hepdl.train.ensemble import train_ensemble

    train_ensemble(load_config(config_path), n_seeds=2, out_dir=out)
    files = {}
    for member in ("seed-5", "seed-6"):
        run = out / member
        for name in ("model.safetensors", ROW_KEYS_FILE, "preprocessing.json", "history.json"):
            files[f"{member}/{name}"] = (run / name).read_bytes()
        metrics = json.loads((run / "metrics.json").read_text())
        files[f"{member}/auc"] = repr(metrics["auc"]).encode()
    return files


def _toy(folder: Path, model: dict) -> Path:
    jets = write_feature_file(folder / "jets.parquet", n=600, seed=2)
    raw = {
        "name": "toy",
        "seed": 5,
        "data": {
            "files": [jets],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
        },
        "model": model,
        "trainer": {"max_epochs": 2, "progress_bar": False, "output_dir": str(folder)},
        "evaluate": {"plots": False},
    }
    path = folder / "toy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_an_ensemble_on_one_sample_gives_the_copying_path_s_bytes(
    tmp_path, monkeypatch, one_thread
) -> None:
    config = _toy(tmp_path, {"name": "mlp", "hidden": [8]})
    in_place = _ensemble_files(config, tmp_path / "in_place")
    with monkeypatch.context() as patch:
        patch.setattr(prepared, "_standardized", _copying)
        copied = _ensemble_files(config, tmp_path / "copied")
    assert in_place.keys() == copied.keys()
    for name, content in in_place.items():
        assert content == copied[name], name
    # and the keys are those of the file's rows: every member trained on the same rows
    raw = _raw(load_config(config))
    keys = row_keys(raw.inputs, len(raw.labels))
    with np.load(tmp_path / "in_place" / "seed-5" / ROW_KEYS_FILE) as saved:
        assert sorted(saved) == ["test", "train", "val"]
        every = np.sort(np.concatenate([saved[part] for part in ("train", "val", "test")]))
    np.testing.assert_array_equal(every, np.sort(keys))


def test_a_scan_over_two_seeds_keeps_the_keys_of_the_rows_as_read(tmp_path) -> None:
    from hepdl.train.scan import GridAxis, ScanRequest, run_scan

    config = _toy(tmp_path, {"name": "mlp", "hidden": [8]})
    grid = [GridAxis("task.lr", [0.003])]
    result = run_scan(ScanRequest(config_path=config, grid=grid, seeds=2, out=tmp_path / "scan"))
    runs = sorted(p.parent for p in result.out.rglob(ROW_KEYS_FILE))
    assert len(runs) == 2
    raw = _raw(load_config(config))
    keys = np.sort(row_keys(raw.inputs, len(raw.labels)))
    for run in runs:
        with np.load(run / ROW_KEYS_FILE) as saved:
            every = np.sort(np.concatenate([saved[p] for p in ("train", "val", "test")]))
        np.testing.assert_array_equal(every, keys)


def test_a_baseline_keeps_the_keys_of_the_rows_as_read(tmp_path) -> None:
    # hepdl.train.classical writes row_keys.npz from the sample prepare_data standardised
    from hepdl.train.run import train_experiment

    config = _toy(tmp_path, {"name": "bdt", "max_iter": 5})
    run = train_experiment(load_config(config)).run_dir
    raw = _raw(load_config(config))
    keys = row_keys(raw.inputs, len(raw.labels))
    with np.load(run / ROW_KEYS_FILE) as saved:
        every = np.sort(np.concatenate([saved[p] for p in ("train", "val", "test")]))
    np.testing.assert_array_equal(every, np.sort(keys))
