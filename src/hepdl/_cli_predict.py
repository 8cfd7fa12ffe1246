"""The prediction command of ``hepdl``: predict (a finished run on a file, one output
entry per input entry, as Parquet or a ROOT tree).

Kept apart from cli.py so each file stays small; ``register(app)`` adds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail, fail_on_full_disk
from hepdl.errors import HepdlError

INTERRUPTED = 130  # 128 + SIGINT


def predict(
    run_dir: Annotated[Path, typer.Argument(help="A finished run directory.")],
    data: Annotated[
        str, typer.Option(help="The file to predict on (Parquet, ROOT, HDF5, CSV, .npz, .npy).")
    ],
    out: Annotated[Path, typer.Option(help="The file to write: .parquet or .root.")],
    chunk_rows: Annotated[
        int, typer.Option(help="Entries read, predicted and written at a time (memory).")
    ] = 100_000,
    prefix: Annotated[str, typer.Option(help="Prefix of the prediction columns.")] = "hepdl_",
    keep: Annotated[
        str | None,
        typer.Option(help="Input columns to copy beside the predictions, comma-separated."),
    ] = None,
    tree: Annotated[
        str | None,
        typer.Option(
            help="Tree of a ROOT output (default: the input's tree name; 'hepdl' with --friend)."
        ),
    ] = None,
    friend: Annotated[
        bool,
        typer.Option(help="ROOT output of the predictions only, to attach with AddFriend."),
    ] = False,
    input_tree: Annotated[
        str | None, typer.Option(help="Tree of a ROOT input (default: the run's data.tree).")
    ] = None,
    input_key: Annotated[
        str | None, typer.Option(help="Key of an HDF5 input (default: the run's data.key).")
    ] = None,
    backend: Annotated[str, typer.Option(help="torch (the saved network) or onnx.")] = "torch",
    onnx: Annotated[
        Path | None,
        typer.Option(help="The ONNX file of --backend onnx (default: RUN_DIR/model.onnx)."),
    ] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace --out if it exists.")] = False,
) -> None:
    """Predict every entry of a file with a finished run: the prediction columns
    (PREFIXscore, PREFIXp_<class>, or PREFIX<target>; PREFIXvalid) beside the --keep
    columns, one output entry per input entry in input order. Entries without a valid
    input (no constituents, non-finite values) get NaN and PREFIXvalid False. The file is
    read, predicted and written --chunk-rows entries at a time; --out appears only when
    complete."""
    from hepdl.deploy.predict_file import predict_to_file

    kept = [name.strip() for name in keep.split(",") if name.strip()] if keep else []
    from hepdl.train.interrupt import activity

    try:
        # SIGTERM / SIGINT (cli.main's handlers): the temporary is removed on the way out
        stop = activity(f"predicting {data}", kept=f"nothing was written to {out}")
        with fail_on_full_disk(), stop:
            summary = predict_to_file(
                run_dir,
                data,
                out,
                chunk_rows=chunk_rows,
                prefix=prefix,
                keep=kept,
                tree=tree,
                friend=friend,
                input_tree=input_tree,
                input_key=input_key,
                backend=backend,
                onnx_file=onnx,
                overwrite=overwrite,
            )
    except HepdlError as err:
        fail(err)
    except KeyboardInterrupt:  # called without cli.main's handlers (a CliRunner, a script)
        typer.secho(f"error: interrupted; nothing written to {out}", fg="red", err=True)
        raise typer.Exit(code=INTERRUPTED) from None
    for line in summary.lines():
        typer.echo(line)


def register(app: typer.Typer) -> None:
    app.command()(predict)
