"""A small name -> factory registry, shared by models and representations.

Factories take keyword-only options. ``create`` checks the name and every option before
calling the factory, so a typo in a config gives one message with the closest valid name.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from hepdl.errors import ConfigError

T = TypeVar("T")


def closest(word: str, choices: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the nearest choice, or an empty string."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else ""


class Registry(Generic[T]):
    """Factories registered by name; ``kind`` ("model", "representation") goes in messages."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise ValueError(f"{self.kind} '{name}' is registered twice")
            self._factories[name] = factory
            return factory

        return decorator

    def names(self) -> list[str]:
        return sorted(self._factories)

    def factory(self, name: str) -> Callable[..., T]:
        if name not in self._factories:
            raise ConfigError(
                f"unknown {self.kind} '{name}'; known: {', '.join(self.names())}."
                + closest(name, self._factories)
            )
        return self._factories[name]

    def options(self, name: str) -> dict[str, inspect.Parameter]:
        """The keyword options a factory accepts (its ``__init__`` for a class)."""
        signature = inspect.signature(self.factory(name))
        return {
            p.name: p
            for p in signature.parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        }

    def check_options(self, name: str, options: Iterable[str], *, where: str) -> None:
        """Raise ConfigError for an option the factory does not take; ``where`` prefixes keys."""
        valid = self.options(name)
        for key in options:
            if key not in valid:
                raise ConfigError(
                    f"{where}.{key}: {self.kind} '{name}' has no option '{key}'; "
                    f"valid: {', '.join(sorted(valid))}." + closest(key, valid)
                )

    def create(self, name: str, **options: Any) -> T:
        self.check_options(name, options, where=self.kind)
        return self.factory(name)(**options)
