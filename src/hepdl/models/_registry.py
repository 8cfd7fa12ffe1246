"""The model registry. Model files register themselves when imported here."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from hepdl._registry import Registry

MODELS: Registry[Any] = Registry("model")
register_model = MODELS.register

# One architecture family per module; importing a module registers its models.
_MODEL_MODULES = (
    "hepdl.models.mlp",
    "hepdl.models.cnn",
    "hepdl.models.recurrent",
    "hepdl.models.recursive",
    "hepdl.models.deepsets",
    "hepdl.models.particlenet",
    "hepdl.models.particle_transformer",
)


def _load_all() -> None:
    for module in _MODEL_MODULES:
        import_module(module)


def list_models() -> list[str]:
    _load_all()
    return MODELS.names()


def create_model(name: str, **hyperparameters: Any) -> Any:
    """Build a registered model; unknown names and options raise ConfigError."""
    _load_all()
    return MODELS.create(name, **hyperparameters)


def model_options(name: str) -> dict[str, Any]:
    """The options (``inspect.Parameter`` by name) that model ``name`` takes."""
    _load_all()
    return MODELS.options(name)


def check_model_options(
    name: str, options: Any, *, where: str = "model", derived: Any = ()
) -> None:
    """ConfigError for an option model ``name`` does not take or a required one missing;
    ``derived`` options are set by hepdl from the data (the input width)."""
    _load_all()
    MODELS.check_options(name, options, where=where, derived=derived)


def registered_models() -> dict[str, Any]:
    """Every registered model's factory by name."""
    _load_all()
    return {name: MODELS.factory(name) for name in MODELS.names()}
