"""The scan commands of ``hepdl``: scan (grid or Optuna search) and learning-curve.

Kept apart from cli.py so each file stays small; ``register(app)`` adds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hepdl._cli_common import fail
from hepdl.errors import HepdlError

_SET = typer.Option("--set", help="Override a key, e.g. --set trainer.max_epochs=5 (repeatable).")
_OUT = typer.Option(help="Scan folder (default: <trainer.output_dir>/<name>-<kind>-<hash>).")
_STORAGE = typer.Option(
    help="Optuna storage URL shared by several machines, e.g. postgresql://user:pw@host/db "
    "(default: sqlite:///<out>/study.db)."
)
_STUDY = typer.Option(help="Study name; the same name joins or resumes the study.")
_METRIC = typer.Option(
    help="Metric to optimise (default: the task's own, auc for classify, relative_resolution "
    "for regress; or accuracy, response, rmse, ...). Points are chosen by its validation "
    "counterpart (val_auc, each run's best epoch); the test value is reported beside it."
)


def _prepare(config: Path, overrides: list[str]) -> None:
    """Generate the config's sample first (with a progress bar), quieten Lightning and
    Optuna: the scan prints one line per trial."""
    import logging
    import warnings

    import lightning  # noqa: F401  (configures its loggers on import; quieten them after)
    import optuna

    from hepdl._cli_generation import generation_progress
    from hepdl.config import load_config
    from hepdl.train.inputs import generated_sample

    source = load_config(config, overrides=overrides).data.generate
    if source is not None:
        progress, update = generation_progress()
        with progress:
            generated_sample(source, progress=update)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*is deprecated")
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # failures: our own line per trial


def _print_summary(result: Any, *, keys: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from hepdl.train.scan import short_text

    metric, chooser = result.metric, result.selection  # test metric, its validation twin
    table = Table(title=f"{result.study_name}: mean ± std over seeds")
    for column in (*keys, "runs", "failures", f"{chooser} (chooses)", f"test {metric}"):
        table.add_column(column)
    for row in result.rows:
        table.add_row(
            *(short_text(row.values.get(k)) for k in keys),
            str(len(row.runs)),
            str(len(row.errors)),
            _mean_std(row, chooser),
            _mean_std(row, metric),
        )
    console = Console()
    console.print(table)
    if result.best is not None:
        best = result.best
        console.print(
            f"best by {chooser}: {best.values} ({chooser} = {best.mean(chooser):.4f}; "
            f"test {metric} = {_mean_std(best, metric)}, reported, not used to choose)"
        )
    console.print(
        f"{result.n_complete} trial(s) finished, {result.n_failed} failed; "
        f"results.md, results.csv, scan.json and plots in {result.out}"
    )


def _mean_std(row: Any, name: str) -> str:
    mean, std = row.mean(name), row.std(name)
    if mean is None:
        return "FAIL" if row.errors else "n/a"
    return f"{mean:.4f}" + (f" ± {std:.4f}" if std == std else "")  # NaN: one seed


def scan(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    grid: Annotated[
        list[str] | None,
        typer.Option(help="Grid key and values, e.g. --grid task.lr=1e-4,1e-3 (repeatable)."),
    ] = None,
    optuna: Annotated[
        int | None, typer.Option("--optuna", help="Optuna search of N trials over --param.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            help="Searched key: log:LOW:HIGH, float:LOW:HIGH, int:LOW:HIGH, intlog:LOW:HIGH or "
            "choice:A,B, e.g. --param task.lr=log:1e-5:1e-1 (repeatable)."
        ),
    ] = None,
    seeds: Annotated[int, typer.Option(help="Trainings per point, seeds seed, seed+1, ...")] = 1,
    set_: Annotated[list[str] | None, _SET] = None,
    out: Annotated[Path | None, _OUT] = None,
    metric: Annotated[str | None, _METRIC] = None,
    direction: Annotated[
        str | None,
        typer.Option(
            help="maximize or minimize the metric (default: its better direction; a "
            "response is scanned for the point nearest 1)."
        ),
    ] = None,
    storage: Annotated[str | None, _STORAGE] = None,
    study_name: Annotated[str | None, _STUDY] = None,
) -> None:
    """Scan hyperparameters: a grid (--grid) or an Optuna search (--optuna N --param ...).

    Points are chosen by validation metrics; the test metrics are reported beside them.
    Writes results.csv, results.md (mean ± std over seeds of the validation metric and every
    test metric per point), heatmap.png (grids, the validation metric) and scan.json.
    Interrupted? Run the same command again: it resumes.
    """
    from hepdl.paths import output_folder
    from hepdl.train.scan import ScanRequest, parse_grid, parse_param, run_scan

    try:
        if direction not in (None, "maximize", "minimize"):
            raise HepdlError(f"--direction {direction!r}: expected maximize or minimize")
        request = ScanRequest(
            config_path=config,
            grid=[parse_grid(text) for text in grid or []],
            params=[parse_param(text) for text in param or []],
            n_trials=optuna,
            seeds=seeds,
            overrides=list(set_ or []),
            out=out,
            storage=storage,
            study_name=study_name,
            metric=metric,
            direction=direction,  # type: ignore[arg-type]
        )
        if out is not None:  # before any sample is generated or read
            output_folder(out)
        _prepare(config, request.overrides)
        result = run_scan(request, report=typer.echo)
    except HepdlError as err:
        fail(err)
    _print_summary(result, keys=request.keys())


def learning_curve(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    sizes: Annotated[str, typer.Option(help="Training rows, e.g. --sizes 1000,3000,10000.")],
    seeds: Annotated[int, typer.Option(help="Trainings per size (the band).")] = 3,
    metric: Annotated[str | None, _METRIC] = None,
    set_: Annotated[list[str] | None, _SET] = None,
    out: Annotated[Path | None, _OUT] = None,
    storage: Annotated[str | None, _STORAGE] = None,
    study_name: Annotated[str | None, _STUDY] = None,
) -> None:
    """Test metrics against the number of training rows (data.train_size), mean and std over
    seeds; validation and test rows stay the same. Writes learning_curve.png and the tables."""
    from hepdl.paths import output_folder
    from hepdl.train.learning_curve import SIZE_KEY, parse_sizes, run_learning_curve

    try:
        wanted = parse_sizes(sizes)
        if out is not None:  # before any sample is generated or read
            output_folder(out)
        _prepare(config, list(set_ or []))
        result = run_learning_curve(
            config,
            sizes=wanted,
            seeds=seeds,
            metric=metric,
            overrides=list(set_ or []),
            out=out,
            storage=storage,
            study_name=study_name,
            report=typer.echo,
        )
    except HepdlError as err:
        fail(err)
    _print_summary(result, keys=[SIZE_KEY])


def register(app: typer.Typer) -> None:
    app.command()(scan)
    app.command("learning-curve")(learning_curve)
