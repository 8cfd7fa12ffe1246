"""Per-model change between two landscapes (``benchmarks/landscape.py`` output folders).

For every model folder present in both, the mean ± std over its seeds of a metric (AUC by
default) in each landscape, the change of the means, and the model's rank in each (1 = best
mean), as a Markdown table sorted by the second landscape:

    python benchmarks/landscape_delta.py runs/landscape/top runs/landscape/top-large
    python benchmarks/landscape_delta.py A B --metric rejection_at_eps_s_0.3

The std is the sample std (ddof 1) over the seeds, as in ``hepdl compare``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def seed_values(root: Path, *, metric: str) -> dict[str, np.ndarray]:
    """model folder name -> the metric of each finished seed run (``<model>/seed-*``)."""
    values: dict[str, np.ndarray] = {}
    for model_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        runs = sorted(model_dir.glob("seed-*/metrics.json"))
        found = [json.loads(run.read_text()).get(metric) for run in runs]
        found = [float(v) for v in found if v is not None]
        if found:
            values[model_dir.name] = np.asarray(found)
    return values


def epochs_run(run_dir: Path) -> str:
    """``best/stopped`` epochs of a network run (best: lowest val_loss, 1-based, the
    weights evaluated); ``-`` for a classical fit (a BDT's history counts boosting
    iterations, not epochs)."""
    from hepdl.train.classical import is_classical_run

    history = run_dir / "history.json"
    if is_classical_run(run_dir) or not history.is_file():
        return "-"
    val_loss = json.loads(history.read_text()).get("val_loss", [])
    if not val_loss:
        return "-"
    best = min(range(len(val_loss)), key=val_loss.__getitem__) + 1
    return f"{best}/{len(val_loss)}"


def _mean_std(values: np.ndarray) -> str:
    std = values.std(ddof=1) if len(values) > 1 else 0.0
    return f"{values.mean():.4f} ± {std:.4f}"


def _ranks(values: dict[str, np.ndarray]) -> dict[str, int]:
    order = sorted(values, key=lambda name: -values[name].mean())
    return {name: rank for rank, name in enumerate(order, start=1)}


def _epochs(model_dir: Path) -> str:
    runs = sorted(model_dir.glob("seed-*"))
    found = [epochs_run(run) for run in runs]
    return "-" if all(e == "-" for e in found) else ", ".join(found)


def delta_table(before: Path, after: Path, *, metric: str = "auc") -> str:
    """Markdown table of ``metric`` per model common to both landscapes."""
    a = seed_values(before, metric=metric)
    b = seed_values(after, metric=metric)
    common = {name: b[name] for name in b if name in a}
    rank_a = _ranks({name: a[name] for name in common})
    rank_b = _ranks(common)
    lines = [
        f"| model | {metric} ({before.name}) | {metric} ({after.name}) | change | rank "
        f"({before.name} -> {after.name}) | seeds | epochs best/stopped ({after.name}) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in sorted(common, key=rank_b.__getitem__):
        change = b[name].mean() - a[name].mean()
        lines.append(
            f"| {name} | {_mean_std(a[name])} | {_mean_std(b[name])} | {change:+.4f} | "
            f"{rank_a[name]} -> {rank_b[name]} | {len(a[name])} / {len(b[name])} | "
            f"{_epochs(after / name)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path, help="landscape sample folder, e.g. runs/x/top")
    parser.add_argument("after", type=Path, help="the other one, e.g. runs/x/top-large")
    parser.add_argument("--metric", default="auc", help="a key of the runs' metrics.json")
    args = parser.parse_args()
    print(delta_table(args.before, args.after, metric=args.metric))


if __name__ == "__main__":
    main()
