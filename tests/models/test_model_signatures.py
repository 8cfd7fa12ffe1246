"""The signature table (models/_signature_table.py) that config checking reads instead of
importing the model modules: it must match every registered factory, and a registry that
reads only the table must check options exactly as one holding the real factories.

After changing a model: ``python -m hepdl.models._signatures_build``."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import typing
from importlib import import_module
from pathlib import Path

import pytest

from hepdl.errors import ConfigError
from hepdl.models import MODELS, registered_models
from hepdl.models._registry import (
    CHOICE_SOURCES,
    _option_bounds,
    _table_signatures,
    model_signature,
)
from hepdl.models._signature_table import CHOICES, MODEL_SIGNATURES
from hepdl.models._signatures import EMPTY, ModelSignature, Option
from hepdl.models._signatures_build import TABLE, _formatted, build, render
from hepdl.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "stale signature table: run python -m hepdl.models._signatures_build"


def _real(factory) -> tuple:
    """(options as (name, annotation, repr(default)), consumes, forward's required
    arguments) straight from inspect.signature of the real factory."""
    hints = typing.get_type_hints(factory.__init__)
    options = [
        (p.name, hints.get(p.name, EMPTY), repr(p.default))
        for p in inspect.signature(factory).parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    forward = list(inspect.signature(factory.forward).parameters.values())[1:]
    required = [p.name for p in forward if p.default is p.empty]
    consumes = getattr(factory, "consumes", None)
    return options, None if consumes is None else tuple(consumes), tuple(required)


def _table(signature: ModelSignature) -> tuple:
    options = [(o.name, o.annotation, repr(o.default)) for o in signature.options]
    return options, signature.consumes, signature.forward_inputs


def test_the_table_lists_every_registered_model_and_no_other() -> None:
    assert sorted(MODEL_SIGNATURES) == sorted(registered_models()), REGENERATE


@pytest.mark.parametrize("name", sorted(registered_models()))
def test_the_table_matches_the_real_factory(name: str) -> None:
    factory = registered_models()[name]
    signature = MODEL_SIGNATURES[name]
    assert signature.factory == f"{factory.__module__}.{factory.__qualname__}", REGENERATE
    assert signature.class_name == factory.__name__
    assert _table(signature) == _real(factory), REGENERATE


def test_required_inputs_as_the_models_forward_and_consumes_say() -> None:
    required = {name: s.required_inputs for name, s in MODEL_SIGNATURES.items()}
    assert required["mlp"] == ("features",)
    assert required["part"] == ("features", "mask")  # pairwise has a default: optional
    assert required["efn"] == ("points", "features", "mask")
    assert required["lstm"] == ("features",)  # mask has a default
    assert required["recursive"] == ("tree",)
    assert required["lenet"] == ("image",)


def test_the_choices_are_the_model_modules_constants() -> None:
    expected = {}
    for key, source in CHOICE_SOURCES.items():
        module, constant = source.rsplit(".", 1)
        expected[key] = getattr(import_module(module), constant)
    assert expected == CHOICES, REGENERATE
    assert CHOICES["output"] == ("sigmoid", "softmax", "linear")


def test_the_file_is_exactly_what_the_build_writes() -> None:
    assert TABLE.read_text() == _formatted(render(*build())), REGENERATE


def _static_registry() -> Registry:
    """A model registry that has no factory, only the table (as when no model module has
    been imported)."""
    return Registry("model", bounds=_option_bounds, signatures=_table_signatures)


def _outcome(registry: Registry, name: str, options: dict) -> str:
    try:
        registry.check_options(name, options, where="model", derived={"in_features"})
        registry.check_values(name, options, where="model")
    except ConfigError as err:
        return str(err)
    return "ok"


# Wrong and right values for every option: a string, a huge and a zero number, a list,
# a bool, null, a float.
VALUES = ("abc", 10**12, 0, [3, 4], True, None, 0.5, "relu", "sigmoid")


@pytest.mark.parametrize("name", sorted(MODEL_SIGNATURES))
def test_the_table_checks_every_option_as_the_real_factory(name: str) -> None:
    static, outcomes = _static_registry(), []
    assert static.factories() == {}
    registered_models()  # MODELS now holds every real factory
    for option in MODELS.options(name):
        for value in VALUES:
            options = {option: value}
            outcome = _outcome(static, name, options)
            assert outcome == _outcome(MODELS, name, options), (name, option, value)
            outcomes.append(outcome)
    for options in ({"hiden": [4]}, {"in_feature": 3}, {}):  # a typo, nothing set
        assert _outcome(static, name, options) == _outcome(MODELS, name, options)
    assert "ok" in outcomes and len(set(outcomes)) > 2  # some pass, several kinds fail


def test_an_unknown_model_is_named_with_the_closest_from_the_table() -> None:
    message = _outcome(_static_registry(), "mpl", {})
    assert message == _outcome(MODELS, "mpl", {})
    assert message.startswith(
        "unknown model 'mpl' (did you mean 'mlp'?); valid models: calo_gan, efn, "
    )
    with pytest.raises(ConfigError) as err:
        model_signature("mpl")
    assert str(err.value) == message


def test_model_signature_of_a_registered_model_is_its_table_entry() -> None:
    registered_models()
    assert model_signature("part") == MODEL_SIGNATURES["part"]
    assert model_signature("part").required_inputs == ("features", "mask")


def test_render_writes_plain_python_and_refuses_the_rest() -> None:
    def one(option: Option) -> dict:
        return {"toy": ModelSignature("a.Toy", (option,), None, ())}

    with pytest.raises(ValueError, match=r"^model option toy.a: annotation <class 'pathlib"):
        render(one(Option("a", Path)), {})
    with pytest.raises(ValueError, match=r"^model option toy.b: default inf is not a plain"):
        render(one(Option("b", float, float("inf"))), {})
    written = (
        Option("c", typing.Literal["x", "y"] | None, "x"),
        Option("d", default=3),
        Option("e"),
    )
    namespace: dict = {}
    source = render({"toy": ModelSignature("a.Toy", written, ("f",), ("f",))}, {"toy.c": ("x",)})
    exec(compile(source, "table", "exec"), namespace)
    assert namespace["MODEL_SIGNATURES"] == {
        "toy": ModelSignature("a.Toy", written, ("f",), ("f",))
    }
    assert namespace["CHOICES"] == {"toy.c": ("x",)}


def _run(code: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", f"import json, sys\n{code}"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.splitlines()[-1])


def test_checking_options_imports_no_model_module() -> None:
    result = _run(
        "from hepdl.errors import ConfigError\n"
        "from hepdl.models import check_model_options, model_options\n"
        "errors = []\n"
        "for options in ({'hidden': 'abc'}, {'hiden': [4]}, {'output': 'sigmod'}):\n"
        "    try:\n"
        "        check_model_options('mlp', options, derived={'in_features'})\n"
        "    except ConfigError as err:\n"
        "        errors.append(str(err))\n"
        "check_model_options('particlenet', {'k': 8}, derived={'in_features'})\n"
        "print(json.dumps({'errors': errors, 'options': list(model_options('pfn')),\n"
        "    'loaded': sorted(m for m in sys.modules if m.split('.')[0] == 'torch'\n"
        "                     or m.startswith('hepdl.models.'))}))\n"
    )
    assert result["loaded"] == [
        "hepdl.models._registry",
        "hepdl.models._signature_table",
        "hepdl.models._signatures",
    ]
    assert result["options"] == ["in_features", "phi_sizes", "f_sizes", "out_features",
                                 "output", "dropout"]  # fmt: skip
    assert result["errors"][0].startswith("model.hidden: model 'mlp' takes a list of at most")
    assert result["errors"][1].startswith("model.hiden: model 'mlp' has no option 'hiden' (did")
    assert result["errors"][2] == (
        "model.output: model 'mlp' takes one of sigmoid, softmax, linear, got 'sigmod'"
    )


def test_a_model_the_table_lacks_is_checked_against_its_factory() -> None:
    # a model added since the table was generated: its module is imported, then checked
    result = _run(
        "from hepdl.models import _signature_table, check_model_options\n"
        "from hepdl.errors import ConfigError\n"
        "del _signature_table.MODEL_SIGNATURES['mlp']\n"
        "try:\n"
        "    check_model_options('mlp', {'hidden': [0]}, derived={'in_features'})\n"
        "except ConfigError as err:\n"
        "    print(json.dumps([str(err), 'torch' in sys.modules]))\n"
    )
    assert result == [
        "model.hidden: model 'mlp' takes a list of at most 1024 entries, each an integer in "
        "[1, 65536] (hepdl.limits.MAX_WIDTH), got [0]",
        True,
    ]
