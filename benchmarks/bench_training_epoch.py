"""hepdl's training epoch against a plain PyTorch loop: same MLP, same tensors, same run.

    python benchmarks/bench_training_epoch.py [--repeats 5] [--batch-sizes 128 256 1024]
        [--hidden 128 128 128] [--rows 24000] [--features 10] [--epochs 6]
        [--threads 1] [--clock cpu] [--steps-per-execution auto 1 4 8 16]

Fairness: both sides start from identical weights (copies of one model), see the same
batches in the same order (the same seeded shuffle), take the same number of Adam steps
in float32, and must end with the same weights (checked and printed: a difference means
they did not do the same work). (hepdl's unweighted loss is torch's fused mean, like the plain
loop's: a per-row mean rounds differently from ~256 rows on, and Adam turns that last bit
into ~1e-3 in the weights of nearly idle units.) The first epoch of every run is dropped (warm-up of
allocators and threads); the sides alternate which goes first in each repeat, so drifting
load from other processes hits both; medians throughout.

hepdl runs its real path: ClassificationTask in the Lightning Trainer built by
``hepdl.train.trainer.build_trainer`` (CSV + TensorBoard loggers, checkpointing) fed by
``hepdl.train.loaders.tensor_loader``, its batches grouped by ``trainer.steps_per_execution``
as ``hepdl train`` groups them (one row per value given; "auto" is the default); the
progress bar is off on both sides.

Two times per epoch: "steps", from the epoch's start to its last training batch (the
per-step overhead the goal is about), and "epoch", up to the start of the next epoch,
which adds hepdl's epoch end (epoch metrics, CSV/TensorBoard write, checkpoint).
The fixed cost per step is (hepdl - plain) / steps.

Threads: Lightning's per-step cost is single-threaded Python. On a CPU shared with other
processes, two or more intra-op threads make both sides stall at OpenMP barriers whenever
another process takes a core (single epochs 10-100x slower were seen), which swamps what
is measured; the default is therefore 1 thread. Pass --threads N on a quiet machine.

Clock: "cpu" (default) is this process's CPU time, which does not count the time other
processes hold the core, so the ratio holds on a loaded machine; with one thread it is
the work done. With several threads it also counts OpenMP spin-waiting: use "wall" then.
"""

from __future__ import annotations

import argparse
import copy
import functools
import itertools
import logging
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from alternate import add_repeats, alternate, check_repeats, ratios, spread
from hepdl.config import TrainerConfig
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask
from hepdl.train._fit import batch_bytes, steps_per_execution
from hepdl.train.loaders import epoch_seed, grouped_loader, tensor_loader
from hepdl.train.trainer import build_trainer

LR = 1e-3


@dataclass
class Run:
    steps: list[float]  # seconds per epoch, batches only; warm-up epoch dropped
    epochs: list[float]  # seconds per epoch, with the epoch's end; warm-up epoch dropped
    weights: list[torch.Tensor]  # final parameters
    optimizer_steps: int


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


class TimedTask(ClassificationTask):
    """ClassificationTask that notes the clock at its epoch hooks.

    The module's own hooks run once per epoch; a timing callback would add its no-op
    hooks to every step, which is overhead of the measurement, not of hepdl.
    """

    def __init__(self, model: nn.Module, *, clock: Callable[[], float]) -> None:
        super().__init__(model, loss="bce", optimizer="adam", lr=LR)
        self.clock = clock
        self.starts: list[float] = []
        self.batch_ends: list[float] = []
        self.end = 0.0

    def on_train_epoch_start(self) -> None:
        self.starts.append(self.clock())
        super().on_train_epoch_start()

    def on_train_epoch_end(self) -> None:
        # Lightning calls this after the last batch, before checkpointing.
        self.batch_ends.append(self.clock())
        super().on_train_epoch_end()

    def on_train_end(self) -> None:
        self.end = self.clock()


def plain_pytorch(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    clock: Callable[[], float],
) -> Run:
    """The loop a physicist would write by hand."""
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    times, steps = [], 0
    model.train()
    for epoch in range(epochs):
        start = clock()
        # The same order as hepdl's loader: seed 0, a fresh permutation per epoch.
        order = torch.randperm(
            len(x), generator=torch.Generator().manual_seed(epoch_seed(0, epoch))
        )
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(x[idx])[:, 0], y[idx].float())
            loss.backward()
            opt.step()
            steps += 1
        times.append(clock() - start)
    weights = [p.detach().clone() for p in model.parameters()]
    return Run(steps=times[1:], epochs=times[1:], weights=weights, optimizer_steps=steps)


def hepdl_fit(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    clock: Callable[[], float],
    steps: int | str = "auto",
) -> Run:
    task = TimedTask(model, clock=clock)
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainerConfig(
            max_epochs=epochs,
            progress_bar=False,
            early_stopping=None,
            deterministic=False,
            steps_per_execution=steps,
        )
        trainer, _ = build_trainer(config, Path(tmp))
        trainer.limit_val_batches = 0
        loader = tensor_loader(x, y, batch_size=batch_size, shuffle=True, seed=0)
        group = steps_per_execution(
            config, world_size=1, in_memory=True, batch_bytes=batch_bytes(loader)
        )
        trainer.fit(task, grouped_loader(loader, steps=group))
    steps = [end - start for start, end in zip(task.starts, task.batch_ends, strict=True)]
    bounds = [*task.starts, task.end]
    whole = [b - a for a, b in itertools.pairwise(bounds)]
    weights = [p.detach().clone() for p in model.parameters()]
    return Run(
        steps=steps[1:], epochs=whole[1:], weights=weights, optimizer_steps=trainer.global_step
    )


def compare(
    reference: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    repeats: int,
    clock: Callable[[], float],
    steps: int | str,
) -> str:
    """One table row: median times, ratios with their spread over repeats, fairness checks."""
    hepdl_side = functools.partial(hepdl_fit, steps=steps)

    def side(fit: Callable[..., Run]) -> Callable[[int], Run]:
        return lambda _: fit(
            copy.deepcopy(reference), x, y, epochs=epochs, batch_size=batch_size, clock=clock
        )

    runs = alternate({"plain": side(plain_pytorch), "hepdl": side(hepdl_side)}, repeats=repeats)
    plain_runs, hepdl_runs = runs["plain"], runs["hepdl"]

    def per_repeat(field: str) -> list[float]:
        return ratios(hepdl_runs, plain_runs, key=lambda r: statistics.median(getattr(r, field)))

    plain = statistics.median(t for r in plain_runs for t in r.steps)
    ours = statistics.median(t for r in hepdl_runs for t in r.steps)
    n_steps = -(-len(x) // batch_size)
    step_ratios, epoch_ratios = per_repeat("steps"), per_repeat("epochs")
    diff = max(
        (a - b).abs().max().item()
        for p, h in zip(plain_runs, hepdl_runs, strict=True)
        for a, b in zip(p.weights, h.weights, strict=True)
    )
    same_steps = all(
        p.optimizer_steps == h.optimizer_steps for p, h in zip(plain_runs, hepdl_runs, strict=True)
    )
    return (
        f"{batch_size:>6} {steps:>5} {n_steps:>6} {plain * 1e3:>9.1f} {ours * 1e3:>9.1f} "
        f"{spread(step_ratios, width=21)} {spread(epoch_ratios, width=21)} "
        f"{(ours - plain) / n_steps * 1e6:>8.0f} {diff:>9.1e} {'yes' if same_steps else 'NO':>5}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=24000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 128, 128])
    parser.add_argument("--epochs", type=int, default=6, help="per run; the first is dropped")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[128, 256, 1024])
    add_repeats(parser)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--clock", choices=list(CLOCKS), default="cpu", help="see the docstring")
    parser.add_argument(
        "--steps-per-execution",
        nargs="+",
        default=["auto"],
        type=lambda v: v if v == "auto" else int(v),
        help="trainer.steps_per_execution values, one row each",
    )
    args = parser.parse_args()
    check_repeats(parser, args.repeats)
    if args.epochs < 2:
        parser.error("--epochs must be at least 2: the first epoch of each run is dropped")

    # Lightning's per-fit notices (no val loader, monitored key missing) are expected here.
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="lightning")

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x = torch.randn(args.rows, args.features)
    y = (x[:, 0] * x[:, 1] + 0.3 * torch.randn(args.rows) > 0).long()
    reference = create_model("mlp", in_features=args.features, hidden=args.hidden)
    shape = "x".join(map(str, args.hidden))
    print(
        f"MLP {shape}, {args.rows} rows x {args.features} features, {args.epochs} epochs per "
        f"run (first dropped), {args.repeats} alternating repeats, torch threads "
        f"{torch.get_num_threads()}, {args.clock} clock; ratios hepdl/plain: median "
        f"[min-max over repeats]"
    )
    print(
        f"{'batch':>6} {'spe':>5} {'steps':>6} {'plain ms':>9} {'hepdl ms':>9} {'steps ratio':>21} "
        f"{'epoch ratio':>21} {'us/step':>8} {'max|dW|':>9} {'same#':>5}"
    )
    for batch_size, steps in itertools.product(args.batch_sizes, args.steps_per_execution):
        print(
            compare(
                reference,
                x,
                y,
                epochs=args.epochs,
                batch_size=batch_size,
                repeats=args.repeats,
                clock=CLOCKS[args.clock],
                steps=steps,
            ),
            flush=True,
        )
    print(
        "goal: steps ratio <= 1.10; spe = trainer.steps_per_execution (auto: "
        "hepdl.train._fit.steps_per_execution); us/step = hepdl's fixed cost per "
        "optimizer step"
    )


if __name__ == "__main__":
    main()
