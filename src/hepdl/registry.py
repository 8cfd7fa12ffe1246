"""A small name -> factory registry, shared by models and representations.

Factories take keyword-only options. ``create`` checks the name and every option before
calling the factory, so a typo in a config gives one message with the closest valid name.

Option values are checked against the factory's annotations (``hidden: Sequence[int]``)
in pydantic's strict mode (no ``"64"`` for 64, no ``1`` for true) with the bounds the
registry declares per option name (``bounds``: ``{"hidden": Field(ge=1, le=MAX_WIDTH)}``,
applied to every number inside the option; a string tuple lists a string option's
choices; ``"<factory>.<option>"`` declares one factory's own). So ``hidden: abc`` or
``dropout: -0.1`` is a ConfigError when the config loads, before any data is read.

A registry may also hold ``signatures``: the options of factories whose modules are not
imported yet (hepdl.models keeps a table of them, so that checking a config imports no
torch). A registered factory's own signature always comes first; a name only the table
lists is known, checked and listed, and built once its module registers it.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Generic, Literal, TypeVar, Union

from hepdl.errors import ConfigError
from hepdl.text import did_you_mean, short_repr

T = TypeVar("T")


class Registry(Generic[T]):
    """Factories registered by name; ``kind`` ("model", "representation") goes in messages."""

    def __init__(
        self,
        kind: str,
        bounds: Callable[[], Mapping[str, Any]] | None = None,
        signatures: Callable[[], Mapping[str, inspect.Signature]] | None = None,
    ) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}
        # called once, when a value is first checked (the bounds may name constants of
        # modules that register factories, imported after this registry exists)
        self._bounds_source = bounds
        self._bounds: Mapping[str, Any] | None = None
        # called once, when a name is first looked up: keyword-only signatures with
        # evaluated annotations, for factories not imported yet
        self._signatures_source = signatures
        self._signatures: Mapping[str, inspect.Signature] | None = None

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
        """Every known name: the registered factories' and the static signatures'."""
        return sorted({*self._factories, *self._static()})

    def factories(self) -> dict[str, Callable[..., T]]:
        """The registered factories by name (those whose module has been imported)."""
        return dict(sorted(self._factories.items()))

    def factory(self, name: str) -> Callable[..., T]:
        if name not in self._factories:
            raise self._unknown(name)
        return self._factories[name]

    def _unknown(self, name: str) -> ConfigError:
        return ConfigError(
            f"unknown {self.kind} '{name}'{did_you_mean(name, self.names())}; "
            f"valid {self.kind}s: {', '.join(self.names())}"
        )

    def _static(self) -> Mapping[str, inspect.Signature]:
        if self._signatures is None:
            source = self._signatures_source
            self._signatures = dict(source()) if source else {}
        return self._signatures

    def _static_signature(self, name: str) -> inspect.Signature | None:
        """The static signature of ``name`` when its factory is not registered, else None;
        ConfigError for a name neither registered nor static."""
        if name in self._factories:
            return None
        static = self._static().get(name)
        if static is None:
            raise self._unknown(name)
        return static

    def options(self, name: str) -> dict[str, inspect.Parameter]:
        """The keyword options a factory accepts (its ``__init__`` for a class)."""
        static = self._static_signature(name)
        return keyword_options(inspect.signature(self.factory(name)) if static is None else static)

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

    def bound(self, name: str, option: str) -> Any:
        """The declared bound of ``option`` of factory ``name`` (a pydantic FieldInfo for
        numbers, a tuple of choices for strings), or None."""
        if self._bounds is None:
            self._bounds = dict(self._bounds_source()) if self._bounds_source else {}
        return self._bounds.get(f"{name}.{option}", self._bounds.get(option))

    def option_types(self, name: str) -> dict[str, Any]:
        """Each option's annotation with its declared bound applied to the numbers (or
        choices to the strings) inside it; options without an annotation are left out."""
        static = self._static_signature(name)
        if static is None:
            hints = type_hints(self.factory(name))
        else:
            parameters = static.parameters.values()
            hints = {p.name: p.annotation for p in parameters if p.annotation is not p.empty}
        return {
            key: _bounded(hints[key], self.bound(name, key))
            for key in self.options(name)
            if key in hints
        }

    def check_values(self, name: str, options: Mapping[str, Any], *, where: str) -> None:
        """ConfigError naming ``where.<option>``, the expected type and range and the value
        (cut to 200 characters) for the first option whose value does not fit."""
        from pydantic import ConfigDict, TypeAdapter, ValidationError

        types_ = self.option_types(name)
        for key, value in options.items():
            if key not in types_:
                continue
            try:
                TypeAdapter(types_[key], config=ConfigDict(strict=True)).validate_python(value)
            except ValidationError:
                raise ConfigError(
                    f"{where}.{key}: {self.kind} '{name}' takes {describe_type(types_[key])}, "
                    f"got {short_repr(value)}"
                ) from None

    def create(self, name: str, **options: Any) -> T:
        self.check_options(name, options, where=self.kind)
        return self.factory(name)(**options)


def keyword_options(signature: inspect.Signature) -> dict[str, inspect.Parameter]:
    """The parameters of ``signature`` a config can set (by keyword), by name."""
    return {
        p.name: p
        for p in signature.parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def type_hints(factory: Callable[..., Any]) -> dict[str, Any]:
    """The evaluated annotations of ``factory`` (its ``__init__``'s for a class)."""
    return typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)


def _qualified(obj: Any) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _bounded(annotation: Any, bound: Any) -> Any:
    """``annotation`` with ``bound`` on each int/float inside it (a FieldInfo), or each str
    replaced by ``Literal[choices]`` (a tuple); floats are finite, and a list of numbers
    holds at most ``MAX_LAYERS`` of them."""
    from pydantic import Field

    from hepdl.limits import MAX_LAYERS

    if annotation in (int, float):
        constraints = [bound] if bound is not None and not isinstance(bound, tuple) else []
        if annotation is float:
            constraints.append(Field(allow_inf_nan=False))
        return Annotated[(annotation, *constraints)] if constraints else annotation
    if annotation is str and isinstance(bound, tuple):
        return Literal[bound]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return Union[tuple(_bounded(a, bound) for a in args)]  # noqa: UP007
    if origin in (Sequence, list, tuple) and len(args) == 1:
        inner = _bounded(args[0], bound)
        numeric = _leaves(args[0]) <= {int, float}
        outer = Sequence[inner]  # type: ignore[valid-type]
        return Annotated[outer, Field(max_length=MAX_LAYERS)] if numeric else outer
    return annotation


def _leaves(annotation: Any) -> set[Any]:
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    return set().union(*(_leaves(a) for a in args if a is not type(None)))


def describe_type(annotation: Any) -> str:
    """Words for an annotation built by ``_bounded``: ``a list of integers in [1, 65536]``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        base, *metadata = args
        limits = [m for info in metadata for m in [info, *getattr(info, "metadata", [])]]
        length = [m.max_length for m in limits if getattr(m, "max_length", None) is not None]
        if length:  # a list: "a list of at most 1024 entries, each ..."
            return describe_type(base).replace(
                "a list", f"a list of at most {length[0]} entries", 1
            )
        interval = _interval(limits)
        names = [m.description for m in limits if getattr(m, "description", None)]
        text = f"{describe_type(base)} {interval}" if interval else describe_type(base)
        return f"{text} ({names[0]})" if names else text
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(describe_type(a) for a in args)
    if origin in (Sequence, list, tuple):
        return f"a list, each {describe_type(args[0])}" if args else "a list"
    words = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}
    return words.get(annotation, "null" if annotation is type(None) else str(annotation))


def _interval(limits: list[Any]) -> str:
    def first(name: str) -> Any:
        return next((getattr(m, name) for m in limits if getattr(m, name, None) is not None), None)

    ge, gt, le, lt = first("ge"), first("gt"), first("le"), first("lt")
    low, high = (ge if ge is not None else gt), (le if le is not None else lt)
    if low is None and high is None:
        return ""
    if high is None:
        return f">= {low}" if ge is not None else f"> {low}"
    if low is None:
        return f"<= {high}" if le is not None else f"< {high}"
    return f"in {'[' if ge is not None else '('}{low}, {high}{']' if le is not None else ')'}"
