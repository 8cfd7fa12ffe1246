"""hepdl's training epoch against a plain PyTorch loop: same MLP, same tensors, same run.

    python benchmarks/bench_training_epoch.py [--rows 24000] [--epochs 6] [--batch-size 256]

Both sides start from identical weights and see the same batches (same shuffling seed).
hepdl runs the real path: ClassificationTask in the Lightning Trainer built by
``hepdl.train.trainer.build_trainer`` (CSV + TensorBoard loggers, checkpointing, early
stopping) fed by ``hepdl.train.loaders.tensor_loader``. The time of an epoch is measured
from its first to its last training batch on both sides; validation is excluded on both.
Prints the median epoch times and their ratio (goal: <= 1.10).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
import torch.nn.functional as F

from hepdl.config import TrainerConfig
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask
from hepdl.train.loaders import tensor_loader
from hepdl.train.trainer import build_trainer


class EpochTimer(L.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, trainer, module) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer, module) -> None:
        self.times.append(time.perf_counter() - self._start)


def plain_pytorch(
    model, x, y, *, epochs: int, batch_size: int, lr: float, seed: int
) -> list[float]:
    """The loop a physicist would write by hand."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    times = []
    model.train()
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(model(x[idx])[:, 0], y[idx].float())
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def hepdl_epochs(model, x, y, *, epochs: int, batch_size: int, lr: float, seed: int) -> list[float]:
    task = ClassificationTask(model, loss="bce", optimizer="adam", lr=lr)
    timer = EpochTimer()
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainerConfig(
            max_epochs=epochs, progress_bar=False, early_stopping=None, deterministic=False
        )
        trainer, _ = build_trainer(config, Path(tmp))
        trainer.callbacks.append(timer)
        trainer.limit_val_batches = 0
        loader = tensor_loader(x, y, batch_size=batch_size, shuffle=True, seed=seed)
        trainer.fit(task, loader)
    return timer.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=24000)
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2, help="alternating rounds per side")
    args = parser.parse_args()

    torch.manual_seed(0)
    x = torch.randn(args.rows, args.features)
    y = (x[:, 0] * x[:, 1] + 0.3 * torch.randn(args.rows) > 0).long()
    reference = create_model("mlp", in_features=args.features, hidden=[128, 128, 128])
    common = dict(epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, seed=0)

    plain_times, hepdl_times = [], []
    for _ in range(args.repeats):  # alternate, so drifting machine load hits both sides
        # The first epoch of each side warms up allocators and threads: dropped.
        plain_times += plain_pytorch(copy.deepcopy(reference), x, y, **common)[1:]
        hepdl_times += hepdl_epochs(copy.deepcopy(reference), x, y, **common)[1:]

    plain, ours = statistics.median(plain_times), statistics.median(hepdl_times)
    steps = -(-int(args.rows) // args.batch_size)
    print(
        f"MLP 3x128, {args.rows} rows x {args.features} features, batch {args.batch_size}, "
        f"{steps} steps/epoch, torch threads {torch.get_num_threads()}"
    )
    print(f"plain PyTorch epoch: {plain * 1e3:8.1f} ms (median of {len(plain_times)})")
    print(f"hepdl epoch:         {ours * 1e3:8.1f} ms (median of {len(hepdl_times)})")
    print(f"ratio hepdl / plain: {ours / plain:.3f}  (goal <= 1.10)")


if __name__ == "__main__":
    main()
