"""Generation speed and memory, each as a ratio against a baseline run in the same command.

1. Speed per core: events/s of ``hepdl`` generating top jets (Pythia + FastJet clustering +
   truth matching + Parquet, one process) over events/s of bare Pythia (``nextBatch``
   with the same settings and nothing else). Goal >= 0.9.
2. Parallel speed-up: wall time of ``--jobs 1`` over ``--jobs 2`` for the same top-vs-qcd
   sample (the same bytes either way). Goal >= 1.8 on two idle cores.
3. Memory: peak resident memory of a generation 10x larger than one chunk over one of a
   single chunk, each in a fresh process. It must not grow with the request (~1.0).

    python benchmarks/bench_generation.py [--rows 2000] [--chunk-rows 1000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def speed_per_core(rows: int, chunk_rows: int, workdir: Path) -> dict[str, float]:
    from hepdl.generate._plan import Plan, generator_versions

    plan = Plan(
        _top_only(), SampleSettings(rows, seed=7, chunk_rows=chunk_rows), generator_versions()
    )
    strings = plan.pythia_strings(plan.tasks[0])
    hepdl_rate, events = hepdl_events_per_second(rows, chunk_rows, workdir)
    bare_rate = bare_pythia_events_per_second(strings, events)
    return {
        "events": events,
        "hepdl_events_per_s": hepdl_rate,
        "bare_events_per_s": bare_rate,
        "ratio": hepdl_rate / bare_rate,
    }


def jobs_speedup(rows: int, chunk_rows: int, workdir: Path) -> dict[str, float]:
    settings = SampleSettings(rows, seed=9, chunk_rows=chunk_rows)
    seconds = {}
    for jobs in (1, 2):
        start = time.perf_counter()
        generate("top-vs-qcd", settings, workdir / f"jobs{jobs}.parquet", jobs=jobs, overwrite=True)
        seconds[jobs] = time.perf_counter() - start
    same = (workdir / "jobs1.parquet").read_bytes() == (workdir / "jobs2.parquet").read_bytes()
    return {
        "jobs1_s": seconds[1],
        "jobs2_s": seconds[2],
        "speedup": seconds[1] / seconds[2],
        "same_bytes": same,
    }


_CHILD = """
import json, resource, sys
from hepdl.generate import SampleSettings, generate
rows, chunk, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
generate("top-vs-qcd", SampleSettings(rows, seed=5, chunk_rows=chunk), out, overwrite=True)
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def peak_memory(chunk_rows: int, workdir: Path) -> dict[str, float]:
    peaks = {}
    for factor in (1, 10):
        rows = factor * chunk_rows
        result = subprocess.run(
            [sys.executable, "-c", _CHILD, str(rows), str(chunk_rows), str(workdir / "m.parquet")],
            capture_output=True,
            text=True,
            check=True,
        )
        peaks[factor] = json.loads(result.stdout.strip().splitlines()[-1]) / 1024  # MiB
    return {
        "chunk_rows": chunk_rows,
        "peak_mib_1x": peaks[1],
        "peak_mib_10x": peaks[10],
        "ratio": peaks[10] / peaks[1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="top jets for the speed test")
    parser.add_argument("--chunk-rows", type=int, default=1000)
    parser.add_argument("--jobs-rows", type=int, default=1000, help="jets/class, jobs test")
    parser.add_argument("--memory-chunk", type=int, default=200)
    parser.add_argument("--only", choices=["speed", "jobs", "memory"], default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.only in (None, "speed"):
            r = speed_per_core(args.rows, args.chunk_rows, workdir)
            print(
                f"speed per core: hepdl {r['hepdl_events_per_s']:.1f} events/s, bare Pythia "
                f"{r['bare_events_per_s']:.1f} events/s over {r['events']} events: "
                f"ratio {r['ratio']:.3f} (goal >= 0.9)"
            )
        if args.only in (None, "jobs"):
            r = jobs_speedup(args.jobs_rows, max(args.jobs_rows // 4, 1), workdir)
            print(
                f"jobs: 1 job {r['jobs1_s']:.1f} s, 2 jobs {r['jobs2_s']:.1f} s: speed-up "
                f"{r['speedup']:.2f} (goal >= 1.8); same bytes: {r['same_bytes']}"
            )
        if args.only in (None, "memory"):
            r = peak_memory(args.memory_chunk, workdir)
            print(
                f"peak memory, chunk of {r['chunk_rows']} jets/class: 1x {r['peak_mib_1x']:.0f} "
                f"MiB, 10x {r['peak_mib_10x']:.0f} MiB: ratio {r['ratio']:.2f}"
            )


if __name__ == "__main__":
    main()
