"""What every ``hepdl`` command shares: one way to report a HepdlError and stop."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer


def fail(err: Exception) -> None:
    """Print ``error: <message>`` in red on stderr and exit with the error's ``exit_code``
    (a run stopped by a signal: 128 + its number), else 2."""
    typer.secho(f"error: {err}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=getattr(err, "exit_code", 2))


def stopped(err: Exception, command: str) -> None:
    """A run stopped by a signal (``hepdl.train.interrupt.RunInterrupted``): what it kept
    and the ``command`` that resumes it, on stderr; exit 128 + the signal's number."""
    typer.secho(f"stopped: {err}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"resume with: {command}", err=True)
    raise typer.Exit(code=getattr(err, "exit_code", 2))


def resume_command(config: Path, overrides: list[str], run_dir: Path) -> str:
    """The ``hepdl train`` command line that resumes ``run_dir`` (same config and --set)."""
    words = ["hepdl", "train", str(config)]
    for override in overrides:
        words += ["--set", override]
    return shlex.join([*words, "--resume", str(run_dir)])


@contextmanager
def fail_on_full_disk() -> Iterator[None]:
    """A full disk (ENOSPC, EDQUOT) met outside hepdl's own writers (a logger, a
    library's file) is one ``error:`` line naming the file, exit 2, not a traceback."""
    from hepdl.atomic import NO_SPACE, no_space_error

    try:
        yield
    except OSError as err:
        if err.errno not in NO_SPACE:
            raise
        where = err.filename or err.filename2
        message = no_space_error(Path(where)) if where else "no space left on device"
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
