r"""Comparing finished runs: the landscape table and curves of ``hepdl compare``.

Runs are grouped (by model name, or by config name) and each group becomes one row of
``comparison.md``: mean :math:`\pm` standard deviation over the group's runs (seeds) of
the metrics of their task, then of the run costs (parameters, seconds per training epoch,
inference jets per second). The task class of the runs' ``task.kind`` names the metric
columns (``comparison_columns``) and which way the first of them ranks the rows
(``metric_direction``):

- a classifier: AUC (higher first), accuracy, :math:`1/\varepsilon_B` at each
  :math:`\varepsilon_S` of the runs' metrics;
- a regression (its first target): relative resolution (lower first), response, Gaussian
  core sigma, RMSE, and the baseline's relative resolution where the runs have one.

Runs of different task kinds do not compare, nor do runs tested on different rows (the
fingerprints of their test rows differ, :mod:`hepdl.train.row_identity`, or their
metrics.json ``test_rows`` records): each is an error naming both runs; runs trained
before hepdl recorded their test rows are listed in a note as not checked. A folder
marked ``FAILED`` (a run that failed before its metrics) is skipped with a note naming
its error. The standard deviation is the sample one,

.. math::

    s = \sqrt{\frac{1}{n-1}\sum_{i=1}^{n} (x_i - \bar{x})^2},

the spread of a new seed's result (not the error of the mean, which is :math:`s/\sqrt{n}`).

``roc_comparison.png`` (classifiers) draws one ROC per group from the runs' saved test
scores (``predictions.npz``): the median over runs of :math:`1/\varepsilon_B` on a common
:math:`\varepsilon_S` grid, and the min-max band over runs. :math:`\varepsilon_B` is
interpolated linearly in :math:`\varepsilon_S` between ROC points, as
:func:`hepdl.metrics.background_rejection` does, so the curve at 0.3 reads the table's number.

``response_comparison.png`` (regressions) overlays the response and relative resolution
in bins of the true value (metrics.json ``binned``): per bin the mean over the group's
runs with their sample standard deviation as the error bar (one run: the bin's own
statistical errors); a group whose runs were binned differently is drawn run by run, and
the baseline (the uncorrected ``task.ratio_to`` input) once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.tasks.classify import PREDICTIONS_FILE, save_predictions  # noqa: F401 (re-export)

GroupBy = Literal["model", "config"]
# The common signal-efficiency grid of the ROC bands (eps_S = 0 has no rejection).
EPS_S_GRID = np.linspace(0.05, 1.0, 96)
REJECTION_PREFIX = "rejection_at_eps_s_"
# Columns after the task's: (metrics.json key, header, format of one number).
COST_COLUMNS = (
    ("n_parameters", "params", "{:,.0f}"),
    ("train_seconds_per_epoch", "s/epoch", "{:.3g}"),
    ("inference_jets_per_second", "jets/s", "{:,.0f}"),
)
# A classical baseline's one fit is no epoch: its seconds get their own column, shown only
# when some run records it.
FIT_COLUMN = ("fit_seconds", "fit s", "{:.3g}")
# A column of the table: (key, header, format, above); see TaskBase.comparison_columns.
Column = tuple[str, str, str, str | None]
_MISSING = object()


def task_of(kind: str) -> Any:
    """The task class of ``kind`` (hepdl.tasks), which names the columns and directions."""
    from hepdl.tasks import task_class

    return task_class(kind)


@dataclass(frozen=True)
class RunRecord:
    """What ``hepdl compare`` reads of one run directory."""

    run_dir: Path
    metrics: dict[str, Any]
    model: str
    config_name: str
    kind: str = "classify"

    def _saved(self, names: Sequence[str], what: str) -> list[np.ndarray]:
        path = self.run_dir / PREDICTIONS_FILE
        if not path.is_file():
            raise DataError(
                f"{self.run_dir}: no {PREDICTIONS_FILE} ({what}); runs trained before hepdl "
                "saved them cannot be drawn, retrain them"
            )
        from hepdl.train.artifacts import read_run_npz

        saved = read_run_npz(path, names)  # DataError naming it: damaged or lacking a name
        return [saved[name] for name in names]

    def predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, scores)`` of a classifier's test set, each (N,); DataError if not saved."""
        labels, scores = self._saved(("labels", "scores"), "test labels and scores")
        return labels.astype(np.int64), scores.astype(np.float64)

    def regression_predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(true, predicted point)`` of a regression's test set, each (N, T)."""
        true, point = self._saved(("true", "predicted_point"), "true and predicted values")
        return true.astype(np.float64), point.astype(np.float64)


def load_run(run_dir: str | os.PathLike[str]) -> RunRecord:
    """Read ``metrics.json``, the task kind and the model and experiment names of
    ``config.yaml`` (classify without one)."""
    import yaml

    from hepdl.train.artifacts import read_run_json, run_task_kind

    run_dir = Path(run_dir)
    metrics_path, config_path = run_dir / "metrics.json", run_dir / "config.yaml"
    if not metrics_path.is_file():
        raise DataError(f"{run_dir}: no metrics.json; expected a finished hepdl run directory")
    metrics = read_run_json(metrics_path)  # DataError naming it: not JSON, not an object
    kind = run_task_kind(run_dir) if config_path.is_file() else "classify"
    rank = task_of(kind).comparison_columns([metrics])[0][0]
    if _lookup(metrics, rank) is _MISSING:
        from hepdl.tasks.divergence import divergence_line

        reason = divergence_line(metrics) or metrics.get("note")
        note = f" ({reason})" if reason else ""
        raise DataError(
            f"{metrics_path}: no '{rank}'; expected the test metrics of a '{kind}' run{note}"
        )
    model, name = "unknown", run_dir.name
    if config_path.is_file():  # read as plain YAML: classical and neural configs alike
        config = yaml.safe_load(config_path.read_text())
        if not isinstance(config, dict):  # an empty or damaged file names no model
            raise DataError(
                f"{config_path}: holds {type(config).__name__}, not the config mapping hepdl "
                "saves; the run directory is damaged"
            )
        section = config.get("model")
        model = str(section.get("name", model)) if isinstance(section, dict) else model
        name = str(config.get("name", name))
    return RunRecord(run_dir=run_dir, metrics=metrics, model=model, config_name=name, kind=kind)


def one_kind(runs: Sequence[RunRecord]) -> str:
    """The task kind all ``runs`` share (or whose metrics they share: the generative kinds
    gan, vae and flow are judged alike, ``TaskBase.metrics_family``); DataError naming two
    runs of different kinds."""
    from hepdl.tasks import task_class

    if not runs:
        raise ConfigError("compare: no runs to compare")
    first = runs[0]
    family = getattr(task_class(first.kind), "metrics_family", None)
    for other in runs[1:]:
        same = (
            family is not None and getattr(task_class(other.kind), "metrics_family", None) == family
        )
        if other.kind != first.kind and not same:
            raise DataError(
                f"runs {first.run_dir} (task.kind {first.kind}) and {other.run_dir} "
                f"(task.kind {other.kind}) are different kinds of learning, their metrics "
                "do not compare; compare runs of one task kind"
            )
    return first.kind


def group_runs(runs: Sequence[RunRecord], *, by: GroupBy = "model") -> dict[str, list[RunRecord]]:
    """Runs by model name or config name, in first-seen order. Runs of different task
    kinds, or a group mixing runs on different test samples (metrics.json ``data``), are
    refused: their numbers do not compare."""
    if by not in ("model", "config"):
        raise ConfigError(f"--group-by: expected 'model' or 'config', got {by!r}")
    if runs:  # compare_runs refuses none
        one_kind(runs)
    groups: dict[str, list[RunRecord]] = {}
    for run in runs:
        groups.setdefault(run.model if by == "model" else run.config_name, []).append(run)
    for name, members in groups.items():
        first = members[0]
        for other in members[1:]:
            if other.metrics.get("data") != first.metrics.get("data"):
                raise DataError(
                    f"group '{name}': runs {first.run_dir} and {other.run_dir} were tested on "
                    f"different samples ({first.metrics.get('data')!r} vs "
                    f"{other.metrics.get('data')!r}); compare runs on the same test jets"
                )
    return groups


def _lookup(metrics: Mapping[str, Any], key: str) -> Any:
    """``metrics[key]``, or for "a.b" ``metrics["a"]["b"]``; ``_MISSING`` when absent."""
    if key in metrics:
        return metrics[key]
    head, dot, rest = key.partition(".")
    inner = metrics.get(head) if dot else None
    return _lookup(inner, rest) if isinstance(inner, Mapping) else _MISSING


@dataclass(frozen=True)
class Row:
    """One line of the table: the runs behind it (their metrics.json give its numbers; an
    ensemble is one derived run) and how many trainings it stands for."""

    name: str
    runs: list[RunRecord]
    n_runs: int

    def values(self, key: str) -> list[float | None] | None:
        """``key`` of each run (None: null, not finite or not recorded by that run); None
        when no run records it."""
        found = [_lookup(run.metrics, key) for run in self.runs]
        if all(value is _MISSING for value in found):
            return None
        return [None if value is _MISSING else _number(value) for value in found]

    def diverged(self) -> int:
        """How many of the row's runs diverged in training (hepdl.tasks.divergence)."""
        return sum(1 for run in self.runs if run.metrics.get("diverged"))

    def bound(self, key: str) -> int | None:
        """The smallest ``key`` (a count, e.g. n_background) of the runs; None unless every
        run records it."""
        found = [_lookup(run.metrics, key) for run in self.runs]
        return min(found) if all(isinstance(n, int) for n in found) else None


def summary_row(name: str, runs: Sequence[RunRecord]) -> Row:
    """The row of one group: its runs, run by run."""
    return Row(name=name, runs=list(runs), n_runs=len(runs))


def table_columns(kind: str, runs: Sequence[RunRecord]) -> list[Column]:
    """The task's columns for ``runs``, then the run costs."""
    columns = list(task_of(kind).comparison_columns([run.metrics for run in runs]))
    costs = list(COST_COLUMNS)
    if any(FIT_COLUMN[0] in run.metrics for run in runs):
        costs.insert(2, FIT_COLUMN)  # after s/epoch
    return columns + [(key, header, fmt, None) for key, header, fmt in costs]


def mean_std(values: Sequence[float | None]) -> tuple[float, float | None] | None:
    """Mean and sample standard deviation (ddof 1) of the recorded values; std None for a
    single value; None when nothing is recorded."""
    finite = [v for v in values if v is not None]
    if not finite:
        return None
    mean = float(np.mean(finite))
    return mean, float(np.std(finite, ddof=1)) if len(finite) > 1 else None


def ranking_value(value: float, direction: str | None) -> float:
    """``value`` as a number that is lower the better it is (a metric_direction): -value
    for "max", value for "min", the distance to 1 ("one") or 0 ("zero"); 0 for None."""
    if direction == "max":
        return -value
    if direction == "min":
        return value
    if direction in ("one", "zero"):
        return abs(value - (1.0 if direction == "one" else 0.0))
    return 0.0


def rank_rows(rows: list[Row], key: str, direction: str | None) -> None:
    """Sort ``rows`` best first by the mean of ``key``; rows without it last, and rows
    with a diverged run after every other: their numbers measure no trained model."""

    def score(row: Row) -> tuple[bool, float]:
        stats = mean_std(row.values(key) or [])
        value = math.inf if stats is None else ranking_value(stats[0], direction)
        return row.diverged() > 0, value

    rows.sort(key=score)


def format_table(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    """Markdown table of ``rows`` (already ordered), one column per metric."""
    header = ["model", *(column[1] for column in columns), "runs"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        diverged = row.diverged()
        cells = [
            row.name + (f" (DIVERGED: {diverged} of {len(row.runs)} runs)" if diverged else "")
        ]
        for key, _, fmt, above in columns:
            values = row.values(key)
            bound = row.bound(above) if above else None
            if values and any(v is None for v in values) and bound is not None:
                # e.g. no background jet survives in some run: the rejection exceeds N_B.
                cells.append(f"> {bound}")
            else:
                cells.append(_cell(values, fmt))
        cells.append(str(row.n_runs))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def rejection_on_grid(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """1/eps_B (len(EPS_S_GRID),) at each grid eps_S, eps_B linear in eps_S between ROC
    points; inf where no background survives."""
    from hepdl.metrics import roc_curve

    eps_b, eps_s, _ = roc_curve(labels, scores)
    # Of ROC points sharing one eps_S (tied signal scores) keep the first: lowest eps_B.
    first = np.r_[True, eps_s[1:] > eps_s[:-1]]
    eb = np.interp(EPS_S_GRID, eps_s[first], eps_b[first])  # (G,)
    with np.errstate(divide="ignore"):
        return np.where(eb > 0, 1.0 / np.where(eb > 0, eb, 1.0), np.inf)


def roc_band(predictions: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """(3, G): median, min and max over runs of 1/eps_B on ``EPS_S_GRID``."""
    curves = np.stack([rejection_on_grid(y, s) for y, s in predictions])  # (R, G)
    return np.stack([np.median(curves, axis=0), curves.min(axis=0), curves.max(axis=0)])


def mean_binned(runs: Sequence[Sequence[Mapping[str, Any]]]) -> list[dict[str, Any]]:
    """Bin by bin over runs binned alike (metrics.json ``binned``): the mean response and
    relative resolution, their sample std over runs as errors; a single run as it is. A
    bin without a value in some run has none."""
    if len(runs) == 1:
        return [dict(b) for b in runs[0]]
    out = []
    for bins in zip(*runs, strict=True):
        entry: dict[str, Any] = {"low": bins[0]["low"], "high": bins[0]["high"]}
        entry["n"] = bins[0].get("n")
        for key in ("response", "relative_resolution"):
            values = [b.get(key) for b in bins]
            known = None not in values
            entry[key] = float(np.mean(values)) if known else None
            entry[f"{key}_error"] = float(np.std(values, ddof=1)) if known else None
        out.append(entry)
    return out


def _edges(binned: Sequence[Mapping[str, Any]]) -> list[tuple[Any, Any]]:
    return [(b.get("low"), b.get("high")) for b in binned]


def response_curves(rows: Sequence[Row], labels: Sequence[str]) -> dict[str, list[dict]]:
    """The binned curves of ``rows`` (legend ``labels``) and of the runs' baselines."""
    curves: dict[str, list[dict]] = {}
    for row, label in zip(rows, labels, strict=True):
        binned = [run.metrics.get("binned") for run in row.runs]
        if not all(binned):
            continue  # a run without bins: nothing to draw for the row
        if all(_edges(b) == _edges(binned[0]) for b in binned):
            curves[label] = mean_binned(binned)
        else:
            curves.update(
                {f"{label} [{r.run_dir.name}]": b for r, b in zip(row.runs, binned, strict=True)}
            )
    for row in rows:
        for run in row.runs:
            baseline = run.metrics.get("baseline") or {}
            if baseline.get("binned"):
                curves.setdefault(f"baseline ({baseline.get('estimate')})", baseline["binned"])
    return curves


def _legend(row: Row, column: Column) -> str:
    """``name (AUC 0.9123)``: the row's mean of the ranking column."""
    _, header, fmt, _ = column
    mean = (mean_std(row.values(column[0]) or []) or (math.nan,))[0]
    return f"{row.name} ({header} {fmt.format(mean)})"


def _roc_figure(rows: Sequence[Row], column: Column, out_dir: Path, title: str) -> Path:
    from hepdl.metrics.uncertainty import rejection_band
    from hepdl.plots.comparison import plot_roc_bands

    # (5, G): the runs' spread and the binomial band, cut where < 1 background event.
    bands = {
        _legend(row, column): rejection_band([run.predictions() for run in row.runs], EPS_S_GRID)
        for row in rows
    }
    return plot_roc_bands(bands, eps_s=EPS_S_GRID, path=out_dir / "roc_comparison.png", title=title)


def _response_figure(rows: Sequence[Row], column: Column, out_dir: Path, title: str) -> Path | None:
    from hepdl.plots.regression import plot_response_resolution

    curves = response_curves(rows, [_legend(row, column) for row in rows])
    drawable = any(b.get("response") is not None for bins in curves.values() for b in bins)
    if not drawable:
        return None  # no bin of any run holds enough rows for a response
    targets = {(run.metrics.get("targets") or ["value"])[0] for row in rows for run in row.runs}
    return plot_response_resolution(
        curves,
        path=out_dir / "response_comparison.png",
        xlabel="true " + " / ".join(sorted(targets)),
        title=title,
    )


# The comparison figure for each kind of predictions (``TaskBase.predictions_are``).
_FIGURES = {"scores": _roc_figure, "values": _response_figure}


@dataclass(frozen=True)
class Comparison:
    rows: list[Row]
    table: str
    paths: list[Path]
    notes: list[str] = field(default_factory=list)  # skipped folders, unchecked rows


def check_same_test_rows(runs: Sequence[RunRecord]) -> list[str]:
    """DataError naming two runs tested on different rows; returns a note naming the runs
    whose rows could not be checked (trained before hepdl recorded them), else nothing.
    Rows are compared by the fingerprint of their keys (``row_keys.npz``) where both runs
    kept them, else by metrics.json's ``test_rows`` record (files and row positions)."""
    from hepdl.train.row_identity import tested_fingerprint

    identities = [
        (run, tested_fingerprint(run.run_dir), run.metrics.get("test_rows")) for run in runs
    ]
    unchecked: list[str] = []
    first = identities[0] if identities else None
    for run, keys, record in identities[1:]:
        assert first is not None
        if keys is not None and first[1] is not None:
            same, shown = keys == first[1], (f"{first[1][0]} rows, fingerprint {first[1][1]}",
                                             f"{keys[0]} rows, fingerprint {keys[1]}")  # fmt: skip
        elif record and first[2]:
            same, shown = record == first[2], (_record_text(first[2]), _record_text(record))
        else:
            unchecked.append(str(run.run_dir))
            continue
        if not same:
            raise DataError(
                f"runs {first[0].run_dir} and {run.run_dir} were tested on different rows "
                f"({shown[0]}; vs {shown[1]}): their metrics do not compare; test every run "
                "on the same rows (the same files, data.split or given test files)"
            )
    if not unchecked:
        return []
    return [
        f"test rows not checked against {first[0].run_dir} (no row keys or test_rows record, "
        f"runs trained before hepdl kept them): {', '.join(unchecked)}"
    ]


def _record_text(record: Mapping[str, Any]) -> str:
    files = ", ".join(record.get("files") or [])
    return (
        f"{record.get('n_rows')} rows of {files}, index hash {str(record.get('index_sha256'))[:16]}"
    )


def write_comparison(
    groups: dict[str, list[RunRecord]],
    *,
    out_dir: Path,
    extra_rows: Sequence[Row] = (),
    title: str = "Comparison",
    notes: Sequence[str] = (),
) -> Comparison:
    """``comparison.md`` (rows best first by the task's first column) and the task's
    figure (``roc_comparison.png``, ``response_comparison.png``) in ``out_dir``;
    ``extra_rows`` add derived runs (an ensemble), each drawn like a group; ``notes``
    (e.g. skipped folders) are written under the title. Runs tested on different rows
    are refused (:func:`check_same_test_rows`)."""
    runs = [run for members in groups.values() for run in members]
    kind = one_kind(runs + [run for row in extra_rows for run in row.runs])
    notes = [*notes, *check_same_test_rows(runs)]
    rows = [summary_row(name, members) for name, members in groups.items()] + list(extra_rows)
    columns = table_columns(kind, [run for row in rows for run in row.runs])
    rank_rows(rows, columns[0][0], task_of(kind).metric_direction(columns[0][0]))
    table = format_table(rows, columns)
    sizes = sorted({str(run.metrics.get("n_test", "?")) for run in runs})
    sources = sorted({str(run.metrics.get("data")) for run in runs})
    text = (
        f"# {title}\n\nmean ± std (sample, over the runs of each row); test jets: "
        f"{', '.join(sizes)}; data: {'; '.join(sources)}\n\n"
        + "".join(f"note: {note}\n\n" for note in notes)
        + table
    )
    from hepdl.atomic import write_text
    from hepdl.paths import output_folder

    md = write_text(output_folder(out_dir) / "comparison.md", text)
    figure = _FIGURES.get(task_of(kind).predictions_are)
    drawn = figure(rows, columns[0], out_dir, title) if figure else None
    paths = [md] + ([drawn] if drawn else [])
    return Comparison(rows=rows, table=table, paths=paths, notes=notes)


def compare_runs(
    run_dirs: Sequence[str | os.PathLike[str]], *, out_dir: Path, group_by: GroupBy = "model"
) -> Comparison:
    """Load, group and compare ``run_dirs`` (see the module doc); folders marked FAILED
    are skipped with a note."""
    from hepdl.train.artifacts import failure_of

    if not run_dirs:
        raise ConfigError("RUN_DIR: give at least one run directory to compare")
    failed = {Path(d): failure_of(Path(d)) for d in run_dirs}
    notes = [f"skipped {d}: the run failed ({why})" for d, why in failed.items() if why]
    finished = [Path(d) for d in run_dirs if not failed[Path(d)]]
    if not finished:
        raise DataError(
            f"compare: every run directory given is marked FAILED ({'; '.join(notes)}); "
            "nothing to compare"
        )
    groups = group_runs([load_run(d) for d in finished], by=group_by)
    return write_comparison(groups, out_dir=Path(out_dir), notes=notes)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _cell(values: Sequence[float | None] | None, fmt: str) -> str:
    stats = mean_std(values or [])
    if stats is None:
        return "–"
    mean, std = stats
    return fmt.format(mean) if std is None else f"{fmt.format(mean)} ± {fmt.format(std)}"
