"""hepdl's ParticleNet against weaver-core's: same files, inputs, architecture and budget.

    python benchmarks/bench_weaver_particlenet.py [--train 6000] [--val 2000] [--test 4000]
        [--max-particles 64] [--epochs 4] [--batch-size 256] [--lr 1e-3] [--seeds 1 2 3 4 5]
        [--k 7] [--edge-convs 32,32,32 64,64,64] [--fc-sizes 128] [--fc-dropout 0.1]
        [--threads 1] [--source FILE] [--work DIR] [--json PATH]

Needs weaver-core (``pip install --no-deps weaver-core numba``; docs/weaver_comparison.md).

Same files: the cached top-vs-QCD sample (~/.cache/hepdl/samples/top-vs-qcd-20000-*.parquet
or --source) is split once (stratified, seed 0; --train/--val/--test jets per class) into
train/val/test Parquet files that both read. Each file also holds what weaver cannot
derive itself: Delta eta, Delta phi to the jet axis and the particle-type flags, computed
with hepdl's own functions.
Same inputs: hepdl's 13 default point-cloud features, raw, zero-padded to --max-particles,
normalised by the models' input BatchNorm (benchmarks/weaver/top_particlenet_data.yaml).
Same architecture: one set of numbers builds hepdl's ``particlenet`` and weaver's
ParticleNet (benchmarks/weaver/particlenet.py); their parameter counts are printed and
must agree. Same training: Adam at a constant --lr (weaver: ``--optimizer adam
--lr-scheduler none``), --epochs, --batch-size, 2-class cross-entropy, data in memory,
no data-loader worker processes, --threads torch threads; the test score comes from each
tool's best epoch by its own validation criterion (hepdl: lowest val loss; weaver:
highest val accuracy).

Each (side, seed) trains in a fresh process (``--worker``), sides alternating which goes
first per seed, so drifting load from other processes hits both. Throughput is training
jets per second over the epochs after the first (the first pays file reading and
warm-up), median over those epochs; "cpu" divides by the worker's CPU time, which does
not count time other processes hold the core (the ratio holds on a loaded machine),
"wall" by elapsed time. AUCs are scikit-learn's on each tool's saved test scores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "weaver"))  # the benchmark's own helpers, not the weaver package

from _bench_epochs import (  # noqa: E402
    epoch_test_aucs,
    hepdl_epoch_recorder,
    record_weaver_validation,
    unscored,
    weaver_scorer,
)
from _bench_files import (  # noqa: E402
    SPLITS,
    WEAVER_NETWORK_CONFIG,
    source_sample,
    weaver_data_config,
    write_split_files,
)
from _bench_report import markdown, summary  # noqa: E402


# ---------------------------------------------------------------------------- the sides
def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def _throughput(epochs: list[dict[str, float]]) -> dict[str, float]:
    """Median jets/s over the epochs after the first, by CPU and by wall clock."""
    kept = epochs[1:] or epochs
    return {
        clock: statistics.median(e["jets"] / e[clock] for e in kept) for clock in ("cpu", "wall")
    }


def epoch_clock() -> Any:
    """A Lightning callback noting CPU and wall time from each training epoch's start to
    its last batch (the validation loop starts right after it), so validation and
    checkpointing are not counted; the times are in its ``epochs`` list."""
    import lightning as L

    class EpochClock(L.Callback):
        def __init__(self) -> None:
            self.epochs: list[dict[str, float]] = []
            self._start = (0.0, 0.0)

        def on_train_epoch_start(self, trainer: Any, module: Any) -> None:
            self._start = (time.process_time(), time.perf_counter())

        def on_validation_start(self, trainer: Any, module: Any) -> None:
            cpu, wall = self._start
            self.epochs.append(
                {"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}
            )

    return EpochClock()


def run_hepdl(args: argparse.Namespace, files: dict[str, Path], seed: int, out: Path) -> dict:
    """hepdl's in-memory path of ``train_experiment`` on the three files: point_cloud
    representation, ``particlenet``, ClassificationTask in hepdl's Lightning Trainer."""
    import lightning as L
    import torch

    from hepdl.config import DataConfig, RepresentationConfig, TrainerConfig
    from hepdl.models.inputs import model_inputs
    from hepdl.tasks import ClassificationTask
    from hepdl.tasks.classify import signal_scores
    from hepdl.train.inputs import load_sample
    from hepdl.train.loaders import tensor_loader
    from hepdl.train.predict import predict_probabilities
    from hepdl.train.trainer import build_trainer

    L.seed_everything(seed, workers=True, verbose=False)
    representation = RepresentationConfig(name="point_cloud", max_particles=args.max_particles)
    data = DataConfig(
        files=[str(files["train"])],
        representation=representation,
        standardize=False,
        batch_size=args.batch_size,
    )
    samples = {split: load_sample(data, files=[str(files[split])]) for split in SPLITS}
    model = _hepdl_model(args, samples["train"].inputs["features"].shape[-1])
    inputs = {split: model_inputs(model, s.inputs) for split, s in samples.items()}
    task = ClassificationTask(model, loss="cce", optimizer="adam", lr=args.lr)
    clock = epoch_clock()
    config = TrainerConfig(
        max_epochs=args.epochs, early_stopping=None, progress_bar=False, accelerator="cpu"
    )
    trainer, best = build_trainer(config, out / "hepdl")
    recorder = hepdl_epoch_recorder()
    trainer.callbacks += [clock, recorder]
    loaders = {
        split: tensor_loader(
            inputs[split],
            samples[split].labels,
            batch_size=args.batch_size,
            shuffle=split == "train",
            seed=seed,
        )
        for split in ("train", "val")
    }
    trainer.fit(task, loaders["train"], loaders["val"])
    signal = samples["test"].class_names.index("top")
    is_top = samples["test"].labels == signal

    def score(net: Any) -> np.ndarray:
        probabilities = predict_probabilities(net, inputs["test"], batch_size=1024)
        return signal_scores(probabilities, signal_class=signal)

    states = [e.pop("state") for e in recorder.epochs]
    torch.save(states, out / "hepdl_epoch_states.pt")  # for scoring the epochs later
    epoch_aucs, eval_cpu = (
        epoch_test_aucs(model, states, score, is_top)
        if args.epoch_aucs
        else (unscored(len(states)), 0.0)
    )
    state = torch.load(best.best_model_path, map_location="cpu", weights_only=True)
    task.load_state_dict(state["state_dict"])
    scores = score(model)
    n_train = len(samples["train"].labels)
    return {
        "auc": _auc(is_top, scores),
        "per_epoch": {
            "val_loss": [e["val_loss"] for e in recorder.epochs],
            "val_accuracy": [e["val_accuracy"] for e in recorder.epochs],
            "test_auc": epoch_aucs,
            "eval_cpu_s": eval_cpu,
        },
        "epochs": [{"jets": n_train, **e} for e in clock.epochs],
        "parameters": sum(p.numel() for p in model.parameters()),
        "n_test": len(scores),
    }


def _hepdl_model(args: argparse.Namespace, in_features: int) -> Any:
    from hepdl.models import create_model

    return create_model(
        "particlenet",
        in_features=in_features,
        k=args.k,
        edge_convs=args.edge_convs,
        fc_sizes=args.fc_sizes,
        fc_dropout=args.fc_dropout,
        fusion=True,
        out_features=2,
        output="softmax",
    )


def run_weaver(args: argparse.Namespace, files: dict[str, Path], seed: int, out: Path) -> dict:
    """weaver-core's own training entry point (``weaver.train.main``, what the ``weaver``
    command runs) with its train loop timed per epoch."""
    import pyarrow.parquet as pq
    import torch
    import weaver.train
    from weaver.utils.nn import tools

    random.seed(seed)  # weaver seeds nothing itself: its init and shuffles use these RNGs
    np.random.seed(seed)  # noqa: NPY002 (weaver draws from the legacy global RNG)
    torch.manual_seed(seed)
    epochs: list[dict[str, float]] = []
    train_epoch = tools.train_classification

    def timed_epoch(*a: Any, **kw: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        result = train_epoch(*a, **kw)
        jets = kw["steps_per_epoch"] * args.batch_size  # drop_last: whole batches only
        epochs.append(
            {"jets": jets, "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}
        )
        return result

    tools.train_classification = timed_epoch  # model_setup imports it at call time
    val_accuracy = record_weaver_validation(tools)
    predictions = out / "weaver_test.parquet"
    sys.argv = ["weaver", *weaver_arguments(args, files, out, predictions)]
    weaver.train.main()
    # weaver's output: "_label_" (index into labels.value: 1 = jet_isTop), "scores" (N, 2)
    table = pq.read_table(predictions, columns=["_label_", "scores"])
    labels = table["_label_"].to_numpy()
    scores = np.stack(table["scores"].to_numpy(zero_copy_only=False))[:, 1]
    model = torch.load(out / "weaver_best_epoch_state.pt", map_location="cpu", weights_only=True)
    epoch_aucs, eval_cpu = (
        _epoch_aucs("weaver", args, files, out, list(range(args.epochs)))
        if args.epoch_aucs
        else (unscored(args.epochs), 0.0)
    )
    return {
        "auc": _auc(labels == 1, scores),
        "per_epoch": {"val_accuracy": val_accuracy, "test_auc": epoch_aucs, "eval_cpu_s": eval_cpu},
        "epochs": epochs,
        "parameters": sum(t.numel() for k, t in model.items() if not _is_buffer(k)),
        "n_test": len(scores),
    }


def _epoch_aucs(
    side: str, args: argparse.Namespace, files: dict[str, Path], out: Path, epochs: list[int]
) -> tuple[list[float], float]:
    """Test AUC of the saved weights of the given 0-based epochs of one run (weaver's
    ``weaver_epoch-<e>_state.pt``, hepdl's ``hepdl_epoch_states.pt``), on hepdl's
    point_cloud test arrays; and the CPU seconds spent scoring."""
    import torch

    from hepdl.config import DataConfig, RepresentationConfig
    from hepdl.models.inputs import model_inputs
    from hepdl.train.inputs import load_sample
    from hepdl.train.predict import predict_probabilities

    representation = RepresentationConfig(name="point_cloud", max_particles=args.max_particles)
    data = DataConfig(files=[str(files["test"])], representation=representation, standardize=False)
    test = load_sample(data, files=[str(files["test"])])
    in_features = test.inputs["features"].shape[-1]
    signal = test.class_names.index("top")
    if side == "weaver":
        from particlenet import ParticleNetWrapper  # benchmarks/weaver/particlenet.py

        model = ParticleNetWrapper(
            input_dims=in_features,
            num_classes=2,
            conv_params=[(args.k, tuple(widths)) for widths in args.edge_convs],
            fc_params=[(width, args.fc_dropout) for width in args.fc_sizes],
        )
        states = [
            torch.load(out / f"weaver_epoch-{e}_state.pt", map_location="cpu", weights_only=True)
            for e in epochs
        ]
        score = weaver_scorer(test.inputs["points"], test.inputs["features"], test.inputs["mask"])
    else:
        model = _hepdl_model(args, in_features)
        saved = torch.load(out / "hepdl_epoch_states.pt", map_location="cpu", weights_only=True)
        states = [saved[e] for e in epochs]
        inputs = model_inputs(model, test.inputs)

        def score(net: Any) -> np.ndarray:
            return predict_probabilities(net, inputs, batch_size=1024)[:, signal]

    return epoch_test_aucs(model, states, score, test.labels == signal)


def rescore(args: argparse.Namespace) -> None:
    """Score the saved weights of epochs ``--rescore`` (1-based) of the finished runs of
    ``--seeds`` on the test jets, store the AUCs in their result files, print the report."""
    files = {split: args.work / f"{split}-{args.split_tag}.parquet" for split in SPLITS}
    results = []
    for seed in args.seeds:
        for side in ("hepdl", "weaver"):
            path = args.work / f"result-{side}-seed{seed}.json"
            result = json.loads(path.read_text())
            epochs = [e - 1 for e in args.rescore]
            out = args.work / f"{side}-seed{seed}"
            aucs, cpu = _epoch_aucs(side, args, files, out, epochs)
            for epoch, auc in zip(epochs, aucs, strict=True):
                result["per_epoch"]["test_auc"][epoch] = auc
            path.write_text(json.dumps(result, indent=2))
            print(
                f"{side} seed {seed}: test AUC at epochs {args.rescore}: {aucs} ({cpu:.0f} s cpu)"
            )
            results.append(result)
    report(args, results)


def _is_buffer(key: str) -> bool:
    return key.endswith(("running_mean", "running_var", "num_batches_tracked", "_counter"))


def weaver_arguments(
    args: argparse.Namespace, files: dict[str, Path], out: Path, predictions: Path
) -> list[str]:
    """The weaver command line of one run (printed in docs/weaver_comparison.md)."""
    n_train = 2 * args.train  # both classes
    return [
        *("--data-train", str(files["train"])),
        *("--data-val", str(files["val"])),
        *("--data-test", str(files["test"])),
        *("--data-config", str(weaver_data_config(out.parent, max_particles=args.max_particles))),
        *("--network-config", str(WEAVER_NETWORK_CONFIG)),
        *("--network-option", "k", str(args.k)),
        *("--network-option", "edge_convs", repr(args.edge_convs)),
        *("--network-option", "fc_sizes", repr(args.fc_sizes)),
        *("--network-option", "fc_dropout", repr(args.fc_dropout)),
        *("--model-prefix", str(out / "weaver")),
        *("--num-epochs", str(args.epochs)),
        *("--batch-size", str(args.batch_size)),
        *("--steps-per-epoch", str(n_train // args.batch_size)),
        *("--steps-per-epoch-val", str(2 * args.val // args.batch_size)),
        *("--optimizer", "adam", "--start-lr", str(args.lr), "--lr-scheduler", "none"),
        *("--fetch-step", "1", "--in-memory", "--num-workers", "0"),
        *("--gpus", "", "--predict-output", str(predictions)),
        *("--log-file", str(out / "weaver.log")),
    ]


def _edge_convs(text: str) -> list[int]:
    return [int(w) for w in text.split(",")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=6000, help="training jets per class")
    parser.add_argument("--val", type=int, default=2000, help="validation jets per class")
    parser.add_argument("--test", type=int, default=4000, help="test jets per class")
    parser.add_argument("--max-particles", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=4, help="the first is not timed")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--k", type=int, default=7, help="ParticleNet-Lite: 7; full: 16")
    parser.add_argument(
        "--edge-convs", type=_edge_convs, nargs="+", default=[[32, 32, 32], [64, 64, 64]]
    )
    parser.add_argument("--fc-sizes", type=int, nargs="+", default=[128])
    parser.add_argument("--fc-dropout", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument(
        "--epoch-aucs",
        action="store_true",
        help="also score every epoch's weights on the test jets (about 18 s cpu per epoch)",
    )
    parser.add_argument(
        "--rescore",
        type=int,
        nargs="+",
        metavar="EPOCH",
        help="train nothing: score these epochs of the finished runs of --seeds (see rescore)",
    )
    parser.add_argument("--source", type=Path, default=None, help="default: the cached sample")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "hepdl-weaver")
    parser.add_argument("--json", type=Path, default=None, help="default: WORK/results.json")
    parser.add_argument("--worker", choices=["hepdl", "weaver"], help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch is not timed")
    return args


def worker(args: argparse.Namespace) -> None:
    """One (side, seed) run in this process; its result as JSON in ``args.result``."""
    import logging
    import warnings

    import torch

    torch.set_num_threads(args.threads)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    files = {split: args.work / f"{split}-{args.split_tag}.parquet" for split in SPLITS}
    out = args.work / f"{args.worker}-seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    run = run_hepdl if args.worker == "hepdl" else run_weaver
    result = run(args, files, args.seed, out)
    result.update(side=args.worker, seed=args.seed, throughput=_throughput(result["epochs"]))
    args.result.write_text(json.dumps(result, indent=2))


def main() -> None:
    args = parse_args()
    args.split_tag = f"{args.train}-{args.val}-{args.test}"
    if args.worker:
        worker(args)
        return
    if args.rescore:
        rescore(args)
        return
    per_class = {"train": args.train, "val": args.val, "test": args.test}
    start = time.perf_counter()
    write_split_files(args.source or source_sample(), args.work, per_class=per_class)
    print(f"files in {args.work} ({time.perf_counter() - start:.0f} s)", flush=True)
    results = []
    for index, seed in enumerate(args.seeds):
        sides = ["hepdl", "weaver"] if index % 2 == 0 else ["weaver", "hepdl"]
        for side in sides:
            result_path = args.work / f"result-{side}-seed{seed}.json"
            command = [sys.executable, __file__, *sys.argv[1:], "--worker", side]
            command += ["--seed", str(seed), "--result", str(result_path)]
            began = time.perf_counter()
            subprocess.run(command, check=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
            result = json.loads(result_path.read_text())
            results.append(result)
            print(
                f"{side} seed {seed}: AUC {result['auc']:.4f}, {result['throughput']['cpu']:.0f} "
                f"jets/s cpu, {result['throughput']['wall']:.0f} wall "
                f"({time.perf_counter() - began:.0f} s)",
                flush=True,
            )
    report(args, results)


def report(args: argparse.Namespace, results: list[dict]) -> None:
    """Write the summary of ``results`` (with the settings and every run) as JSON and
    print it as markdown."""
    skip = ("worker", "result", "rescore")
    summed: dict[str, Any] = {"settings": {k: v for k, v in vars(args).items() if k not in skip}}
    summed.update(summary(results), runs=results)
    path = args.json or args.work / "results.json"
    path.write_text(json.dumps(summed, indent=2, default=str))
    print(markdown(summed))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
