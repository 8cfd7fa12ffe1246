"""``task.kind: segment``: the config section of per-pixel segmentation, without torch or
Lightning, so that loading a config validates it cheaply (``hepdl.tasks.segment`` holds
the task)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator

from hepdl.config import DataConfig, EvaluateConfig, TaskSection
from hepdl.errors import ConfigError
from hepdl.tasks._registry import register_section

# The representation array of per-pixel truth (hepdl.data.representations.calo_cells).
TARGET_ARRAY = "pixel_target"
# The energy each pixel's truth is a fraction of, when a representation gives it (PUMML's
# pileup_images: the neutral pT, of which the target is the leading-vertex share); without
# it the pixel's energy is the sum of the image channels (calorimeter layers).
ENERGY_ARRAY = "pixel_energy"

# What the model's head must be: one channel, a sigmoid (every loss below is on
# probabilities or on logits that a sigmoid turns into them).
HEAD = {"out_channels": 1, "output": "sigmoid"}

# Every metric the task logs per epoch, with the direction that is better.
EPOCH_METRICS: dict[str, str | None] = {
    "train_loss": "min",
    "val_loss": "min",
    "lr": None,
    "val_iou": "max",  # signal cells
    "val_iou_pileup": "max",
    "val_energy_iou": "max",  # signal cells, energy-weighted
    "val_pixel_accuracy": "max",
}


@register_section("segment")
class SegmentConfig(TaskSection):
    """``task.kind: segment``: per-pixel targets from the representation's
    ``pixel_target`` (N, 1, H, W), the signal energy fraction of each cell.

    ``target: dominant`` learns whether a cell is dominated by the signal (fraction > 0.5)
    with the binary cross-entropy; ``target: fraction`` regresses the fraction itself,
    ``loss: mse`` on the sigmoid output or ``loss: bce`` with the fraction as a soft
    target. ``energy_weighted``: each pixel's loss weighs its cell energy (per image,
    normalised to the image's energy), so the energetic cells that decide the recovered
    energy count most."""

    kind: Literal["segment"] = "segment"
    target: Literal["dominant", "fraction"] = "dominant"
    loss: Literal["bce", "mse"] = "bce"
    energy_weighted: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> SegmentConfig:
        if self.target == "dominant" and self.loss != "bce":
            raise ValueError(
                f"task.loss '{self.loss}' needs task.target: fraction; a binary target "
                "(dominant) is learned with loss: bce"
            )
        return self

    def check_head(self, model_options: dict[str, Any], data: DataConfig) -> None:
        """The task sets one sigmoid output channel; the representation must give the
        per-pixel truth."""
        for key, value in HEAD.items():
            if key in model_options and model_options[key] != value:
                raise ConfigError(
                    f"model.{key} is {model_options[key]!r}, but task.kind: segment predicts "
                    f"one signal probability per pixel ({key}: {value!r}); remove model.{key} "
                    "(the task sets it)"
                )
        from hepdl.data.representations import provided_arrays

        name, options = data.representation.name, data.representation.options()
        provided = provided_arrays(name, options)
        if provided is not None and TARGET_ARRAY not in provided:
            raise ConfigError(
                f"task.kind: segment needs per-pixel truth '{TARGET_ARRAY}', but "
                f"data.representation '{name}' gives {', '.join(provided)}; use "
                "representation calo_cells with option signal (e.g. signal: [ecal_signal])"
            )

    def epoch_metrics(self, evaluate: EvaluateConfig) -> dict[str, str | None]:
        return dict(EPOCH_METRICS)

    def default_metric(self) -> str:
        return "iou"
