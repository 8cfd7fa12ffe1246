"""Do saved weights fit a model?

Weights (``model.safetensors`` of a run, a Lightning ``.ckpt``) must have exactly the
parameter names and shapes of the model they are loaded into; checked before any work,
each mismatch is one error naming both sides. (Whether a model fits its representation
is ``hepdl.models.inputs.check_model_fits_representation``.)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from hepdl.errors import ConfigError, DataError

# Parameter names and shapes listed in a weights mismatch, per kind of difference.
_SHOWN = 3
# safetensors metadata key of the registered model name, written by save_trained.
MODEL_KEY = "hepdl_model"


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
    pickled code: ``weights_only=True``) into ``model``, after ``check_weights``; a file
    that cannot be read is one DataError naming it."""
    path = Path(path)
    if path.suffix == ".ckpt":
        from hepdl.train.checkpoints import read_checkpoint

        prefix = "model."
        state = {
            k.removeprefix(prefix): v
            for k, v in read_checkpoint(path)["state_dict"].items()
            if k.startswith(prefix)
        }
        found = _run_model_name(path.parent.parent / "config.yaml")
    else:
        state, found = read_safetensors(path)
    check_weights(model, state, model_name=model_name, source=str(path), found_name=found)
    model.load_state_dict(state)


def check_checkpoint_fits(task: Any, path: Path, *, model_name: str) -> None:
    """ConfigError before a resumed fit when the checkpoint ``path`` holds the weights of
    another architecture (or other sizes) than ``task`` (a LightningModule: its names
    carry the ``model.`` prefix); DataError when it cannot be read."""
    from hepdl.train.checkpoints import read_checkpoint

    state = read_checkpoint(path)["state_dict"]
    found = _run_model_name(Path(path).parent.parent / "config.yaml")
    check_weights(task, state, model_name=model_name, source=str(path), found_name=found)


def read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], str | None]:
    """(tensors, the registered model name recorded in the file or None) of a
    ``.safetensors`` file; DataError naming it when it is truncated or not one."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            found = (handle.metadata() or {}).get(MODEL_KEY)
            state = {key: handle.get_tensor(key) for key in handle.keys()}
    except (SafetensorError, OSError) as err:  # a bad header, a short file, an unreadable one
        raise DataError(
            f"{path}: not a readable safetensors file ({err}); the run's weights are "
            "damaged: copy the run again or retrain it"
        ) from None
    return state, found


def _run_model_name(config_path: Path) -> str | None:
    """The model name in the config of the run a checkpoint belongs to (checkpoints/ sits
    in the run directory), if there is one."""
    import yaml

    if not config_path.is_file():
        return None
    try:
        raw = yaml.safe_load(config_path.read_text()) or {}
    except (OSError, yaml.YAMLError):  # only names the weights' origin in an error message
        return None
    name = (raw.get("model") or {}).get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) else None
