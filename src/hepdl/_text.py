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
