"""The recursive network trained end to end on clustering trees: row selection of trees,
batches of whole trees, training, test metrics and evaluation of the saved run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch

from hepdl.config import config_from_dict
from hepdl.data import create_representation, read_table
from hepdl.data.splits import split_indices
from hepdl.models.inputs import group_tree
from hepdl.train._tree_batches import batch_loader, node_features, select_rows, tree_batches


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    from hepdl.generate import SampleSettings, generate

    out = tmp_path_factory.mktemp("jets") / "jets.parquet"
    return str(generate("top-vs-qcd", SampleSettings(40, seed=3), out).path)


@pytest.fixture(scope="module")
def tree(jets: str) -> dict[str, np.ndarray]:
    table = read_table(jets)
    return create_representation("tree", max_particles=12)(table, source=jets)


def _jet_nodes(tree: dict[str, np.ndarray], jet: int) -> np.ndarray:
    return tree["features"][tree["offsets"][jet] : tree["offsets"][jet + 1]]


def test_node_features_are_the_nodes_of_the_chosen_jets(tree: dict) -> None:
    rows = np.array([5, 0, 17, 3])
    naive = np.concatenate([_jet_nodes(tree, j) for j in rows])  # one jet at a time
    np.testing.assert_array_equal(node_features(group_tree(tree), rows), naive)


def test_select_rows_gives_the_trees_of_the_rows_and_indexes_other_inputs(tree: dict) -> None:
    rows = np.array([7, 2, 9])
    inputs = {**group_tree(tree), "extra": np.arange(80) * 10}
    picked = select_rows(inputs, rows)
    np.testing.assert_array_equal(picked["extra"], [70, 20, 90])
    for k, jet in enumerate(rows):  # each selected jet keeps its own nodes and structure
        start, stop = picked["tree"]["offsets"][k : k + 2]
        np.testing.assert_array_equal(picked["tree"]["features"][start:stop], _jet_nodes(tree, jet))
        assert picked["tree"]["roots"][k] == stop - 1
        old_children = tree["children"][tree["offsets"][jet] : tree["offsets"][jet + 1]]
        new_children = picked["tree"]["children"][start:stop]
        shift = tree["offsets"][jet] - start
        np.testing.assert_array_equal(
            new_children, np.where(old_children >= 0, old_children - shift, -1)
        )


def test_batches_of_trees_give_the_per_jet_model_output(tree: dict) -> None:
    from hepdl.models import create_model

    torch.manual_seed(0)
    model = create_model("recursive", in_features=6, hidden_size=8, hidden=[8]).eval()
    jet_ids = np.arange(80)  # carried as the labels: each batch says which jets it holds
    loader = batch_loader(group_tree(tree), jet_ids, batch_size=16, shuffle=True, seed=1)
    alone = group_tree(tree)["tree"]
    with torch.no_grad():
        batched = [(y, model(**batch)[:, 0]) for batch, y in loader]
        singles = [model(**b)[0, 0] for b in tree_batches(alone, batch_size=1)]
    ids = torch.cat([y for y, _ in batched])
    assert sorted(ids.tolist()) == list(range(80))  # every jet once per epoch
    assert ids.tolist() != list(range(80))  # shuffled
    assert all(len(y) <= 16 for y, _ in batched)
    outputs = torch.cat([out for _, out in batched])
    assert torch.allclose(outputs, torch.stack(singles)[ids], atol=1e-6)


def _config(tmp_path: Path, jets: str) -> dict:
    return {
        "name": "recursive",
        "seed": 3,
        "data": {
            "files": [jets],
            "representation": {"name": "tree", "max_particles": 12},
            "standardize": True,
            "batch_size": 16,
            "split": {"min_rows": 10},  # the 80-jet sample: 16 validation, 16 test jets
        },
        "model": {"name": "recursive", "hidden_size": 16, "hidden": [16]},
        "task": {"lr": 0.01},
        "trainer": {
            "max_epochs": 6,
            "early_stopping": None,
            "progress_bar": False,
            "output_dir": str(tmp_path / "runs"),
        },
        "evaluate": {"plots": False},
    }


def test_train_recursive_end_to_end_then_evaluate_reproduces_the_test_auc(
    tmp_path: Path, jets: str
) -> None:
    from hepdl.evaluation import evaluate_run
    from hepdl.train.run import train_experiment

    config = config_from_dict(_config(tmp_path, jets))
    result = train_experiment(config)
    losses = result.history["train_loss"]
    assert len(losses) == 6 and losses[-1] < losses[0]
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["n_test"] == 16 and 0.0 <= metrics["auc"] <= 1.0
    prep = json.loads((result.run_dir / "preprocessing.json").read_text())
    assert prep["representation"]["name"] == "tree" and prep["standardizer"] is not None

    # The test rows of the split, written to their own file: evaluate_run on it gives the
    # run's test AUC.
    labels = read_table(jets)["label"].to_numpy()
    split = config.data.split
    _, _, test_idx = split_indices(
        80, fractions=(split.train, split.val, split.test), seed=split.seed, stratify=labels
    )
    test_file = tmp_path / "test_rows.parquet"
    pq.write_table(pq.read_table(jets).take(test_idx), test_file)
    evaluated = evaluate_run(result.run_dir, [str(test_file)], out_dir=tmp_path / "eval")
    assert evaluated.metrics["n_jets"] == 16
    assert evaluated.metrics["auc"] == pytest.approx(metrics["auc"], abs=1e-12)
