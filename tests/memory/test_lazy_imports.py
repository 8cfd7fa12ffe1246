"""Importing hepdl, loading a config and ``hepdl --help`` leave the heavy packages unloaded.

Lightning alone is ~400 MB resident and torch ~220 MB, so each check runs in a fresh
interpreter and reads ``sys.modules`` after the work: a package ``__init__`` that imports
a submodule eagerly, or a config section that imports its task, fails here.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import hepdl

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "awkward",
    "fastjet",
    "h5py",
    "lightning",
    "matplotlib",
    "pandas",
    "pyarrow",
    "pythia8mc",
    "sklearn",
    "torch",
    "uproot",
)
PACKAGES = [
    "hepdl",
    *sorted(m.name for m in pkgutil.walk_packages(hepdl.__path__, "hepdl.") if m.ispkg),
]


def _loaded_after(code: str) -> list[str]:
    """The HEAVY packages in sys.modules after ``code`` runs in a fresh interpreter."""
    report = f"import json, sys\nprint(json.dumps(sorted(set({HEAVY!r}) & set(sys.modules))))"
    probe = f"{code}\n{report}"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.splitlines()[-1])


# Each representation module works on awkward arrays and registers itself on import, so
# this one package still brings awkward (and the pyarrow it imports); nothing heavier.
AWKWARD_PACKAGES = ("hepdl.data.representations",)


def test_importing_every_package_and_the_config_loads_no_heavy_package() -> None:
    light = [name for name in PACKAGES if name not in AWKWARD_PACKAGES]
    assert _loaded_after("\n".join(f"import {name}" for name in [*light, "hepdl.config"])) == []


def test_the_representations_load_awkward_only() -> None:
    loaded = _loaded_after("\n".join(f"import {name}" for name in AWKWARD_PACKAGES))
    assert loaded == ["awkward", "pyarrow"]


def test_the_cli_module_loads_no_heavy_package() -> None:
    # what `hepdl --help` and `hepdl scratch --help` import before typer prints
    assert _loaded_after("import hepdl.cli") == []


def test_help_loads_no_heavy_package() -> None:
    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom hepdl.cli import app\n"
        "for args in (['--help'], ['scratch', '--help'], ['train', '--help']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0, args\n"
    )
    assert _loaded_after(code) == []


def test_a_scratch_run_loads_no_heavy_package() -> None:
    # the NumPy engine: backprop against finite differences, without the torch column
    code = (
        "from typer.testing import CliRunner\nfrom hepdl.cli import app\n"
        "result = CliRunner().invoke(app, ['scratch', 'gradcheck', '--no-torch'])\n"
        "assert result.exit_code == 0, result.output\n"
    )
    assert _loaded_after(code) == []


CONFIGS = sorted(p.name for p in (ROOT / "configs").glob("*.yaml"))


@pytest.mark.parametrize("config", CONFIGS)
def test_validating_any_shipped_config_loads_neither_torch_nor_lightning(config: str) -> None:
    # model options are checked against the signature table (hepdl.models._signatures),
    # schedules by hepdl.tasks.schedule_options, the task section without its LightningModule
    code = f"from hepdl.config import load_config\nload_config('configs/{config}')"
    loaded = _loaded_after(code)
    assert "torch" not in loaded and "lightning" not in loaded, loaded


def test_validating_a_baseline_config_loads_neither_torch_nor_scikit_learn() -> None:
    code = "from hepdl.config import load_config\nload_config('configs/top_tagging_bdt.yaml')"
    assert _loaded_after(code) == ["awkward", "pyarrow"]  # the representation only


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves_and_none_is_shadowed_by_a_submodule(package: str) -> None:
    module = importlib.import_module(package)
    submodules = {m.name for m in pkgutil.iter_modules(module.__path__)}
    for name in getattr(module, "__all__", []):
        assert getattr(module, name) is not None, f"{package}.{name}"
        if "__getattr__" in vars(module):  # lazy: a submodule named like an export would
            # replace it (as the package's attribute) once that submodule is imported
            assert name not in submodules, f"{package}.{name} is also a submodule"


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    import hepdl.data

    with pytest.raises(AttributeError, match=r"module 'hepdl\.data' has no attribute 'read_tabel'"):
        hepdl.data.read_tabel  # noqa: B018


def test_every_task_kind_has_its_section_registered_without_its_task() -> None:
    from hepdl.tasks import list_tasks, task_class, task_config_class

    kinds = list_tasks()
    assert kinds == ["classify", "flow", "gan", "regress", "segment", "vae"]
    for kind in kinds:  # the torch-free section is the one the task class validates with
        assert task_class(kind).Config is task_config_class(kind)
    from hepdl.tasks._registry import TASKS

    assert TASKS.names() == kinds
