"""The training-loop benchmark of two source trees, alternated: did a change slow hepdl down?

    python benchmarks/bench_revisions.py --before /path/to/old/checkout [--repeats 5]
        [--after .] [-- extra options for bench_training_epoch.py]

``bench_training_epoch.py`` measures, in one process, hepdl's epoch against a plain
PyTorch loop on the same tensors (the ratio hepdl/plain, robust to the machine's load).
This script runs it ``--repeats`` times for each tree, alternating which tree goes first,
each run in its own process with that tree's ``src`` first on ``PYTHONPATH`` (its own
copy of the benchmark), and reports per tree the median steps and epoch ratios with their
range, and the median of after/before over the repeats. An old checkout is made with
``git worktree add /tmp/before <commit>``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

# One row of bench_training_epoch.py's table: batch, spe, steps, plain ms, hepdl ms, then
# "steps ratio [range]" and "epoch ratio [range]".
ROW = re.compile(
    r"^\s*(\d+)\s+(\S+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+) \[[^\]]*\]\s+([\d.]+) \[",
    re.MULTILINE,
)


def one_run(tree: Path, extra: list[str]) -> tuple[float, float]:
    """(steps ratio, epoch ratio) of one benchmark run of ``tree``'s code."""
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    command = [sys.executable, str(tree / "benchmarks" / "bench_training_epoch.py")]
    command += ["--repeats", "1", *extra]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    match = ROW.search(out)
    if match is None:
        raise SystemExit(f"no result row in the output of {tree}:\n{out}")
    return float(match.group(6)), float(match.group(7))


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=Path("."))
    parser.add_argument("--repeats", type=int, default=5)
    args, extra = parser.parse_known_args()
    extra = [e for e in extra if e != "--"]
    runs: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    for repeat in range(args.repeats):
        order = ("before", "after") if repeat % 2 == 0 else ("after", "before")
        for side in order:
            runs[side].append(one_run(trees[side], extra))
            print(f"repeat {repeat + 1} {side}: steps, epoch ratio = {runs[side][-1]}", flush=True)
    print(f"\nhepdl/plain ratios over {args.repeats} alternating repeats: median [min-max]")
    for side in ("before", "after"):
        steps, epoch = zip(*runs[side], strict=True)
        print(f"  {side:6s} {trees[side]}: steps {summary(steps)}, epoch {summary(epoch)}")
    for i, name in enumerate(("steps", "epoch")):
        change = [a[i] / b[i] for a, b in zip(runs["after"], runs["before"], strict=True)]
        print(f"  after/before ({name}): {summary(change)}")


if __name__ == "__main__":
    main()
