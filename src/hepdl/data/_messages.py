"""Small helpers that build the wording of hepdl.data error messages.

Every message starts with the file (or other source) it is about, names the column,
and says what was expected, so the message alone tells a physicist what to fix.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hepdl.errors import DataError
from hepdl.text import closest

_PREVIEW_LIMIT = 40


def preview(names: Sequence[str], *, limit: int = _PREVIEW_LIMIT) -> str:
    """``a, b, c`` or, for long lists, the first ``limit`` names and the total count."""
    names = [str(n) for n in names]
    if not names:
        return "(none)"
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... ({len(names)} in all)"


def rows(count: int) -> str:
    """``1 row`` / ``3 rows``."""
    return f"{count} row" if count == 1 else f"{count} rows"


def quoted(names: Iterable[object]) -> str:
    """``'a', 'b'``."""
    return ", ".join(repr(n) if isinstance(n, str) else str(n) for n in names)


def missing_columns_error(
    source: str,
    missing: Sequence[str],
    available: Sequence[str],
    *,
    what: str = "column",
    place: str = "the file",
    hint: str = "",
) -> DataError:
    """DataError naming each missing column, its closest available match, and the choices."""
    parts = []
    for name in missing:
        near = closest(name, available)
        parts.append(f"'{name}'" + (f" (did you mean '{near}'?)" if near else ""))
    plural = what + ("es" if what.endswith(("ch", "s", "x")) else "s")
    noun = what if len(missing) == 1 else plural
    verb = "is" if len(missing) == 1 else "are"
    message = (
        f"{source}: {noun} {', '.join(parts)} {verb} not in {place}; "
        f"available {plural}: {preview(available)}"
    )
    if hint:
        message += f". {hint}"
    return DataError(message)
