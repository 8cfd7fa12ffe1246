"""The ``hepdl lr-find`` command: the learning-rate range test of an experiment.

Kept apart from cli.py so each file stays small; ``register(app)`` adds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail
from hepdl.errors import HepdlError


def lr_find(
    config: Annotated[Path, typer.Argument(help="Experiment YAML file.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a key, e.g. --set task.optimizer=sgd (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for lr_find.png and lr_find.json.")] = Path(
        "lr_find"
    ),
    min_lr: Annotated[float, typer.Option(help="First learning rate of the sweep.")] = 1e-6,
    max_lr: Annotated[float, typer.Option(help="Last learning rate of the sweep.")] = 1.0,
    steps: Annotated[int, typer.Option(help="Optimizer steps (learning rates) swept.")] = 100,
) -> None:
    """Sweep the learning rate of CONFIG's model over a range (Lightning's LR finder) and
    suggest one: the steepest fall of the training loss. Weights are not kept."""
    from hepdl.config import load_config
    from hepdl.paths import output_folder
    from hepdl.train.lr_finder import lr_find_experiment

    try:
        experiment = load_config(config, overrides=set_ or [])
        output_folder(out)  # before the data is read or generated
        result = lr_find_experiment(
            experiment,
            out_dir=out,
            min_lr=min_lr,
            max_lr=max_lr,
            num_training=steps,
        )
    except HepdlError as err:
        fail(err)
    if result.suggestion is None:
        typer.echo(f"no suggestion: too few steps ({len(result.lrs)}) before the loss diverged")
    else:
        typer.echo(f"suggested learning rate: {result.suggestion:.3g} (set task.lr)")
    typer.echo(f"wrote {out / 'lr_find.png'} and {out / 'lr_find.json'}")


def register(app: typer.Typer) -> None:
    app.command("lr-find")(lr_find)
