"""Reading experiment files: YAML that is refused, with one ConfigError, when it is not a
config a person wrote.

- not UTF-8: ``x.yaml: not UTF-8 text (byte 0xff at offset 12)``;
- a key given twice in one mapping (PyYAML keeps the last silently): both lines named;
- nested deeper than ``MAX_DEPTH`` levels (``[[[[...]]]]``; PyYAML's composer recurses
  and would end in RecursionError);
- more than ``MAX_NODES`` values once aliases are expanded (a "billion laughs" of 1 kB
  that expands to 10**9 strings) or ``MAX_NODES`` values in all.

The same bounds apply to a config given as a Python mapping (``check_document``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from hepdl.errors import ConfigError
from hepdl.text import short_repr

# A config is a few levels deep (trainer.early_stopping.monitor is 3; an edge_convs list 4).
MAX_DEPTH = 64
# Values (scalars, lists, mappings) in a config with every alias expanded; the largest
# real configs list a few thousand files.
MAX_NODES = 100_000


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:
        self.mark = mark


class _Duplicate(Exception):
    def __init__(self, key: Any, first: Any, second: Any) -> None:
        self.key, self.first, self.second = key, first, second


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that counts nesting while composing and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # "<<: *base" may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark)
            except TypeError:  # an unhashable key: SafeConstructor refuses it itself
                continue
            if first is not key_node.start_mark:
                raise _Duplicate(key, first, key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


class _Cycle(Exception):
    pass


def _expanded_sizes(root: Node) -> dict[int, int]:
    """Nodes under each node (by id) with every alias expanded: a shared node is counted
    once per use but computed once (depth is bounded by MAX_DEPTH, so recursion is safe);
    _Cycle for a node that contains itself (``&a [*a]``)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in open_nodes:
            raise _Cycle
        open_nodes.add(id(node))
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)
    return sizes


def _largest_key(root: Node, sizes: dict[int, int]) -> str:
    """The key path (``model.hidden``) down to the largest value, through mappings."""
    path: list[str] = []
    node = root
    while isinstance(node, MappingNode) and node.value:
        key, node = max(node.value, key=lambda kv: sizes[id(kv[1])])
        path.append(str(key.value) if isinstance(key, yaml.ScalarNode) else "?")
    return ".".join(path)


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _one_line(err: Exception) -> str:
    """yaml's message (several lines with a context mark) on one line, for `error:`,
    without the `in "<unicode string>",` of a document parsed from text."""
    text = " ".join(str(err).replace('in "<unicode string>", ', "").split())
    return text if len(text) <= 300 else f"{text[:300]}... ({len(text)} characters)"


def load_yaml(text: str, *, source: str) -> Any:
    """The value of one YAML document, or ConfigError naming ``source`` and the line."""
    try:  # the reader refuses control characters (a NUL byte) as it is built
        loader = _StrictLoader(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {_one_line(err)}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        sizes = _expanded_sizes(node)
        if sizes[id(node)] > MAX_NODES:
            where = _largest_key(node, sizes)
            most = f" (most under '{short_repr(where)[1:-1]}')" if where else ""
            raise ConfigError(
                f"{source}: the YAML holds {sizes[id(node)]} values once its aliases (*name) "
                f"are expanded{most}, more than the {MAX_NODES} a config may hold"
            )
        return loader.construct_document(node)
    except _Cycle:
        raise ConfigError(
            f"{source}: an alias (*name) refers to a value that contains it"
        ) from None
    except _TooDeep as err:
        raise ConfigError(
            f"{source}: nested deeper than {MAX_DEPTH} levels at {_where(err.mark)}"
        ) from None
    except _Duplicate as err:
        raise ConfigError(
            f"{source}: duplicate key {short_repr(err.key)} at {_where(err.second)} "
            f"(first given at line {err.first.line + 1})"
        ) from None
    except ConfigError:
        raise
    except yaml.YAMLError as err:
        raise ConfigError(f"{source}: not valid YAML: {_one_line(err)}") from None
    except (ValueError, OverflowError) as err:  # int('1' * 5000), a date like 2024-13-45
        raise ConfigError(f"{source}: not valid YAML: {short_repr(str(err))[1:-1]}") from None
    finally:
        loader.dispose()


def read_yaml_file(path: Path) -> Any:
    """The YAML document in ``path``: UTF-8 text (a BOM is allowed), bounded as above."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start})"
        ) from None
    return load_yaml(text, source=str(path))


def check_document(raw: Any, *, source: str) -> None:
    """ConfigError when ``raw`` (lists, tuples, dicts) nests deeper than MAX_DEPTH, holds
    more than MAX_NODES values counting each shared object per use, or contains itself.
    No recursion: a walk on an explicit stack, each shared object measured once."""
    measured: dict[int, tuple[int, int]] = {}  # id -> (values, levels)
    keep: list[Any] = []  # the objects whose ids are memoised stay alive
    open_ids: set[int] = set()
    stack: list[tuple[Any, bool]] = [(raw, False)]
    while stack:
        item, done = stack.pop()
        if not isinstance(item, list | tuple | dict) or (not done and id(item) in measured):
            continue
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else list(item)
        nested = [c for c in children if isinstance(c, list | tuple | dict)]
        if not done:
            if id(item) in open_ids:
                raise ConfigError(f"{source}: a value contains itself")
            open_ids.add(id(item))
            stack.append((item, True))
            stack.extend((child, False) for child in nested)
            continue
        values = 1 + len(children) - len(nested) + sum(measured[id(c)][0] for c in nested)
        levels = 1 + max((measured[id(c)][1] for c in nested), default=0)
        if levels > MAX_DEPTH:
            raise ConfigError(f"{source}: nested deeper than {MAX_DEPTH} levels")
        if values > MAX_NODES:
            raise ConfigError(
                f"{source}: holds {values} values counting each shared one per use, more "
                f"than the {MAX_NODES} a config may hold"
            )
        open_ids.discard(id(item))
        measured[id(item)] = (values, levels)
        keep.append(item)
