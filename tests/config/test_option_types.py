"""Model and representation options checked against their factories' annotations and the
declared bounds when the config loads (hepdl.registry, models/_registry.py)."""

from __future__ import annotations

import inspect
import typing

import pytest

from hepdl.config import config_from_dict
from hepdl.data.representations import REPRESENTATIONS
from hepdl.errors import ConfigError
from hepdl.models import MODELS, list_models

WIDTHS = "a list of at most 1024 entries, each an integer in [1, 65536] (hepdl.limits.MAX_WIDTH)"


def _load(model: dict | None = None, representation: dict | None = None) -> None:
    data: dict = {"files": ["jets.parquet"]}
    if representation is not None:
        data["representation"] = representation
        data["standardize"] = False
    config_from_dict({"data": data, "model": model or {"name": "mlp"}}, source="x.yaml")


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ({"hidden": "abc"}, f"model.hidden: model 'mlp' takes {WIDTHS}, got 'abc'"),
        ({"hidden": [10**12]}, f"model.hidden: model 'mlp' takes {WIDTHS}, got [1000000000000]"),
        ({"hidden": [64, 32.5]}, f"model.hidden: model 'mlp' takes {WIDTHS}, got [64, 32.5]"),
        (
            {"out_features": 0},
            "model.out_features: model 'mlp' takes an integer in [1, 65536] "
            "(hepdl.limits.MAX_WIDTH), got 0",
        ),
        ({"dropout": -0.1}, "model.dropout: model 'mlp' takes a finite number in [0, 1), got -0.1"),
        (
            {"init_sigma_w": float("inf")},
            "model.init_sigma_w: model 'mlp' takes a finite number > 0, got inf",
        ),
        ({"batch_norm": "maybe"}, "model.batch_norm: model 'mlp' takes true or false, got 'maybe'"),
        ({"batch_norm": 1}, "model.batch_norm: model 'mlp' takes true or false, got 1"),
        (
            {"output": "sigmod"},
            "model.output: model 'mlp' takes one of sigmoid, softmax, linear, got 'sigmod'",
        ),
    ],
)
def test_mlp_option_refused_at_load(model: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load({"name": "mlp", **model})
    assert str(err.value) == f"x.yaml: {message}"


def test_nested_widths_and_list_length() -> None:
    with pytest.raises(ConfigError) as err:
        _load({"name": "particlenet", "edge_convs": [[64], [128, 10**9]]}, {"name": "point_cloud"})
    assert str(err.value) == (
        "x.yaml: model.edge_convs: model 'particlenet' takes a list of at most 1024 entries, "
        "each a list of at most 1024 entries, each an integer in [1, 65536] "
        "(hepdl.limits.MAX_WIDTH), got [[64], [128, 1000000000]]"
    )
    with pytest.raises(ConfigError, match=r"model.hidden: .*\(20000 characters\)$"):
        _load({"name": "mlp", "hidden": [64] * 5000})


def test_representation_max_particles_bounded() -> None:
    with pytest.raises(ConfigError) as err:
        _load({"name": "pfn"}, {"name": "point_cloud", "max_particles": 10**7})
    assert str(err.value) == (
        "x.yaml: data.representation.max_particles: representation 'point_cloud' takes an "
        "integer in [1, 4096] (hepdl.limits.MAX_PARTICLES), got 10000000"
    )


def test_representation_built_at_load_checks_its_choices() -> None:
    with pytest.raises(ConfigError) as err:
        _load({"name": "lenet"}, {"name": "image", "weight": "ptt"})
    assert str(err.value).startswith("x.yaml: representation 'image': option weight='ptt'")


def test_valid_options_load() -> None:
    _load({"name": "mlp", "hidden": [64, 32], "dropout": 0, "activation": ["relu", "tanh"]})
    _load({"name": "lenet", "image_size": [40, 40]}, {"name": "image", "pixels": [40, 40]})


def _numeric(annotation: object) -> bool:
    args = typing.get_args(annotation)
    return annotation in (int, float) or any(_numeric(a) for a in args)


@pytest.mark.parametrize(("registry", "names"), [(MODELS, list_models), (REPRESENTATIONS, None)])
def test_every_numeric_option_has_a_declared_bound(registry, names) -> None:
    """A new model or representation with an int or float option must declare its range
    (a model's `hidden: 10**12` would otherwise allocate terabytes)."""
    unbounded = []
    for name in names() if names else registry.names():
        factory = registry.factory(name)
        hints = typing.get_type_hints(factory.__init__ if inspect.isclass(factory) else factory)
        for option in registry.options(name):
            if _numeric(hints.get(option)) and registry.bound(name, option) is None:
                unbounded.append(f"{name}.{option}")
    assert unbounded == []
