"""What checking a config reads of a model, without importing the model's module.

Every model module imports torch and subclasses ``nn.Module`` at import (~280 MB
resident), only for a config check to read the factory's options. A
:class:`ModelSignature` holds what that check reads: the options (name, annotation,
default), the arrays the model ``consumes`` and the arguments its ``forward`` requires.
``models/_signature_table.py`` holds one per registered model, generated from the real
factories by ``python -m hepdl.models._signatures_build``;
tests/models/test_model_signatures.py fails when a factory's signature and the table
differ. This module imports no torch.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hepdl.registry import keyword_options, type_hints

# The default of a required option, and the annotation of an unannotated one.
EMPTY = inspect.Parameter.empty


@dataclass(frozen=True)
class Option:
    """One keyword option of a model's factory: its evaluated annotation (``EMPTY``:
    none) and default (``EMPTY``: required)."""

    name: str
    annotation: Any = EMPTY
    default: Any = EMPTY

    def parameter(self) -> inspect.Parameter:
        return inspect.Parameter(
            self.name, inspect.Parameter.KEYWORD_ONLY, default=self.default,
            annotation=self.annotation,
        )  # fmt: skip


@dataclass(frozen=True)
class ModelSignature:
    """A model factory as a config check sees it. ``factory``: its qualified name
    (``hepdl.models.mlp.MLP``); ``consumes``: the representation arrays it names as its
    inputs (None: not declared); ``forward_inputs``: the arguments its ``forward`` cannot
    run without (``self`` aside)."""

    factory: str
    options: tuple[Option, ...]
    consumes: tuple[str, ...] | None
    forward_inputs: tuple[str, ...]

    @property
    def class_name(self) -> str:
        return self.factory.rsplit(".", 1)[-1]

    @property
    def required_inputs(self) -> tuple[str, ...]:
        """The inputs the model cannot run without: those of ``consumes`` its ``forward``
        requires (ParT's ``pairwise`` has a default: optional), all of them without
        ``consumes``."""
        consumes = self.consumes or self.forward_inputs
        return tuple(name for name in consumes if name in self.forward_inputs)

    def signature(self) -> inspect.Signature:
        """The options as a keyword-only signature, annotations evaluated (what
        ``hepdl.registry.Registry`` reads of a factory)."""
        return inspect.Signature([option.parameter() for option in self.options])


def describe(factory: Callable[..., Any]) -> ModelSignature:
    """The :class:`ModelSignature` of a real factory (imported, so torch is loaded)."""
    hints = type_hints(factory)
    options = tuple(
        Option(name, hints.get(name, EMPTY), parameter.default)
        for name, parameter in keyword_options(inspect.signature(factory)).items()
    )
    forward = getattr(factory, "forward", None)
    required: list[str] = []
    if forward is not None:
        parameters = list(inspect.signature(forward).parameters.values())[1:]  # without self
        required = [
            p.name
            for p in parameters
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
    consumes = getattr(factory, "consumes", None)
    return ModelSignature(
        factory=f"{factory.__module__}.{factory.__qualname__}",
        options=options,
        consumes=None if consumes is None else tuple(consumes),
        forward_inputs=tuple(required),
    )


def static_signatures() -> Mapping[str, ModelSignature]:
    """The generated table: every registered model's signature, by model name."""
    from hepdl.models._signature_table import MODEL_SIGNATURES

    return MODEL_SIGNATURES


def static_choices() -> Mapping[str, tuple[str, ...]]:
    """The generated table's string choices, by bound key (``"mlp.activation"``)."""
    from hepdl.models._signature_table import CHOICES

    return CHOICES
