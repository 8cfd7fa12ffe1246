"""What every ``hepdl`` command shares: one way to report a HepdlError and stop."""

from __future__ import annotations

import typer


def fail(err: Exception) -> None:
    """Print ``error: <message>`` in red on stderr and exit with code 2."""
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)
