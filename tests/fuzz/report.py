"""Run every fuzz case and print the number of cases per outcome class, per family.

    python -m tests.fuzz.report                      # this tree
    PYTHONPATH=/work/base/src python -m tests.fuzz.report   # another hepdl, same cases
    python -m tests.fuzz.report --family config --show traceback --show "unclear error"

Run from the repository root. ``--show CLASS`` lists the cases of that class with why;
``--list-failing`` prints the ids of every case outside ok / clear error.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import tempfile
import time
from pathlib import Path

from tests.fuzz.cases import all_cases
from tests.fuzz.outcomes import OUTCOMES, PASSING
from tests.fuzz.runner import run_case
from tests.fuzz.shared import Shared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", help="config, data, run_dir (repeatable)")
    parser.add_argument("--show", action="append", default=[], help="list the cases of a class")
    parser.add_argument("--list-failing", action="store_true")
    args = parser.parse_args()

    import hepdl

    root = Path(tempfile.mkdtemp(prefix="hepdl-fuzz-"))
    shared = Shared(root / "shared")
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failing: list[tuple[str, str, str]] = []
    start = time.perf_counter()
    try:
        for i, case in enumerate(all_cases(args.family)):
            outcome, why, _ = run_case(case, root / "cases" / str(i), shared)
            counts[case.family][outcome] += 1
            if outcome not in PASSING:
                failing.append((case.id, outcome, why))
            shutil.rmtree(root / "cases" / str(i), ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"hepdl: {Path(hepdl.__file__).parent}  ({time.perf_counter() - start:.0f} s)")
    width = max(len(o) for o in OUTCOMES)
    families = sorted(counts)
    print(f"{'outcome':<{width}}  " + "  ".join(f"{f:>8}" for f in families) + "     all")
    for outcome in OUTCOMES:
        row = [counts[f][outcome] for f in families]
        print(f"{outcome:<{width}}  " + "  ".join(f"{n:>8}" for n in row) + f"  {sum(row):>6}")
    total = [sum(counts[f].values()) for f in families]
    print(f"{'cases':<{width}}  " + "  ".join(f"{n:>8}" for n in total) + f"  {sum(total):>6}")
    for case_id, outcome, why in failing:
        if outcome in args.show:
            print(f"{outcome}: {case_id}: {why}")
    if args.list_failing:
        for case_id, outcome, _ in failing:
            print(f"{case_id}\t{outcome}")


if __name__ == "__main__":
    main()
