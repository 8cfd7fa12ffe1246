"""Bad input (issue 5): a model its representation cannot feed, weights of one architecture
loaded into another, and inputs of the wrong width each give one clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.conftest import write_feature_file

from hepdl.config import config_from_dict, save_config
from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.models.inputs import model_inputs
from hepdl.train._compatibility import check_weights, load_weights
from hepdl.train.artifacts import Preprocessing, load_trained, save_trained


def _config(tmp_path: Path, representation: dict, model: dict, files: list[str] | None = None):
    raw = {
        "name": "mismatch",
        "data": {
            "files": files or [str(tmp_path / "never_read.parquet")],
            "representation": representation,
            "standardize": False,
        },
        "model": model,
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(tmp_path)},
        "evaluate": {"plots": False},
    }
    return config_from_dict(raw)


@pytest.mark.parametrize(
    ("representation", "model", "message"),
    [
        (
            {"name": "substructure"},
            {"name": "particlenet"},
            "model 'particlenet' (ParticleNet) needs the input(s) points, features, mask, but "
            "data.representation 'substructure' provides features; choose "
            "data.representation.name graph or point_cloud",
        ),
        (
            {"name": "point_cloud"},
            {"name": "lenet", "in_channels": 1, "image_size": 16},
            "model 'lenet' (LeNet) needs the input(s) image, but data.representation "
            "'point_cloud' provides points, features, mask; choose data.representation.name "
            "calo_cells or image or image_array or pileup_images",
        ),
        (
            {"name": "substructure"},
            {"name": "recursive"},
            "model 'recursive' (RecursiveTagger) needs the input(s) tree, but "
            "data.representation 'substructure' provides features; choose "
            "data.representation.name tree",
        ),
    ],
)
def test_a_model_its_representation_cannot_feed_is_refused_when_the_config_loads(
    tmp_path: Path, representation: dict, model: dict, message: str
) -> None:
    # The data file does not exist: the mismatch is found before anything is read.
    with pytest.raises(ConfigError) as err:
        _config(tmp_path, representation, model)
    assert str(err.value) == f"config: {message}"


def test_train_experiment_refuses_the_mismatch_of_an_unvalidated_config(tmp_path: Path) -> None:
    """A config built without config_from_dict (no registry checks) is still refused by
    train_experiment before any data is read."""
    from hepdl.config import ExperimentConfig
    from hepdl.train.run import train_experiment

    config = ExperimentConfig.model_validate(
        {
            "data": {"files": [str(tmp_path / "never_read.parquet")], "standardize": False},
            "model": {"name": "particlenet"},
        }
    )
    with pytest.raises(ConfigError, match=r"model 'particlenet' .* provides features"):
        train_experiment(config)


def test_matching_pairs_pass_the_check() -> None:
    from hepdl.models.inputs import check_model_fits_representation

    check_model_fits_representation("part", "point_cloud", {"pairwise": False})
    check_model_fits_representation("lstm", "sequence", {})
    check_model_fits_representation("recursive", "tree", {})
    check_model_fits_representation("mlp", "substructure", {})


def _fake_run(tmp_path: Path, *, config_model: dict, weights_of: torch.nn.Module) -> Path:
    """A run directory whose config says ``config_model`` but whose weights are those of
    ``weights_of`` (a run copied over another one's files)."""
    run = tmp_path / "run"
    run.mkdir()
    config = _config(tmp_path, {"name": "point_cloud", "max_particles": 8}, config_model)
    save_config(config, run / "config.yaml")
    from hepdl.data import create_representation

    rep = create_representation("point_cloud", max_particles=8)
    prep = Preprocessing(
        representation=rep.config(),
        feature_names=rep.feature_names,
        class_names=["QCD", "top"],
        signal_class=1,
        standardizer=None,
    )
    save_trained(run, weights_of, prep)
    return run


def test_weights_of_another_architecture_name_both(tmp_path: Path) -> None:
    particlenet = create_model("particlenet", in_features=13, k=4, edge_convs=[[8]], fc_sizes=[8])
    run = _fake_run(
        tmp_path, config_model={"name": "pfn", "phi_sizes": [8]}, weights_of=particlenet
    )
    with pytest.raises(ConfigError) as err:
        load_trained(run)
    message = str(err.value)
    assert message == (
        f"{run / 'model.safetensors'}: holds weights of model 'particlenet', which do not fit "
        "model 'pfn' (ParticleFlowNetwork): missing parameters phi.0.weight, phi.0.bias, "
        "f.0.weight (+7 more); unexpected parameters edge_convs.0.edge_net.0.weight, "
        "edge_convs.0.edge_net.1.bias, edge_convs.0.edge_net.1.num_batches_tracked (+24 more)"
    )


def test_same_architecture_other_sizes_names_the_first_shape(tmp_path: Path) -> None:
    small = create_model("mlp", in_features=3, hidden=[8])
    big = create_model("mlp", in_features=3, hidden=[16])
    with pytest.raises(ConfigError) as err:
        check_weights(
            big, small.state_dict(), model_name="mlp", source="w.safetensors", found_name="mlp"
        )
    assert str(err.value) == (
        "w.safetensors: holds weights of model 'mlp' with other sizes, which do not fit model "
        "'mlp' (MLP): different shapes layers.0.weight (8, 3) (model: (16, 3)), "
        "layers.0.bias (8,) (model: (16,)), layers.2.weight (1, 8) (model: (1, 16))"
    )


def test_a_lightning_checkpoint_of_another_model(tmp_path: Path) -> None:
    particlenet = create_model("particlenet", in_features=13, k=4, edge_convs=[[8]], fc_sizes=[8])
    run = _fake_run(tmp_path, config_model={"name": "particlenet"}, weights_of=particlenet)
    (run / "checkpoints").mkdir()
    ckpt = run / "checkpoints" / "best.ckpt"
    # The layout ClassificationTask checkpoints have: the model's entries under "model.".
    state = {f"model.{k}": v for k, v in particlenet.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 0}, ckpt)
    pfn = create_model("pfn", in_features=13, phi_sizes=[8])
    with pytest.raises(ConfigError, match=r"best\.ckpt: holds weights of model 'particlenet', "):
        load_weights(pfn, ckpt, model_name="pfn")
    fresh = create_model("particlenet", in_features=13, k=4, edge_convs=[[8]], fc_sizes=[8])
    load_weights(fresh, ckpt, model_name="particlenet")  # the right model loads them
    for key, value in particlenet.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value)


def test_a_model_given_the_wrong_width_names_the_input_and_both_widths() -> None:
    model = create_model("mlp", in_features=9, hidden=[4])
    with pytest.raises(DataError) as err:
        model_inputs(model, {"features": np.zeros((5, 7), np.float32)}, source="jets.parquet")
    assert str(err.value) == (
        "jets.parquet: input 'features' has width 7 (shape (5, 7)), but model MLP was built for "
        "width 9 (in_features=9); the data must be prepared as at training (same "
        "representation and features)"
    )
    recursive = create_model("recursive", in_features=6)
    tree = {
        "features": np.zeros((3, 4), np.float32),
        "children": np.array([[-1, -1], [-1, -1], [0, 1]]),
        "level": np.array([0, 0, 1]),
        "roots": np.array([2]),
        "offsets": np.array([0, 3]),
    }
    with pytest.raises(DataError, match=r"^input 'tree.features' has width 4 \(shape \(3, 4\)\)"):
        model_inputs(recursive, tree)


def test_evaluating_a_run_on_data_of_another_width(tmp_path: Path) -> None:
    from hepdl.evaluation import evaluate_run

    data = write_feature_file(tmp_path / "jets.parquet", n=40)
    run = tmp_path / "run"
    run.mkdir()
    config = _config(
        tmp_path,
        {"name": "columns", "columns": ["f1", "f2", "noise"]},
        {"name": "mlp", "hidden": [4]},
        [data],
    )
    save_config(config, run / "config.yaml")
    prep = Preprocessing(
        representation={"name": "columns", "columns": ["f1", "f2"]},  # gives 2 columns
        feature_names=["f1", "f2", "noise"],  # what the model was trained on
        class_names=["qcd", "top"],
        signal_class=1,
        standardizer=None,
    )
    save_trained(run, create_model("mlp", in_features=3, hidden=[4]), prep)
    with pytest.raises(DataError) as err:
        evaluate_run(run, [data])
    assert str(err.value) == (
        f"{data}: gives 2 features ['f1', 'f2'], but run {run} was trained on 3: "
        "['f1', 'f2', 'noise']"
    )
