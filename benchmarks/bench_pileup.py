"""Pile-up generation speed: a pile-up library against fresh minimum-bias events, and (with
``--before``) this tree's fresh generation against an older tree's.

    python benchmarks/bench_pileup.py [--rows 30] [--repeats 5] [--library 2000]
        [--before /path/to/old/checkout]

Each variant generates the same quark-vs-gluon sample with the CMS-like detector and
mu drawn in 10-60 (``hepdl generate ... --pileup-range 10:60``), in its own process, the
variants alternated within each repeat (the first one rotating), and is timed by the CPU
seconds of that process (user + system: robust to the other core being busy, unlike the
wall clock). Reported: the median CPU seconds per row of each variant and the median, with
its range, of the per-repeat ratio of each variant to the fresh generation of this tree.
An old checkout is made with ``git worktree add /tmp/before <commit>``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def cpu_seconds(tree: Path, rows: int, library: int, out: Path) -> float:
    """CPU seconds of one ``hepdl generate`` of ``rows`` jets per class with ``tree``'s code."""
    command = [
        sys.executable, "-m", "hepdl.cli", "generate", "quark-vs-gluon",
        "--jets", str(rows), "--chunk-rows", str(rows), "--pt-min", "30", "--pt-max", "300",
        "--radius", "0.4", "--detector", "--pileup-range", "10:60", "--seed", "5",
        "--out", str(out), "--overwrite",
    ]  # fmt: skip
    if library:
        command += ["--pileup-library", str(library)]
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=30, help="jets of each class")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--library", type=int, default=2000)
    parser.add_argument("--before", type=Path, default=None, help="an older checkout")
    args = parser.parse_args()
    variants = {"fresh": (HERE, 0), f"library {args.library}": (HERE, args.library)}
    if args.before is not None:
        variants["fresh, --before tree"] = (args.before.resolve(), 0)
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    names = list(variants)
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            order = names[repeat % len(names) :] + names[: repeat % len(names)]
            for name in order:
                tree, library = variants[name]
                out = Path(folder) / f"{name.split()[0]}.parquet"
                seconds[name].append(cpu_seconds(tree, args.rows, library, out))
            print(
                f"repeat {repeat + 1}: " + ", ".join(f"{n} {seconds[n][-1]:.1f} s" for n in names)
            )
    rows = 2 * args.rows
    print(f"\n{rows} rows per run, {args.repeats} repeats, CPU seconds per row (median):")
    for name in names:
        ratios = [a / b for a, b in zip(seconds[name], seconds["fresh"], strict=True)]
        print(
            f"  {name:24s} {statistics.median(seconds[name]) / rows:6.3f} s/row   "
            f"ratio to fresh {statistics.median(ratios):.3f} "
            f"[{min(ratios):.3f}, {max(ratios):.3f}]"
        )


if __name__ == "__main__":
    main()
