"""Damaged run directories, for ``hepdl evaluate``, ``hepdl train --resume`` and
``hepdl compare``.

Each case copies the session's finished run (``Shared.run``: 2 epochs, 200 rows) into its
workspace as ``run``, damages one artifact and runs one command:

- evaluate: ``hepdl evaluate run --data jets.parquet --out eval`` (may write eval/);
- resume: the run as a killed run leaves it (no metrics.json), then
  ``hepdl train resume.yaml --resume run`` with the run's own config (may write run/);
- compare: ``hepdl compare run clean --out cmp`` (may write cmp/).

Damage: missing, truncated to half, empty, the artifact of another architecture
(``Shared.other_run``: 2 inputs, hidden [16, 16]), of the wrong shape (JSON or YAML of
another structure, an .npz with other arrays, a checkpoint without weights), a pickle
whose loading would create ``PWNED`` (checkpoints), and the artifact moved out of the run
and replaced by a symlink to it (a write through the link lands outside the run). Also
the checkpoints/ and evaluations/ folders as symlinks to folders outside.

An artifact the command needs, damaged, must be refused naming it; a damaged artifact
it does not need (or can do without, e.g. a checkpoint with an older one beside it) may
also be ignored.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.fuzz.outcomes import Case, Invocation
from tests.fuzz.shared import Shared

ARTIFACTS = (
    "config.yaml",
    "preprocessing.json",
    "model.safetensors",
    "metrics.json",
    "history.json",
    "predictions.npz",
    "row_keys.npz",
    "checkpoints/last.ckpt",
    "checkpoints/best.ckpt",
)
NEEDED = {
    "evaluate": {"config.yaml", "preprocessing.json", "model.safetensors"},
    "resume": {"config.yaml"},
    "compare": {"config.yaml", "metrics.json"},
}
# compare reads a run without config.yaml as a classifier of unknown model (documented)
MAY_BE_MISSING = {("compare", "config.yaml")}


class _Pwned:
    """Pickled as a call of ``open('PWNED', 'w')``: loading it runs code."""

    def __reduce__(self):
        return (open, ("PWNED", "w"))


def _wrong_shape(path: Path) -> None:
    name = path.name
    if name.endswith(".json"):
        path.write_text(json.dumps([1, 2, 3]))
    elif name.endswith(".yaml"):
        path.write_text("- 1\n- 2\n")
    elif name.endswith(".npz"):
        np.savez(path.with_suffix(""), fuzz=np.arange(3))  # savez adds .npz
    elif name.endswith(".ckpt"):
        import torch

        torch.save({"epoch": 1, "state_dict": {}}, path)
    else:
        raise ValueError(name)


def _pickle_payload(path: Path) -> None:
    import torch

    torch.save({"state_dict": _Pwned()}, path)


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _symlink_out(path: Path) -> None:
    """Move the artifact out of the run (to ../elsewhere/) and link to it."""
    outside = _run_of(path).parent / "elsewhere"
    outside.mkdir(exist_ok=True)
    target = outside / path.name
    shutil.move(path, target)
    path.symlink_to(target)


def _run_of(path: Path) -> Path:
    return next(p for p in path.parents if p.name == "run")


DAMAGE: dict[str, Callable[[Path, Path], None]] = {
    "missing": lambda path, other: path.unlink(),
    "truncated": lambda path, other: _truncate(path),
    "empty": lambda path, other: path.write_bytes(b""),
    "other_architecture": lambda path, other: shutil.copyfile(other, path),
    "wrong_shape": lambda path, other: _wrong_shape(path),
    "pickle_payload": lambda path, other: _pickle_payload(path),
    "symlink": lambda path, other: _symlink_out(path),
}


def _applies(artifact: str, damage: str) -> bool:
    if damage == "pickle_payload":
        return artifact.endswith(".ckpt")
    if damage == "wrong_shape":
        return not artifact.endswith(".safetensors")
    return True


def _prepare(command: str, workspace: Path, shared: Shared) -> tuple[Path, Invocation]:
    """The clean run copy in ``workspace`` and the command's invocation."""
    run = workspace / "run"
    shutil.copytree(shared.run, run, symlinks=True)
    if command == "evaluate":
        shutil.copyfile(shared.feature_file, workspace / "jets.parquet")
        argv = ["evaluate", "run", "--data", "jets.parquet", "--out", "eval"]
        return run, Invocation(argv, writable=[workspace / "eval"])
    if command == "resume":
        (run / "metrics.json").unlink()  # killed after its last checkpoint
        shutil.copyfile(run / "config.yaml", workspace / "resume.yaml")
        return run, Invocation(["train", "resume.yaml", "--resume", "run"], writable=[run])
    shutil.copytree(shared.run, workspace / "clean", symlinks=True)
    argv = ["compare", "run", "clean", "--out", "cmp"]
    return run, Invocation(argv, writable=[workspace / "cmp"])


def _artifact_case(command: str, artifact: str, damage: str) -> Case:
    def build(workspace: Path, shared: Shared) -> Invocation:
        run, invocation = _prepare(command, workspace, shared)
        path = run / artifact
        if path.exists() or path.is_symlink():
            DAMAGE[damage](path, shared.other_run / artifact)
        return invocation

    name = Path(artifact).name
    # a mismatch between two files may be reported on either, or on the run as a whole
    names = (name, "run/", "runs run") if damage == "other_architecture" else (name,)
    return Case(
        "run_dir",
        f"{command}:{artifact}:{damage}",
        build,
        names,
        expect=_expect(command, artifact, damage),
        timeout_s=90,
    )


def _expect(command: str, artifact: str, damage: str) -> str:
    """ "error" where the command cannot give a meaningful result from the damaged run."""
    if artifact not in NEEDED[command] or damage == "symlink":
        return "either"
    if damage == "missing" and (command, artifact) in MAY_BE_MISSING:
        return "either"
    if damage == "other_architecture" and command == "compare":
        return "either"  # a valid file of another run: nothing in the run contradicts it
    return "error"


def _folder_link_case(command: str, folder: str, argv_without_out: bool = False) -> Case:
    """``run/<folder>`` moved to ``elsewhere/<folder>`` and replaced by a link to it."""

    def build(workspace: Path, shared: Shared) -> Invocation:
        run, invocation = _prepare(command, workspace, shared)
        (workspace / "elsewhere").mkdir()
        outside = workspace / "elsewhere" / folder
        if (run / folder).exists():
            shutil.move(run / folder, outside)
        else:
            outside.mkdir()
        (run / folder).symlink_to(outside, target_is_directory=True)
        if argv_without_out:  # the default --out: run/evaluations/<file>
            argv = invocation.argv[: invocation.argv.index("--out")]
            return Invocation(argv, writable=[run / "evaluations"])
        return invocation

    return Case(
        "run_dir", f"{command}:{folder}/:symlink", build, (folder,), expect="either", timeout_s=90
    )


def run_dir_cases() -> list[Case]:
    cases = [
        _artifact_case(command, artifact, damage)
        for command in NEEDED
        for artifact in ARTIFACTS
        for damage in DAMAGE
        if _applies(artifact, damage)
    ]
    cases += [
        _folder_link_case("resume", "checkpoints"),
        _folder_link_case("evaluate", "checkpoints"),
    ]
    cases.append(_folder_link_case("evaluate", "evaluations", argv_without_out=True))
    return cases
