"""`hepdl train` of the generative kinds (gan, vae, flow) on a small CaloGAN shower file,
`hepdl sample` from the runs into shower files every reader takes, an exact GAN resume,
a generator that turns NaN, and bad input as one error line."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from typer.testing import CliRunner

from hepdl.cli import app

runner = CliRunner()
MODELS = {
    "gan": {"name": "calo_gan", "latent": 8, "hidden": [32], "critic_hidden": [32]},
    "vae": {"name": "shower_vae", "latent": 4, "hidden": [32]},
    "flow": {"name": "shower_flow", "transforms": 2, "hidden": [32]},
}


@pytest.fixture(scope="module")
def showers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("calogan") / "eplus.parquet"
    args = "showers e+ --geometry calogan --showers 300 --energy 2:50 --seed 3 --out".split()
    result = runner.invoke(app, [*args, str(path)])
    assert result.exit_code == 0, result.output
    return path


def write_config(folder: Path, showers: Path, kind: str, *, epochs: int = 2, **task) -> Path:
    raw = {
        "name": f"calo_{kind}",
        "seed": 4,
        "data": {
            "files": [str(showers)],
            "representation": {"name": "calo_layers"},
            "split": {"train": 0.6, "val": 0.2, "test": 0.2, "seed": 0},
            "standardize": False,
            "batch_size": 32,
        },
        "model": MODELS[kind],
        "task": {"kind": kind, "critic_steps": 2, **task}
        if kind == "gan"
        else {"kind": kind, **task},
        "trainer": {
            "max_epochs": epochs,
            "progress_bar": False,
            "early_stopping": {"monitor": "val_separation_power", "patience": 5},
            "output_dir": str(folder / "runs"),
        },
    }
    path = folder / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def train(config: Path) -> tuple[Path, dict, str]:
    runs = config.parent / "runs"
    before = set(runs.iterdir()) if runs.exists() else set()
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    [run] = set(runs.iterdir()) - before
    return run, json.loads((run / "metrics.json").read_text()), result.output


@pytest.fixture(scope="module")
def runs(showers: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("generative-runs")
    return {kind: train(write_config(folder, showers, kind))[0] for kind in MODELS}


@pytest.mark.parametrize("kind", list(MODELS))
def test_training_judges_the_generated_test_showers(runs, kind) -> None:
    run = runs[kind]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_test"] == 60
    assert 0 <= metrics["mean_separation_power"] <= 1
    for test in ("classifier_low_level", "classifier_high_level"):
        assert 0 <= metrics[test]["auc"] <= 1 and metrics[test]["auc_error"] > 0
    assert "floor" in metrics  # the same metrics between two simulated samples
    history = json.loads((run / "history.json").read_text())
    assert len(history["val_separation_power"]) == 2
    expected = {
        "gan": {"train_critic_loss", "train_generator_loss", "train_gradient_penalty"},
        "vae": {"train_reconstruction", "train_kl", "val_reconstruction", "val_kl"},
        "flow": set(),
    }[kind]
    assert expected <= set(history)
    predictions = np.load(run / "predictions.npz")
    assert predictions["generated"].shape == (60, 504) and (predictions["generated"] >= 0).all()
    for figure in ("average_showers.png", "shower_features.png", "history.png"):
        assert (run / figure).stat().st_size > 0, figure
    prep = json.loads((run / "preprocessing.json").read_text())
    assert prep["targets"]["layers"] == {"layer_0": [3, 96], "layer_1": [12, 12],
                                         "layer_2": [12, 6]}  # fmt: skip
    lo, hi = prep["targets"]["energy_range"]
    assert 2 <= lo < hi <= 50


@pytest.mark.parametrize("suffix", [".parquet", ".h5"])
def test_sample_writes_showers_the_readers_take(runs, tmp_path, suffix) -> None:
    from hepdl.data import create_representation, read_table

    out = tmp_path / f"gan{suffix}"
    result = runner.invoke(app, ["sample", str(runs["gan"]), "--n", "25", "--condition",
                                 "energy=20", "--out", str(out), "--batch", "10"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 25 showers" in result.output and "warning" not in result.output
    table = read_table(out)
    arrays = create_representation("calo_layers")(table, source=str(out))
    assert arrays["cells"].shape == (25, 504) and (arrays["cells"] >= 0).all()
    np.testing.assert_array_equal(arrays["incident_energy"], np.full((25, 1), 20.0, np.float32))
    again = tmp_path / f"again{suffix}"
    runner.invoke(app, ["sample", str(runs["gan"]), "--n", "25", "--condition", "energy=20",
                        "--out", str(again), "--batch", "10"])  # fmt: skip
    second = create_representation("calo_layers")(read_table(again), source=str(again))
    np.testing.assert_array_equal(second["cells"], arrays["cells"])  # same seed, same showers


def test_sampled_showers_go_through_the_shower_validation(runs, tmp_path) -> None:
    """The file says which geometry and particle it stands in for, as hepdl showers' do:
    validate-showers measures it (its textbook checks may fail on an untrained model)."""
    prep = json.loads((runs["flow"] / "preprocessing.json").read_text())
    assert prep["targets"]["origin"] == {"geometry": "calogan", "particles": ["e+"]}
    out = tmp_path / "flow.parquet"
    args = ["sample", str(runs["flow"]), "--n", "200", "--condition", "energy=2:50"]
    assert runner.invoke(app, [*args, "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["validate-showers", str(out), "--out", str(tmp_path / "v")])
    assert result.exit_code in (0, 1) and "error:" not in result.output, result.output
    assert any((tmp_path / "v").iterdir())


def test_sample_warns_outside_the_training_range_and_draws_a_range(runs, tmp_path) -> None:
    from hepdl.data import read_table

    out = tmp_path / "far.parquet"
    result = runner.invoke(app, ["sample", str(runs["vae"]), "--n", "30", "--condition",
                                 "energy=10:400", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "warning: the condition energy 10-400 GeV lies outside the training range" in (
        " ".join(result.output.split())
    )
    energy = np.asarray(read_table(out)["energy"])
    assert energy.min() >= 10 and energy.max() <= 400 and len(np.unique(energy)) == 30


def test_sample_refuses_bad_input_with_one_line(runs, tmp_path) -> None:
    classify = tmp_path / "classify-run"
    classify.mkdir()
    (classify / "config.yaml").write_text(yaml.safe_dump({"task": {"kind": "classify"}}))
    cases = [
        ([str(classify), "--condition", "energy=5"], "is not a generative model"),
        ([str(runs["gan"]), "--condition", "mass=5"], "expected KEY=VALUE with KEY energy"),
        ([str(runs["gan"]), "--condition", "energy=-3"], "expected 0 < LO <= HI"),
        ([str(runs["gan"]), "--condition", "energy=a:b"], "the energy must be V or LO:HI"),
    ]
    for args, message in cases:
        out = tmp_path / "x.parquet"
        result = runner.invoke(app, ["sample", *args, "--n", "5", "--out", str(out)])
        assert result.exit_code != 0 and message in " ".join(result.output.split()), result.output
        assert "Traceback" not in result.output and not out.exists()


def test_predict_on_a_generative_run_points_to_sample(runs, showers, tmp_path) -> None:
    result = runner.invoke(app, ["predict", str(runs["flow"]), "--data", str(showers),
                                 "--out", str(tmp_path / "p.parquet")])  # fmt: skip
    assert result.exit_code != 0 and "use `hepdl sample" in " ".join(result.output.split())


def test_a_resumed_gan_ends_identical(showers, tmp_path, one_thread) -> None:
    """Rolled back to its epoch-1 checkpoint and resumed: both networks, both optimisers
    and the critic-update count come back, so the weights end bit for bit the same."""
    from hepdl.config import load_config
    from hepdl.train.run import train_experiment

    config = load_config(write_config(tmp_path, showers, "gan", epochs=3, critic_steps=3))
    reference = train_experiment(config).run_dir
    run = tmp_path / "rolled-back"
    shutil.copytree(reference, run)
    (run / "metrics.json").unlink()
    checkpoints = run / "checkpoints"
    os.replace(checkpoints / "last-previous.ckpt", checkpoints / "last.ckpt")
    saved = torch.load(checkpoints / "last.ckpt", weights_only=True)
    assert saved["epoch"] == 1 and saved["hepdl_gan"]["critic_updates"] > 0
    assert len(saved["optimizer_states"]) == 2
    train_experiment(config, resume=run)
    assert (run / "model.safetensors").read_bytes() == (
        reference / "model.safetensors"
    ).read_bytes()
    assert (run / "history.json").read_text() == (reference / "history.json").read_text()


def test_a_generator_that_turns_nan_stops_the_run_and_keeps_the_good_weights(
    showers, tmp_path, monkeypatch
) -> None:
    from hepdl.config import load_config
    from hepdl.models.calo_gan import CaloGAN
    from hepdl.train.run import train_experiment

    calls = {"n": 0}
    original = CaloGAN.generate

    def generate(self, c, noise=None):
        calls["n"] += 1
        u = original(self, c, noise)
        # sound until epoch 2's training: 2 sanity-check validation batches (2 draws
        # each), epoch 1's 6 batches (6 critic + 3 generator draws) and validation (4)
        return u * float("nan") if calls["n"] > 17 else u

    monkeypatch.setattr(CaloGAN, "generate", generate)
    config = load_config(write_config(tmp_path, showers, "gan", epochs=4))
    result = train_experiment(config)
    diverged = result.metrics["diverged"]
    assert diverged["epoch"] == 2 and "is nan" in diverged["reason"]
    assert diverged["reason"].split()[0] in ("train_critic_loss", "train_generator_loss")
    assert len(result.history["train_loss"]) == 2  # stopped there
    best = torch.load(result.run_dir / "checkpoints" / "best.ckpt", weights_only=True)
    assert best["epoch"] == 0
    assert all(torch.isfinite(v).all() for v in best["state_dict"].values())
    calls["n"] = 0  # the same run through the CLI: one line names it
    result_line = runner.invoke(app, ["train", str(tmp_path / "gan.yaml")])
    assert "DIVERGED at epoch 2" in " ".join(result_line.output.split())


def test_compare_sets_gan_vae_and_flow_runs_side_by_side(runs, tmp_path) -> None:
    out = tmp_path / "comparison"
    result = runner.invoke(app, ["compare", *(str(runs[k]) for k in MODELS), "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = (out / "comparison.md").read_text()
    assert "mean sep. power" in table and "AUC low-level" in table
    for model in ("calo_gan", "shower_vae", "shower_flow"):
        assert model in table


def test_evaluate_judges_a_generative_run_on_another_shower_file(runs, showers, tmp_path) -> None:
    result = runner.invoke(app, ["evaluate", str(runs["flow"]), "--data", str(showers),
                                 "--out", str(tmp_path / "ev")])  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert 0 <= metrics["mean_separation_power"] <= 1 and metrics["n_reference"] == 300


def test_export_refuses_a_generative_run_with_one_line(runs, tmp_path) -> None:
    result = runner.invoke(app, ["export", str(runs["gan"]), "--out", str(tmp_path / "g.onnx")])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "does not export samplers" in " ".join(result.output.split())
    assert not (tmp_path / "g.onnx").exists()
