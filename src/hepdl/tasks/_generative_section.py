"""What the config sections of the generative kinds (``gan``, ``vae``, ``flow``) share,
without torch: the representation they need, the model options they set from the data,
and the metrics every one of them logs per epoch."""

from __future__ import annotations

from typing import Any

from hepdl.config import DataConfig, EvaluateConfig, TaskSection
from hepdl.errors import ConfigError

# The arrays of representation calo_layers (hepdl.data.representations.calo_layers).
CELLS = "cells"  # (N, D) GeV
ENERGY = "incident_energy"  # (N, 1) GeV
# Model options the task sets from the training rows (cells per layer, the energy range).
DERIVED_OPTIONS = ("layer_cells", "energy_range")

# Logged per epoch by every generative task, with the better direction. The separation
# power is that of the validation showers' total and per-layer energy fractions against
# showers generated at the same incident energies (0: the histograms agree).
EPOCH_METRICS: dict[str, str | None] = {
    "train_loss": "min",
    "val_loss": "min",
    "lr": None,
    "val_separation_power": "min",
}


class GenerativeSection(TaskSection):
    """The checks every generative kind makes of a config; subclasses add their keys."""

    def check_head(self, model_options: dict[str, Any], data: DataConfig) -> None:
        for key in DERIVED_OPTIONS:
            if key in model_options:
                raise ConfigError(
                    f"model.{key} is set by task.kind: {self.kind} from the training showers "
                    f"(cells per layer and the incident-energy range); remove model.{key}"
                )
        from hepdl.data.representations import provided_arrays

        name, options = data.representation.name, data.representation.options()
        provided = provided_arrays(name, options)
        if provided is not None and not {CELLS, ENERGY} <= set(provided):
            raise ConfigError(
                f"task.kind: {self.kind} learns showers '{CELLS}' given '{ENERGY}', but "
                f"data.representation '{name}' gives {', '.join(provided)}; use "
                "representation calo_layers on a shower file (hepdl showers)"
            )

    def epoch_metrics(self, evaluate: EvaluateConfig) -> dict[str, str | None]:
        return {**EPOCH_METRICS, **self.own_epoch_metrics()}

    def own_epoch_metrics(self) -> dict[str, str | None]:
        return {}

    def default_metric(self) -> str:
        return "mean_separation_power"
