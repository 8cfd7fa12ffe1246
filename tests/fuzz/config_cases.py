"""Mutations of the shipped experiment files (configs/*.yaml), validated without training.

Each case writes one mutated file as ``experiment.yaml`` in its workspace and runs
``hepdl check experiment.yaml``. Three kinds:

- per leaf of every shipped config: a value of the wrong type (``WRONG_TYPE``);
- per applicable key: a value of the right type but out of range or impossible on this
  machine (``OUT_OF_RANGE``), an unknown key in each section;
- whole-file damage on a few configs (``FILE_DAMAGE``): malformed YAML, Python tags,
  duplicate keys, non-UTF-8 bytes, an empty file, a list, aliases (benign), an alias
  bomb (small: 6 levels of 9), deep nesting, a megabyte value.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.fuzz.outcomes import Case, Invocation
from tests.fuzz.runner import CHECK
from tests.fuzz.shared import Shared

FILE = "experiment.yaml"
FILE_DAMAGE_CONFIGS = ("top_tagging_dnn",)  # whole-file damage does not depend on the config
GENERIC_CONFIGS = ("top_tagging_dnn", "jet_energy_dnn")  # a classifier and a regression


def shipped_configs() -> dict[str, dict[str, Any]]:
    """name -> parsed file, from the configs/ folder of the hepdl being tested (so that a
    run against an older tree mutates that tree's own files)."""
    import hepdl

    folder = Path(hepdl.__file__).resolve().parents[2] / "configs"
    return {p.stem: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))}


def _leaves(tree: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, (*path, str(key)))
    else:
        yield path, tree


def _get(tree: dict, path: tuple[str, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _with(raw: dict, path: tuple[str, ...], value: Any) -> dict:
    mutated = copy.deepcopy(raw)
    node = mutated
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return mutated


def _wrong_type(value: Any) -> Any:
    """A value no key of ``value``'s type accepts: text for numbers and lists, a word
    that is not a boolean for booleans, a mapping for text."""
    if isinstance(value, bool):
        return "maybe"
    if isinstance(value, (int, float, list)):
        return "abc"
    if isinstance(value, str):
        return {"fuzz": 1}
    return None


# (key path, bad value, why): applied to every config that has the key's section; keys in
# IF_PRESENT only where the config sets the key (they belong to some models only).
OUT_OF_RANGE: list[tuple[str, Any, str]] = [
    ("seed", -1, "below numpy's range"),
    ("seed", 2**64, "above numpy's range"),
    ("seed", True, "a bool"),
    ("seed", 1.5, "not an int"),
    ("name", "../../escape", "a path, not a name"),
    ("name", "a/b", "a path, not a name"),
    ("data.batch_size", 0, "no rows per batch"),
    ("data.batch_size", -3, "negative"),
    ("data.split.train", 1.5, "a fraction above 1"),
    ("data.split.val", -0.1, "a negative fraction"),
    ("task.lr", -0.001, "negative"),
    ("task.lr", float("nan"), "NaN"),
    ("task.lr", float("inf"), "infinite"),
    ("task.weight_decay", -1.0, "negative"),
    ("task.momentum", -1.0, "negative"),
    ("trainer.max_epochs", -1, "negative"),
    ("trainer.devices", 64, "more devices than this machine has"),
    ("trainer.devices", 0, "no device"),
    ("trainer.accelerator", "tpu9", "no such accelerator"),
    ("trainer.strategy", "nonsense", "no such strategy"),
    ("trainer.precision", "13-mixed", "no such precision"),
    ("trainer.early_stopping.patience", -1, "negative"),
    ("evaluate.signal_efficiencies", [0.0], "an efficiency of 0"),
    ("evaluate.signal_efficiencies", [1.5], "an efficiency above 1"),
    ("data.generate.jets_per_class", -5, "negative"),
    ("data.generate.pt_min", 10_000.0, "above pt_max"),
    ("data.representation.max_particles", 10**7, "a 10**7-particle padding"),
    ("data.representation.max_particles", 0, "no particles"),
    ("data.representation.pixels", 0, "no pixels"),
    ("model.dropout", 1.5, "a probability above 1"),
    ("model.dropout", -0.1, "a negative probability"),
    ("model.hidden", [10**12], "a 10**12-unit layer"),
    ("model.hidden", [0], "an empty layer"),
    ("model.hidden", [-4], "a negative width"),
    ("model.hidden", [2.5], "a fractional width"),
    ("model.hidden_size", 10**12, "a 10**12-unit layer"),
    ("model.out_features", 0, "no outputs"),
    ("model.out_features", 5, "5 outputs for 2 classes"),
    ("model.filters", [10**12], "10**12 filters"),
    ("model.phi_sizes", [10**12], "a 10**12-unit layer"),
    ("model.embed_dims", [10**12], "a 10**12-unit embedding"),
    ("model.k", 0, "no neighbours"),
    ("model.num_heads", 0, "no heads"),
    ("model.max_iter", -1, "negative"),
]
IF_PRESENT = (
    "task.momentum",
    "data.generate.jets_per_class",
    "data.generate.pt_min",
    "data.representation.max_particles",
    "data.representation.pixels",
    "model.dropout",
    "model.hidden",
    "model.hidden_size",
    "model.out_features",
    "model.filters",
    "model.phi_sizes",
    "model.embed_dims",
    "model.k",
    "model.num_heads",
    "model.max_iter",
    "evaluate.signal_efficiencies",
)


def _applies(raw: dict, path: tuple[str, ...], dotted: str) -> bool:
    try:
        parent = _get(raw, path[:-1])
    except (KeyError, TypeError):
        return False
    if not isinstance(parent, dict):
        return False
    if dotted == "model.out_features" and raw.get("task", {}).get("kind") == "regress":
        return False  # a regression's head is sized by its targets
    return path[-1] in parent if dotted in IF_PRESENT else True


def _data_files(raw: Any) -> list[str]:
    """The relative data files a config names: the check refuses a config whose files do
    not exist, so each case gets the tiny feature file under those names."""
    data = raw.get("data") if isinstance(raw, dict) else None
    if not isinstance(data, dict):
        return []
    named = list(data.get("files") or [])
    for key in ("val_files", "test_files"):
        named += list(data.get(key) or [])
    for paths in (data.get("class_files") or {}).values():
        named += list(paths)
    return [p for p in named if isinstance(p, str) and not Path(p).is_absolute()]


def _text_case(
    name: str,
    text: bytes | str,
    names: tuple[str, ...],
    expect="error",
    files: tuple[str, ...] = (),
) -> Case:
    def build(workspace: Path, shared: Shared) -> Invocation:
        data = text.encode() if isinstance(text, str) else text
        (workspace / FILE).write_bytes(data)
        for file in files:
            (workspace / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared.feature_file, workspace / file)
        return Invocation([CHECK, FILE])

    return Case("config", name, build, names, expect=expect, timeout_s=20)


def _dict_case(name: str, raw: Any, names: tuple[str, ...], expect="error") -> Case:
    text = yaml.safe_dump(raw, sort_keys=False)
    return _text_case(name, text, names, expect, files=tuple(_data_files(raw)))


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def _alias_bomb(levels: int) -> str:
    """``levels`` anchors, each a list of 9 aliases of the one before: 9**levels leaves in
    a file of a few hundred bytes."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines)


def _file_damage(stem: str, raw: dict, text: str) -> list[Case]:
    """Whole-file damage of one config (``text`` its safe_dump)."""
    body = text.encode()
    damage: list[tuple[str, bytes | str, tuple[str, ...], str]] = [
        ("malformed_bracket", text + "\nmodel: {hidden: [1, 2\n", (FILE,), "error"),
        (
            "malformed_indent",
            text.replace("data:\n", "data:\n bad: 1\n  worse: 2\n", 1),
            (FILE,),
            "error",
        ),
        ("tab_indent", text.replace("\n  ", "\n\t", 1), (FILE,), "error"),
        (
            "python_object_tag",
            text + "\nfuzz: !!python/object/apply:os.system ['touch PWNED']\n",
            (FILE,),
            "error",
        ),
        ("python_name_tag", f"name: !!python/name:os.system\n{text}", (FILE,), "error"),
        ("unknown_tag", text.replace("name:", "name: !fuzz", 1), (FILE,), "error"),
        ("duplicate_top_key", f"seed: 3\n{text}", ("seed",), "error"),
        (
            "duplicate_section",
            text + "\ntrainer:\n  max_epochs: 3\n",
            ("trainer",),
            "error",
        ),
        ("non_utf8_comment", b"# caf\xe9 \xff\xfe\n" + body, (FILE,), "error"),
        ("non_utf8_value", body.replace(b"name: ", b"name: \xc3\x28", 1), (FILE,), "error"),
        ("utf16_bom", "\ufeff".encode("utf-16-le") + text.encode("utf-16-le"), (FILE,), "error"),
        (
            "nul_bytes",
            body[: len(body) // 2] + b"\x00" * 64 + body[len(body) // 2 :],
            (FILE,),
            "error",
        ),
        ("empty_file", b"", (FILE, "data"), "error"),
        ("only_comment", b"# nothing here\n", (FILE, "data"), "error"),
        ("list_not_mapping", "- data\n- model\n", (FILE,), "error"),
        ("scalar_not_mapping", "42\n", (FILE,), "error"),
        (
            "alias_bomb",
            f"{text}\nfuzz_bomb:\n  " + _alias_bomb(6).replace("\n", "\n  "),
            ("fuzz_bomb",),
            "error",
        ),
        (
            "alias_bomb_in_value",
            _alias_bomb(6) + "\n" + text.replace("name: ", "name: *a6 #", 1),
            ("name", "a0"),
            "error",
        ),
        ("deep_nesting_100", text + f"\nfuzz: {_nested(100)}\n", ("fuzz", FILE), "error"),
        ("deep_nesting_5000", text + f"\nfuzz: {_nested(5000)}\n", ("fuzz", FILE), "error"),
        (
            "deep_mapping_2000",
            text + "\nfuzz: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n",
            ("fuzz", FILE),
            "error",
        ),
        (
            "megabyte_name",
            text.replace("name: ", "name: " + "x" * 1_000_000 + " #", 1),
            ("name",),
            "error",
        ),
        ("megabyte_unknown_key", text + "\n" + "k" * 1_000_000 + ": 1\n", (FILE, "kkkk"), "error"),
    ]
    files = tuple(_data_files(raw))
    cases = [
        _text_case(f"{stem}:{name}", t, names, expect, files) for name, t, names, expect in damage
    ]
    cases.append(_dict_case(f"{stem}:section_is_list", {**raw, "trainer": [1, 2]}, ("trainer",)))
    cases.append(
        _text_case(f"{stem}:benign_alias", _benign_alias(text), ("seed",), "either", files)
    )
    return cases


def _benign_alias(text: str) -> str:
    """The config with data.split.seed an alias of the top-level seed's anchor: valid
    YAML and a valid config, which must not be refused for the alias."""
    lines = text.splitlines()
    top = next(i for i, line in enumerate(lines) if line.startswith("seed:"))
    lines[top] = lines[top].replace("seed:", "seed: &fuzz_seed", 1)
    split = next(i for i, line in enumerate(lines) if line.strip() == "split:")
    inner = next(i for i in range(split + 1, len(lines)) if lines[i].strip().startswith("seed:"))
    indent = lines[inner][: len(lines[inner]) - len(lines[inner].lstrip())]
    lines[inner] = f"{indent}seed: *fuzz_seed"
    return "\n".join(lines) + "\n"


def _owner(raw: dict, path: tuple[str, ...]) -> str:
    """What a key's meaning depends on: the model for model options, the representation
    for its options, the task kind for task options; one case per (owner, key)."""
    if path[0] == "model":
        return f"model={raw['model'].get('name')}"
    if path[:2] == ("data", "representation"):
        return f"representation={raw['data']['representation'].get('name')}"
    if path[0] == "task":
        return f"task={raw['task'].get('kind', 'classify')}"
    return ""


def config_cases() -> list[Case]:
    """Keys whose meaning is the same in every config (seed, trainer, split) are mutated
    in GENERIC_CONFIGS only; model, representation and task keys once per owner."""
    cases: list[Case] = []
    seen: set[tuple[str, str]] = set()

    def once(raw: dict, path: tuple[str, ...], label: str, stem: str) -> bool:
        owner = _owner(raw, path)
        if not owner and stem not in GENERIC_CONFIGS:
            return False
        key = (owner or stem, label)
        if key in seen:
            return False
        seen.add(key)
        return True

    for stem, raw in shipped_configs().items():
        cases.append(_dict_case(f"{stem}:as_shipped", raw, (FILE,), expect="either"))
        for path, value in _leaves(raw):
            bad = _wrong_type(value)
            dotted = ".".join(path)
            if bad is not None and once(raw, path, f"type:{dotted}", stem):
                cases.append(_dict_case(f"{stem}:type:{dotted}", _with(raw, path, bad), path[-1:]))
        for section in ("data", "model", "task", "trainer", "evaluate"):
            path = (section, "fuzz_unknown_key")
            if isinstance(raw.get(section), dict) and once(raw, path, f"unknown:{section}", stem):
                unknown = _with(raw, path, 1)
                cases.append(_dict_case(f"{stem}:unknown:{section}", unknown, path[-1:]))
        if stem in GENERIC_CONFIGS:
            cases.append(_dict_case(f"{stem}:unknown:top", _with(raw, ("epochz",), 5), ("epochz",)))
        for dotted, bad, _why in OUT_OF_RANGE:
            path = tuple(dotted.split("."))
            label = f"range:{dotted}={_short(bad)}"
            if _applies(raw, path, dotted) and once(raw, path, label, stem):
                cases.append(_dict_case(f"{stem}:{label}", _with(raw, path, bad), path[-1:]))
        if stem in FILE_DAMAGE_CONFIGS:
            cases.extend(_file_damage(stem, raw, yaml.safe_dump(raw, sort_keys=False)))
    return cases


def _short(value: Any) -> str:
    return repr(value).replace(" ", "")[:24]
