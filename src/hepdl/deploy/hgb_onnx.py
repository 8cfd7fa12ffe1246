"""scikit-learn's histogram gradient-boosted trees (the ``bdt``) as ONNX, from their trees.

skl2onnx 1.20 cannot convert scikit-learn 1.9's ``HistGradientBoostingClassifier`` /
``Regressor``, so the graph is built here from the fitted estimator's own trees
(``estimator._predictors``: one list per boosting iteration, one tree per class):

    raw_k(x) = baseline_k + sum over iterations m of tree_{m,k}(x)     (the leaf values
    already carry the learning rate), then
    binary:      p = sigmoid(raw), output [1 - p, p]       (``predict_proba``)
    multi-class: softmax over k of raw_k                   (``predict_proba``)
    regressor:   raw (identity link, the squared or absolute error)   (``predict``)

All trees are one ``ai.onnx.ml`` ``TreeEnsembleRegressor`` (opset 3): thresholds, leaf
values and baselines are float64 tensors, so a row is compared with each threshold in
float64 as scikit-learn compares it (the same branch, even next to a threshold), but the
node's output is float32 by the operator's definition: the summed raw score is rounded to
float32 (relative 6e-8) before the float64 sigmoid / softmax. (``ai.onnx.ml`` opset 5's
``TreeEnsemble`` outputs float64 but needs ONNX opset 21.) Input ``X`` (N, F) float64,
output ``probabilities`` (classifier) or ``variable`` (regressor) in float64. A split sends
x[feature] <= num_threshold left (``BRANCH_LEQ``, the true branch) and a missing value
(NaN) to the side ``missing_go_to_left`` says (``nodes_missing_value_tracks_true``), as
scikit-learn predicts. Categorical splits (bitsets) have no ``TreeEnsembleRegressor``
form: they are refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.errors import ExportError

INPUT = "X"
ML_OPSET = 3  # ai.onnx.ml: TreeEnsembleRegressor with float64 tensor attributes


def is_hist_gradient_boosting(estimator: Any) -> bool:
    """Whether ``estimator`` is a fitted HistGradientBoosting model, or one per target."""
    members = getattr(estimator, "estimators_", None)
    if members is not None and not hasattr(estimator, "_predictors"):  # MultiOutputRegressor
        return bool(members) and all(hasattr(m, "_predictors") for m in members)
    return hasattr(estimator, "_predictors")


def hgb_to_onnx(estimator: Any, name: str, *, width: int, opset: int) -> Any:
    """The ONNX ModelProto of fitted ``estimator`` (model ``name``) on ``width`` features:
    input ``X`` (N, width) float64, one float64 output (see the module doc)."""
    from onnx import TensorProto, helper

    members = list(getattr(estimator, "estimators_", [estimator]))
    if hasattr(estimator, "_predictors"):
        members = [estimator]
    nodes: list[Any] = []
    raws = []
    for i, member in enumerate(members):
        _check(member, name)
        raw = f"hepdl_raw_{i}"
        nodes.append(_ensemble(member, f"{raw}_f32"))
        nodes.append(helper.make_node("Cast", [f"{raw}_f32"], [raw], to=TensorProto.DOUBLE))
        raws.append(raw)
    classifier = hasattr(estimator, "predict_proba")
    if classifier:
        output = "probabilities"
        nodes.extend(_probabilities(raws[0], output, classes=len(estimator.classes_)))
    else:
        output = "variable"
        nodes.append(helper.make_node("Concat", raws, [output], axis=1))  # (N, targets)
    graph = helper.make_graph(
        nodes,
        f"hepdl_{name}",
        [helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE, ["batch", width])],
        [helper.make_tensor_value_info(output, TensorProto.DOUBLE, ["batch", None])],
    )
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("ai.onnx.ml", ML_OPSET)],
        producer_name="hepdl.deploy.hgb_onnx",
    )


def _check(estimator: Any, name: str) -> None:
    """ExportError for what the TreeEnsembleRegressor cannot express."""
    kind = type(estimator).__name__
    categorical = getattr(estimator, "is_categorical_", None)
    has_bitsets = any(
        bool(np.any(tree.nodes["is_categorical"]))
        for stage in estimator._predictors
        for tree in stage
    )
    if has_bitsets or (categorical is not None and bool(np.any(categorical))):
        raise ExportError(
            f"model '{name}': {kind} has categorical splits (categorical_features), which "
            "ONNX's TreeEnsembleRegressor cannot express (it compares numbers with "
            "thresholds only); fit the BDT on numeric features to export it"
        )
    link = type(getattr(getattr(estimator, "_loss", None), "link", None)).__name__
    if not hasattr(estimator, "predict_proba") and link != "IdentityLink":
        raise ExportError(
            f"model '{name}': {kind} with loss '{estimator.loss}' predicts through the "
            f"{link}, which this export does not apply; export a squared_error or "
            "absolute_error BDT"
        )


def _ensemble(estimator: Any, output: str) -> Any:
    """One TreeEnsembleRegressor node: ``X`` -> raw scores (N, trees per iteration)."""
    from onnx import helper, numpy_helper

    fields: dict[str, list] = {
        k: []
        for k in (
            "treeids",
            "nodeids",
            "modes",
            "featureids",
            "values",
            "true",
            "false",
            "missing",
            "target_tree",
            "target_node",
            "target_id",
            "weight",
        )
    }
    per_iteration = len(estimator._predictors[0]) if estimator._predictors else 1
    for iteration, stage in enumerate(estimator._predictors):
        for k, tree in enumerate(stage):
            tree_id = iteration * per_iteration + k
            for node_id, node in enumerate(tree.nodes):
                leaf = bool(node["is_leaf"])
                fields["treeids"].append(tree_id)
                fields["nodeids"].append(node_id)
                fields["modes"].append("LEAF" if leaf else "BRANCH_LEQ")
                fields["featureids"].append(0 if leaf else int(node["feature_idx"]))
                fields["values"].append(0.0 if leaf else float(node["num_threshold"]))
                fields["true"].append(0 if leaf else int(node["left"]))
                fields["false"].append(0 if leaf else int(node["right"]))
                fields["missing"].append(0 if leaf else int(bool(node["missing_go_to_left"])))
                if leaf:
                    fields["target_tree"].append(tree_id)
                    fields["target_node"].append(node_id)
                    fields["target_id"].append(k)
                    fields["weight"].append(float(node["value"]))
    baseline = np.asarray(estimator._baseline_prediction, dtype=np.float64).reshape(-1)
    return helper.make_node(
        "TreeEnsembleRegressor",
        [INPUT],
        [output],
        domain="ai.onnx.ml",
        n_targets=per_iteration,
        aggregate_function="SUM",
        post_transform="NONE",
        nodes_treeids=fields["treeids"],
        nodes_nodeids=fields["nodeids"],
        nodes_modes=fields["modes"],
        nodes_featureids=fields["featureids"],
        nodes_values_as_tensor=numpy_helper.from_array(np.asarray(fields["values"], np.float64)),
        nodes_truenodeids=fields["true"],
        nodes_falsenodeids=fields["false"],
        nodes_missing_value_tracks_true=fields["missing"],
        target_treeids=fields["target_tree"],
        target_nodeids=fields["target_node"],
        target_ids=fields["target_id"],
        target_weights_as_tensor=numpy_helper.from_array(np.asarray(fields["weight"], np.float64)),
        base_values_as_tensor=numpy_helper.from_array(baseline),
    )


def _probabilities(raw: str, output: str, *, classes: int) -> list[Any]:
    """raw (N, 1) -> [1 - sigmoid, sigmoid] (binary); raw (N, K) -> softmax (K classes)."""
    from onnx import helper, numpy_helper

    if classes > 2:
        return [helper.make_node("Softmax", [raw], [output], axis=1)]
    one = numpy_helper.from_array(np.ones((1, 1), np.float64), "hepdl_one")
    return [
        helper.make_node("Constant", [], ["hepdl_one"], value=one),
        helper.make_node("Sigmoid", [raw], ["hepdl_p_signal"]),
        helper.make_node("Sub", ["hepdl_one", "hepdl_p_signal"], ["hepdl_p_background"]),
        helper.make_node("Concat", ["hepdl_p_background", "hepdl_p_signal"], [output], axis=1),
    ]
