"""The main job: a first complete top-tagging study on an embedded default config.

Generates a small Pythia 8 top/QCD sample (cached for the next run), computes jet
substructure, trains the DNN, and prints AUC and background rejection.
"""

from __future__ import annotations

from typing import Any

from hepdl.config import ExperimentConfig, config_from_dict

DEMO_JETS_PER_CLASS = 2000

DEMO_CONFIG: dict[str, Any] = {
    "name": "demo",
    "seed": 42,
    "data": {
        "generate": {"sample": "top-vs-qcd", "jets_per_class": DEMO_JETS_PER_CLASS, "seed": 1},
        "representation": {"name": "substructure"},
        "batch_size": 128,
    },
    "model": {"name": "mlp", "hidden": [64, 64, 64], "activation": "relu", "dropout": 0.1},
    "task": {"loss": "bce", "optimizer": "adam", "lr": 1e-3},
    "trainer": {
        "max_epochs": 30,
        "early_stopping": {"monitor": "val_loss", "patience": 5},
        "output_dir": "runs",
    },
}


def demo_config(
    *, data: str | None = None, jets_per_class: int | None = None, output_dir: str | None = None
) -> ExperimentConfig:
    """The embedded demo config; ``data`` swaps generation for the user's labelled file."""
    raw: dict[str, Any] = {
        k: (dict(v) if isinstance(v, dict) else v) for k, v in DEMO_CONFIG.items()
    }
    raw["data"] = dict(raw["data"])
    if data is not None:
        raw["data"].pop("generate")
        raw["data"]["files"] = [data]
    elif jets_per_class is not None:
        raw["data"]["generate"] = {**raw["data"]["generate"], "jets_per_class": jets_per_class}
    if output_dir is not None:
        raw["trainer"] = {**raw["trainer"], "output_dir": output_dir}
    return config_from_dict(raw, source="demo config")
