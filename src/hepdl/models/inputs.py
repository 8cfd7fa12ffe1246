"""Which arrays of a representation a model consumes, and how a batch reaches its forward.

A model names its inputs in ``consumes`` (``("features",)`` for the MLP, ``("image",)``
for the CNNs, ``("points", "features", "mask")`` for ParticleNet, ...), the names of the
representation's arrays (DESIGN.md, Interfaces). A batch is a dict of those tensors and is
passed by keyword, so one training loop feeds every architecture.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from hepdl.errors import ConfigError


def model_inputs(model: Any, arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The arrays ``model`` consumes, taken from a representation's output.

    Every argument of the model's ``forward`` that the arrays provide is passed; a required
    one that is missing raises ConfigError; those with a default (ParT's ``pairwise``) are
    passed when present.
    """
    parameters = inspect.signature(model.forward).parameters
    # Every named argument of forward the arrays provide; ``consumes`` names the essential.
    names = [n for n, p in parameters.items() if p.kind is not p.VAR_KEYWORD]
    required = [n for n in names if parameters[n].default is inspect.Parameter.empty]
    missing = [n for n in required if n not in arrays]
    if missing:
        raise ConfigError(
            f"model {type(model).__name__} needs the input(s) {missing}, but the "
            f"representation gives {sorted(arrays)}; choose data.representation.name to match "
            "(image for CNNs, sequence for RNNs, point_cloud for PFN/EFN/ParticleNet/ParT)"
        )
    return {n: arrays[n] for n in names if n in arrays}


def forward(model: Any, inputs: Any) -> Any:
    """``model(**inputs)`` for a dict batch, ``model(inputs)`` for a single tensor."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    return model(inputs)
