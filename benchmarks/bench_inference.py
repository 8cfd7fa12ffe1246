"""Inference on one CPU thread: PyTorch eager against TorchScript and ONNX Runtime.

    python benchmarks/bench_inference.py [--repeats 5] [--batches 1 100 10000]
        [--particles 32] [--models mlp pfn particlenet part]

Per model and batch size: the median time per call of each side, as per-jet latency at
batch 1 and as throughput (jets/s) above, and the ratio of each side's time to eager's
measured in the same repeat (below 1: faster than eager), median [range] over the
repeats; the sides alternate which goes first in each repeat (``alternate.py``).

What runs is what ``hepdl export`` writes: ``hepdl.deploy.network.DeployedNetwork`` (the
network with its output activation; the MLP with its standardisation) on random inputs
of the representation's shapes, padded jets of ``--particles`` P (the first jet full).
Eager: the module under ``torch.inference_mode``; TorchScript: ``torch.jit.trace`` of it,
frozen; ONNX Runtime: the graph of ``hepdl.deploy.onnx_export.trace_to_onnx``, a CPU
session with one intra-op thread. Each side's outputs must match eager's (max |diff|
printed): a different answer would be a different computation.

Models: the MLP (20 features, hidden 64 x 3, standardised), the PFN (paper's sizes),
ParticleNet-Lite (k 7, EdgeConv (32,)x3 and (64,)x3, FC 128) and a small ParT (embed
(64, 128, 64), 4 particle- and 2 class-attention blocks, 8 heads, pairwise features).
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from alternate import add_repeats, alternate, check_repeats, ratios, spread
from hepdl.deploy.network import DeployedNetwork
from hepdl.deploy.onnx_export import onnx_session, run_session, trace_to_onnx
from hepdl.models import create_model

MODELS = {
    "mlp": {"in_features": 20, "hidden": [64, 64, 64]},
    "pfn": {"in_features": 13},
    "particlenet": {
        "in_features": 13,
        "k": 7,
        "edge_convs": [[32, 32, 32], [64, 64, 64]],
        "fc_sizes": [128],
    },
    "part": {
        "in_features": 13,
        "embed_dims": [64, 128, 64],
        "pair_embed_dims": [32, 32],
        "num_layers": 4,
        "num_cls_layers": 2,
    },
}
MIN_SECONDS = 0.2  # each measurement repeats calls for at least this long


def inputs(name: str, batch: int, particles: int, seed: int) -> dict[str, np.ndarray]:
    """Random inputs of the representation's shapes: flat (B, 20) for the MLP, padded
    point clouds (B, P, ...) otherwise (ParT with pairwise (B, P, P, 4))."""
    rng = np.random.default_rng(seed)
    if name == "mlp":
        return {"features": rng.normal(2.0, 3.0, (batch, 20)).astype(np.float32)}
    counts = rng.integers(1, particles + 1, batch)
    counts[0] = particles
    mask = np.arange(particles)[None, :] < counts[:, None]  # (B, P): particles first
    keep = mask[..., None].astype(np.float32)
    arrays = {
        "points": rng.normal(0, 0.3, (batch, particles, 2)).astype(np.float32) * keep,
        "features": rng.normal(size=(batch, particles, 13)).astype(np.float32) * keep,
        "mask": mask,
    }
    if name == "part":
        pairs = (mask[:, :, None] & mask[:, None, :])[..., None].astype(np.float32)
        arrays["pairwise"] = rng.normal(size=(batch, particles, particles, 4)) * pairs
        arrays["pairwise"] = arrays["pairwise"].astype(np.float32)
    return arrays


def per_call(run: Callable[[], object]) -> float:
    """Median seconds per call over calls for at least MIN_SECONDS (after one warm-up)."""
    run()
    times: list[float] = []
    while sum(times) < MIN_SECONDS or len(times) < 3:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sides(name: str, batches: list[int], particles: int) -> dict[str, Callable[[int], dict]]:
    """eager / torchscript / onnxruntime: each a callable timing every batch size."""
    torch.manual_seed(0)
    network = create_model(name, **MODELS[name]).eval()
    example = inputs(name, 4, particles, seed=0)
    from hepdl.models.inputs import model_inputs

    names = list(model_inputs(network, example))
    standardizer = {"mean": [2.0] * 20, "std": [3.0] * 20} if name == "mlp" else None
    wrapper = DeployedNetwork(network, names, standardizer).eval()
    tensors = [torch.as_tensor(example[n]) for n in names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.freeze(torch.jit.trace(wrapper, tuple(tensors), check_trace=False))
        blob, _, _ = trace_to_onnx(wrapper, name, {n: example[n] for n in names}, opset=17)
    session = onnx_session(blob, threads=1)
    data = {b: inputs(name, b, particles, seed=b) for b in batches}
    feeds = {b: [torch.as_tensor(data[b][n]) for n in names] for b in batches}

    def torch_side(module: Callable) -> Callable[[int], dict]:
        def measure(_: int) -> dict:
            with torch.inference_mode():
                return {b: per_call(lambda b=b: module(*feeds[b])) for b in batches}

        return measure

    def ort_side(_: int) -> dict:
        return {b: per_call(lambda b=b: run_session(session, data[b])) for b in batches}

    with torch.inference_mode():
        for b in batches:
            expected = wrapper(*feeds[b]).numpy()
            script = float(np.abs(scripted(*feeds[b]).numpy() - expected).max())
            onnx = float(np.abs(run_session(session, data[b]) - expected).max())
            print(f"  {name} batch {b}: max |diff| torchscript {script:.1g}, onnx {onnx:.1g}")
    return {
        "eager": torch_side(wrapper),
        "torchscript": torch_side(scripted),
        "onnxruntime": ort_side,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_repeats(parser)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 100, 10000])
    parser.add_argument("--particles", type=int, default=32)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    check_repeats(parser, args.repeats)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread; P = {args.particles}; {args.repeats} repeats")
    header = f"{'model':<12}{'batch':>6}  {'eager':>14}  {'torchscript / eager':>22}  "
    rows = [header + f"{'onnxruntime / eager':>22}"]
    for name in args.models:
        runs = alternate(sides(name, args.batches, args.particles), repeats=args.repeats)
        for b in args.batches:
            eager = statistics.median(r[b] for r in runs["eager"])
            speed = f"{eager * 1e6:.0f} us/jet" if b == 1 else f"{b / eager:.0f} jets/s"
            cells = [
                spread(ratios(runs[s], runs["eager"], key=lambda r, b=b: r[b]), width=22)
                for s in ("torchscript", "onnxruntime")
            ]
            rows.append(f"{name:<12}{b:>6}  {speed:>14}  {cells[0]}  {cells[1]}")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
