"""What a fuzz case is, and the class its outcome falls in.

A case builds its inputs in a fresh workspace folder and names one ``hepdl`` command. Its
outcome is one of ``OUTCOMES``; only ``ok`` and ``clear error`` pass:

- ok: exit 0, where success is a fair answer to the input;
- clear error: exit non-zero, exactly one ``error:`` line on stderr, of bounded length,
  that names the file, key or column (one of the case's ``names``);
- unclear error: exit non-zero without such a line (several ``error:`` lines, none, one
  that names nothing of the case, or one longer than ``MAX_ERROR_CHARS``);
- traceback: an exception escaped the command, or a traceback was printed (also click's
  "Aborted.", what it prints for an EOFError that escaped);
- silent wrong result: exit 0 on input that cannot give a meaningful result (a config
  that should be refused, NaN or damaged data, a run with damaged weights);
- hang: the command ran past the case's timeout;
- write outside: a file outside the run directory / ``--out`` was created, changed or
  removed (also through a symlink, and temporary files left behind).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

OK = "ok"
CLEAR_ERROR = "clear error"
UNCLEAR_ERROR = "unclear error"
TRACEBACK = "traceback"
SILENT = "silent wrong result"
HANG = "hang"
WRITE_OUTSIDE = "write outside"
OUTCOMES = (OK, CLEAR_ERROR, UNCLEAR_ERROR, TRACEBACK, SILENT, HANG, WRITE_OUTSIDE)
PASSING = (OK, CLEAR_ERROR)

# An error message is read by a person: a bad value is shown truncated, never whole
# (a YAML alias bomb once grew to gigabytes inside one message).
MAX_ERROR_CHARS = 2000

# "error": success is a silent wrong result; "either": success and a clear error both pass
EXPECT = ("error", "either")


@dataclass(frozen=True)
class Invocation:
    """One command: ``argv`` after ``hepdl``, run with the workspace as the current
    folder; ``writable`` are the only places it may create, change or remove files."""

    argv: list[str]
    writable: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    """``build(workspace, shared)`` writes the inputs and returns the invocation;
    ``shared`` holds what is made once per session (a trained run, clean data files)."""

    family: str  # "config", "data", "run_dir"
    name: str  # unique within the family: the pytest id
    build: Callable[[Path, object], Invocation]
    names: tuple[str, ...]  # the error line names one of these (a file, key or column)
    expect: str = "error"
    timeout_s: float = 60.0

    @property
    def id(self) -> str:
        return f"{self.family}:{self.name}"


@dataclass
class Result:
    """What a case did: exit code, captured output, the escaped exception (formatted),
    whether it timed out, and the paths written outside ``writable``."""

    exit_code: int
    stdout: str
    stderr: str
    escaped: str | None = None
    timed_out: bool = False
    outside: list[str] = field(default_factory=list)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def classify(case: Case, result: Result) -> tuple[str, str]:
    """(outcome class, why) for ``result`` of ``case``."""
    if result.timed_out:
        return HANG, f"ran past {case.timeout_s} s"
    if result.escaped is not None:
        return TRACEBACK, result.escaped.strip().splitlines()[-1]
    if "Traceback (most recent call last)" in result.stdout + result.stderr:
        return TRACEBACK, "a traceback was printed"
    if result.exit_code == 1 and result.stderr.strip().endswith("Aborted."):
        # click turns an EOFError that escaped the command into "Aborted." and exit 1
        return TRACEBACK, "an EOFError escaped (click printed 'Aborted.')"
    if result.outside:
        return WRITE_OUTSIDE, ", ".join(sorted(result.outside)[:5])
    errors = error_lines(result.stderr)
    if result.exit_code == 0:
        if errors:
            return UNCLEAR_ERROR, f"exit 0 after {errors[0][:200]!r}"
        if case.expect == "error":
            return SILENT, "exit 0 on input that should be refused"
        return OK, ""
    if len(errors) != 1:
        return UNCLEAR_ERROR, f"exit {result.exit_code} with {len(errors)} 'error:' lines"
    line = errors[0]
    if len(line) > MAX_ERROR_CHARS:
        return UNCLEAR_ERROR, f"an error line of {len(line)} characters"
    if not any(name in line for name in case.names):
        return UNCLEAR_ERROR, f"names none of {case.names}: {line[:300]!r}"
    return CLEAR_ERROR, line[:300]
