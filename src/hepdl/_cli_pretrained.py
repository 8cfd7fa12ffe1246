"""``hepdl save-pretrained``: a finished run as a self-describing model folder.

Kept apart from cli.py so each file stays small; ``register(app)`` adds it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hepdl._cli_common import fail
from hepdl.errors import HepdlError


def save_pretrained(
    run_dir: Annotated[Path, typer.Argument(help="A finished run directory.")],
    out: Annotated[Path, typer.Option(help="The model folder to write.")],
    overwrite: Annotated[
        bool, typer.Option(help="Replace --out if it is a hepdl model folder already.")
    ] = False,
) -> None:
    """Write a finished run (network or scikit-learn baseline) as a model folder in the
    Hugging Face convention: config.json, the weights (safetensors or skops, no pickle) and
    a model card (README.md); load it with hepdl.from_pretrained(folder)."""
    from hepdl.atomic import human_bytes
    from hepdl.deploy.pretrained import save_pretrained as write_folder

    try:
        saved = write_folder(run_dir, out, overwrite=overwrite)
    except HepdlError as err:
        fail(err)
    for name, size in saved.files.items():
        typer.echo(f"wrote {saved.folder / name} ({human_bytes(size)})")
    typer.echo(f"load it with: hepdl.from_pretrained({str(saved.folder)!r})")


def register(app: typer.Typer) -> None:
    app.command("save-pretrained")(save_pretrained)
