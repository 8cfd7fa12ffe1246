"""A scan's results, from its Optuna trials: one row per point with the mean and standard
deviation over seeds of the validation metric that chose and of every test metric,
written as results.csv, results.md and scan.json (atomically: a temporary name, then a
rename)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hepdl.train._scan_space import short_text, yaml_text

# Trial user attributes written by the scan (hepdl.train.scan) and read back here.
VALUES_ATTR = "values"
METRICS_ATTR = "metrics"
RUN_DIRS_ATTR = "run_dirs"
ERROR_ATTR = "error"
DIVERGED_ATTR = "diverged"  # [{"seed", "epoch", "reason", "run_dir"}]: a trial that diverged
INTERRUPTED = "interrupted"  # the error of a trial stopped by Ctrl-C: run again on resume


@dataclass
class ScanRow:
    """One point of the scan: its values, the metrics of each finished run (one per seed)
    and the failed trials' errors."""

    values: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    run_dirs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # runs whose training diverged (hepdl.tasks.divergence): their trials failed, so a
    # diverged point is never ranked; the table marks it
    diverged: list[dict[str, Any]] = field(default_factory=list)

    def diverged_cell(self) -> str:
        """``""``, or ``"1 (epoch 3)"``: how many runs diverged, and at which epochs."""
        if not self.diverged:
            return ""
        epochs = ", ".join(str(d.get("epoch")) for d in self.diverged)
        return f"{len(self.diverged)} (epoch {epochs})"

    def numbers(self, name: str) -> list[float] | None:
        """``name`` of every run, or None when a run lacks it or it is not a number."""
        found = [run.get(name) for run in self.runs]
        if not found or not all(_is_number(v) for v in found):
            return None
        return [float(v) for v in found]

    def mean(self, name: str) -> float | None:
        values = self.numbers(name)
        return None if values is None else math.fsum(values) / len(values)

    def std(self, name: str) -> float | None:
        """Sample standard deviation over seeds, sqrt(sum (x - mean)^2 / (n - 1)); NaN for
        one run (no spread to estimate), None without the metric."""
        values, mean = self.numbers(name), self.mean(name)
        if values is None or mean is None:
            return None
        if len(values) < 2:
            return math.nan
        return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def rows_from_trials(trials: Sequence[Any]) -> list[ScanRow]:
    """Group finished trials (COMPLETE or FAIL) by their values, in trial order; interrupted
    trials are left out (the same command runs them again)."""
    rows: dict[str, ScanRow] = {}
    for trial in trials:
        if not trial.state.is_finished() or VALUES_ATTR not in trial.user_attrs:
            continue
        if trial.user_attrs.get(ERROR_ATTR) == INTERRUPTED:
            continue
        values = trial.user_attrs[VALUES_ATTR]
        row = rows.setdefault(json.dumps(values, sort_keys=True), ScanRow(values=values))
        row.diverged.extend(trial.user_attrs.get(DIVERGED_ATTR, []))
        if trial.state.name == "COMPLETE":
            row.runs.extend(trial.user_attrs.get(METRICS_ATTR, []))
            row.run_dirs.extend(trial.user_attrs.get(RUN_DIRS_ATTR, []))
        else:
            reason = trial.user_attrs.get(ERROR_ATTR, f"trial {trial.number} {trial.state.name}")
            row.errors.append(reason)
    return list(rows.values())


def metric_names(rows: Sequence[ScanRow], *, first: Sequence[str]) -> list[str]:
    """Every numeric metric of any run, those of ``first`` (the validation metric that
    chooses, then the test metric reported beside it) at the front."""
    names: dict[str, None] = {}
    for row in rows:
        for run in row.runs:
            names.update({k: None for k, v in run.items() if _is_number(v) or v is None})
    ordered = [n for n in first if n in names]
    return ordered + [n for n in names if n not in ordered]


def _cell(value: float) -> str:
    """Counts as integers, everything else with 4 significant digits."""
    return f"{int(value)}" if float(value).is_integer() and abs(value) < 1e9 else f"{value:.4g}"


def _mean_std(row: ScanRow, name: str) -> str:
    mean, std = row.mean(name), row.std(name)
    if mean is None:
        return "n/a" if row.runs else ""
    return _cell(mean) if std is None or math.isnan(std) else f"{_cell(mean)} ± {_cell(std)}"


def table_lines(rows: Sequence[ScanRow], keys: Sequence[str], metrics: Sequence[str]) -> list[str]:
    """results.md: a Markdown table, one row per point."""
    marked = any(row.diverged for row in rows)  # the column only where a run diverged
    header = [*keys, "runs", "failures", *(["diverged"] if marked else []), *metrics, "error"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [short_text(row.values.get(k)) for k in keys]
        cells += [str(len(row.runs)), str(len(row.errors))]
        cells += [row.diverged_cell()] if marked else []
        cells += [_mean_std(row, m) for m in metrics]
        cells.append(row.errors[-1].replace("|", "/").replace("\n", " ") if row.errors else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def csv_text(rows: Sequence[ScanRow], keys: Sequence[str], metrics: Sequence[str]) -> str:
    """results.csv: keys, runs, failures, then ``<metric>_mean`` and ``<metric>_std``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            *keys,
            "runs",
            "failures",
            "diverged",
            *(f"{m}_{s}" for m in metrics for s in ("mean", "std")),
            "error",
        ]
    )
    for row in rows:
        stats = [(row.mean(m), row.std(m)) for m in metrics]
        writer.writerow(
            [yaml_text(row.values.get(k)) for k in keys]
            + [len(row.runs), len(row.errors), len(row.diverged)]
            + ["" if v is None else repr(v) for pair in stats for v in pair]
            + [row.errors[-1] if row.errors else ""]
        )
    return buffer.getvalue()


def write_text(path: Path, text: str) -> None:
    """Write atomically: a reader never sees half a table."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_tables(
    out: Path,
    rows: Sequence[ScanRow],
    *,
    keys: Sequence[str],
    first: Sequence[str],
    summary: dict,
) -> list[str]:
    """results.csv, results.md and scan.json in ``out`` (columns ``first`` at the front:
    the validation metric that chooses, the test metric); returns the metric columns."""
    metrics = metric_names(rows, first=first)
    write_text(out / "results.csv", csv_text(rows, keys, metrics))
    title = (
        f"# {summary['kind']} of {summary['config']}: mean ± std over seeds\n\n"
        f"Points are chosen by the validation metric {first[0]} (each run's best epoch); "
        "the test metrics beside it are reported only, never used to choose.\n\n"
    )
    write_text(out / "results.md", title + "\n".join(table_lines(rows, keys, metrics)) + "\n")
    summary = {
        **summary,
        "rows": [
            {
                "values": row.values,
                "runs": len(row.runs),
                "failures": len(row.errors),
                "errors": row.errors,
                "diverged": row.diverged,
                "run_dirs": row.run_dirs,
                "mean": {m: row.mean(m) for m in metrics},
                "std": {m: _json_number(row.std(m)) for m in metrics},
            }
            for row in rows
        ],
    }
    write_text(out / "scan.json", json.dumps(summary, indent=2) + "\n")
    return metrics


def _json_number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value
