"""Does a model fit its representation, and do saved weights fit a model?

Both are checked before any work (reading data, training, predicting), and each mismatch
is one error naming both sides (issue 5, "Bad input"):

- a model consumes named arrays (its ``consumes`` and the required arguments of its
  ``forward``); the representation must provide them (``provided_inputs``);
- weights (``model.safetensors`` of a run, a Lightning ``.ckpt``) must have exactly the
  parameter names and shapes of the model they are loaded into.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from hepdl.errors import ConfigError

# The arrays each built-in representation gives (the keys its __call__ returns). The tree
# representation's node arrays reach a model as one input, ``tree`` (models.inputs).
_PROVIDES: dict[str, tuple[str, ...]] = {
    "columns": ("features",),
    "substructure": ("features",),
    "image": ("image",),
    "sequence": ("features", "mask"),
    "point_cloud": ("points", "features", "mask"),
    "graph": ("points", "features", "mask", "neighbours", "edge_mask", "edge_features"),
    "tree": ("tree",),
}
# Parameter names and shapes listed in a weights mismatch, per kind of difference.
_SHOWN = 3
# safetensors metadata key of the registered model name, written by save_trained.
MODEL_KEY = "hepdl_model"


def provided_inputs(representation: str, options: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The array names representation ``representation`` gives with ``options``; None for
    a representation registered outside hepdl that declares no ``provides``."""
    from hepdl.data.representations import REPRESENTATIONS

    declared = getattr(REPRESENTATIONS.factory(representation), "provides", None)
    if declared is not None:
        return tuple(declared)
    names = _PROVIDES.get(representation)
    if names is not None and representation == "point_cloud" and options.get("pairwise"):
        names = (*names, "pairwise")
    return names


def required_inputs(model: str) -> tuple[str, ...]:
    """The inputs model ``model`` cannot run without: the names in its ``consumes`` that
    its ``forward`` requires (ParT's ``pairwise`` has a default: optional)."""
    from hepdl.models import registered_models

    factory = registered_models()[model]
    forward = getattr(factory, "forward", None)
    if forward is None:
        return ()
    parameters = list(inspect.signature(forward).parameters.values())[1:]  # without self
    required = [
        p.name
        for p in parameters
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    consumes = getattr(factory, "consumes", None) or required
    return tuple(name for name in consumes if name in required)


def check_model_fits_representation(model: str, representation: str, options: Mapping) -> None:
    """ConfigError when representation ``representation`` lacks an input model ``model``
    consumes, naming both, what each consumes / provides and the representations that fit."""
    from hepdl.models import registered_models

    required = required_inputs(model)
    provided = provided_inputs(representation, options)
    if provided is None or set(required) <= set(provided):
        return
    fits = [name for name, names in _PROVIDES.items() if set(required) <= set(names)]
    advice = (
        f"choose data.representation.name {' or '.join(fits)}"
        if fits
        else "no built-in representation provides them"
    )
    raise ConfigError(
        f"model '{model}' ({registered_models()[model].__name__}) needs the input(s) "
        f"{', '.join(required)}, but data.representation '{representation}' provides "
        f"{', '.join(provided)}; {advice}"
    )


def registered_name(model: Any) -> str | None:
    """The name ``model``'s class is registered under (None for an unregistered class)."""
    from hepdl.models import registered_models

    return next((n for n, f in registered_models().items() if f is type(model)), None)


def check_weights(
    model: Any,
    state: Mapping[str, torch.Tensor],
    *,
    model_name: str,
    source: str,
    found_name: str | None = None,
) -> None:
    """ConfigError unless ``state`` has exactly ``model``'s parameter names and shapes.

    The message names the model (``model_name``), the architecture the weights come from
    (``found_name``, when the file records it) and the first mismatching parameters.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = sorted(k for k in state if k not in expected)  # files store them sorted
    reshaped = [
        f"{k} {tuple(state[k].shape)} (model: {tuple(expected[k].shape)})"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    parts = [
        f"{label} {_first(names)}"
        for label, names in (
            ("missing parameters", missing),
            ("unexpected parameters", unexpected),
            ("different shapes", reshaped),
        )
        if names
    ]
    if not parts:
        return
    if found_name is None:
        origin = "weights of another architecture (or other sizes)"
    elif found_name == model_name:
        origin = f"weights of model '{found_name}' with other sizes"
    else:
        origin = f"weights of model '{found_name}'"
    raise ConfigError(
        f"{source}: holds {origin}, which do not fit model '{model_name}' "
        f"({type(model).__name__}): {'; '.join(parts)}"
    )


def _first(names: list[str]) -> str:
    more = f" (+{len(names) - _SHOWN} more)" if len(names) > _SHOWN else ""
    return ", ".join(names[:_SHOWN]) + more


def load_weights(model: Any, path: Path, *, model_name: str) -> None:
    """Load ``model.safetensors`` or a Lightning ``.ckpt`` (its ``model.`` entries, no
    pickled code: ``weights_only=True``) into ``model``, after ``check_weights``."""
    path = Path(path)
    if path.suffix == ".ckpt":
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        prefix = "model."
        state = {
            k.removeprefix(prefix): v
            for k, v in checkpoint.get("state_dict", {}).items()
            if k.startswith(prefix)
        }
        found = _run_model_name(path.parent.parent / "config.yaml")
    else:
        from safetensors import safe_open
        from safetensors.torch import load_file

        state = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            found = (handle.metadata() or {}).get(MODEL_KEY)
    check_weights(model, state, model_name=model_name, source=str(path), found_name=found)
    model.load_state_dict(state)


def _run_model_name(config_path: Path) -> str | None:
    """The model name in the config of the run a checkpoint belongs to (checkpoints/ sits
    in the run directory), if there is one."""
    import yaml

    if not config_path.is_file():
        return None
    raw = yaml.safe_load(config_path.read_text()) or {}
    name = (raw.get("model") or {}).get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else None
