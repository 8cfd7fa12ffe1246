"""Two hepdl scan processes share one Optuna study on a real PostgreSQL server: every
grid point is trained once, by one of them, and recorded once.

The server is the one ``.ci/run`` installs and starts (Debian's ``postgresql``), named by
``HEPDL_TEST_POSTGRES_URL``. Without it the test skips, saying why; CI also sets
``HEPDL_REQUIRE_POSTGRES=1``, which turns that skip into a failure."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from tests.conftest import write_feature_file
from tests.train.test_scan import write_config

URL_ENV, REQUIRE_ENV = "HEPDL_TEST_POSTGRES_URL", "HEPDL_REQUIRE_POSTGRES"
GRID = "task.lr=0.01,0.03,0.1,0.3"


def _server_url() -> str:
    """The server's URL, after one connection; skip (or fail, under CI) without one."""
    url = os.environ.get(URL_ENV)
    reason = None
    if not url:
        reason = f"{URL_ENV} is not set (.ci/run starts a PostgreSQL server and sets it)"
    else:
        from hepdl.errors import HepdlError
        from hepdl.train._scan_storage import check_reachable

        try:
            check_reachable(url)
        except HepdlError as err:
            reason = f"no PostgreSQL server reachable at {URL_ENV}: {err}"
    if reason is None:
        return str(url)
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}")
    pytest.skip(reason)


def test_two_scan_processes_share_one_study_and_train_each_point_once(tmp_path: Path) -> None:
    import optuna

    url = _server_url()
    config = write_config(tmp_path, write_feature_file(tmp_path / "jets.parquet", n=300))
    study = f"hepdl-test-{uuid.uuid4().hex[:12]}"  # a fresh study on a shared server
    command = [
        *(sys.executable, "-m", "hepdl.cli", "scan", str(config), "--grid", GRID),
        *("--storage", url, "--study-name", study, "--out", str(tmp_path / "scan")),
    ]
    env = {**os.environ, "MPLBACKEND": "Agg"}
    workers = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], "\n".join(outputs)
    trials = optuna.load_study(study_name=study, storage=url).trials
    try:
        complete = [t for t in trials if t.state.name == "COMPLETE"]
        assert sorted(t.params["task.lr"] for t in complete) == [0.01, 0.03, 0.1, 0.3]
        # every point once: none twice, none missing; a trial a worker asked for after the
        # other had taken the last point is pruned untrained, with no values
        others = [t for t in trials if t.state.name != "COMPLETE"]
        shown = [(t.number, t.state.name, t.params, t.user_attrs) for t in others]
        assert all(t.state.name == "PRUNED" and not t.params for t in others), shown
        # each trial's runs were trained by one worker, into its own folder
        folders = [Path(t.user_attrs["run_dirs"][0]) for t in complete]
        assert len(set(folders)) == 4 and all((f / "metrics.json").is_file() for f in folders)
        trained = [
            line for out in outputs for line in out.splitlines() if line.startswith("trial ")
        ]
        assert len(trained) == 4  # the two workers' trial lines add up to the grid
        results = (tmp_path / "scan/results.csv").read_text().splitlines()
        assert len(results) == 1 + 4  # header and one row per point
    finally:
        optuna.delete_study(study_name=study, storage=url)
