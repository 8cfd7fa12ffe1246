"""The fuzz runner itself: each outcome class is reachable, so a passing case means what
it says (a command that escapes, hangs, writes beside the run or names nothing fails)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import outcomes
from tests.fuzz.outcomes import Case, Invocation, Result, classify
from tests.fuzz.runner import CaseTimeout, changed_outside, snapshot, timer


def _case(expect: str = "error") -> Case:
    return Case("unit", "x", lambda w, s: Invocation([]), ("model.hidden",), expect=expect)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (Result(2, "", "error: a.yaml: model.hidden: expected an int\n"), outcomes.CLEAR_ERROR),
        (Result(2, "", "error: something went wrong\n"), outcomes.UNCLEAR_ERROR),
        (Result(2, "", "error: model.hidden\nerror: model.hidden\n"), outcomes.UNCLEAR_ERROR),
        (Result(2, "", "error: model.hidden " + "x" * 3000 + "\n"), outcomes.UNCLEAR_ERROR),
        (Result(1, "", ""), outcomes.UNCLEAR_ERROR),
        (Result(1, "", "", escaped="Traceback ...\nValueError: bad"), outcomes.TRACEBACK),
        (
            Result(2, "Traceback (most recent call last):\n", "error: model.hidden"),
            outcomes.TRACEBACK,
        ),
        (Result(1, "", "\nAborted.\n"), outcomes.TRACEBACK),
        (Result(-1, "", "", timed_out=True), outcomes.HANG),
        (Result(0, "", "", outside=["elsewhere/x"]), outcomes.WRITE_OUTSIDE),
        (Result(0, "", ""), outcomes.SILENT),
        (Result(0, "", "error: model.hidden\n"), outcomes.UNCLEAR_ERROR),
    ],
)
def test_classify(result, expected):
    assert classify(_case(), result)[0] == expected


def test_success_passes_where_either_is_expected():
    assert classify(_case("either"), Result(0, "", ""))[0] == outcomes.OK


def test_writes_are_seen_outside_the_writable_folders_and_through_links(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "target").write_text("a")
    (tmp_path / "run" / "link").symlink_to(tmp_path / "elsewhere" / "target")
    before = snapshot(tmp_path)
    (tmp_path / "run" / "new").write_text("inside")
    (tmp_path / "run" / "link").write_text("through the link")  # lands in elsewhere/
    (tmp_path / "stray.tmp").write_text("beside the run")
    changed = changed_outside(before, snapshot(tmp_path), tmp_path, [tmp_path / "run"])
    assert changed == ["elsewhere/target", "stray.tmp"]


def test_timer_stops_a_hang():
    with pytest.raises(CaseTimeout), timer(0.05):
        while True:
            pass


def test_snapshot_does_not_follow_a_folder_link(tmp_path: Path):
    (tmp_path / "out").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "out", target_is_directory=True)
    (tmp_path / "out" / "f").write_text("x")
    assert sorted(snapshot(tmp_path)) == ["link", "out", "out/f"]
