"""What an exported ONNX file says about itself: its ``metadata_props`` (string keys and
values; JSON where a value is structured). Read them with
``onnx.load(path).metadata_props`` or ``onnxruntime.InferenceSession(path)
.get_modelmeta().custom_metadata_map``.

- ``hepdl.version``, ``hepdl.model`` (model.name), ``hepdl.task`` (task.kind),
  ``hepdl.opset`` (the ONNX opset), ``hepdl.exporter`` (which exporter, its version);
- ``hepdl.inputs``: JSON list of {name, dtype, shape}, "batch" / "particles" for the
  dynamic axes; ``hepdl.unused_inputs``: arrays the model is given but does not use (the
  PFN's and ParT's ``points``), which are not inputs of the graph;
- ``hepdl.representation``: the saved representation config (JSON), which builds the
  inputs from a table (``hepdl.data.representation_from_config``);
- ``hepdl.standardizer``: "folded into the graph" with ``hepdl.feature_names``, or "none";
- ``hepdl.output``: what the output holds: class probabilities (``hepdl.class_names``,
  ``hepdl.signal_class``) or regression values;
- ``hepdl.weights_sha256``: the SHA-256 of the run's weights file, which tells the
  export of a run from another (``hepdl.deploy.onnx_file``);
- regressions only, ``hepdl.targets``: JSON {columns, ratio_to, mean, std, loss,
  quantiles}. The graph outputs the *standardised* targets z (N, T x values per target);
  in the targets' units y = (z * std + mean) * table[ratio_to] (without ratio_to, the
  factor is 1): ratio_to is a data column, the denominator the caller must supply.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def describe(
    config: Any,
    prep: Any,
    *,
    opset: int,
    exporter: str,
    inputs: list[dict[str, Any]],
    unused: list[str],
    output: str,
) -> dict[str, str]:
    """The metadata_props of the export of run (``config``, ``prep``)."""
    import hepdl

    props: dict[str, Any] = {
        "hepdl.version": hepdl.__version__,
        "hepdl.model": config.model.name,
        "hepdl.task": config.task.kind,
        "hepdl.opset": str(opset),
        "hepdl.exporter": exporter,
        "hepdl.inputs": inputs,
        "hepdl.unused_inputs": unused,
        "hepdl.representation": prep.representation,
        "hepdl.standardizer": "folded into the graph" if prep.standardizer else "none",
        "hepdl.feature_names": list(prep.feature_names),
        "hepdl.output": output,
    }
    if prep.class_names:
        props["hepdl.class_names"] = list(prep.class_names)
        props["hepdl.signal_class"] = "" if prep.signal_class is None else str(prep.signal_class)
    if prep.targets is not None:
        section = config.task
        props["hepdl.targets"] = {
            **prep.targets,
            "loss": getattr(section, "loss", None),
            "quantiles": getattr(section, "quantiles", None),
            "physical": "(output * std + mean) * table[ratio_to]",
        }
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in props.items()}


def output_meaning(prep: Any, columns: int) -> str:
    """What the graph's output of ``columns`` columns holds, in words, for ``hepdl.output``."""
    if prep.targets is not None:
        return "standardised regression values; see hepdl.targets to un-scale them"
    if columns == 1:
        return "P(signal) (the sigmoid of the logit), signal class hepdl.signal_class"
    return "class probabilities, one column per entry of hepdl.class_names"


def attach(model: Any, props: Mapping[str, str]) -> None:
    """Write ``props`` into an ``onnx.ModelProto``'s metadata_props (replacing keys)."""
    kept = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
