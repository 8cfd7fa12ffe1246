r"""Comparing finished runs: the landscape table and ROC bands of ``hepdl compare``.

Runs are grouped (by model name, or by config name) and each group becomes one row of
``comparison.md``: mean :math:`\pm` standard deviation over the group's runs (seeds) of
AUC, accuracy, :math:`1/\varepsilon_B` at each :math:`\varepsilon_S` of the runs' metrics,
parameters, seconds per training epoch and inference jets per second. The standard
deviation is the sample one,

.. math::

    s = \sqrt{\frac{1}{n-1}\sum_{i=1}^{n} (x_i - \bar{x})^2},

the spread of a new seed's result (not the error of the mean, which is :math:`s/\sqrt{n}`).

``roc_comparison.png`` draws one ROC per group from the runs' saved test scores
(``predictions.npz``): the median over runs of :math:`1/\varepsilon_B` on a common
:math:`\varepsilon_S` grid, and the min-max band over runs. :math:`\varepsilon_B` is
interpolated linearly in :math:`\varepsilon_S` between ROC points, as
:func:`hepdl.metrics.background_rejection` does, so the curve at 0.3 reads the table's number.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.tasks.classify import PREDICTIONS_FILE, save_predictions  # noqa: F401 (re-export)

GroupBy = Literal["model", "config"]
# The common signal-efficiency grid of the ROC bands (eps_S = 0 has no rejection).
EPS_S_GRID = np.linspace(0.05, 1.0, 96)
REJECTION_PREFIX = "rejection_at_eps_s_"
# Columns after the rejections: (metrics.json key, header, format of one number).
COST_COLUMNS = (
    ("n_parameters", "params", "{:,.0f}"),
    ("train_seconds_per_epoch", "s/epoch", "{:.3g}"),
    ("inference_jets_per_second", "jets/s", "{:,.0f}"),
)


@dataclass(frozen=True)
class RunRecord:
    """What ``hepdl compare`` reads of one run directory."""

    run_dir: Path
    metrics: dict[str, Any]
    model: str
    config_name: str

    def predictions(self) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, scores)`` of the test set, each (N,); DataError if not saved."""
        path = self.run_dir / PREDICTIONS_FILE
        if not path.is_file():
            raise DataError(
                f"{self.run_dir}: no {PREDICTIONS_FILE} (test labels and scores); runs "
                "trained before hepdl saved them cannot be drawn, retrain them"
            )
        with np.load(path, allow_pickle=False) as saved:
            return saved["labels"].astype(np.int64), saved["scores"].astype(np.float64)


def load_run(run_dir: str | os.PathLike[str]) -> RunRecord:
    """Read ``metrics.json`` and the model and experiment names of ``config.yaml``."""
    import yaml

    run_dir = Path(run_dir)
    metrics_path, config_path = run_dir / "metrics.json", run_dir / "config.yaml"
    if not metrics_path.is_file():
        raise DataError(f"{run_dir}: no metrics.json; expected a finished hepdl run directory")
    try:
        metrics = json.loads(metrics_path.read_text())
    except json.JSONDecodeError as err:
        raise DataError(f"{metrics_path}: not valid JSON ({err})") from None
    if "auc" not in metrics:
        raise DataError(f"{metrics_path}: no 'auc'; expected the metrics of a classifier run")
    model, name = "unknown", run_dir.name
    if config_path.is_file():  # read as plain YAML: classical and neural configs alike
        config = yaml.safe_load(config_path.read_text()) or {}
        model = str((config.get("model") or {}).get("name", model))
        name = str(config.get("name", name))
    return RunRecord(run_dir=run_dir, metrics=metrics, model=model, config_name=name)


def group_runs(runs: Sequence[RunRecord], *, by: GroupBy = "model") -> dict[str, list[RunRecord]]:
    """Runs by model name or config name, in first-seen order. A group mixing runs on
    different test samples (metrics.json ``data``) is refused: their numbers do not compare."""
    if by not in ("model", "config"):
        raise ConfigError(f"--group-by: expected 'model' or 'config', got {by!r}")
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


@dataclass(frozen=True)
class Row:
    """One line of the table: ``values[key]`` holds the runs' numbers (None: not finite or
    not recorded) of each metrics.json key."""

    name: str
    values: dict[str, list[float | None]]
    n_runs: int
    n_background: int | None = None


def summary_row(name: str, runs: Sequence[RunRecord]) -> Row:
    """The row of one group: every numeric metric of its runs, run by run."""
    keys = ["auc", "accuracy", *rejection_keys(runs), *(c[0] for c in COST_COLUMNS)]
    values = {key: [_number(run.metrics.get(key)) for run in runs] for key in keys}
    n_bkg = [run.metrics.get("n_background") for run in runs]
    n_background = min(n_bkg) if all(isinstance(n, int) for n in n_bkg) else None
    return Row(name=name, values=values, n_runs=len(runs), n_background=n_background)


def rejection_keys(runs: Sequence[RunRecord]) -> list[str]:
    """The ``rejection_at_eps_s_*`` keys of the runs, by increasing eps_S."""
    keys = {k for run in runs for k in run.metrics if k.startswith(REJECTION_PREFIX)}
    return sorted(keys, key=lambda k: float(k.removeprefix(REJECTION_PREFIX)))


def mean_std(values: Sequence[float | None]) -> tuple[float, float | None] | None:
    """Mean and sample standard deviation (ddof 1) of the recorded values; std None for a
    single value; None when nothing is recorded."""
    finite = [v for v in values if v is not None]
    if not finite:
        return None
    mean = float(np.mean(finite))
    return mean, float(np.std(finite, ddof=1)) if len(finite) > 1 else None


def format_table(rows: Sequence[Row]) -> str:
    """Markdown table of ``rows`` (already ordered), one column per metric."""
    rejections = sorted(
        {k for row in rows for k in row.values if k.startswith(REJECTION_PREFIX)},
        key=lambda k: float(k.removeprefix(REJECTION_PREFIX)),
    )
    header = ["model", "AUC", "accuracy"]
    header += [f"1/eps_B @ eps_S={k.removeprefix(REJECTION_PREFIX)}" for k in rejections]
    header += [c[1] for c in COST_COLUMNS] + ["runs"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row.name]
        cells += [
            _cell(row.values.get("auc"), "{:.4f}"),
            _cell(row.values.get("accuracy"), "{:.4f}"),
        ]
        for key in rejections:
            values = row.values.get(key)
            if values and any(v is None for v in values) and row.n_background is not None:
                # No background jet survives in some run: the rejection exceeds N_B.
                cells.append(f"> {row.n_background}")
            else:
                cells.append(_cell(values, "{:.1f}"))
        cells += [_cell(row.values.get(key), fmt) for key, _, fmt in COST_COLUMNS]
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


def plot_roc_bands(bands: dict[str, np.ndarray], *, path: Path, title: str | None = None) -> Path:
    """One median ROC and its min-max band per group: 1/eps_B (log) against eps_S."""
    import matplotlib

    from hepdl.plots._style import hep_style, new_figure, save_figure

    with hep_style():
        fig, (ax,) = new_figure(figsize=(15, 10))
        # tab20: a distinct colour for each of up to 20 groups (the default cycle repeats
        # after 10, and a landscape has more taggers than that).
        colors = matplotlib.colormaps["tab20"].colors
        top = 10.0
        for i, (label, (median, low, high)) in enumerate(bands.items()):
            shown = np.isfinite(high) & np.isfinite(median)  # inf: nothing left to draw
            color = colors[(2 * i) % 20 + (2 * i) // 20 % 2]  # dark shades first
            ax.plot(EPS_S_GRID[shown], median[shown], lw=2, color=color, label=label)
            ax.fill_between(EPS_S_GRID[shown], low[shown], high[shown], color=color, alpha=0.25)
            if shown.any():
                top = max(top, float(high[shown].max()))
        ax.plot(EPS_S_GRID, 1.0 / EPS_S_GRID, ls="--", color="0.4", label="Random classifier")
        ax.set_yscale("log")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(1.0, 10 ** math.ceil(math.log10(top) + 0.3))
        ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
        ax.set_ylabel(r"Background rejection $1/\varepsilon_B$")
        ax.grid(True, which="major")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
        if title:
            ax.set_title(title)
        return save_figure(fig, path)


@dataclass(frozen=True)
class Comparison:
    rows: list[Row]
    table: str
    paths: list[Path]


def write_comparison(
    groups: dict[str, list[RunRecord]],
    *,
    out_dir: Path,
    extra_rows: Sequence[Row] = (),
    extra_bands: dict[str, np.ndarray] | None = None,
    title: str = "Comparison",
) -> Comparison:
    """``comparison.md`` (rows sorted by mean AUC, best first) and ``roc_comparison.png``
    in ``out_dir``; ``extra_rows``/``extra_bands`` add derived classifiers (an ensemble)."""
    rows = [summary_row(name, runs) for name, runs in groups.items()] + list(extra_rows)
    rows.sort(key=lambda row: -(mean_std(row.values["auc"]) or (-math.inf,))[0])
    table = format_table(rows)
    sizes = sorted({str(run.metrics.get("n_test", "?")) for g in groups.values() for run in g})
    sources = sorted({str(run.metrics.get("data")) for g in groups.values() for run in g})
    text = (
        f"# {title}\n\nmean ± std (sample, over the runs of each row); test jets: "
        f"{', '.join(sizes)}; data: {'; '.join(sources)}\n\n{table}"
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "comparison.md"
    tmp = md.with_name(md.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, md)
    bands = {name: roc_band([run.predictions() for run in runs]) for name, runs in groups.items()}
    bands.update(extra_bands or {})
    order = {row.name: i for i, row in enumerate(rows)}  # legend in table order
    auc = {row.name: (mean_std(row.values["auc"]) or (math.nan,))[0] for row in rows}
    bands = {
        f"{name} (AUC {auc.get(name, math.nan):.4f})": band
        for name, band in sorted(bands.items(), key=lambda item: order.get(item[0], len(order)))
    }
    png = plot_roc_bands(bands, path=out_dir / "roc_comparison.png", title=title)
    return Comparison(rows=rows, table=table, paths=[md, png])


def compare_runs(
    run_dirs: Sequence[str | os.PathLike[str]], *, out_dir: Path, group_by: GroupBy = "model"
) -> Comparison:
    """Load, group and compare ``run_dirs`` (see the module doc)."""
    if not run_dirs:
        raise ConfigError("RUN_DIR: give at least one run directory to compare")
    groups = group_runs([load_run(d) for d in run_dirs], by=group_by)
    return write_comparison(groups, out_dir=Path(out_dir))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _cell(values: Sequence[float | None] | None, fmt: str) -> str:
    stats = mean_std(values or [])
    if stats is None:
        return "–"
    mean, std = stats
    return fmt.format(mean) if std is None else f"{fmt.format(mean)} ± {fmt.format(std)}"
