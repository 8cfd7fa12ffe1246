"""Models: plain ``nn.Module`` factories registered by name.

>>> from hepdl.models import create_model, list_models
>>> net = create_model("mlp", in_features=9, hidden=[64, 64], activation="relu")

Each model declares ``consumes``: the representation arrays it takes as input.
"""

from __future__ import annotations

from hepdl.models._registry import MODELS, create_model, list_models, register_model

__all__ = ["MODELS", "create_model", "list_models", "register_model"]
