"""``task.kind: classify``: the config section of classification, without torch or
Lightning, so that loading a config validates it cheaply (``hepdl.tasks.classify`` holds
the task)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from hepdl.config import DataConfig, EvaluateConfig, TaskSection
from hepdl.errors import ConfigError
from hepdl.tasks._registry import register_section

BASE_NAMES = ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")


def rejection_name(efficiency: float) -> str:
    """``val_rejection_at_eps_s_0.3``: the eps as ``str(float(eps))``, like metrics.json."""
    return f"val_rejection_at_eps_s_{float(efficiency)}"


def logged_names(signal_efficiencies: Sequence[float] | None) -> list[str]:
    """Every metric the task logs per epoch; physics metrics only with efficiencies given."""
    if signal_efficiencies is None:
        return list(BASE_NAMES)
    return [*BASE_NAMES, "val_auc", *(rejection_name(e) for e in signal_efficiencies)]


@register_section("classify")
class ClassifyConfig(TaskSection):
    """``task.kind: classify``: integer labels from ``data.label_column`` (or one file per
    class); ``loss`` picks the output (sigmoid for bce, softmax for cce)."""

    kind: Literal["classify"] = "classify"
    loss: Literal["bce", "cce", "mse"] = "bce"

    def check_head(self, model_options: dict[str, Any], data: DataConfig) -> None:
        n_classes = known_class_count(data)
        if n_classes is not None:
            classification_head(self.loss, model_options, n_classes)

    def epoch_metrics(self, evaluate: EvaluateConfig) -> dict[str, str | None]:
        names = logged_names(evaluate.signal_efficiencies)
        return {name: metric_direction(name) for name in names}

    def default_metric(self) -> str:
        return "auc"


def metric_direction(name: str) -> str | None:
    """A classification metric's direction: "min" for a loss, none for the learning
    rate, "max" for the rest (accuracy, AUC, rejections)."""
    if name == "lr":
        return None
    return "min" if name.endswith("loss") else "max"


def classification_head(loss: str, model_options: Mapping[str, Any], n_classes: int) -> dict:
    """The output options a classifier of ``n_classes`` with ``loss`` needs, {output,
    out_features}: one sigmoid unit for two classes (bce, mse), else one softmax unit per
    class; a ConfigError when ``model_options`` sets them otherwise (5 sigmoid units on
    two classes train to nonsense)."""
    output = model_options.get("output", "softmax" if loss == "cce" else "sigmoid")
    if output == "sigmoid" and n_classes > 2:
        raise ConfigError(
            f"model.output 'sigmoid' separates two classes, but the data has {n_classes}; "
            "use task.loss: cce (softmax output)"
        )
    options: dict[str, Any] = {"output": output}
    options["out_features"] = 1 if output == "sigmoid" else n_classes
    given = model_options.get("out_features")
    if given is not None and given != options["out_features"]:
        raise ConfigError(
            f"model.out_features is {given}, but model.output '{output}' on the data's "
            f"{n_classes} classes needs {options['out_features']}; remove "
            "model.out_features (the task sets it)"
        )
    return options


def known_class_count(data: DataConfig) -> int | None:
    """The number of classes the config itself fixes (data.classes, data.class_files, a
    generated sample's processes), or None when only the data will tell."""
    if data.classes:
        return len(data.classes)
    if data.class_files:
        return len(data.class_files)
    if data.generate is not None:
        from hepdl.errors import HepdlError
        from hepdl.generate.recipes import resolve_sample

        try:
            return len(resolve_sample(data.generate.sample).classes)
        except HepdlError:  # an unknown sample is refused by its own check, with its name
            return None
    return None
