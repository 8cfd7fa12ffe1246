"""The comparison commands of ``hepdl``: compare (the landscape table) and ensemble (seeds).

Kept apart from cli.py so each file stays small; ``register(app)`` adds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail
from hepdl.errors import HepdlError


def _report(table: str, paths: list[Path], notes: list[str]) -> None:
    typer.echo(table, nl=False)
    for note in notes:  # skipped FAILED folders, runs whose test rows were not checked
        typer.echo(f"note: {note}")
    for path in paths:
        typer.echo(f"wrote {path}")


def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="Finished run directories.")],
    out: Annotated[
        Path,
        typer.Option(
            help="Where to write comparison.md and the figure (roc_comparison.png; "
            "response_comparison.png for regressions)."
        ),
    ] = Path("comparison"),
    group_by: Annotated[
        str,
        typer.Option(help="One row per 'model' (model.name) or per 'config' (its name)."),
    ] = "model",
) -> None:
    """Compare runs of one task kind: mean ± std over each group's seeds of the task's
    metrics (classifiers: AUC, accuracy, rejections, sorted by AUC; regressions: relative
    resolution, response, core sigma, RMSE, the baseline's resolution, sorted by
    resolution), parameters, s/epoch and jets/s; ROC curves with seed bands, or the
    response and resolution curves overlaid."""
    from hepdl.train.compare import compare_runs

    try:
        result = compare_runs(run_dirs, out_dir=out, group_by=group_by)  # type: ignore[arg-type]
    except HepdlError as err:
        fail(err)
    _report(result.table, result.paths, result.notes)


def ensemble(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    seeds: Annotated[int, typer.Option(help="Members: seeds seed .. seed + N - 1.")] = 3,
    out: Annotated[
        Path | None, typer.Option(help="Folder of the members (default: a new one in runs).")
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, e.g. --set trainer.max_epochs=5 (repeatable)."),
    ] = None,
) -> None:
    """Train CONFIG with N seeds (same split) and compare the members with their average
    (the mean score of a classifier, the mean prediction of a regression, with the spread
    across members)."""
    import logging

    from hepdl.config import load_config
    from hepdl.paths import output_folder
    from hepdl.train.ensemble import train_ensemble

    try:
        experiment = load_config(config, overrides=set_ or [])
        if out is not None:  # a writable folder before the members train, or one error
            output_folder(out)
        logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
        result = train_ensemble(experiment, n_seeds=seeds, out_dir=out)
    except HepdlError as err:
        fail(err)
    _report(result.comparison.table, result.comparison.paths, result.comparison.notes)


def register(app: typer.Typer) -> None:
    app.command()(compare)
    app.command()(ensemble)
