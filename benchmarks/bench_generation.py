"""Generation speed and memory, each as a ratio against a baseline run in the same command.

1. Speed per core: events/s of ``hepdl`` generating top jets (Pythia + FastJet clustering +
   truth matching + Parquet, one process) over events/s of bare Pythia (``nextBatch``
   with the same settings and nothing else). Goal >= 0.9.
2. Parallel speed-up: wall time of ``--jobs 1`` over ``--jobs 2`` for the same top-vs-qcd
   sample (the same bytes either way). Goal >= 1.8 on two idle cores.
3. Memory: peak resident memory of a generation 10x larger than one chunk over one of a
   single chunk, each in a fresh process. It must not grow with the request (~1.0).

    python benchmarks/bench_generation.py [--rows 2000] [--chunk-rows 1000] [--repeats 5]

Each part measures its two sides alternately, ``--repeats`` times each (``alternate.py``),
and prints the median of the per-repeat ratios with their range.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from alternate import add_repeats, alternate, check_repeats, ratios, spread
from hepdl.generate import SampleSettings, generate, read_metadata
from hepdl.generate.recipes import JetDefaults, Sample


def _top_only() -> Sample:
    return Sample(
        name="top",
        kind="jet",
        description="top jets only",
        classes=("top",),
        jets=JetDefaults(),
    )


def bare_pythia_events_per_second(strings: list[str], n_events: int) -> float:
    """Bare Pythia: initialise once, nextBatch until n_events, keep nothing."""
    from hepdl.generate._pythia import make_pythia

    start = time.perf_counter()
    pythia = make_pythia(strings, sample="bare")
    done = 0
    while done < n_events:
        batch = pythia.nextBatch(min(256, n_events - done), "skip")
        done += len(batch)
    return n_events / (time.perf_counter() - start)


def hepdl_events_per_second(rows: int, chunk_rows: int, workdir: Path) -> tuple[float, int]:
    settings = SampleSettings(rows, seed=7, chunk_rows=chunk_rows)
    start = time.perf_counter()
    out = generate(_top_only(), settings, workdir / "top.parquet", overwrite=True).path
    seconds = time.perf_counter() - start
    events = read_metadata(out)["events_generated_per_class"]["top"]
    return events / seconds, events


def speed_per_core(rows: int, chunk_rows: int, workdir: Path, repeats: int) -> dict[str, Any]:
    from hepdl.generate._plan import Plan, generator_versions

    plan = Plan(
        _top_only(), SampleSettings(rows, seed=7, chunk_rows=chunk_rows), generator_versions()
    )
    strings = plan.pythia_strings(plan.tasks[0])
    events = hepdl_events_per_second(rows, chunk_rows, workdir)[1]  # warm-up: caches, imports
    runs = alternate(
        {
            "hepdl": lambda _: hepdl_events_per_second(rows, chunk_rows, workdir)[0],
            "bare": lambda _: bare_pythia_events_per_second(strings, events),
        },
        repeats=repeats,
    )
    return {
        "events": events,
        "hepdl_events_per_s": statistics.median(runs["hepdl"]),
        "bare_events_per_s": statistics.median(runs["bare"]),
        "ratios": ratios(runs["hepdl"], runs["bare"]),
    }


def jobs_speedup(rows: int, chunk_rows: int, workdir: Path, repeats: int) -> dict[str, Any]:
    settings = SampleSettings(rows, seed=9, chunk_rows=chunk_rows)

    def seconds(jobs: int) -> float:
        start = time.perf_counter()
        generate("top-vs-qcd", settings, workdir / f"jobs{jobs}.parquet", jobs=jobs, overwrite=True)
        return time.perf_counter() - start

    runs = alternate({1: lambda _: seconds(1), 2: lambda _: seconds(2)}, repeats=repeats)
    same = (workdir / "jobs1.parquet").read_bytes() == (workdir / "jobs2.parquet").read_bytes()
    return {
        "jobs1_s": statistics.median(runs[1]),
        "jobs2_s": statistics.median(runs[2]),
        "ratios": ratios(runs[1], runs[2]),
        "same_bytes": same,
    }


_CHILD = """
import json, resource, sys
from hepdl.generate import SampleSettings, generate
rows, chunk, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
generate("top-vs-qcd", SampleSettings(rows, seed=5, chunk_rows=chunk), out, overwrite=True)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def peak_memory(chunk_rows: int, workdir: Path, repeats: int) -> dict[str, Any]:
    def peak_mib(factor: int) -> float:
        rows = factor * chunk_rows
        result = subprocess.run(
            [sys.executable, "-c", _CHILD, str(rows), str(chunk_rows), str(workdir / "m.parquet")],
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(result.stdout.strip().splitlines()[-1]) / 1024  # MiB

    runs = alternate({1: lambda _: peak_mib(1), 10: lambda _: peak_mib(10)}, repeats=repeats)
    return {
        "chunk_rows": chunk_rows,
        "peak_mib_1x": statistics.median(runs[1]),
        "peak_mib_10x": statistics.median(runs[10]),
        "ratios": ratios(runs[10], runs[1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="top jets for the speed test")
    parser.add_argument("--chunk-rows", type=int, default=1000)
    parser.add_argument("--jobs-rows", type=int, default=1000, help="jets/class, jobs test")
    parser.add_argument("--memory-chunk", type=int, default=200)
    parser.add_argument("--only", choices=["speed", "jobs", "memory"], default=None)
    add_repeats(parser)
    args = parser.parse_args()
    check_repeats(parser, args.repeats)
    print(f"{args.repeats} alternating repeats per part; ratios: median [min-max]")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.only in (None, "speed"):
            r = speed_per_core(args.rows, args.chunk_rows, workdir, args.repeats)
            print(
                f"speed per core: hepdl {r['hepdl_events_per_s']:.1f} events/s, bare Pythia "
                f"{r['bare_events_per_s']:.1f} events/s (medians) over {r['events']} events: "
                f"ratio {spread(r['ratios'])} (goal >= 0.9)"
            )
        if args.only in (None, "jobs"):
            r = jobs_speedup(args.jobs_rows, max(args.jobs_rows // 4, 1), workdir, args.repeats)
            print(
                f"jobs: 1 job {r['jobs1_s']:.1f} s, 2 jobs {r['jobs2_s']:.1f} s (medians): "
                f"speed-up {spread(r['ratios'], digits=2)} (goal >= 1.8); "
                f"same bytes: {r['same_bytes']}"
            )
        if args.only in (None, "memory"):
            r = peak_memory(args.memory_chunk, workdir, args.repeats)
            print(
                f"peak memory, chunk of {r['chunk_rows']} jets/class: 1x {r['peak_mib_1x']:.0f} "
                f"MiB, 10x {r['peak_mib_10x']:.0f} MiB (medians): ratio "
                f"{spread(r['ratios'], digits=2)}"
            )


if __name__ == "__main__":
    main()
