"""Showers per second per core of hepdl's calorimeter simulation (electrons in cms_ecal).

The number a fast-simulation model (issue 18) is compared with. Each repeat simulates a
batch at 10 GeV and at 100 GeV, alternating with a baseline that does the least any
spot-based simulation must: draw the same number of spots' depths from a gamma
distribution (one NumPy call). The ratio says how much the model costs beyond its random
numbers; showers/s is printed too, as measured on this machine's one core (absolute
times on a shared CPU are indicative only).

    python benchmarks/bench_showers.py [--showers 300] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # per core: NumPy must not fan out

import numpy as np

from alternate import add_repeats, alternate, check_repeats, ratios, spread
from hepdl.generate.calo_geometry import get_geometry
from hepdl.generate.shower_model import expected_spots, get_particle, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--showers", type=int, default=300)
    add_repeats(parser)
    args = parser.parse_args()
    check_repeats(parser, args.repeats)
    geometry = get_geometry("cms_ecal")
    for energy in (10.0, 100.0):
        energies = np.full(args.showers, energy)
        spots = int(expected_spots(get_particle("e-"), energies, geometry).sum())

        def hepdl_side(repeat: int, energies: np.ndarray = energies) -> float:
            start = time.perf_counter()
            simulate(geometry, "e-", energies, np.random.default_rng(repeat))
            return time.perf_counter() - start

        def bare_side(repeat: int, spots: int = spots) -> float:
            start = time.perf_counter()
            np.random.default_rng(repeat).gamma(4.0, 2.0, spots)
            return time.perf_counter() - start

        simulate(geometry, "e-", energies[:10], np.random.default_rng(0))  # warm caches
        runs = alternate({"hepdl": hepdl_side, "bare": bare_side}, repeats=args.repeats)
        rates = [args.showers / t for t in runs["hepdl"]]
        print(
            f"e- {energy:g} GeV ({spots / args.showers:.0f} spots/shower): "
            f"{np.median(rates):.0f} showers/s per core [{min(rates):.0f}-{max(rates):.0f}]; "
            f"time hepdl/bare gamma draws: {spread(ratios(runs['hepdl'], runs['bare']))}"
        )


if __name__ == "__main__":
    main()
