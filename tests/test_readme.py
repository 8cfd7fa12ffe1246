"""The README's two set-up commands and CI's test command stay one and the same."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)


def test_readme_opens_with_install_and_demo_then_install_and_tests():
    install_demo, install_tests = readme_commands()[:2]
    assert "pip install torch==2.13.0" in install_demo  # the CPU build, never CUDA wheels
    assert install_demo.rstrip().endswith("hepdl demo")
    assert '".[test]"' in install_tests and "pytest" in install_tests


def test_ci_runs_exactly_the_readme_test_command():
    line = next(x for x in (REPO / ".ci/run").read_text().splitlines() if x.startswith("cmd="))
    extracted = subprocess.run(
        ["bash", "-c", f'{line}\nprintf %s "$cmd"'],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert extracted == readme_commands()[1]
    assert 'bash -c "$cmd"' in (REPO / ".ci/run").read_text()
