"""Which arrays of a representation a model consumes, and how a batch reaches its forward.

A model names its inputs in ``consumes`` (``("features",)`` for the MLP, ``("image",)``
for the CNNs, ``("points", "features", "mask")`` for ParticleNet, ...), the names of the
representation's arrays (docs/architecture.md). A batch is a dict of those tensors and is
passed by keyword, so one training loop feeds every architecture.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from hepdl.errors import ConfigError, DataError

# The ``tree`` representation's node arrays a recursive network needs (``offsets`` to
# select jets); grouped under the one input name ``tree`` by ``group_tree``.
TREE_ARRAYS = ("features", "children", "level", "roots", "offsets")


def group_tree(arrays: Mapping[str, Any]) -> dict[str, Any]:
    """The ``tree`` representation's arrays (T nodes, not one row per jet) as one input
    ``{"tree": {name: array}}``; any other representation's arrays unchanged."""
    if "tree" in arrays or not {"offsets", "roots", "children", "level"} <= set(arrays):
        return dict(arrays)
    return {"tree": {name: arrays[name] for name in TREE_ARRAYS}}


def model_inputs(model: Any, arrays: Mapping[str, Any], *, source: str = "") -> dict[str, Any]:
    """The arrays ``model`` consumes, taken from a representation's output.

    Every argument of the model's ``forward`` that the arrays provide is passed; a required
    one that is missing raises ConfigError; those with a default (ParT's ``pairwise``) are
    passed when present. A width that differs from the one the model was built for
    raises DataError (``source``, e.g. the file, starts its message).
    """
    arrays = group_tree(arrays)
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
    chosen = {n: arrays[n] for n in names if n in arrays}
    check_input_width(model, chosen, source=source)
    return chosen


def check_input_width(model: Any, inputs: Mapping[str, Any], *, source: str = "") -> None:
    """DataError unless the last axis of ``features`` (or the tree's node features) is the
    model's ``in_features``, and the channel axis of ``image`` its ``in_channels``."""
    tree = inputs.get("tree")
    candidates = [
        ("features", inputs.get("features"), "in_features", -1),
        ("tree.features", tree.get("features") if tree else None, "in_features", -1),
        ("image", inputs.get("image"), "in_channels", 1),
    ]
    for name, values, option, axis in candidates:
        expected = getattr(model, option, None)
        shape = tuple(getattr(values, "shape", ()))
        if not isinstance(expected, int) or len(shape) < 2 or shape[axis] == expected:
            continue
        where = f"{source}: " if source else ""
        raise DataError(
            f"{where}input '{name}' has width {shape[axis]} (shape {shape}), but model "
            f"{type(model).__name__} was built for width {expected} ({option}={expected}); "
            "the data must be prepared as at training (same representation and features)"
        )


def forward(model: Any, inputs: Any) -> Any:
    """``model(**inputs)`` for a dict batch, ``model(inputs)`` for a single tensor."""
    if isinstance(inputs, Mapping):
        return model(**inputs)
    return model(inputs)


def required_inputs(model: str) -> tuple[str, ...]:
    """The inputs model ``model`` cannot run without: the names in its ``consumes`` that
    its ``forward`` requires (ParT's ``pairwise`` has a default: optional). Read from the
    models' signature table: no model module (no torch) is imported."""
    from hepdl.models._registry import model_signature

    return model_signature(model).required_inputs


def check_model_fits_representation(model: str, representation: str, options: Mapping) -> None:
    """ConfigError when representation ``representation`` lacks an input model ``model``
    consumes, naming both, what each consumes / provides and the representations that fit."""
    from hepdl.data.representations import list_representations, provided_arrays
    from hepdl.models._registry import model_signature

    required = required_inputs(model)
    provided = provided_arrays(representation, options)
    if provided is None or set(required) <= set(provided):
        return
    fits = [
        name
        for name in list_representations()
        if set(required) <= set(provided_arrays(name, {}) or ())
    ]
    advice = (
        f"choose data.representation.name {' or '.join(fits)}"
        if fits
        else "no built-in representation provides them"
    )
    raise ConfigError(
        f"model '{model}' ({model_signature(model).class_name}) needs the input(s) "
        f"{', '.join(required)}, but data.representation '{representation}' provides "
        f"{', '.join(provided)}; {advice}"
    )
