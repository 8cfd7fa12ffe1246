"""Models: plain ``nn.Module`` factories registered by name.

>>> from hepdl.models import create_model, list_models
>>> net = create_model("mlp", in_features=9, hidden=[64, 64], activation="relu")

Each model declares ``consumes``: the representation arrays it takes as input.
"""

from __future__ import annotations

from hepdl.models._registry import (
    MODELS,
    check_model_options,
    create_model,
    list_models,
    model_options,
    register_model,
    registered_models,
)

__all__ = [
    "MODELS",
    "check_model_options",
    "create_model",
    "list_models",
    "model_options",
    "register_model",
    "registered_models",
]
