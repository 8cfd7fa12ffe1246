"""What the generative tasks (``gan``, ``vae``, ``flow``) share: the model they need, the
physics monitor of every validation epoch, and how the run's data and results are read.

A batch is ({"incident_energy": (B, 1) GeV}, u (B, D)), u the simulated cells as fractions
of the incident energy (``hepdl.tasks._shower_targets``). Each validation batch also draws
one shower per row at the same energies, and the epoch logs ``val_separation_power``: the
mean separation power (``hepdl.metrics.generative``) of the histograms of the total energy
fraction and of each layer's share of it, generated against simulated. It is what a
physicist looks at first, and unlike an adversarial loss it falls as the generator
improves, so it is the monitor for the best checkpoint and early stopping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from hepdl.errors import ConfigError
from hepdl.tasks._base import TaskBase
from hepdl.tasks._shower_targets import ShowerTargets, fit_shower_targets


class GenerativeTask(TaskBase):
    """A task whose model draws showers (``hepdl.models._shower_space.ShowerGenerator``)."""

    generative: ClassVar[bool] = True  # its runs are sampled from (``hepdl sample``)
    metrics_family = "generative"  # gan, vae and flow runs compare side by side
    # Non-finite drawn samples make the separation power NaN: a diverged generator.
    divergence_watch = ("train_loss", "val_loss", "val_separation_power")

    # What the task calls on its model, and the registered models that have it.
    model_methods: ClassVar[tuple[str, ...]] = ("sample_targets", "summary")
    model_names: ClassVar[str] = ""

    def __init__(self, model: nn.Module, **optimization: Any) -> None:
        missing = [m for m in self.model_methods if not callable(getattr(model, m, None))]
        if missing or not getattr(model, "generative", False):
            raise ConfigError(
                f"task.kind: {self.kind} trains a model with {', '.join(self.model_methods)}, "
                f"which {type(model).__name__} lacks; use model.name: {self.model_names}"
            )
        super().__init__(model, **optimization)

    # ------------------------------------------------------------ the physics monitor
    def condition_input(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The batch's condition, the one input the model's forward takes (the incident
        energy (B, 1) of a shower generator)."""
        return inputs[self.model.consumes[0]]

    def record_validation(
        self, loss: torch.Tensor, targets: torch.Tensor, condition: torch.Tensor, **extra: Any
    ) -> None:
        """Record a validation batch with the model's summaries (``summary``) of its
        simulated targets and of as many drawn for its ``condition``."""
        with torch.no_grad():
            generated = self.model.sample_targets(condition)
        payload = {"real": self.model.summary(targets), "fake": self.model.summary(generated)}
        self.record("val", loss, len(targets), {**payload, **extra})

    def epoch_metrics(self, stage: str, records: Sequence[Any]) -> dict[str, float]:
        if stage != "val":
            return {}
        from hepdl.metrics.generative import separation_power

        real = torch.cat([r["real"] for r in records]).double().cpu().numpy()  # (n, 1 + L)
        fake = torch.cat([r["fake"] for r in records]).double().cpu().numpy()
        if not np.isfinite(fake).all():
            return {"val_separation_power": float("nan")}
        powers = [separation_power(real[:, i], fake[:, i]) for i in range(real.shape[1])]
        return {"val_separation_power": float(np.mean(powers))}

    def logged_metrics(self) -> list[str]:
        return list(self.Config().epoch_metrics(None))

    # ------------------------------------------------------------ the run's data and results
    needs_labels = False  # showers are split at random
    predictions_are = None  # showers, not per-row scores or values

    # The truth of a sample: showers (representation calo_layers: "cells") or jets as
    # particles (representation jet_particles: "particles"), each its own coding.
    @classmethod
    def fit_targets(cls, section: Any, sample: Any, train_rows: np.ndarray, data: Any) -> Any:
        if "particles" in sample.inputs:
            from hepdl.tasks._jet_targets import fit_jet_targets

            return fit_jet_targets(sample, train_rows)
        return fit_shower_targets(sample, train_rows)

    @classmethod
    def targets_from_saved(cls, section: Any, saved: Mapping[str, Any]) -> Any:
        targets = saved.get("targets") or {}
        if isinstance(targets, Mapping) and targets.get("kind") == "jets":
            from hepdl.tasks._jet_targets import JetTargets

            return JetTargets.from_saved(targets)
        return ShowerTargets.from_saved(targets)

    @staticmethod
    def summary(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
        if "w1m" in metrics:  # jets: the JetNet metrics
            from hepdl.tasks._jet_report import jet_summary_rows

            return jet_summary_rows(metrics)
        from hepdl.tasks._shower_report import shower_summary_rows

        return shower_summary_rows(metrics)

    @classmethod
    def comparison_columns(
        cls, metrics: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, str, str, str | None]]:
        """Mean separation power (ranks), the classifier tests, W1 of E_total / E_inc."""
        return [
            ("mean_separation_power", "mean sep. power", "{:.4f}", None),
            ("classifier_low_level.auc", "AUC low-level", "{:.3f}", None),
            ("classifier_high_level.auc", "AUC high-level", "{:.3f}", None),
            ("w1_e_total_over_incident", "W1 Etot/Einc", "{:.4f}", None),
        ]

    @classmethod
    def metric_direction(cls, name: str) -> str | None:
        """Every distance is better small, and so is the classifier test's AUC (0.5: the
        classifier cannot tell generated from simulated; below 0.5 is only noise)."""
        name = name.removeprefix("val_").rsplit(".", 1)[-1]
        if name in ("lr", "critic_loss", "generator_loss"):
            return None
        return "min"
