"""The exceptions hepdl raises for bad input.

Every error names where the problem is (file, column, config key) and what was expected,
so the message alone tells a physicist what to fix.
"""

from __future__ import annotations


class HepdlError(Exception):
    """Base class of every error hepdl raises on purpose."""


class DataError(HepdlError, ValueError):
    """A data file or table is unreadable, incomplete or inconsistent."""


class NonFiniteInputError(DataError):
    """NaN or inf in an input array; ``rows`` (k,) are the table rows that hold them, so a
    caller that keeps one output per row (``hepdl predict``) can set those rows aside."""

    def __init__(self, message: str, *, rows: list[int] | None = None) -> None:
        super().__init__(message)
        self.rows = list(rows or [])


class ConfigError(HepdlError, ValueError):
    """An experiment config has an unknown key, a wrong type or a bad value."""


class GenerationError(HepdlError, RuntimeError):
    """Event generation was asked for something impossible or was rejected by Pythia."""


class ExportError(HepdlError, RuntimeError):
    """A trained model cannot be written in a deployment format (a layer or op it lacks)."""
