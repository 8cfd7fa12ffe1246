"""The deployment command of ``hepdl``: export (a finished run as one ONNX file).

Kept apart from cli.py so each file stays small; ``register(app)`` adds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail
from hepdl.errors import ConfigError, HepdlError

FORMATS = ("onnx",)


def export(
    run_dir: Annotated[Path, typer.Argument(help="A finished run directory.")],
    format_: Annotated[str, typer.Option("--format", help="The file format: onnx.")] = "onnx",
    out: Annotated[
        Path | None, typer.Option(help="The file to write (default: RUN_DIR/model.onnx).")
    ] = None,
    opset: Annotated[int, typer.Option(help="The ONNX opset of the graph.")] = 17,
    data: Annotated[
        str | None,
        typer.Option(help="Trace on the first rows of this file (default: toy jets)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
) -> None:
    """Export a trained run (network or scikit-learn baseline) as one ONNX file: raw
    representation arrays in (standardisation folded in), probabilities or regression
    values out, dynamic batch and particle axes; checked in ONNX Runtime against PyTorch
    before it is written."""
    from hepdl.deploy import export_onnx

    try:
        if format_ not in FORMATS:
            raise ConfigError(f"--format '{format_}': expected one of {', '.join(FORMATS)}")
        result = export_onnx(run_dir, out, opset=opset, data=data, overwrite=overwrite)
    except HepdlError as err:
        fail(err)
    inputs = ", ".join(f"{i['name']} {tuple(i['shape'])} {i['dtype']}" for i in result.inputs)
    typer.echo(f"opset: {result.opset} ({result.exporter})")
    typer.echo(f"inputs: {inputs}")
    if result.unused_inputs:
        typer.echo(f"unused by the model, not graph inputs: {', '.join(result.unused_inputs)}")
    against = "scikit-learn" if result.exporter.startswith("skl2onnx") else "PyTorch"
    typer.echo(
        f"parity: max |ONNX Runtime - {against}| = {result.max_difference:.2g} on {result.checked}"
    )
    typer.echo(f"wrote {result.path}")


def register(app: typer.Typer) -> None:
    app.command()(export)
