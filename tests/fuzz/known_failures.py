"""The fuzz cases that fail today, each with the defect it shows.

The tests mark these ``xfail(strict=True)``: when the defect is fixed the case passes,
the strict mark turns that into a failure, and the fix removes the entry here. Measured
with ``python -m tests.fuzz.report --list-failing``; never add a case here to hide a
regression, and never loosen a case's expectation instead.
"""

from __future__ import annotations

# Empty: every case passes (534 cases, 0 tracebacks, 0 silent results, 0 writes outside).
_DEFECTS: dict[str, list[str]] = {}

KNOWN_FAILURES: dict[str, str] = {
    case: defect for defect, cases in _DEFECTS.items() for case in cases
}
