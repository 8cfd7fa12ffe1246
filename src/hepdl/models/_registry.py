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
