"""Inference on one CPU thread: PyTorch eager against TorchScript, torch.compile and ORT.

    python benchmarks/bench_inference.py [--repeats 5] [--batches 1 100 10000]
        [--particles 64] [--models mlp pfn particlenet part] [--budget 60] [--gpu]

What runs is what ``hepdl export`` deploys: per model, a run directory made by hepdl's
own data path without a fit (``tests/deploy/runs.make_run``: toy jets, the run's
representation, BatchNorm statistics settled), exported by ``export_onnx`` (the file
``hepdl export`` writes), and the run loaded back as ``hepdl evaluate`` loads it
(``load_trained``) inside :class:`~hepdl.deploy.network.DeployedNetwork` (the network
with its output activation; the MLP with its standardisation). Inputs are random arrays
of the run's representation (``example_inputs.random_inputs``): the MLP's substructure
features (N, F), point clouds padded to ``--particles`` P (N, P, ...), ParT with its
pairwise features (N, P, P, 4), each jet's particle count drawn from 1 .. P.

Sides, all on one thread (``torch.set_num_threads(1)``, ORT ``intra_op_num_threads=1``):

- eager: the module under ``torch.inference_mode`` (the baseline);
- torchscript: ``torch.jit.trace`` of it, frozen;
- compile: ``torch.compile`` (inductor; it needs a C compiler, checked first) with its
  default shape handling (batch 1 specialised, a recompile with dynamic shapes at the
  next size); the first call at each batch size (compile included, from an empty
  inductor cache) is timed apart and printed, the timed calls come after it;
- onnxruntime: a CPU session of the exported .onnx file.

A side that fails (trace, compile) is reported with the first line of its error and left
out of the table. Per model and batch size the sides alternate which goes first in each
repeat (``alternate.py``); the table gives each side's time over eager's in the same
repeat (below 1: faster than eager), median [range], and the absolute per-jet times
(median, CPU-only context: these depend on the machine and its load). A measurement is
calls for at least MIN_SECONDS after a warm-up call. Where eager's call would take over
SINGLE_CALL_SECONDS (predicted from the previous batch size: the PFN, ParticleNet and
ParT at 10,000 jets take seconds to tens of seconds) a measurement is one call and the
repeats are cut to fit ``--budget`` seconds per model and batch (at least 2; the table's
``rep`` column). Every side's outputs must match eager's (max |diff| printed, from each
side's last call): a different answer would be a different computation.

``--gpu``: the same on a CUDA device (eager, compile, ORT's CUDA provider where the
installed onnxruntime has it), host arrays in and out of every side so all pay the same
transfers; without a CUDA device it says so and exits 0.

Models: the MLP (substructure features, hidden 64 x 3, standardised), the PFN (paper's
sizes), ParticleNet-Lite (k 7, EdgeConv (32,)x3 and (64,)x3, FC 128) and a small ParT
(embed (64, 128, 64), pair embed (32, 32), 4 particle- and 2 class-attention blocks,
8 heads, pairwise features).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alternate import add_repeats, alternate, check_repeats, ratios, spread

POINTS = {"name": "point_cloud"}
# model -> (model options, representation (P added for point clouds), standardize)
MODELS: dict[str, tuple[dict, dict, bool]] = {
    "mlp": ({"hidden": [64, 64, 64]}, {"name": "substructure"}, True),
    "pfn": ({}, POINTS, False),
    "particlenet": (
        {"k": 7, "edge_convs": [[32, 32, 32], [64, 64, 64]], "fc_sizes": [128]},
        POINTS,
        False,
    ),
    "part": (
        {
            "embed_dims": [64, 128, 64],
            "pair_embed_dims": [32, 32],
            "num_layers": 4,
            "num_cls_layers": 2,
        },
        {**POINTS, "pairwise": True},
        False,
    ),
}
SIDES = ("eager", "torchscript", "compile", "onnxruntime")
GPU_SIDES = ("eager", "compile", "onnxruntime")
MIN_SECONDS = 0.2  # a measurement repeats calls for at least this long
SINGLE_CALL_SECONDS = 1.0  # a call longer than this is measured once, without warm-up


@dataclass
class Exported:
    """One model as ``hepdl export`` leaves it: the loaded wrapper and the .onnx file."""

    wrapper: Any  # DeployedNetwork, eval mode
    names: list[str]  # its positional inputs
    prep: Any  # the run's Preprocessing
    onnx_path: Path


@dataclass
class Side:
    """A backend ready to call on one batch: ``call(feed)``, or why it could not run."""

    call: Callable[[Any], np.ndarray] | None = None
    failure: str = ""
    first_call: dict[int, float] = field(default_factory=dict)  # batch -> seconds
    last: np.ndarray | None = None  # the last call's output (B, K)


def export(name: str, particles: int, folder: Path) -> Exported:
    """A run directory of model ``name`` (weights as initialised, seeded), exported."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ at the repo root
    from tests.deploy.runs import make_run, write_jet_file

    from hepdl.deploy.network import DeployedNetwork, input_arrays
    from hepdl.deploy.onnx_export import export_onnx
    from hepdl.train.artifacts import load_trained

    options, representation, standardize = MODELS[name]
    if representation["name"] == "point_cloud":
        representation = {**representation, "max_particles": particles}
    folder.mkdir(parents=True, exist_ok=True)
    jets = write_jet_file(folder / "jets.parquet")
    run_dir = make_run(
        folder,
        jets,
        model={"name": name, **options},
        representation=representation,
        standardize=standardize,
    )
    path = export_onnx(run_dir).path
    _, model, prep = load_trained(run_dir)
    names = list(input_arrays(model, batch_inputs(prep, 2, particles, seed=0)))
    wrapper = DeployedNetwork(model, names, prep.standardizer).eval()
    return Exported(wrapper, names, prep, path)


def batch_inputs(prep: Any, batch: int, particles: int, *, seed: int) -> dict[str, np.ndarray]:
    """Random arrays of the run's representation: (B, F) flat, else padded (B, P, ...)."""
    from hepdl.deploy import example_inputs as examples

    return examples.random_inputs(prep, batch, particles=particles, seed=seed)


def c_compiler() -> str | None:
    """The C++ compiler inductor would call on CPU, None where there is none."""
    for name in ("c++", "g++", "clang++", "cc", "gcc"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:200]


def torch_sides(model: Exported, device: str, example: list[torch.Tensor]) -> dict[str, Side]:
    """eager, torchscript (CPU only), compile: each a host-arrays-in, NumPy-out callable."""
    wrapper = model.wrapper.to(device)

    def host_call(module: Callable) -> Callable[[list[torch.Tensor]], np.ndarray]:
        def call(feed: list[torch.Tensor]) -> np.ndarray:
            with torch.inference_mode():
                out = module(*(t.to(device) for t in feed))
                return out.cpu().numpy()  # (B, K); .cpu() waits for a CUDA kernel

        return call

    sides = {"eager": Side(host_call(wrapper))}
    if device == "cpu":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TracerWarnings onnx_export lets through
                traced = torch.jit.trace(wrapper, tuple(example), check_trace=False)
                sides["torchscript"] = Side(host_call(torch.jit.freeze(traced)))
        except Exception as err:  # the tracer raises many kinds
            sides["torchscript"] = Side(failure=f"torch.jit.trace: {first_line(err)}")
    if device == "cpu" and c_compiler() is None:
        sides["compile"] = Side(failure="torch.compile: no C++ compiler on PATH (inductor)")
    else:
        sides["compile"] = Side(host_call(torch.compile(wrapper)))
    return sides


def onnx_side(model: Exported, device: str) -> Side:
    """An ORT session of the exported file: CPU with one thread, or the CUDA provider."""
    import onnxruntime as ort

    from hepdl.deploy.onnx_export import onnx_session, run_session

    if device == "cpu":
        session = onnx_session(str(model.onnx_path), threads=1)
    elif "CUDAExecutionProvider" not in ort.get_available_providers():
        return Side(failure=f"onnxruntime {ort.__version__} has no CUDAExecutionProvider")
    else:
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
        session = ort.InferenceSession(str(model.onnx_path), providers=providers)
    return Side(lambda arrays: run_session(session, arrays))


def per_call(run: Callable[[], object], *, single: bool) -> float:
    """Median seconds per call over calls for at least MIN_SECONDS after one warm-up;
    ``single``: one call, no warm-up (a call of tens of seconds, already warmed)."""
    if single:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    run()
    times: list[float] = []
    while sum(times) < MIN_SECONDS or len(times) < 3:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Row:
    """One (model, batch): per-repeat seconds per call of each side that ran."""

    model: str
    batch: int
    repeats: int
    seconds: dict[str, list[float]]
    differences: dict[str, float]  # max |side - eager| on this batch


def first_calls(sides: dict[str, Side], feeds: dict[str, Any], batch: int) -> None:
    """Each side's first call on the batch (warm-up, compile), timed into ``first_call``;
    a side that raises is marked failed."""
    for s, side in sides.items():
        if side.call is None:
            continue
        start = time.perf_counter()
        try:
            side.last = side.call(feeds[s])
        except Exception as err:  # torch.compile raises its backend's kinds at call
            side.failure, side.call = f"batch {batch}: {first_line(err)}", None
            continue
        side.first_call[batch] = time.perf_counter() - start


def timed(side: Side, feed: Any, *, single: bool) -> Callable[[int], float]:
    """An ``alternate`` side: seconds per call of ``side`` on ``feed`` (output kept)."""

    def call() -> None:
        side.last = side.call(feed)

    return lambda _: per_call(call, single=single)


def measure(
    name: str,
    model: Exported,
    sides: dict[str, Side],
    *,
    batches: list[int],
    particles: int,
    repeats: int,
    budget: float,
) -> list[Row]:
    """Per batch, the sides alternated over ``repeats`` after a first call of each
    (warm-up, compile). Where eager's call is predicted (from the previous batch size,
    else its first call) to take over SINGLE_CALL_SECONDS, a measurement is one call,
    only compile gets a first call, and the repeats are cut to fit ``budget`` seconds
    (at least 2). The outputs of each side's last call are checked against eager's."""
    rows: list[Row] = []
    for batch in batches:
        arrays = batch_inputs(model.prep, batch, particles, seed=batch)
        tensors = [torch.as_tensor(arrays[n]) for n in model.names]
        feeds = {s: arrays if s == "onnxruntime" else tensors for s in sides}
        if rows:
            before = rows[-1]
            predicted = statistics.median(before.seconds["eager"]) * batch / before.batch
        else:
            first_calls(sides, feeds, batch)
            predicted = sides["eager"].first_call[batch]
        single = predicted > SINGLE_CALL_SECONDS
        if rows:  # warm-up; a long call needs none, but compile must compile first
            first_calls(
                {s: v for s, v in sides.items() if not single or s == "compile"}, feeds, batch
            )
        ready = {s: timed(v, feeds[s], single=single) for s, v in sides.items() if v.call}
        count = repeats
        if single:
            count = max(2, min(repeats, int(budget / (predicted * len(ready)))))
        runs = alternate(ready, repeats=count)
        eager = sides["eager"].last.astype(np.float64)  # (B, K)
        differences = {
            s: float(np.max(np.abs(sides[s].last - eager))) for s in ready if s != "eager"
        }
        rows.append(Row(name, batch, count, runs, differences))
        shown = ", ".join(f"{s} {d:.1g}" for s, d in differences.items())
        print(f"  {name} batch {batch}: {count} repeats; max |diff| vs eager: {shown}", flush=True)
    return rows


def per_jet(seconds: list[float], batch: int) -> str:
    """Median microseconds per jet: 3 significant digits, whole ones from 100 up."""
    micro = statistics.median(seconds) / batch * 1e6
    return f"{micro:.0f}" if micro >= 100 else f"{micro:.3g}"


def tables(rows: list[Row], sides: tuple[str, ...]) -> str:
    """The ratio table (side / eager, median [range]) and the absolute per-jet times."""
    others = [s for s in sides if s != "eager"]
    head = f"{'model':<12}{'batch':>6}{'rep':>4}  {'eager':>15}"
    lines = [head + "".join(f"{s + ' / eager':>24}" for s in others)]
    for row in rows:
        eager = statistics.median(row.seconds["eager"])
        speed = f"{eager * 1e6:.0f} us/jet" if row.batch == 1 else f"{row.batch / eager:.0f} jets/s"
        cells = [
            spread(ratios(row.seconds[s], row.seconds["eager"]), width=24)
            if s in row.seconds
            else "failed".rjust(24)
            for s in others
        ]
        lines.append(f"{row.model:<12}{row.batch:>6}{row.repeats:>4}  {speed:>15}" + "".join(cells))
    lines += ["", "absolute per-jet time, median (us/jet)"]
    lines.append(f"{'model':<12}{'batch':>6}" + "".join(f"{s:>14}" for s in sides))
    for row in rows:
        cells = [
            per_jet(row.seconds[s], row.batch) if s in row.seconds else "failed" for s in sides
        ]
        lines.append(f"{row.model:<12}{row.batch:>6}" + "".join(f"{c:>14}" for c in cells))
    return "\n".join(lines)


def benchmark(args: argparse.Namespace, device: str) -> tuple[list[Row], list[str]]:
    """Every model measured; the rows and the notes (failures, first-call times)."""
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench_inference_") as tmp:
        # an empty inductor cache: the first compiled call pays the whole compile
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(Path(tmp) / "inductor")
        for name in args.models:
            model = export(name, args.particles, Path(tmp) / name)
            example = batch_inputs(model.prep, 4, args.particles, seed=0)
            tensors = [torch.as_tensor(example[n]) for n in model.names]
            sides = {**torch_sides(model, device, tensors), "onnxruntime": onnx_side(model, device)}
            rows += measure(
                name,
                model,
                sides,
                batches=args.batches,
                particles=args.particles,
                repeats=args.repeats,
                budget=args.budget,
            )
            print(tables([r for r in rows if r.model == name], tuple(sides)), flush=True)
            for s, side in sides.items():
                if side.failure:
                    notes.append(f"{name} {s} failed: {side.failure}")
            for s in ("eager", "compile"):
                firsts = sides[s].first_call if s in sides else {}
                if firsts:
                    shown = ", ".join(f"batch {b} {t:.3g} s" for b, t in firsts.items())
                    notes.append(f"{name} {s} first call: {shown}")
    return rows, notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_repeats(parser)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 100, 10000])
    parser.add_argument("--particles", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds per model and batch where one call takes over a second: fewer "
        "repeats (at least 2) to fit (default 60)",
    )
    parser.add_argument("--gpu", action="store_true", help="measure on a CUDA device")
    args = parser.parse_args()
    check_repeats(parser, args.repeats)
    if args.gpu and not torch.cuda.is_available():
        print(f"--gpu: torch {torch.__version__} sees no CUDA device; nothing measured")
        return
    device = "cuda" if args.gpu else "cpu"
    torch.set_num_threads(1)
    import onnxruntime as ort

    where = torch.cuda.get_device_name() if args.gpu else f"CPU, C++ compiler {c_compiler()}"
    print(
        f"torch {torch.__version__}, onnxruntime {ort.__version__}, 1 thread, {where}; "
        f"P = {args.particles}; {args.repeats} repeats (fewer where a call takes over "
        f"{SINGLE_CALL_SECONDS:g} s, to fit {args.budget:g} s per model and batch)",
        flush=True,
    )
    started = time.perf_counter()
    rows, notes = benchmark(args, device)
    print(tables(rows, GPU_SIDES if args.gpu else SIDES))
    print("\n".join(["", *notes, f"total {time.perf_counter() - started:.0f} s"]))


if __name__ == "__main__":
    main()
