"""Checks of representation options, each raising ConfigError naming the option.

Every message starts with ``representation '<name>': option <option>=<value>`` (or
``augmentation '<name>'``, the ``kind``) and says what was expected, so a mistake in an
experiment file points at the key to fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hepdl.errors import ConfigError
from hepdl.text import did_you_mean, short_repr


def _prefix(representation: str, option: str, value: Any, kind: str = "representation") -> str:
    return f"{kind} '{representation}': option {option}={short_repr(value)}"


def positive_int(value: Any, *, option: str, representation: str) -> int:
    """``value`` as an int >= 1."""
    return _integer(value, option=option, representation=representation, expected="")


def optional_positive_int(value: Any, *, option: str, representation: str) -> int | None:
    """``value`` as an int >= 1, or None (no limit)."""
    if value is None:
        return None
    return _integer(
        value, option=option, representation=representation, expected=" or null (no limit)"
    )


def _integer(value: Any, *, option: str, representation: str, expected: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(
            f"{_prefix(representation, option, value)}; expected an integer >= 1{expected}"
        )
    return int(value)


def positive_float(
    value: Any, *, option: str, representation: str, kind: str = "representation"
) -> float:
    """``value`` as a finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        number = np.nan
    else:
        number = float(value)
    if not np.isfinite(number) or number <= 0:
        raise ConfigError(
            f"{_prefix(representation, option, value, kind)}; expected a positive number"
        )
    return number


def boolean(value: Any, *, option: str, representation: str) -> bool:
    """``value`` when it is a bool (no truthiness: ``"no"`` is a mistake, not True)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{_prefix(representation, option, value)}; expected true or false")
    return bool(value)


def choice(value: Any, *, option: str, representation: str, choices: Sequence[str]) -> str:
    """``value`` when it is one of ``choices``; otherwise name the closest one."""
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        raise ConfigError(
            f"{_prefix(representation, option, value)}{hint}; expected one of {', '.join(choices)}"
        )
    return value


def name_list(
    value: Any,
    *,
    option: str,
    representation: str,
    known: Sequence[str],
    kind: str = "representation",
) -> list[str]:
    """A non-empty list of distinct names from ``known``, in the order given."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(
            f"{_prefix(representation, option, value, kind)}; expected a list of names from "
            f"{', '.join(known)}"
        )
    names = [str(v) for v in value]
    if not names:
        raise ConfigError(f"{kind} '{representation}': option {option} is empty")
    for name in names:
        if name not in known:
            raise ConfigError(
                f"{kind} '{representation}': option {option} has unknown name "
                f"{short_repr(name)}{did_you_mean(name, known)}; valid names: {', '.join(known)}"
            )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"{kind} '{representation}': option {option} repeats {', '.join(repeated)}"
        )
    return names
