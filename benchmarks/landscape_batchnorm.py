"""BatchNorm running statistics of a trained image network: stored vs recomputed (PreciseBN).

Evaluates a finished run's test jets three ways and prints AUC, accuracy and the score
range of each: eval mode with the stored running statistics, train mode (the statistics of
each batch of 128), and eval mode after recomputing the running statistics of the same
weights as the exact average over the training jets (momentum None, no gradient; Wu &
Johnson, arXiv:2105.07576). Also prints the first BatchNorms' stored and recomputed
running variances. ``--checkpoint last.ckpt`` reads the last epoch's weights instead of
the best (``checkpoints/<name>`` of the run):

    python benchmarks/landscape_batchnorm.py runs/landscape/qg/resnet/seed-1
    python benchmarks/landscape_batchnorm.py RUN --checkpoint last.ckpt

Used for the ResNet section of docs/landscape.md (accuracy 0.5 with AUC 0.74).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _scores(model: Any, images: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        chunks = [
            model.probabilities(model(images[i : i + 128])) for i in range(0, len(images), 128)
        ]
    return torch.cat(chunks)[:, -1].double().numpy()  # (N,) signal probability


def _report(tag: str, labels: np.ndarray, scores: np.ndarray) -> None:
    from hepdl.metrics import classification_summary

    summary = classification_summary(labels, scores, signal_efficiencies=[0.3])
    print(
        f"{tag:36s} AUC {summary['auc']:.4f}  accuracy {summary['accuracy']:.4f}  "
        f"scores [{scores.min():.3f}, median {np.median(scores):.3f}, {scores.max():.3f}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run directory of an image model")
    parser.add_argument("--checkpoint", help="checkpoints/<name> instead of the best weights")
    parser.add_argument("--show", type=int, default=3, help="BatchNorm layers to print")
    args = parser.parse_args()

    from hepdl.train.artifacts import load_trained
    from hepdl.train.inputs import load_sample, split_rows

    config, model, _ = load_trained(args.run)
    if args.checkpoint:  # Lightning checkpoint of the task: weights under "model."
        state = torch.load(args.run / "checkpoints" / args.checkpoint, weights_only=True)
        model.load_state_dict({k.removeprefix("model."): v for k, v in state["state_dict"].items()})
    sample = load_sample(config.data)
    train_idx, _, test_idx = split_rows(config.data, sample.labels, seed=config.seed)
    images = torch.from_numpy(sample.inputs["image"])  # (N, C, H, W)
    labels = sample.labels[test_idx]
    norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    if not norms:
        raise SystemExit(f"{args.run}: model {config.model.name} has no BatchNorm2d layer")
    stored = [bn.running_var.mean().item() for bn in norms[: args.show]]

    model.eval()
    _report("eval, stored running statistics", labels, _scores(model, images[test_idx]))
    model.train()
    _report("train mode (batch statistics)", labels, _scores(model, images[test_idx]))
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative: the exact average over the training batches
    with torch.no_grad():
        for i in range(0, len(train_idx), 128):
            model(images[train_idx[i : i + 128]])
    model.eval()
    _report("eval, statistics recomputed", labels, _scores(model, images[test_idx]))
    for i, before in enumerate(stored):
        after = norms[i].running_var.mean().item()
        print(f"BatchNorm {i}: running var (channel mean) stored {before:.3g}, exact {after:.3g}")


if __name__ == "__main__":
    main()
