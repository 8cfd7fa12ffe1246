"""ONNX Runtime against hepdl's own prediction path, per registered model.

Each run directory is exported with ``hepdl export``; the .onnx file then gets inputs at a
batch size and particle count other than the traced ones (4 jets, the saved P = 16):
random arrays of the representation's shapes, and toy jets through the run's real
representation (padded, some truncated). The reference is what ``hepdl evaluate``
computes: the Standardizer, ``predict_probabilities`` (or ``classical_outputs``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.deploy.runs import make_run, write_jet_file
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.deploy import example_inputs as examples
from hepdl.deploy.onnx_export import onnx_session, run_session

runner = CliRunner()
TOLERANCE = 1e-5
POINTS = {"name": "point_cloud", "max_particles": 16}
SEQUENCE = {"name": "sequence", "max_particles": 16}
IMAGE = {"name": "image", "pixels": 16}
FLAT = {"name": "columns", "columns": ["f1", "f2"]}
PART = {"embed_dims": [16], "pair_embed_dims": [8], "num_heads": 2, "num_layers": 1}

# model -> (model options, representation, standardize)
EXPORTED = {
    "mlp": ({"hidden": [16, 16]}, FLAT, True),
    "lenet": ({"in_channels": 1, "image_size": 16}, IMAGE, False),
    "vgg": ({"image_size": 16, "blocks": [[4], [8]], "hidden": [8]}, IMAGE, False),
    "resnet": ({"image_size": 16, "widths": [4, 8], "blocks_per_stage": 1}, IMAGE, False),
    "jet_cnn": (
        {"image_size": 16, "filters": [4, 4], "kernel_sizes": [3, 3], "pool_sizes": [2, 2]},
        IMAGE,
        False,
    ),
    "pfn": ({"phi_sizes": [8, 8], "f_sizes": [8]}, POINTS, False),
    "efn": ({"phi_sizes": [8, 8], "f_sizes": [8]}, POINTS, False),
    "particlenet": ({"k": 4, "edge_convs": [[8, 8], [8, 8]], "fc_sizes": [8]}, POINTS, False),
    "part": ({**PART, "num_cls_layers": 1}, {**POINTS, "pairwise": True}, False),
}
CLASSICAL = {
    "logistic_regression": ({}, FLAT, True),
    "random_forest": ({"n_estimators": 5}, FLAT, True),
    "svm": ({}, FLAT, True),
}
# model -> (options, representation, the words its one error must hold)
REFUSED = {
    "recursive": (
        {"hidden_size": 8},
        {"name": "tree"},
        "model 'recursive': layer <root> (RecursiveTagger) cannot be exported to ONNX: "
        "Converting a tensor to a Python list at hepdl/models/recursive.py",
    ),
    "lstm": ({"hidden_size": 8}, SEQUENCE, "model 'lstm': the ONNX exporter failed at opset 17"),
    "gru": (
        {"hidden_size": 8},
        SEQUENCE,
        "model 'gru': layer recurrent (GRU) cannot be exported to ONNX: Converting a tensor "
        "to a Python integer at hepdl/models/recurrent.py",
    ),
    "rnn": (
        {"hidden_size": 8},
        SEQUENCE,
        "model 'rnn': layer recurrent (RNN) cannot be exported to ONNX: Converting a tensor "
        "to a Python integer at hepdl/models/recurrent.py",
    ),
    "bdt": (
        {"max_iter": 5},
        FLAT,
        "model 'bdt': estimator sklearn.ensemble._hist_gradient_boosting.gradient_boosting."
        "HistGradientBoostingClassifier cannot be converted by skl2onnx at opset 17",
    ),
}


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_jet_file(tmp_path_factory.mktemp("jets") / "jets.parquet")


def _reference(run_dir: Path, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """What hepdl evaluate computes on the representation's ``arrays``."""
    from hepdl.data.scaling import Standardizer
    from hepdl.models.inputs import model_inputs
    from hepdl.train.artifacts import load_trained
    from hepdl.train.classical import classical_outputs, is_classical_run, load_classical
    from hepdl.train.predict import predict_probabilities

    classical = is_classical_run(run_dir)
    _, model, prep = load_classical(run_dir) if classical else load_trained(run_dir)
    inputs = dict(arrays)
    if prep.standardizer is not None:
        inputs["features"] = Standardizer.from_dict(prep.standardizer).transform(inputs["features"])
    if classical:
        return classical_outputs(model, inputs["features"])
    return predict_probabilities(model, model_inputs(model, inputs))


def _max_differences(run_dir: Path, onnx_file: Path) -> tuple[float, float]:
    """max |ONNX - hepdl| on random inputs and on toy jets through the representation, at
    9 jets and 19 / 24 particles (traced: 4 jets, 16 particles)."""
    import json

    from hepdl.train.artifacts import Preprocessing

    prep = Preprocessing(**json.loads((run_dir / "preprocessing.json").read_text()))
    session = onnx_session(str(onnx_file))
    random = examples.random_inputs(prep, 9, particles=19, seed=11)
    if examples.is_flat(prep):  # a flat table: real rows are its columns, 9 of them
        real = examples.random_inputs(prep, 9, seed=12)
        real["features"] = real["features"] * 3.0 + 1.0
    else:
        real = examples.jet_inputs(prep, 9, particles=24, seed=12)
        if "mask" in real:
            assert (~real["mask"]).any() and real["mask"].any(axis=1).all()  # padded jets
    return tuple(
        float(np.max(np.abs(run_session(session, arrays) - _reference(run_dir, arrays))))
        for arrays in (random, real)
    )


@pytest.mark.parametrize("name", sorted({**EXPORTED, **CLASSICAL}))
def test_export_matches_pytorch_on_random_and_real_inputs(
    tmp_path: Path, jets: str, name: str, one_thread: None
) -> None:
    options, representation, standardize = {**EXPORTED, **CLASSICAL}[name]
    run_dir = make_run(
        tmp_path,
        jets,
        model={"name": name, **options},
        representation=representation,
        standardize=standardize,
    )
    out = tmp_path / f"{name}.onnx"
    result = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "opset: 17" in result.output and f"wrote {out}" in result.output
    random, real = _max_differences(run_dir, out)
    print(f"parity {name}: random {random:.2g}, real {real:.2g}")
    assert random < TOLERANCE and real < TOLERANCE


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_model_that_cannot_be_exported_names_its_layer_or_op(
    tmp_path: Path, jets: str, name: str
) -> None:
    options, representation, words = REFUSED[name]
    run_dir = make_run(
        tmp_path, jets, model={"name": name, **options}, representation=representation
    )
    result = runner.invoke(app, ["export", str(run_dir)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and words in result.output, result.output
    assert "Traceback" not in result.output
    left = [p.name for p in run_dir.iterdir() if p.suffix in (".onnx", ".tmp")]
    assert left == []  # nothing written, not even a temporary file
