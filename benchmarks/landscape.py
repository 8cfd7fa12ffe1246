"""The landscape of jet taggers: every model x 3 seeds on top-vs-QCD and quark-vs-gluon.

Trains each entry of ``MODELS`` as a seed ensemble (``hepdl.train.ensemble``; the split
seed is fixed, so all runs see the same test jets), then writes ``hepdl compare`` outputs
per sample: ``<out>/<sample>/comparison.md`` and ``roc_comparison.png``. Settings are sized
so that the whole landscape trains in about an hour of one CPU core (see docs/landscape.md):
fewer constituents and epochs for the expensive networks, never fewer seeds.

    nice -n 10 python benchmarks/landscape.py --out runs/landscape
    nice -n 10 python benchmarks/landscape.py --out runs/landscape --probe   # s/epoch only
    python benchmarks/landscape.py --out runs/landscape --only top --models mlp,bdt
    python benchmarks/landscape.py --only top --data top=top.parquet   # a file, not generated

Finished runs are not retrained: rerunning the script resumes and redraws the tables.
The probe trains one epoch of each network on ``PROBE_TRAIN`` jets to budget the epochs.
"""

from __future__ import annotations

import argparse
import functools
import logging
import time
import warnings
from pathlib import Path
from typing import Any

SEEDS = 3
PROBE_TRAIN = 2000

# The samples: generator settings (cached in ~/.cache/hepdl/samples), split, training rows
# and the jet radius the image extent follows. Sized for a shared 2-core CPU: the probe
# measured 2-13 ms per jet and epoch for the image, sequence and graph networks there.
SAMPLES: dict[str, dict[str, Any]] = {
    "top": {
        "generate": {
            "sample": "top-vs-qcd",
            "jets_per_class": 20000,
            "seed": 1,
            "pt_min": 550.0,
            "pt_max": 650.0,
            "eta_max": 2.0,
        },
        # Run on 6000 jets per class of it (--data top=FILE): 3600 / 1800 / 6600 jets.
        "split": {"train": 0.3, "val": 0.15, "test": 0.55, "seed": 0},
        "train_size": None,
        "extent": 0.8,
    },
    "qg": {
        "generate": {"sample": "quark-vs-gluon", "jets_per_class": 3000, "seed": 1},
        "split": {"train": 0.6, "val": 0.1, "test": 0.3, "seed": 0},  # 3600 / 600 / 1800
        "train_size": None,
        "extent": 0.4,
    },
}
# The larger, converged landscape (docs/landscape.md, "A larger sample"): the full
# 20000-per-class top file, 24000 / 4000 / 12000 jets, every network up to ``max_epochs``
# with early stopping, and more constituents for the set and graph networks.
SAMPLES["top-large"] = {
    **SAMPLES["top"],
    "split": {"train": 0.6, "val": 0.1, "test": 0.3, "seed": 0},
    "max_epochs": 10,
    "epochs": {"part": 8, "particlenet": 5},  # 35 and 120 s an epoch on one core: fit the hour
    "patience": 3,
    "max_particles": {"pfn": 64, "efn": 64, "particlenet": 48, "part": 32},
}
# The same jets as "top" and "qg" (3600 training jets), the networks trained to convergence:
# the epochs' share of the change from "top" to "top-large".
SAMPLES["top-converged"] = {**SAMPLES["top"], "max_epochs": 20, "patience": 4}
SAMPLES["qg-converged"] = {**SAMPLES["qg"], "max_epochs": 20, "patience": 4}

SUBSTRUCTURE = {"name": "substructure"}
RAW = {"standardize": False}  # images, sequences, point clouds: normalised by the models


def _points(p: int, *, pairwise: bool = False) -> dict[str, Any]:
    return {"name": "point_cloud", "max_particles": p, "pairwise": pairwise}


def _sequence(p: int) -> dict[str, Any]:
    return {"name": "sequence", "max_particles": p}


def _image(extent: float) -> dict[str, Any]:
    return {"name": "image", "pixels": 25, "extent": extent, "normalize": "sum"}


# label -> (representation (or a callable of the sample's image extent), model, epochs,
# extra data options). Early stopping (patience 4) ends the long ones sooner.
MODELS: dict[str, tuple[Any, dict[str, Any], int, dict[str, Any]]] = {
    "logistic_regression": (SUBSTRUCTURE, {"name": "logistic_regression"}, 1, {}),
    "svm": (SUBSTRUCTURE, {"name": "svm"}, 1, {}),
    "random_forest": (
        SUBSTRUCTURE,
        {"name": "random_forest", "n_estimators": 200, "min_samples_leaf": 5},
        1,
        {},
    ),
    "bdt": (SUBSTRUCTURE, {"name": "bdt", "max_iter": 100}, 1, {}),
    "mlp": (SUBSTRUCTURE, {"name": "mlp", "hidden": [64, 64, 64], "dropout": 0.1}, 20, {}),
    "jet_cnn": (_image, {"name": "jet_cnn", "image_size": 25, "filters": [16, 16, 16]}, 3, RAW),
    "lenet": (_image, {"name": "lenet", "image_size": 25}, 4, RAW),
    "vgg": (
        _image,
        {"name": "vgg", "image_size": 25, "blocks": [[16], [32]], "hidden": [64], "dropout": 0.2},
        3,
        RAW,
    ),
    "resnet": (
        _image,
        {"name": "resnet", "image_size": 25, "widths": [8, 16], "blocks_per_stage": 1},
        2,
        RAW,
    ),
    "lstm": (_sequence(30), {"name": "lstm", "hidden_size": 32, "hidden": [32]}, 3, RAW),
    "gru": (_sequence(30), {"name": "gru", "hidden_size": 32, "hidden": [32]}, 3, RAW),
    "pfn": (
        _points(48),
        {"name": "pfn", "phi_sizes": [64, 64, 128], "f_sizes": [64, 64]},
        5,
        RAW,
    ),
    "efn": (
        _points(48),
        {
            "name": "efn",
            "phi_sizes": [64, 64, 128],
            "f_sizes": [64, 64],
            "z_feature": 4,
            "z_transform": "exp",
            "normalize_z": True,
        },
        5,
        RAW,
    ),
    "particlenet": (  # ParticleNet-Lite on the 32 hardest constituents
        _points(32),
        {
            "name": "particlenet",
            "k": 7,
            "edge_convs": [[32, 32, 32], [64, 64, 64]],
            "fc_sizes": [128],
        },
        2,
        RAW,
    ),
    "part": (  # a small ParT: 2 particle blocks, width 32, 4 heads, 24 constituents
        _points(24, pairwise=True),
        {
            "name": "part",
            "embed_dims": [32, 32],
            "pair_embed_dims": [16, 16],
            "num_heads": 4,
            "num_layers": 2,
            "num_cls_layers": 1,
            "ffn_ratio": 2,
        },
        2,
        RAW,
    ),
    "recursive": (  # Louppe et al.: a recursive network over the kT clustering tree
        {"name": "tree", "algorithm": "kt", "max_particles": 20},
        {"name": "recursive", "hidden_size": 40},
        2,
        {},
    ),
}


def experiment(
    sample: str, label: str, *, out: Path, probe: bool, files: dict[str, str] | None = None
) -> Any:
    """The validated config of model ``label`` on ``sample``; ``files[sample]``: a labelled
    Parquet file to use instead of generating the sample."""
    from hepdl.config import config_from_dict

    setting = SAMPLES[sample]
    representation, model, epochs, extra = MODELS[label]
    if callable(representation):
        representation = representation(setting["extent"])
    if label in setting.get("max_particles", {}):
        representation = {**representation, "max_particles": setting["max_particles"][label]}
    if epochs > 1 and "max_epochs" in setting:  # networks; the classical fits stay one fit
        epochs = setting.get("epochs", {}).get(label, max(epochs, setting["max_epochs"]))
    given = (files or {}).get(sample)
    source = {"files": [given]} if given else {"generate": setting["generate"]}
    data = {
        **source,
        "representation": representation,
        "split": setting["split"],
        "batch_size": 128,
        **extra,
    }
    train_size = PROBE_TRAIN if probe else setting["train_size"]
    if train_size is not None:
        data["train_size"] = train_size
    max_epochs = 1 if probe else epochs
    raw = {
        "name": f"{sample}_{label}",
        "seed": 1,
        "data": data,
        "model": model,
        "trainer": {
            "max_epochs": max_epochs,
            "early_stopping": {
                "monitor": "val_loss",
                "mode": "min",
                "patience": setting.get("patience", 4),
            },
            "progress_bar": False,
            "output_dir": str(out),
        },
        "evaluate": {"signal_efficiencies": [0.3, 0.5], "plots": False},
    }
    return config_from_dict(raw, source=f"landscape {sample}/{label}")


def _reuse_last_sample() -> None:
    """Keep the last represented sample in memory: the seeds of one model (consecutive
    here) need the same jets and representation, which cost up to a minute to compute.
    A landscape-script shortcut; ``hepdl train`` always builds them afresh."""
    import hepdl.train.inputs as inputs

    original = inputs.load_sample
    memo: dict[str, Any] = {}

    @functools.wraps(original)
    def load_sample(data: Any, **kwargs: Any) -> Any:
        if kwargs.get("files") is not None or kwargs.get("representation") is not None:
            return original(data, **kwargs)
        key = data.model_dump_json(exclude={"train_size", "batch_size"})
        if key not in memo:
            memo.clear()
            memo[key] = original(data, **kwargs)
        return memo[key]

    inputs.load_sample = load_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/landscape"))
    parser.add_argument("--only", choices=sorted(SAMPLES), action="append")
    parser.add_argument("--models", help="comma-separated subset of " + ",".join(MODELS))
    parser.add_argument("--probe", action="store_true", help="one short epoch per model")
    parser.add_argument(
        "--data", action="append", default=[], help="SAMPLE=FILE: use FILE, do not generate"
    )
    args = parser.parse_args()

    import lightning  # noqa: F401  (configures its loggers on import; quieten them after)

    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    logging.getLogger("lightning.fabric").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    from hepdl.train.compare import compare_runs
    from hepdl.train.ensemble import train_ensemble
    from landscape_delta import epochs_run  # benchmarks/, the script's own folder

    _reuse_last_sample()
    labels = args.models.split(",") if args.models else list(MODELS)
    for sample in args.only or list(SAMPLES):
        root = args.out / "probe" / sample if args.probe else args.out / sample
        members: list[Path] = []
        for label in labels:
            files = dict(item.split("=", 1) for item in args.data)
            config = experiment(sample, label, out=root, probe=args.probe, files=files)
            started = time.perf_counter()
            n_seeds = 1 if args.probe else SEEDS
            try:
                result = train_ensemble(config, n_seeds=n_seeds, out_dir=root / label)
            except Exception as err:  # one broken model must not stop the landscape
                print(f"{sample:4s} {label:20s} FAILED: {type(err).__name__}: {err}", flush=True)
                continue
            members += [m.run_dir for m in result.members]
            first = result.members[0].metrics
            print(
                f"{sample:4s} {label:20s} {time.perf_counter() - started:7.1f} s  "
                f"AUC {result.comparison.rows[0].values['auc']}  "
                f"s/epoch {first.get('train_seconds_per_epoch')}  "
                f"epochs (best/stopped) {' '.join(epochs_run(m.run_dir) for m in result.members)}",
                flush=True,
            )
        if not args.probe:
            table = compare_runs(members, out_dir=root, group_by="model").table
            print(f"\n{sample}\n{table}", flush=True)


if __name__ == "__main__":
    main()
