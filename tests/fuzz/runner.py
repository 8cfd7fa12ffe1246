"""Run one fuzz case in-process and record what it did.

The command runs through typer's ``CliRunner`` with the
case's workspace as the current folder, ``HEPDL_CACHE_DIR`` inside it and ``tempfile``'s
folder inside it, so every file the command writes lands in the workspace tree, which is
compared before and after.
An exception that escapes the command (anything but ``SystemExit``) counts as a
traceback, as it would in a terminal. A timer (``SIGALRM``) stops a case that hangs.

Config cases name ``hepdl check CONFIG``. Where the CLI has no ``check`` command (the
tree before issue 15), the same validation runs in-process through
``hepdl.config.load_config``: a ``HepdlError`` is printed as the CLI would print it
(``error: ...``, exit 2), any other exception is a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from typer.testing import CliRunner as TyperRunner

from tests.fuzz.outcomes import Case, Invocation, Result, classify

CHECK = "check"  # the validate-only command config cases name


class CaseTimeout(BaseException):
    """Raised by the timer; a BaseException so that no ``except Exception`` swallows it."""


def snapshot(root: Path) -> dict[str, tuple]:
    """relative path -> (kind, size, mtime_ns, link target) of everything under ``root``,
    symlinks not followed: a write through a link shows where it landed."""
    seen: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            target = os.readlink(path) if path.is_symlink() else None
            kind = "dir" if path.is_dir() and target is None else "file"
            mtime = None if kind == "dir" else info.st_mtime_ns
            seen[str(path.relative_to(root))] = (kind, info.st_size, mtime, target)
    return seen


def changed_outside(before: dict, after: dict, root: Path, writable: list[Path]) -> list[str]:
    allowed = [str(Path(w).relative_to(root)) for w in writable]

    def inside(rel: str) -> bool:
        return any(rel == a or rel.startswith(a + os.sep) for a in allowed)

    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    return sorted(p for p in changed if not inside(p) and after.get(p, ("file",))[0] != "dir")


@contextlib.contextmanager
def timer(seconds: float) -> Iterator[None]:
    def expire(signum, frame):
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _inside(workspace: Path) -> Iterator[None]:
    """cwd, cache and temporary files in ``workspace`` for the duration of one case."""
    cwd, cache, tmp = os.getcwd(), os.environ.get("HEPDL_CACHE_DIR"), tempfile.tempdir
    (workspace / "tmp").mkdir(exist_ok=True)
    os.chdir(workspace)
    os.environ["HEPDL_CACHE_DIR"] = str(workspace / "cache")
    tempfile.tempdir = str(workspace / "tmp")
    try:
        yield
    finally:
        os.chdir(cwd)
        tempfile.tempdir = tmp
        if cache is None:
            os.environ.pop("HEPDL_CACHE_DIR", None)
        else:
            os.environ["HEPDL_CACHE_DIR"] = cache


@functools.cache
def _cli() -> Any:
    """The ``hepdl`` click group, built once (typer rebuilds it on every invoke: 0.2 s)."""
    import typer.main

    from hepdl.cli import app

    return typer.main.get_command(app)


def has_command(name: str) -> bool:
    return name in _cli().commands


def _load_config_in_process(path: str) -> tuple[int, str, str, str | None]:
    from hepdl.config import load_config
    from hepdl.errors import HepdlError

    try:
        load_config(path)
    except HepdlError as err:
        return 2, "", f"error: {err}\n", None
    except Exception:
        return 1, "", "", traceback.format_exc()
    return 0, "", "", None


def _invoke(argv: list[str]) -> tuple[int, str, str, str | None]:
    if argv[0] == CHECK and not has_command(CHECK):
        return _load_config_in_process(argv[1])
    from hepdl.cli import app

    # typer's runner, not click's: typer >= 0.29 carries its own click, click is no dependency
    result = TyperRunner().invoke(app, argv, catch_exceptions=True)
    escaped = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        escaped = "".join(traceback.format_exception(*result.exc_info))
    return result.exit_code, result.stdout, result.stderr, escaped


def run_case(case: Case, workspace: Path, shared: object) -> tuple[str, str, Result]:
    """Build ``case`` in the empty folder ``workspace``, run it: (outcome, why, result)."""
    workspace.mkdir(parents=True, exist_ok=True)
    with _inside(workspace):
        invocation: Invocation = case.build(workspace, shared)
    writable = [*invocation.writable, workspace / "cache"]
    before = snapshot(workspace)
    with _inside(workspace):
        try:
            with timer(case.timeout_s):
                code, out, err, escaped = _invoke(invocation.argv)
            result = Result(code, out, err, escaped)
        except CaseTimeout:
            result = Result(-1, "", "", timed_out=True)
    result.outside = changed_outside(before, snapshot(workspace), workspace, writable)
    outcome, why = classify(case, result)
    return outcome, why, result
