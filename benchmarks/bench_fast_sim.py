"""Showers per second of hepdl's calorimeter simulation against each generative model that
replaces it (issue 18), at batch 1 and batch 10,000, on one CPU thread.

Positrons of 1-100 GeV (flat, the training sample of configs/calo_gan.yaml,
calo_vae.yaml, calo_flow.yaml) in the CaloGAN geometry. Each repeat times the simulation
and every model on the same energies, in rotating order (benchmarks/alternate.py); the
speed-up of a model is its showers/s over the simulation's in the same repeat, printed as
the median with its range over the repeats. Batch 1 is one shower per call (the
simulation with one energy, the model with a (1, 1) tensor), timed over ``--single``
calls; batch 10,000 is one call of the model and the simulation of the same 10,000
energies in the pieces ``hepdl showers`` uses. The models are the configs' architectures
with fresh weights unless ``--run`` gives trained run directories (the time does not
depend on the weights' values). On a GPU (``--device cuda``) the models run there and the
simulation stays on the CPU, as it would.

    python benchmarks/bench_fast_sim.py [--showers 10000] [--single 50] [--repeats 5]
        [--run runs/calo_gan-...] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch
import yaml

from alternate import add_repeats, alternate, check_repeats, ratios, spread
from hepdl.generate.calo_geometry import get_geometry
from hepdl.generate.shower_model import SPOTS_PER_BATCH, expected_spots, get_particle, simulate

CONFIGS = ("calo_gan", "calo_vae", "calo_flow")
LAYER_CELLS = [288, 144, 72]  # CaloGAN: 3 x 96, 12 x 12, 12 x 6


def config_models(root: Path) -> dict[str, torch.nn.Module]:
    """The architectures of the shipped configs, fresh weights, energy range 1-100 GeV."""
    from hepdl.models import create_model

    models = {}
    for name in CONFIGS:
        section = yaml.safe_load((root / "configs" / f"{name}.yaml").read_text())["model"]
        options = {k: v for k, v in section.items() if k != "name"}
        models[section["name"]] = create_model(
            section["name"], layer_cells=LAYER_CELLS, energy_range=[1.0, 100.0], **options
        )
    return models


def trained_models(runs: list[str]) -> dict[str, torch.nn.Module]:
    from hepdl.train.artifacts import load_trained

    models = {}
    for run in runs:
        config, model, _ = load_trained(Path(run))
        models[config.model.name] = model
    return models


def simulation(energies: np.ndarray, rng: np.random.Generator) -> None:
    geometry, particle = get_geometry("calogan"), get_particle("e+")
    spots = np.cumsum(expected_spots(particle, energies, geometry))
    piece = (spots - 1) // SPOTS_PER_BATCH
    for k in np.unique(piece):
        simulate(geometry, particle, energies[piece == k], rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--showers", type=int, default=10_000, help="the large batch")
    parser.add_argument("--single", type=int, default=50, help="batch-1 calls timed per side")
    parser.add_argument("--run", action="append", default=[], help="a trained run (repeatable)")
    parser.add_argument("--device", default="cpu")
    add_repeats(parser)
    args = parser.parse_args()
    check_repeats(parser, args.repeats)
    torch.set_num_threads(1)
    root = Path(__file__).resolve().parents[1]
    models = trained_models(args.run) if args.run else config_models(root)
    device = torch.device(args.device)
    for model in models.values():
        model.to(device).eval()
    print(f"one CPU thread; models on {device}; e+ 1-100 GeV, CaloGAN geometry (504 cells)")

    def model_side(model: torch.nn.Module, energies: np.ndarray, calls: int):
        e = torch.as_tensor(energies, dtype=torch.float32, device=device)[:, None]

        def run(repeat: int) -> float:
            torch.manual_seed(repeat)
            with torch.no_grad():
                start = time.perf_counter()
                for _ in range(calls):
                    model(e)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                return (time.perf_counter() - start) / (calls * len(energies))

        return run

    def simulation_side(energies: np.ndarray, calls: int):
        def run(repeat: int) -> float:
            rng = np.random.default_rng(repeat)
            start = time.perf_counter()
            for _ in range(calls):
                simulation(energies, rng)
            return (time.perf_counter() - start) / (calls * len(energies))

        return run

    rng = np.random.default_rng(0)
    for batch, calls in ((1, args.single), (args.showers, 1)):
        energies = rng.uniform(1.0, 100.0, batch)
        sides = {"simulation": simulation_side(energies, calls)}
        for name, model in models.items():
            sides[name] = model_side(model, energies, calls)
            sides[name](0)  # warm up (allocations, lazy initialisation)
        runs = alternate(sides, repeats=args.repeats)
        rate = [1 / t for t in runs["simulation"]]
        print(f"batch {batch}: simulation {np.median(rate):.4g} showers/s "
              f"[{min(rate):.4g}-{max(rate):.4g}]")  # fmt: skip
        for name in models:
            rates = [1 / t for t in runs[name]]
            print(
                f"  {name:12s} {np.median(rates):10.4g} showers/s "
                f"[{min(rates):.4g}-{max(rates):.4g}]; speed-up over the simulation "
                f"{spread(ratios(runs['simulation'], runs[name]), digits=1)}"
            )


if __name__ == "__main__":
    main()
