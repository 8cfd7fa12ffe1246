"""Run directories for the export tests, made by hepdl's own data path without a fit.

``make_run`` reads a toy file through ``prepare_data`` (split, standardisation, the task's
coding, the model with its head), settles the BatchNorm running statistics on a few
training batches (so eval mode is not the identity) and saves config.yaml,
preprocessing.json and model.safetensors exactly as ``hepdl train`` does. A fit would
only change the weights, which the parity tests do not depend on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pyarrow.parquet as pq
import yaml

from hepdl.deploy.example_inputs import toy_jets

# A small PFN on 16-particle point clouds: the per-particle case of the prediction tests.
POINTS = {"name": "point_cloud", "max_particles": 16}
PFN = {"name": "pfn", "phi_sizes": [8, 8], "f_sizes": [8]}


def write_jet_file(path: Path, *, n_jets: int = 60, most_particles: int = 20, seed: int = 0) -> str:
    """Toy jets (constituents, a label, a regression target ``gen_pt`` and its baseline
    ``jet_pt``, two flat columns) as a Parquet file with hepdl's class names."""
    rng = np.random.default_rng(seed)
    jets = toy_jets(n_jets, most_particles=most_particles, seed=seed)
    pt = np.hypot(ak.sum(jets.part_px, axis=1), ak.sum(jets.part_py, axis=1)).to_numpy()
    columns = {name: jets[name] for name in jets.fields}
    columns["label"] = rng.integers(0, 2, n_jets)
    columns["jet_pt"] = pt
    columns["gen_pt"] = pt * rng.normal(1.0, 0.1, n_jets)
    columns["f1"], columns["f2"] = rng.normal(3.0, 2.0, n_jets), rng.normal(-1.0, 0.5, n_jets)
    table = ak.to_arrow_table(ak.Array(columns))
    meta = {b"hepdl": json.dumps({"class_names": ["qcd", "top"]}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    return str(path)


def make_run(
    folder: Path,
    jets: str,
    *,
    model: dict[str, Any],
    representation: dict[str, Any],
    task: dict[str, Any] | None = None,
    standardize: bool = False,
) -> Path:
    """A run directory of ``model`` on file ``jets``, weights as initialised (seeded)."""
    import torch

    from hepdl.config import load_config, save_config
    from hepdl.models.classical import is_classical
    from hepdl.train.artifacts import Preprocessing, save_trained
    from hepdl.train.prepared import prepare_data

    raw = {
        "name": model["name"],
        "seed": 5,
        "data": {
            "files": [jets],
            "representation": representation,
            "standardize": standardize,
            "batch_size": 16,
            "split": {"min_rows": 1},  # a toy file: tiny validation and test splits
        },
        "model": model,
        "task": task or {"lr": 0.001},
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(folder)},
        "evaluate": {"plots": False},
    }
    path = folder / "experiment.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw))
    config = load_config(path)
    run_dir = folder / f"run-{model['name']}"
    run_dir.mkdir()
    torch.manual_seed(5)
    if is_classical(model["name"]):
        return _classical_run(config, run_dir)
    data = prepare_data(config)
    _settle_batch_norm(data.model, data.inputs, data.train_idx)
    save_config(config, run_dir / "config.yaml")
    preprocessing = Preprocessing(
        representation=data.sample.representation,
        feature_names=data.sample.feature_names,
        standardizer=data.scaler.to_dict() if data.scaler else None,
        **data.coding.saved(),
    )
    save_trained(run_dir, data.model, preprocessing)
    return run_dir


def _classical_run(config: Any, run_dir: Path) -> Path:
    from hepdl.train.classical import train_classical

    train_classical(config, run_dir=run_dir)
    return run_dir


def _settle_batch_norm(model: Any, inputs: dict[str, Any], rows: np.ndarray) -> None:
    """A few training-mode forward passes, so BatchNorm's running statistics are the
    data's (eval mode then standardises, as after a fit)."""
    import torch

    from hepdl.models.inputs import forward, group_tree

    if "tree" in group_tree(inputs):
        return  # the recursive network has no BatchNorm
    model.train()
    with torch.no_grad():
        for start in range(0, min(len(rows), 48), 16):
            batch = rows[start : start + 16]
            forward(model, {k: torch.as_tensor(np.asarray(v)[batch]) for k, v in inputs.items()})
    model.eval()
