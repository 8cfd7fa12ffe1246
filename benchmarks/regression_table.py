"""The per-bin table of regression runs: response and relative resolution in bins of the
true value, each run against the others and against the uncorrected input.

    python benchmarks/regression_table.py runs/jet_energy_dnn-* runs/jet_energy_calibration-*

Reads each run's metrics.json (``binned``, in the bins of ``task.bins``; every run must use
the same bins) and prints one markdown table: a row per bin, for each run its response and
relative resolution (half the 16-84 % range of predicted / true over its median) with
their errors, and the baseline (``task.ratio_to``) of the first run. The last row is the
whole test set. These are test-set numbers, reported with their uncertainty; the runs
were chosen (early stopping, hyperparameters) on their validation rows.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cell(entry: dict[str, Any], key: str) -> str:
    value, error = entry.get(key), entry.get(f"{key}_error")
    if value is None:
        return "n/a"
    return f"{value:.3f} ± {error:.3f}" if error is not None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args()
    metrics = {run.name.rsplit("-", 2)[0]: json.loads((run / "metrics.json").read_text())
               for run in args.runs}  # fmt: skip
    first = next(iter(metrics.values()))
    columns = dict(metrics)
    if first.get("baseline"):
        columns[f"uncorrected {first['baseline']['estimate']}"] = first["baseline"]
    edges = [(b["low"], b["high"]) for b in first["binned"]]
    for name, m in columns.items():
        if [(b["low"], b["high"]) for b in m["binned"]] != edges:
            raise SystemExit(
                f"{name}: other bins than {next(iter(metrics))}; use the same task.bins"
            )
    header = ["true value"]
    for name in columns:
        header += [f"{name} response", f"{name} rel. resolution"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for i, (low, high) in enumerate(edges):
        row = [f"{low:g}-{high:g} ({first['binned'][i]['n']})"]
        for m in columns.values():
            row += [cell(m["binned"][i], "response"), cell(m["binned"][i], "relative_resolution")]
        print("| " + " | ".join(row) + " |")
    row = [f"all ({first['n']})"]
    for m in columns.values():
        row += [cell(m, "response"), cell(m, "relative_resolution")]
    print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
