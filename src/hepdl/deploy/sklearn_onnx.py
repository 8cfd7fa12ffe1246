"""The scikit-learn baselines (``model.skops``) as ONNX, through ``skl2onnx``.

The graph takes the raw flat features ``features`` (N, F) float32, as the representation
writes them, casts them to float64 and standardises them with the run's Standardizer
(both as ``hepdl evaluate`` does), then runs the estimator's converted graph in float64
where skl2onnx can convert it so (a tree's thresholds compared in float32 could send a row
near a threshold down another branch), in float32 otherwise (``hepdl.exporter`` says
which). The BDT (HistGradientBoosting), which skl2onnx cannot convert, is built from its
trees by ``hepdl.deploy.hgb_onnx``, with float64 thresholds. Its one output ``output`` is
what ``classical_outputs`` returns: class probabilities (N, K) of a classifier (no
ZipMap), the standardised targets (N, T) of a regressor, float64.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import ExportError

INPUT = "features"


def export_classical(run_dir: Path, *, opset: int, data: str | None) -> tuple[bytes, dict]:
    """(ONNX bytes, ExportResult fields) of the classical run ``run_dir``."""
    import skl2onnx

    from hepdl.data.scaling import Standardizer
    from hepdl.deploy import example_inputs as examples
    from hepdl.deploy.hgb_onnx import hgb_to_onnx, is_hist_gradient_boosting
    from hepdl.deploy.metadata import attach, describe, output_meaning
    from hepdl.deploy.onnx_export import CHECK_JETS, OUTPUT, TRACE_JETS, parity
    from hepdl.train.classical import classical_outputs, load_classical

    config, estimator, prep = load_classical(run_dir)
    rows = (
        examples.file_inputs(config, prep, data, TRACE_JETS)
        if data is not None
        else examples.random_inputs(prep, TRACE_JETS)
    )["features"].astype(np.float32)
    scaler = Standardizer.from_dict(prep.standardizer) if prep.standardizer else None

    def standardised(x: np.ndarray) -> np.ndarray:
        return scaler.transform(x).astype(np.float64) if scaler else x.astype(np.float64)

    if is_hist_gradient_boosting(estimator):  # the bdt: skl2onnx cannot convert it
        graph = hgb_to_onnx(estimator, config.model.name, width=rows.shape[1], opset=opset)
        dtype: Any = np.float64
        exporter = (
            "hepdl.deploy.hgb_onnx (ai.onnx.ml TreeEnsembleRegressor), float64 thresholds, "
            "float32 raw scores, computing in float64"
        )
    else:
        graph, dtype = _convert(estimator, config.model.name, standardised(rows), opset=opset)
        exporter = f"skl2onnx {skl2onnx.__version__}, computing in {np.dtype(dtype).name}"
    _prepend_standardizer(graph, prep.standardizer, width=rows.shape[1], dtype=dtype)
    _single_output(graph, OUTPUT)
    width = classical_outputs(estimator, standardised(rows)).shape[1]
    shapes = [{"name": INPUT, "dtype": "float32", "shape": ["batch", rows.shape[1]]}]
    props = describe(
        config,
        prep,
        opset=opset,
        exporter=exporter,
        inputs=shapes,
        unused=[],
        output=output_meaning(prep, width),
    )
    attach(graph, props)
    blob = graph.SerializeToString()
    checks = [(f"{CHECK_JETS} random rows", examples.random_inputs(prep, CHECK_JETS, seed=1))]
    if data is not None:
        checks.append((f"the first {TRACE_JETS} rows of {data}", {INPUT: rows}))

    def reference(arrays: dict[str, np.ndarray]) -> np.ndarray:
        return classical_outputs(estimator, standardised(arrays[INPUT].astype(np.float32)))

    difference, checked = parity(
        blob, checks, reference, model=config.model.name, opset=opset, benign=[]
    )
    return blob, {
        "opset": opset,
        "exporter": exporter,
        "inputs": shapes,
        "unused_inputs": [],
        "max_difference": difference,
        "checked": checked,
    }


def _convert(estimator: Any, name: str, rows: np.ndarray, *, opset: int) -> tuple[Any, Any]:
    """skl2onnx's graph of ``estimator`` (input ``X``) and the dtype it computes in:
    float64 where skl2onnx converts the estimator so, else float32 (the gradient-boosted
    trees' TreeEnsembleClassifier has no float64 form)."""
    from skl2onnx import to_onnx

    options = {id(estimator): {"zipmap": False}} if hasattr(estimator, "predict_proba") else None
    failure: Exception | None = None
    for dtype in (np.float64, np.float32):
        try:
            graph = to_onnx(
                estimator,
                rows.astype(dtype),
                target_opset={"": opset, "ai.onnx.ml": 3},
                options=options,
            )
            return graph, dtype
        except Exception as err:  # skl2onnx raises several kinds for an estimator it lacks
            failure = failure or err
    kind = f"{type(estimator).__module__}.{type(estimator).__name__}"
    first = _first_line(failure)
    if failure is not None and failure.__cause__ is not None:  # the converter's own error
        first = f"{first[:120]}...: {_first_line(failure.__cause__)}"
    raise ExportError(
        f"model '{name}': estimator {kind} cannot be converted by skl2onnx at opset "
        f"{opset} ({first})"
    )


def _first_line(err: BaseException | None) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:300] if text else type(err).__name__


def _prepend_standardizer(graph: Any, standardizer: dict | None, *, width: int, dtype: Any) -> None:
    """Input ``features`` (N, F) float32 -> Cast to float64 -> (x - mean) / std -> Cast
    to float32 -> the converter's input ``X`` (cast back to float64 for an estimator
    converted in float64). The float32 step is Standardizer.transform's (float32 in,
    float32 out): without it a row whose standardised value lies between its float32
    rounding and a tree's float64 threshold would take the other branch than in
    ``hepdl evaluate`` (a BDT on the training rows, whose bins set the thresholds: up to
    1e-2 in probability)."""
    from onnx import TensorProto, helper, numpy_helper

    converted = graph.graph.input[0].name
    scaled = "hepdl_scaled"
    nodes = [helper.make_node("Cast", [INPUT], ["hepdl_features_f64"], to=TensorProto.DOUBLE)]
    if standardizer is None:
        nodes.append(helper.make_node("Identity", ["hepdl_features_f64"], [scaled]))
    else:
        for key in ("mean", "std"):
            values = np.asarray(standardizer[key], dtype=np.float64)
            graph.graph.initializer.append(numpy_helper.from_array(values, f"hepdl_{key}"))
        nodes.append(
            helper.make_node("Sub", ["hepdl_features_f64", "hepdl_mean"], ["hepdl_centred"])
        )
        nodes.append(helper.make_node("Div", ["hepdl_centred", "hepdl_std"], [scaled]))
    rounded = "hepdl_scaled_f32"  # what Standardizer.transform returns for float32 rows
    nodes.append(helper.make_node("Cast", [scaled], [rounded], to=TensorProto.FLOAT))
    target = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    nodes.append(helper.make_node("Cast", [rounded], [converted], to=target))
    for node in reversed(nodes):
        graph.graph.node.insert(0, node)
    del graph.graph.input[:]
    graph.graph.input.append(
        helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", width])
    )


def _single_output(graph: Any, name: str) -> None:
    """Keep one output, renamed ``name``: a classifier's probabilities (not its labels),
    a regressor's values."""
    from onnx import helper

    outputs = list(graph.graph.output)
    chosen = next((o for o in outputs if o.name == "probabilities"), outputs[-1])
    graph.graph.node.append(helper.make_node("Identity", [chosen.name], [name]))
    info = helper.make_tensor_value_info(name, chosen.type.tensor_type.elem_type, None)
    del graph.graph.output[:]
    graph.graph.output.append(info)
