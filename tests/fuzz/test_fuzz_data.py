"""Every data case of the fuzz suite (tests/fuzz/data_cases.py): success or one clear
error, never a traceback, a hang, a silent wrong result or a write outside the run."""

from __future__ import annotations

import pytest

from tests.fuzz.check import assert_case_passes, params


@pytest.mark.parametrize("case", params("data"))
def test_data_case(case, shared, tmp_path):
    assert_case_passes(case, tmp_path / "workspace", shared)
