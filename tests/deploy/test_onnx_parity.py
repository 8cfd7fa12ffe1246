"""ONNX Runtime against hepdl's own prediction path, per registered model.

Each run directory (the networks' weights moved by a few optimiser steps from their
initial ones, the baselines fitted) is exported with ``hepdl export``; the .onnx file then
gets inputs at a batch size and particle count other than the traced ones (4 jets, the
saved P = 16): random arrays of the representation's shapes, toy jets through the run's
real representation (padded, some truncated) and the toy file's first rows read as
``hepdl evaluate`` reads them (``file_inputs``). The reference is what ``hepdl evaluate``
computes: the Standardizer, ``predict_probabilities`` (for the recurrent networks the
packed-sequence forward they were trained with) or ``classical_outputs``.
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
REGRESS = {"kind": "regress", "targets": ["gen_pt"], "ratio_to": "jet_pt"}
BIDIRECTIONAL = {"hidden_size": 8, "num_layers": 2, "bidirectional": True, "hidden": [8]}

# case -> (model with its options, representation, standardize)
EXPORTED = {
    "mlp": ({"name": "mlp", "hidden": [16, 16]}, FLAT, True),
    "lenet": ({"name": "lenet", "in_channels": 1, "image_size": 16}, IMAGE, False),
    "vgg": ({"name": "vgg", "image_size": 16, "blocks": [[4], [8]], "hidden": [8]}, IMAGE, False),
    "resnet": (
        {"name": "resnet", "image_size": 16, "widths": [4, 8], "blocks_per_stage": 1},
        IMAGE,
        False,
    ),
    "jet_cnn": (
        {
            "name": "jet_cnn",
            "image_size": 16,
            "filters": [4, 4],
            "kernel_sizes": [3, 3],
            "pool_sizes": [2, 2],
        },
        IMAGE,
        False,
    ),
    "pfn": ({"name": "pfn", "phi_sizes": [8, 8], "f_sizes": [8]}, POINTS, False),
    "efn": ({"name": "efn", "phi_sizes": [8, 8], "f_sizes": [8]}, POINTS, False),
    "particlenet": (
        {"name": "particlenet", "k": 4, "edge_convs": [[8, 8], [8, 8]], "fc_sizes": [8]},
        POINTS,
        False,
    ),
    "part": ({"name": "part", **PART, "num_cls_layers": 1}, {**POINTS, "pairwise": True}, False),
    "rnn": ({"name": "rnn", "hidden_size": 8, "hidden": [8]}, SEQUENCE, False),
    "lstm": ({"name": "lstm", "hidden_size": 8, "hidden": [8]}, SEQUENCE, False),
    "gru": ({"name": "gru", "hidden_size": 8, "hidden": [8]}, SEQUENCE, False),
    "rnn-bidirectional-2-layers": ({"name": "rnn", **BIDIRECTIONAL}, SEQUENCE, False),
    "lstm-bidirectional-2-layers": ({"name": "lstm", **BIDIRECTIONAL}, SEQUENCE, False),
    "gru-bidirectional-2-layers": ({"name": "gru", **BIDIRECTIONAL}, SEQUENCE, False),
}
# case -> (model with its options, representation, standardize, task)
CLASSICAL = {
    "logistic_regression": ({"name": "logistic_regression"}, FLAT, True, None),
    "random_forest": ({"name": "random_forest", "n_estimators": 5}, FLAT, True, None),
    "svm": ({"name": "svm"}, FLAT, True, None),
    "bdt": ({"name": "bdt", "max_iter": 10, "early_stopping": False}, FLAT, True, None),
    "bdt-regress": ({"name": "bdt", "max_iter": 10}, FLAT, True, REGRESS),
    "least_squares": ({"name": "least_squares"}, FLAT, True, REGRESS),
}
# model -> (options, representation, task, the words its one error must hold)
REFUSED = {
    "recursive": (
        {"hidden_size": 8},
        {"name": "tree"},
        None,
        "model 'recursive': layer <root> (RecursiveTagger) cannot be exported to ONNX: "
        "Converting a tensor to a Python list at hepdl/models/recursive.py:",
        "freeze this value, which depends on the input (the loop over the batch's tree "
        "levels: one merge per level, as many as the tallest clustering tree has, which a "
        "traced graph, a fixed sequence of ops without loops, cannot repeat a variable number "
        "of times), so the graph would be wrong for other inputs. This model has no ONNX "
        "export; run it with hepdl evaluate / hepdl predict in PyTorch, or export a network "
        "of a per-particle representation instead (lstm, gru or rnn on sequence; pfn, "
        "particlenet or part on point_cloud)",
    ),
    "binned_calibration": (
        {"columns": ["jet_pt", "f1"], "bins": [4, 2]},
        {"name": "columns", "columns": ["jet_pt", "f1"]},
        REGRESS,
        "model 'binned_calibration': estimator hepdl.models.binned_calibration."
        "BinnedCalibration cannot be converted by skl2onnx at opset 17 (Unable to find a "
        "shape calculator for type",
    ),
}


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_jet_file(tmp_path_factory.mktemp("jets") / "jets.parquet")


@pytest.fixture(scope="module")
def many_jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Enough rows for the baselines' trees to split (the BDT's leaves hold 20 rows)."""
    return write_jet_file(tmp_path_factory.mktemp("many") / "jets.parquet", n_jets=600)


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


def _trained(run_dir: Path, jets: str, *, steps: int = 3) -> None:
    """A few Adam steps (training mode: dropout, BatchNorm statistics) of the run's network
    on the toy file's first jets, saved back as ``hepdl train`` saves: the parity then
    holds for weights away from their initial values."""
    import torch

    from hepdl.models.inputs import forward, group_tree, model_inputs
    from hepdl.train.artifacts import load_trained, save_trained

    config, model, prep = load_trained(run_dir)
    arrays = examples.file_inputs(config, prep, jets, 32)
    inputs = {k: torch.as_tensor(v) for k, v in model_inputs(model, arrays).items()}
    labels = torch.as_tensor(np.arange(32) % 2, dtype=torch.float32)[:, None]  # (32, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        logits = forward(model, group_tree(inputs))  # (32, 1)
        torch.nn.functional.binary_cross_entropy_with_logits(logits, labels).backward()
        optimiser.step()
    model.eval()
    moved = [k for k, v in model.state_dict().items() if not torch.equal(v, before[k])]
    assert moved, "the optimiser steps changed no weight"
    save_trained(run_dir, model, prep)


def _max_differences(run_dir: Path, onnx_file: Path, jets: str) -> dict[str, float]:
    """max |ONNX - hepdl| on random inputs, on toy jets through the representation (9 jets
    at 19 / 24 particles; traced: 4 jets, 16) and on the toy file's first 9 rows."""
    from hepdl.train.artifacts import load_trained
    from hepdl.train.classical import is_classical_run, load_classical

    config, _, prep = (load_classical if is_classical_run(run_dir) else load_trained)(run_dir)
    session = onnx_session(str(onnx_file))
    checks = {"random": examples.random_inputs(prep, 9, particles=19, seed=11)}
    if examples.is_flat(prep):  # a flat table: rows of other scale than the random ones
        toy = examples.random_inputs(prep, 9, seed=12)
        checks["toy"] = {"features": toy["features"] * 3.0 + 1.0}
    else:
        checks["toy"] = examples.jet_inputs(prep, 9, particles=24, seed=12)
    checks["file"] = examples.file_inputs(config, prep, jets, 9)
    for arrays in checks.values():
        if "mask" in arrays:
            assert (~arrays["mask"]).any() and arrays["mask"].any(axis=1).all()  # padded jets
    differences = {}
    for where, arrays in checks.items():
        expected = _reference(run_dir, arrays)  # (9, K)
        assert np.ptp(expected, axis=0).max() > 1e-4, where  # the outputs depend on the jet
        differences[where] = float(np.max(np.abs(run_session(session, arrays) - expected)))
    return differences


@pytest.mark.parametrize("case", sorted({**EXPORTED, **CLASSICAL}))
def test_export_matches_pytorch_on_random_and_real_inputs(
    tmp_path: Path, jets: str, many_jets: str, case: str, one_thread: None
) -> None:
    model, representation, standardize, *task = {**EXPORTED, **CLASSICAL}[case]
    jets = jets if case in EXPORTED else many_jets
    run_dir = make_run(
        tmp_path,
        jets,
        model=model,
        representation=representation,
        standardize=standardize,
        task=task[0] if task else None,
    )
    if case in EXPORTED:
        _trained(run_dir, jets)
    out = tmp_path / f"{case}.onnx"
    result = runner.invoke(app, ["export", str(run_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "opset: 17" in result.output and f"wrote {out}" in result.output
    differences = _max_differences(run_dir, out, jets)
    print(f"parity {case}: " + ", ".join(f"{k} {v:.2g}" for k, v in differences.items()))
    assert max(differences.values()) < TOLERANCE, differences


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_model_that_cannot_be_exported_names_its_layer_or_op(
    tmp_path: Path, jets: str, name: str
) -> None:
    options, representation, task, *words = REFUSED[name]
    run_dir = make_run(
        tmp_path, jets, model={"name": name, **options}, representation=representation, task=task
    )
    result = runner.invoke(app, ["export", str(run_dir)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert all(w in result.output for w in words), result.output
    assert "Traceback" not in result.output
    left = [p.name for p in run_dir.iterdir() if p.suffix in (".onnx", ".tmp")]
    assert left == []  # nothing written, not even a temporary file


def _jets(lengths: list[int], width: int, *, seed: int) -> tuple:
    """features (B, width, 3) with garbage in the padding, and the mask (B, width)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(len(lengths), width, 3, generator=generator)
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]  # (B, P)
    return torch.where(mask[..., None], x, 100 * torch.randn(x.shape, generator=generator)), mask


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_padded_export_path_computes_the_packed_embedding(
    name: str, layers: int, bidirectional: bool, one_thread: None
) -> None:
    """The recurrent networks' export path (padded sequence, states gathered at each jet's
    last particle, the backward direction on each jet reversed by its own length) against
    the packed forward they train and evaluate with, on jets of lengths 7, 1, 3, 0 (empty:
    one step of zeros) and 5 padded to 7 with garbage."""
    import torch

    from hepdl.models import create_model

    torch.manual_seed(3)
    net = create_model(
        name,
        in_features=3,
        hidden_size=6,
        num_layers=layers,
        bidirectional=bidirectional,
        hidden=[4],
    ).eval()
    with torch.no_grad():  # running statistics other than the identity's
        net.input_norm.running_mean.normal_()
        net.input_norm.running_var.uniform_(0.5, 2.0)
    x, mask = _jets([7, 1, 3, 0, 5], 7, seed=4)
    with torch.no_grad():
        standardised = net._standardise(x, mask)  # (B, P, F)
        packed = net._packed_embedding(standardised, mask)  # (B, D * H)
        padded = net.padded_embedding(standardised, mask)
        alone = torch.cat(  # each jet alone, unpadded (the empty one: one slot)
            [
                net._packed_embedding(standardised[i : i + 1, :width], mask[i : i + 1, :width])
                for i, width in enumerate([7, 1, 3, 1, 5])
            ]
        )
        logits = net(x, mask)
    assert padded.shape == (5, 6 * (2 if bidirectional else 1))
    assert float((padded - packed).abs().max()) <= 1e-6
    assert float((packed - alone).abs().max()) <= 1e-6
    # Outside tracing, forward is the packed path, unchanged (bit for bit).
    assert torch.equal(logits, net.forward_head(net.head.forward_features(packed)))
