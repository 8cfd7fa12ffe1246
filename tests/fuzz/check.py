"""The one assertion every fuzz test makes, and the parameters that carry the known
failures' xfail marks."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz.cases import family_cases
from tests.fuzz.known_failures import KNOWN_FAILURES
from tests.fuzz.outcomes import PASSING, Case
from tests.fuzz.runner import run_case


def params(family: str) -> list:
    """The family's cases as pytest params; a case in KNOWN_FAILURES is xfail(strict):
    it fails today for the defect named, and the fix must remove the mark."""
    out = []
    for case in family_cases(family):
        reason = KNOWN_FAILURES.get(case.id)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def assert_case_passes(case: Case, workspace: Path, shared: object) -> None:
    """Success (where success is meaningful) or one clear error; nothing else."""
    outcome, why, result = run_case(case, workspace, shared)
    assert outcome in PASSING, (
        f"{case.id}: {outcome}: {why}\n--- stderr ---\n{result.stderr[-2000:]}"
        + (f"\n--- escaped ---\n{result.escaped[-3000:]}" if result.escaped else "")
    )
