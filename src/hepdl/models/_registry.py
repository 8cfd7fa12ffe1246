"""The model registry. Model files register themselves when imported here.

Checking a config imports no model module (each imports torch): the names, options,
inputs and string choices come from the generated signature table
(``models/_signature_table.py``, see ``models/_signatures.py``;
``python -m hepdl.models._signatures_build`` regenerates it), a registered factory's own
signature first. ``create_model`` and ``registered_models``
import the real modules; so does a name the table does not know (a model added since the
table was generated), before it is refused as unknown.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from importlib import import_module
from typing import Any

from hepdl.models._signatures import ModelSignature, describe, static_choices, static_signatures
from hepdl.registry import Registry

# Where each string option's choices are defined ("<module>.<constant>"), by bound key;
# the signature table copies them, so that checking a config imports no model module.
CHOICE_SOURCES = {
    "output": "hepdl.models.mlp.OUTPUTS",
    "mlp.activation": "hepdl.models.mlp.ACTIVATIONS",
    "mlp.init": "hepdl.models.mlp.INITIALIZATIONS",
    "lenet.activation": "hepdl.models.cnn.ACTIVATIONS",
    "z_transform": "hepdl.models.deepsets.Z_TRANSFORMS",
}


def _option_bounds() -> dict[str, Any]:
    """Every numeric model option's range, and the string options' choices, by option
    name ("<model>.<option>" for one model's own); a test keeps every int and float
    option of every registered model covered."""
    from pydantic import Field

    from hepdl.limits import MAX_LAYERS, MAX_PARTICLES, MAX_PIXELS, MAX_WIDTH

    width = Field(ge=1, le=MAX_WIDTH, description="hepdl.limits.MAX_WIDTH")
    layers = Field(ge=1, le=MAX_LAYERS, description="hepdl.limits.MAX_LAYERS")
    pixels = Field(ge=1, le=MAX_PIXELS, description="hepdl.limits.MAX_PIXELS")
    probability = Field(ge=0, lt=1)
    widths = (
        "in_features", "out_features", "hidden", "hidden_size", "in_channels", "channels",
        "filters", "widths", "blocks", "phi_sizes", "f_sizes", "embed_dims",
        "pair_embed_dims", "fc_sizes", "edge_convs", "fusion_channels", "pair_input_dim",
        "latent", "critic_hidden",
    )  # fmt: skip
    counts = (
        "num_layers", "num_cls_layers", "num_heads", "blocks_per_stage", "ffn_ratio", "transforms"
    )  # fmt: skip
    sizes = ("image_size", "kernel_size", "kernel_sizes", "pool_sizes", "lrn_size")
    dropouts = ("dropout", "attn_dropout", "activation_dropout", "fc_dropout")
    return {
        **dict.fromkeys(widths, width),
        **dict.fromkeys(counts, layers),
        **dict.fromkeys(sizes, pixels),
        **dict.fromkeys(dropouts, probability),
        "k": Field(ge=1, le=MAX_PARTICLES, description="hepdl.limits.MAX_PARTICLES"),
        "unet.depth": Field(ge=1, le=8, description="hepdl.models.unet.MAX_DEPTH"),
        "unet.width": width,
        "out_channels": width,
        "maxout_pieces": Field(ge=2, le=64),
        # Set by the generative tasks from the data: cells per layer, incident energies (GeV).
        "layer_cells": Field(ge=1, le=MAX_PIXELS, description="hepdl.limits.MAX_PIXELS"),
        "energy_range": Field(gt=0),
        "z_feature": Field(ge=0, le=MAX_WIDTH),
        "init_sigma_w": Field(gt=0),
        "init_sigma_b": Field(ge=0),
        "leaky_relu_slope": Field(ge=0, lt=1),
        "elu_alpha": Field(gt=0),
        **static_choices(),
    }


def _table_signatures() -> dict[str, inspect.Signature]:
    return {name: signature.signature() for name, signature in static_signatures().items()}


MODELS: Registry[Any] = Registry("model", bounds=_option_bounds, signatures=_table_signatures)
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
    "hepdl.models.unet",
    "hepdl.models.calo_gan",
    "hepdl.models.shower_vae",
    "hepdl.models.shower_flow",
)


def _load_all() -> None:
    for module in _MODEL_MODULES:
        import_module(module)


def _known(name: str) -> None:
    """Import every model module when ``name`` is neither registered nor in the table (a
    model newer than the table), so that it is checked against its factory, or refused
    as unknown with every model listed."""
    if name not in MODELS.names():
        _load_all()


def list_models() -> list[str]:
    _load_all()
    return MODELS.names()


def create_model(name: str, **hyperparameters: Any) -> Any:
    """Build a registered model; unknown names and options raise ConfigError."""
    _load_all()
    return MODELS.create(name, **hyperparameters)


def model_options(name: str) -> dict[str, Any]:
    """The options (``inspect.Parameter`` by name) that model ``name`` takes."""
    _known(name)
    return MODELS.options(name)


def model_signature(name: str) -> ModelSignature:
    """What checking a config reads of model ``name`` (options, ``consumes``, the inputs
    its ``forward`` requires), from its factory when registered, else from the table;
    ConfigError for an unknown name."""
    _known(name)
    static = static_signatures().get(name)
    if static is None or name in MODELS.factories():
        return describe(MODELS.factory(name))  # ConfigError for an unknown name
    return static


def check_model_options(
    name: str, options: Any, *, where: str = "model", derived: Any = ()
) -> None:
    """ConfigError for an option model ``name`` does not take, a required one missing or,
    when ``options`` is a mapping, a value of the wrong type or out of range (its
    annotation and the declared bounds, ``MODELS.bound``); ``derived`` options are set by
    hepdl from the data (the input width)."""
    _known(name)
    MODELS.check_options(name, options, where=where, derived=derived)
    if isinstance(options, Mapping):
        MODELS.check_values(name, options, where=where)


def registered_models() -> dict[str, Any]:
    """Every registered model's factory by name (imports every model module)."""
    _load_all()
    return MODELS.factories()
