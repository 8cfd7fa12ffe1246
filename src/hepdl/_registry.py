"""A small name -> factory registry, shared by models and representations.

Factories take keyword-only options. ``create`` checks the name and every option before
calling the factory, so a typo in a config gives one message with the closest valid name.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from hepdl._text import did_you_mean
from hepdl.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Factories registered by name; ``kind`` ("model", "representation") goes in messages."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorator(factory: Callable[..., T]) -> Callable[..., T]:
            existing = self._factories.get(name)
            if existing is not None and _qualified(existing) != _qualified(factory):
                raise ValueError(
                    f"{self.kind} '{name}' is already registered by {_qualified(existing)}"
                )
            self._factories[name] = factory
            return factory

        return decorator

    def names(self) -> list[str]:
        return sorted(self._factories)

    def factory(self, name: str) -> Callable[..., T]:
        if name not in self._factories:
            raise ConfigError(
                f"unknown {self.kind} '{name}'{did_you_mean(name, self._factories)}; "
                f"valid {self.kind}s: {', '.join(self.names())}"
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

    def check_options(
        self, name: str, options: Iterable[str], *, where: str, derived: Iterable[str] = ()
    ) -> None:
        """ConfigError for an option the factory does not take, or a required one missing.

        ``where`` prefixes key paths in messages; ``derived`` options are filled in by
        hepdl (e.g. a model's input width) and not required from the user.
        """
        valid = self.options(name)
        options = list(options)
        for key in options:
            if key not in valid:
                raise ConfigError(
                    f"{where}.{key}: {self.kind} '{name}' has no option "
                    f"'{key}'{did_you_mean(key, valid)}; valid options: {', '.join(valid)}"
                )
        absent = [
            key
            for key, p in valid.items()
            if p.default is p.empty and key not in options and key not in derived
        ]
        if absent:
            raise ConfigError(
                f"{where}: {self.kind} '{name}' needs option(s) {', '.join(absent)}; "
                f"valid options: {', '.join(valid)}"
            )

    def create(self, name: str, **options: Any) -> T:
        self.check_options(name, options, where=self.kind)
        return self.factory(name)(**options)


def _qualified(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"
