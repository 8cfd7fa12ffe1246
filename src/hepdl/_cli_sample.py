"""The ``hepdl sample`` command: draw showers from a trained generative run into a
shower file. Kept apart from cli.py so each file stays small; ``register(app)`` adds it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail, fail_on_full_disk
from hepdl.errors import HepdlError


def sample(
    run_dir: Annotated[Path, typer.Argument(help="A finished run of task.kind gan, vae or flow.")],
    n: Annotated[int, typer.Option("--n", help="Showers to draw.")],
    condition: Annotated[
        list[str],
        typer.Option(help="energy=E or energy=LO:HI (GeV, uniform): the incident energy."),
    ],
    out: Annotated[Path, typer.Option(help="The file to write: .parquet, or .h5 for HDF5.")],
    seed: Annotated[int, typer.Option(help="Seed of the noise and the energies.")] = 0,
    batch: Annotated[int, typer.Option(help="Showers drawn and written at a time.")] = 10_000,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
) -> None:
    """Draw N showers from a trained generative model into the format `hepdl showers`
    writes (energy and one cell array per layer), so every hepdl command reads generated
    and simulated showers alike. Warns when the energy lies outside the training range."""
    from hepdl.train.interrupt import activity
    from hepdl.train.sampling import sample_run

    try:
        stop = activity(f"sampling {run_dir}", kept=f"nothing was written to {out}")
        with fail_on_full_disk(), stop:
            result = sample_run(
                run_dir,
                n=n,
                condition=condition,
                out=out,
                seed=seed,
                batch=batch,
                overwrite=overwrite,
            )
    except HepdlError as err:
        fail(err)
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"wrote {result.rows} showers to {result.out}")


def register(app: typer.Typer) -> None:
    app.command()(sample)
