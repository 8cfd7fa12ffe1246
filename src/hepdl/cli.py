"""The ``hepdl`` command. Thin: parse, build the config, call the library.

Heavy modules (torch, lightning, pythia8mc) are imported inside the commands, so
``hepdl --help`` answers at once.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail, fail_on_full_disk, resume_command, stopped
from hepdl._cli_compare import register as register_compare_commands
from hepdl._cli_deploy import register as register_deploy_commands
from hepdl._cli_generation import generation_progress
from hepdl._cli_generation import register as register_generation_commands
from hepdl._cli_optim import register as register_optim_commands
from hepdl._cli_predict import register as register_predict_commands
from hepdl._cli_pretrained import register as register_pretrained_commands
from hepdl._cli_sample import register as register_sample_commands
from hepdl._cli_scan import register as register_scan_commands
from hepdl._cli_showers import register as register_shower_commands
from hepdl.errors import HepdlError
from hepdl.scratch.cli import app as scratch_app

app = typer.Typer(
    name="hepdl",
    help="Deep learning for particle physics: generate jets, train, evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(scratch_app, name="scratch")


def _print_metrics(
    metrics: dict, run_dir: Path, kind: str, *, where: str = "run directory", table: bool = True
) -> None:
    """The test metrics a task of ``kind`` summarises (its class's ``summary``; no table
    with ``table`` False: predictions without labels), then ``where``: ``run_dir``."""
    from rich.console import Console
    from rich.table import Table

    from hepdl.tasks import task_class
    from hepdl.tasks.divergence import divergence_line, has_test_metrics

    console = Console()
    diverged = divergence_line(metrics)  # before any number, which it makes meaningless
    if diverged is not None:
        console.print(f"warning: {diverged}", style="bold red", soft_wrap=True)
    # a diverged run with NaN outputs has no task metrics to tabulate (metrics.json says why)
    table = table and has_test_metrics(metrics)
    title, rows = task_class(kind).summary(metrics) if table else ("", [])
    shown = Table(title=title)
    shown.add_column("metric")
    shown.add_column("value", justify="right")
    for name, value in rows:
        shown.add_row(name, value)
    if rows:
        console.print(shown)
    if metrics.get("note"):  # e.g. predictions without the truth: say what is missing
        console.print(f"note: {metrics['note']}", soft_wrap=True)
    console.print(f"{where}: {run_dir}", soft_wrap=True)


def _train_and_report(config, *, resume: Path | None = None) -> None:
    import logging

    from hepdl.train.inputs import generated_sample
    from hepdl.train.run import train_experiment

    if config.data.generate is not None:  # first run: generate (with a progress bar), cache
        from hepdl.train.interrupt import activity

        progress, update = generation_progress()
        finished = "finished chunks are kept; the same command continues from them"
        with progress, activity("generating data", kept=finished):
            generated_sample(config.data.generate, progress=update)
    import warnings

    import lightning  # noqa: F401  (configures its loggers on import; quieten them after)

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banner lines
    warnings.filterwarnings("ignore", message=r".*LeafSpec.*is deprecated")  # Lightning's own
    result = train_experiment(config, resume=resume)
    _print_metrics(result.metrics, result.run_dir, config.task.kind)


@app.command()
def demo(
    data: Annotated[
        str | None, typer.Option(help="Labelled jet file to use instead of generating.")
    ] = None,
    jets: Annotated[int | None, typer.Option(help="Jets per class to generate.")] = None,
    out: Annotated[str | None, typer.Option(help="Folder for the run directory.")] = None,
) -> None:
    """Generate top and QCD jets (cached), train a DNN on substructure, report AUC, rejection."""
    from hepdl.demo import demo_config

    start = time.perf_counter()
    try:
        _train_and_report(demo_config(data=data, jets_per_class=jets, output_dir=out))
    except HepdlError as err:
        fail(err)
    typer.echo(f"demo wall time: {time.perf_counter() - start:.1f} s")


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, e.g. --set trainer.max_epochs=5 (repeatable)."),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            help="Continue this run directory from its last checkpoint (same config and --set).",
        ),
    ] = None,
) -> None:
    """Train the experiment described by CONFIG; writes a run directory. Stopped by
    SIGTERM or SIGINT, it keeps its last complete epoch's checkpoint, prints the command
    that resumes it and exits 143 or 130."""
    from hepdl.config import load_config
    from hepdl.train.interrupt import RunInterrupted

    try:
        _train_and_report(load_config(config, overrides=set_ or []), resume=resume)
    except RunInterrupted as err:
        stopped(err, resume_command(config, set_ or [], err.run_dir))
    except HepdlError as err:
        fail(err)


@app.command()
def check(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, e.g. --set trainer.max_epochs=5 (repeatable)."),
    ] = None,
) -> None:
    """Validate CONFIG without training: keys, types, ranges, devices, data files."""
    from hepdl.config_check import check_experiment

    try:
        typer.echo(f"ok: {check_experiment(config, set_ or [])}")
    except HepdlError as err:
        fail(err)


@app.command()
def evaluate(
    run_dir: Annotated[Path, typer.Argument(help="A finished run directory.")],
    data: Annotated[
        list[str], typer.Option(help="File(s) to evaluate on (without labels: predictions only).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(help="Folder for metrics and plots (default: RUN_DIR/evaluations/<file>)."),
    ] = None,
) -> None:
    """Evaluate a finished run on any compatible file: metrics.json and plots (predictions
    only for a file without labels); warns when the rows are ones the run was trained or
    validated on, and prints the folder it wrote."""
    from hepdl.evaluation import evaluate_run
    from hepdl.train.artifacts import run_task_kind
    from hepdl.train.interrupt import activity

    try:
        with activity(f"evaluating {run_dir}", kept="the evaluation is incomplete"):
            result = evaluate_run(run_dir, data, out_dir=out)
        kind = run_task_kind(run_dir)
    except HepdlError as err:
        fail(err)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    _print_metrics(
        result.metrics, result.out_dir, kind, where="evaluation written to", table=result.labelled
    )


register_generation_commands(app)
register_optim_commands(app)
register_scan_commands(app)
register_compare_commands(app)
register_deploy_commands(app)
register_predict_commands(app)
register_pretrained_commands(app)
register_shower_commands(app)
register_sample_commands(app)


def main() -> None:
    from hepdl.train.interrupt import Stopped, handle_stop_signals

    handle_stop_signals()  # SIGTERM / SIGINT outside a fit: one line, exit 143 / 130
    try:
        with fail_on_full_disk():  # a full disk wherever it strikes: one error naming the file
            app()
    except Stopped as err:
        typer.secho(f"stopped: {err}", fg=typer.colors.YELLOW, err=True)
        raise SystemExit(err.exit_code) from None


if __name__ == "__main__":
    main()
