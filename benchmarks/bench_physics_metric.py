"""Cost of the per-epoch physics metrics (val_auc, rejections) on a hepdl training epoch.

    python benchmarks/bench_physics_metric.py [--train-rows 40000] [--val-rows 20000]
        [--features 10] [--hidden 128 128 128] [--batch-size 256] [--epochs 4]
        [--repeats 5] [--threads 1]

Two ClassificationTasks on the same MLP (copies of one model), the same training and
validation tensors in the same order, in the Trainer of ``hepdl.train.trainer``: one with
``signal_class`` and ``signal_efficiencies`` set (val_auc and the rejections at eps_S 0.3
and 0.5 computed at each validation epoch end, as ``hepdl train`` does), one without (loss
and accuracy only). Both end with identical weights (checked: the metrics only read).

Times per epoch, training plus validation, on this process's CPU clock with one torch
thread (see benchmarks/bench_training_epoch.py for why); the first epoch of each run is
dropped and the two sides alternate which runs first. Printed: median epoch and
validation times of each side and their ratio with/without (median [min-max] over the
repeats), and the metrics' own cost per epoch.
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch
from torch import nn

from alternate import add_repeats, alternate, check_repeats, ratios, spread
from hepdl.config import TrainerConfig
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask
from hepdl.train.loaders import tensor_loader
from hepdl.train.trainer import build_trainer

CLOCK = time.process_time


class TimedTask(ClassificationTask):
    """Notes the clock at the epoch and validation hooks (module hooks: no per-step cost)."""

    def __init__(self, model: nn.Module, *, physics: bool) -> None:
        options = {"signal_class": 1, "signal_efficiencies": [0.3, 0.5]} if physics else {}
        super().__init__(model, lr=1e-3, **options)
        self.epoch_start: list[float] = []
        self.val_start: list[float] = []
        self.epoch_end: list[float] = []

    def on_train_epoch_start(self) -> None:
        self.epoch_start.append(CLOCK())
        super().on_train_epoch_start()

    def on_validation_epoch_start(self) -> None:
        self.val_start.append(CLOCK())

    def on_train_epoch_end(self) -> None:
        # Validation (and its metrics) ran before this hook.
        self.epoch_end.append(CLOCK())
        super().on_train_epoch_end()


def run(model: nn.Module, data: dict, *, physics: bool, epochs: int, batch: int) -> dict:
    task = TimedTask(model, physics=physics)
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainerConfig(
            max_epochs=epochs, progress_bar=False, early_stopping=None, deterministic=False
        )
        trainer, _ = build_trainer(config, Path(tmp))
        train = tensor_loader(*data["train"], batch_size=batch, shuffle=True, seed=0)
        val = tensor_loader(*data["val"], batch_size=batch, shuffle=False)
        trainer.fit(task, train, val)
    epoch = [b - a for a, b in zip(task.epoch_start, task.epoch_end, strict=True)][1:]
    val_times = [b - a for a, b in zip(task.val_start, task.epoch_end, strict=True)][1:]
    return {
        "epoch": statistics.median(epoch),
        "val": statistics.median(val_times),
        "weights": [p.detach().clone() for p in model.parameters()],
        "auc": task.history.get("val_auc", [None])[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=40000)
    parser.add_argument("--val-rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 128, 128])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--epochs", type=int, default=4, help="per run; the first is dropped")
    add_repeats(parser)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    check_repeats(parser, args.repeats)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch of each run is dropped")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")
    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    n = args.train_rows + args.val_rows
    x = torch.randn(n, args.features)  # substructure-like: 10 standardised features
    y = (x[:, 0] * x[:, 1] + 0.3 * torch.randn(n) > 0).long()
    data = {
        "train": (x[: args.train_rows], y[: args.train_rows]),
        "val": (x[args.train_rows :], y[args.train_rows :]),
    }
    reference = create_model("mlp", in_features=args.features, hidden=args.hidden)

    def side(physics: bool):
        return lambda _: run(
            copy.deepcopy(reference),
            data,
            physics=physics,
            epochs=args.epochs,
            batch=args.batch_size,
        )

    runs = alternate({False: side(False), True: side(True)}, repeats=args.repeats)
    same = all(
        torch.equal(a, b)
        for on, off in zip(runs[True], runs[False], strict=True)
        for a, b in zip(on["weights"], off["weights"], strict=True)
    )
    epoch_ratio = ratios(runs[True], runs[False], key=lambda r: r["epoch"])
    val_ratio = ratios(runs[True], runs[False], key=lambda r: r["val"])

    def median(physics: bool, key: str) -> float:
        return statistics.median(r[key] for r in runs[physics])

    cost = median(True, "val") - median(False, "val")
    print(
        f"MLP {'x'.join(map(str, args.hidden))}, {args.train_rows} train + {args.val_rows} val "
        f"rows x {args.features} features, batch {args.batch_size}, {args.epochs} epochs per "
        f"run (first dropped), {args.repeats} alternating repeats, torch threads "
        f"{torch.get_num_threads()}, CPU clock"
    )
    print(f"{'':>16} {'epoch ms':>9} {'val ms':>8}")
    for physics, name in ((False, "without metrics"), (True, "with metrics")):
        epoch_ms, val_ms = median(physics, "epoch") * 1e3, median(physics, "val") * 1e3
        print(f"{name:>16} {epoch_ms:>9.1f} {val_ms:>8.1f}")
    print(f"epoch ratio with/without: {spread(epoch_ratio)}")
    print(f"validation ratio with/without: {spread(val_ratio)}")
    print(f"metrics cost per epoch: {cost * 1e3:.1f} ms (val_auc {runs[True][-1]['auc']:.4f})")
    print(f"same weights both sides: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
