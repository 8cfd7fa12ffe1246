"""Experiment files refused when they are not a config a person wrote (hepdl.config_yaml):
duplicate keys, non-UTF-8 bytes, alias bombs, recursion-deep nesting."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepdl.config import config_from_dict, load_config
from hepdl.config_yaml import MAX_NODES, check_document, load_yaml
from hepdl.errors import ConfigError
from hepdl.text import short_repr

VALID = "data:\n  generate: {sample: top-vs-qcd}\n"


def _alias_bomb(levels: int) -> str:
    """``levels`` nested anchors, each a list of 9 uses of the one inside it: 9**(levels+1)
    strings in a few hundred bytes."""

    def level(i: int) -> str:
        if i == 0:
            return "[" + ", ".join(['"lol"'] * 9) + "]"
        return f"[&a{i - 1} {level(i - 1)}, " + ", ".join([f"*a{i - 1}"] * 8) + "]"

    return level(levels)


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "x.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID + "trainer:\n  max_epochs: 3\n  max_epochs: 5\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (
        str(err.value)
        == f"{path}: duplicate key 'max_epochs' at line 5, column 3 (first given at line 4)"
    )


def test_merge_key_may_be_overridden() -> None:
    text = "base: &b {max_epochs: 3, devices: 1}\ntrainer:\n  <<: *b\n  max_epochs: 5\n"
    assert load_yaml(text, source="x.yaml")["trainer"] == {"max_epochs": 5, "devices": 1}


def test_not_utf8_names_byte_and_offset(tmp_path: Path) -> None:
    path = _write(tmp_path, b"name: caf\xff\n" + VALID.encode())
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: not UTF-8 text (byte 0xff at offset 9)"


def test_alias_bomb_refused_before_expansion(tmp_path: Path) -> None:
    path = _write(tmp_path, f"name: {_alias_bomb(9)}\n{VALID}")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    # 9**10 strings, 10 * 9**9 + ... lists: counted, never built
    assert str(err.value) == (
        f"{path}: the YAML holds 3922632459 values once its aliases (*name) are expanded "
        f"(most under 'name'), more than the {MAX_NODES} a config may hold"
    )


def test_self_referring_alias(tmp_path: Path) -> None:
    path = _write(tmp_path, f"name: &a [*a]\n{VALID}")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: an alias (*name) refers to a value that contains it"


@pytest.mark.parametrize(
    ("text", "column"),
    [("[" * 10_000 + "]" * 10_000, 70), ("{a: " * 10_000 + "1" + "}" * 10_000, 256)],
    ids=["lists", "mappings"],
)
def test_deep_nesting_refused_by_depth(tmp_path: Path, text: str, column: int) -> None:
    path = _write(tmp_path, f"name: {text}\n{VALID}")
    with pytest.raises(ConfigError) as err:
        load_config(path)  # PyYAML's composer recurses: RecursionError without the bound
    assert str(err.value) == f"{path}: nested deeper than 64 levels at line 1, column {column}"


def test_deep_python_mapping_refused() -> None:
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(ConfigError) as err:
        config_from_dict({"name": deep, "data": {"files": ["a.parquet"]}}, source="s")
    assert str(err.value) == "s: nested deeper than 64 levels"
    shared = ["x"] * 1000
    with pytest.raises(ConfigError, match=r"^s: holds 1001001 values counting each shared"):
        check_document({"a": [shared] * 1000}, source="s")


def test_huge_integer_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "seed: 1" + "0" * 5000 + "\n" + VALID)
    with pytest.raises(ConfigError, match=r"not valid YAML: Exceeds the limit \(4300 digits\)"):
        load_config(path)


def test_set_override_uses_the_same_loader(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides=["model.hidden={a: 1, a: 2}"])
    assert (
        str(err.value)
        == "--set 'model.hidden': duplicate key 'a' at line 1, column 8 (first given at line 1)"
    )


def test_short_repr_of_an_aliased_structure() -> None:
    leaves: list = ["lol"] * 9
    length = 2 + 9 * len("'lol'") + 8 * len(", ")  # len(repr(leaves)), by hand
    for _ in range(9):
        leaves = [leaves] * 9
        length = 2 + 9 * length + 8 * len(", ")
    text = short_repr(leaves)  # the whole repr would be 25 GB
    inner = [["lol"] * 9] * 9  # its repr (585 characters) starts the whole one, after 8 "["
    assert text == ("[" * 8 + repr(inner))[:200] + f"... ({length} characters)"
    assert length == 25_279_186_905
    small = {"a": [1, (2,), None], "b": "x"}
    assert short_repr(small) == repr(small)
    assert short_repr("y" * 300) == "'" + "y" * 199 + "... (302 characters)"
    assert short_repr([10**5000]) == "[<int of 16610 bits>]"
