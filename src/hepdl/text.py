"""Wording shared by every error message: the closest valid name to a typo."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, options: Iterable[str], *, cutoff: float = 0.7) -> str | None:
    """The option most similar to ``name`` (difflib), or None when nothing is close."""
    matches = difflib.get_close_matches(name, list(options), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def did_you_mean(name: str, options: Iterable[str], *, cutoff: float = 0.6) -> str:
    """``" (did you mean 'x'?)"`` for the closest option, or an empty string."""
    near = closest(name, options, cutoff=cutoff)
    return f" (did you mean '{near}'?)" if near else ""


# Values quoted in error messages are cut here: a config value can be a YAML alias bomb
# whose full repr is gigabytes, or a 10 MB string.
REPR_LIMIT = 200


def short_repr(value: object, limit: int = REPR_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters with ``"... (N characters)"``, N the
    length of the whole repr. Neither the whole repr nor deep recursion is ever built: the
    pieces of lists, tuples and dicts are produced on an explicit stack, and N is counted
    once per shared object, so an aliased structure of 10**9 elements costs microseconds."""
    pieces: list[str] = []
    size = 0
    for piece in _repr_pieces(value):
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            break
    text = "".join(pieces)
    if size <= limit:
        return text
    return f"{text[:limit]}... ({_repr_length(value)} characters)"


_OPEN = {list: "[", tuple: "(", dict: "{"}
_CLOSE = {list: "]", tuple: ")", dict: "}"}


def _container(value: object) -> type | None:
    for kind in (list, tuple, dict):
        if type(value) is kind:
            return kind
    return None


def _repr_pieces(value: object):  # -> Iterator[str]
    """The repr of ``value`` in pieces, depth-first without recursion."""
    stack: list[object] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Literal):
            yield item.text
            continue
        kind = _container(item)
        if kind is None:
            yield _scalar_repr(item)
            continue
        close = ",)" if kind is tuple and len(item) == 1 else _CLOSE[kind]
        parts: list[object] = [_Literal(_OPEN[kind])]
        entries = item.items() if kind is dict else ((None, v) for v in item)
        for i, (key, child) in enumerate(entries):
            if i:
                parts.append(_Literal(", "))
            if kind is dict:
                parts += [key, _Literal(": ")]
            parts.append(child)
        parts.append(_Literal(close))
        stack.extend(reversed(parts))


class _Literal:
    """Text of the repr itself (brackets, separators), not a value to repr."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _repr_length(value: object) -> int:
    """len(repr(value)) for nested lists, tuples and dicts, each shared object counted
    once (memoised by id) and without recursion."""
    lengths: dict[int, int] = {}
    stack: list[tuple[object, bool]] = [(value, False)]
    keep: list[object] = []  # holds the objects whose id is memoised
    while stack:
        item, children_done = stack.pop()
        kind = _container(item)
        if kind is None:
            continue
        if id(item) in lengths:
            continue
        children = list(item.items()) if kind is dict else list(item)
        if not children_done:
            stack.append((item, True))
            for child in children:
                for part in child if kind is dict else (child,):
                    if _container(part) is not None and id(part) not in lengths:
                        stack.append((part, False))
            continue
        total = 2 + 2 * max(len(children) - 1, 0)  # brackets and ", " separators
        if kind is tuple and len(children) == 1:
            total += 1  # "(x,)"
        for child in children:
            for part in child if kind is dict else (child,):
                total += (
                    lengths[id(part)] if _container(part) is not None else len(_scalar_repr(part))
                )
            if kind is dict:
                total += 2  # ": "
        lengths[id(item)] = total
        keep.append(item)
    return lengths[id(value)] if _container(value) is not None else len(_scalar_repr(value))


def _scalar_repr(value: object) -> str:
    try:
        return repr(value)
    except ValueError:  # an int beyond Python's 4300-digit conversion limit
        bits = value.bit_length() if isinstance(value, int) else "?"
        return f"<{type(value).__name__} of {bits} bits>"
