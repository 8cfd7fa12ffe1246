"""A trained network with what its caller does around it, as one module to export.

``hepdl evaluate`` standardises flat features with the run's Standardizer (in float64,
back to the input's float32), passes the representation's arrays to ``forward`` by name
and applies ``model.probabilities`` (sigmoid or softmax for a classifier, the identity
for a regressor). :class:`DeployedNetwork` does the same on positional arrays, so the
exported graph maps raw representation arrays to what ``predictions.npz`` holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from hepdl.deploy.example_inputs import PARTICLE_AXES
from hepdl.models.inputs import forward, group_tree


class DeployedNetwork(nn.Module):
    """arrays (in the order of ``names``) -> outputs (B, K) after the output activation.

    ``standardizer``: the run's saved ``{"mean": [...], "std": [...]}`` of the flat
    ``features``, or None.
    """

    def __init__(
        self, network: nn.Module, names: Sequence[str], standardizer: Mapping | None
    ) -> None:
        super().__init__()
        self.network = network
        self.names = list(names)
        self.standardize = standardizer is not None
        if standardizer is not None:
            self.register_buffer("mean", torch.tensor(standardizer["mean"], dtype=torch.float64))
            self.register_buffer("std", torch.tensor(standardizer["std"], dtype=torch.float64))

    def forward(self, *arrays: torch.Tensor) -> torch.Tensor:
        inputs = dict(zip(self.names, arrays, strict=True))
        if self.standardize:  # float64 as Standardizer.transform, back to the input's dtype
            raw = inputs["features"]
            inputs["features"] = ((raw.double() - self.mean) / self.std).to(raw.dtype)
        return self.network.probabilities(forward(self.network, group_tree(inputs)))


def input_arrays(model: Any, arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The representation arrays ``model`` consumes, by name (a tree's arrays flat)."""
    from hepdl.models.inputs import model_inputs

    chosen = model_inputs(model, arrays)
    tree = chosen.pop("tree", None)
    return {**chosen, **(dict(tree) if tree is not None else {})}


def dynamic_axes(arrays: Mapping[str, Any], output: str) -> dict[str, dict[int, str]]:
    """Axis 0 of every input is the batch; inputs of a per-particle representation (it
    gives a ``mask`` (N, P)) also have dynamic particle axes (``PARTICLE_AXES``)."""
    per_particle = "mask" in arrays
    axes: dict[str, dict[int, str]] = {}
    for name, values in arrays.items():
        axes[name] = {0: "batch"}
        if per_particle and name in PARTICLE_AXES and values.ndim >= 2:
            axes[name].update(dict.fromkeys(PARTICLE_AXES[name], "particles"))
    axes[output] = {0: "batch"}
    return axes
