"""A trigger-style MLP through hls4ml: pruned, in fixed point, C-simulated against float.

    python benchmarks/bench_inference_hls4ml.py [--features 10] [--hidden 16 16]
        [--sparsity 0.5] [--precision "ap_fixed<16,6>"] [--jets 2000]

Level-1 triggers run small networks on FPGAs in fixed-point arithmetic; hls4ml turns a
network into HLS C++ whose C simulation (``hls_model.compile()``, g++, no FPGA tools)
computes bit for bit what the firmware would. This checks that a hepdl MLP survives the
trip: the MLP (``create_model("mlp")``, standardised inputs, ReLU, sigmoid output) has
``--sparsity`` of each Linear's weights pruned by magnitude (``torch.nn.utils.prune``),
then hls4ml converts it at ``--precision`` (its default ``ap_fixed<16,6>``: 16 bits, 6
of them integer) and the C simulation's outputs on ``--jets`` random standardised rows
(N, F) are compared with the float model's: max and median |difference| and the
fraction of jets on the same side of the 0.5 cut. Nothing here is a latency: that needs
HLS synthesis (Vivado/Vitis), which is not installed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import numpy as np
import torch
from torch import nn

from hepdl.models import create_model


def pruned_mlp(features: int, hidden: list[int], sparsity: float) -> nn.Sequential:
    """The hepdl MLP with the smallest ``sparsity`` of each Linear's weights set to 0,
    as the plain Sequential hls4ml traces: its layers, then its output sigmoid."""
    from torch.nn.utils import prune

    torch.manual_seed(0)
    model = create_model("mlp", in_features=features, hidden=hidden).eval()
    for layer in model.layers:
        if isinstance(layer, nn.Linear):
            prune.l1_unstructured(layer, "weight", amount=sparsity)
            prune.remove(layer, "weight")  # the zeros become the weights
    trigger = nn.Sequential(*model.layers, nn.Sigmoid()).eval()
    check = torch.randn(5, features)
    with torch.no_grad():  # the Sequential computes what hepdl's prediction does
        expected = model.probabilities(model(check))
        if not torch.allclose(trigger(check), expected):
            raise SystemExit("the Sequential given to hls4ml differs from the hepdl MLP")
    return trigger


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 16])
    parser.add_argument("--sparsity", type=float, default=0.5)
    parser.add_argument("--precision", default="ap_fixed<16,6>")
    parser.add_argument("--jets", type=int, default=2000)
    args = parser.parse_args()
    if not 0.0 <= args.sparsity < 1.0:
        parser.error(f"--sparsity must be in [0, 1), got {args.sparsity}")
    compiler = shutil.which("g++")
    if compiler is None:
        raise SystemExit("hls4ml's C simulation needs g++, which is not on PATH")
    import hls4ml

    trigger = pruned_mlp(args.features, args.hidden, args.sparsity)
    weights = [m.weight for m in trigger if isinstance(m, nn.Linear)]
    zeros = sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)
    rows = np.random.default_rng(1).normal(size=(args.jets, args.features)).astype(np.float32)
    with torch.no_grad():
        expected = trigger(torch.as_tensor(rows)).numpy()[:, 0]  # (N,)
    config = hls4ml.utils.config_from_pytorch_model(
        trigger,
        input_shape=(args.features,),
        granularity="name",
        backend="Vitis",
        default_precision=args.precision,
    )
    with tempfile.TemporaryDirectory(prefix="hls4ml_") as tmp:
        hls_model = hls4ml.converters.convert_from_pytorch_model(
            trigger, output_dir=tmp, backend="Vitis", hls_config=config, io_type="io_parallel"
        )
        start = time.perf_counter()
        hls_model.compile()  # writes the HLS C++ and builds its C simulation with g++
        built = time.perf_counter() - start
        start = time.perf_counter()
        got = np.asarray(hls_model.predict(np.ascontiguousarray(rows))).reshape(-1)  # (N,)
        simulated = time.perf_counter() - start
    difference = np.abs(got.astype(np.float64) - expected)
    same = float(np.mean((got > 0.5) == (expected > 0.5)))
    print(
        f"hls4ml {hls4ml.__version__}, torch {torch.__version__}, {compiler}; MLP "
        f"{args.features} -> {' -> '.join(map(str, args.hidden))} -> 1, "
        f"{zeros:.0%} of the weights zero, {args.precision}"
    )
    print(f"C simulation built in {built:.1f} s; {args.jets} jets simulated in {simulated:.2f} s")
    print(
        f"|hls4ml - float|: max {difference.max():.3g}, median {np.median(difference):.3g}; "
        f"same side of 0.5: {same:.2%} of {args.jets} jets"
    )


if __name__ == "__main__":
    main()
