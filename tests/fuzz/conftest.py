from __future__ import annotations

import pytest

from tests.fuzz.shared import Shared


@pytest.fixture(scope="session")
def shared(tmp_path_factory) -> Shared:
    """The clean files and finished runs every fuzz case of the session starts from."""
    return Shared(tmp_path_factory.mktemp("fuzz-shared"))
