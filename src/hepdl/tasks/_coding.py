"""What a task makes of a table's truth, and what it makes of a model's outputs.

A ``TargetCoding`` is fitted on the training rows (``TaskBase.fit_targets``), saved in the
run's ``preprocessing.json`` and rebuilt from it for an evaluation on other files. It

- turns a sample's truth into the array the loss compares with (``encode``: labels (N,)
  int64 for a classifier, standardised targets (N, T) float32 for a regressor);
- sizes the model's head (``head_options``: output units, output activation);
- gives the task the options it derives from the data (``task_options``);
- turns the model's outputs on the test rows into metrics.json, predictions and figures
  (``write_evaluation``).

The CLI's summary table of a run's metrics is the task class's ``summary``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


class TargetCoding(ABC):
    """The truth of one task kind: fitted on training rows, saved with the model."""

    @abstractmethod
    def encode(self, sample: Any) -> np.ndarray:
        """The loss's targets for every row of ``sample`` (a ``LabeledSample``), (N, ...)."""

    def check_sample(self, sample: Any) -> None:
        """Refuse an evaluation sample whose truth contradicts the trained task."""
        self.encode(sample)

    @abstractmethod
    def head_options(self, model_options: Mapping[str, Any]) -> dict[str, Any]:
        """The model options the task sets (``out_features``, ``output``), given the ones
        the config sets; a config option that contradicts the task raises ConfigError."""

    def task_options(self, evaluate: Any) -> dict[str, Any]:
        """Options of the task's constructor that come from the data, not the config."""
        return {}

    @abstractmethod
    def saved(self) -> dict[str, Any]:
        """The entries of preprocessing.json that rebuild this coding (``from_saved``)."""

    @abstractmethod
    def prediction_columns(
        self, outputs: np.ndarray, columns: Mapping[str, np.ndarray], *, source: str
    ) -> dict[str, np.ndarray]:
        """The model's ``outputs`` (N, K) as named per-row columns for a user's file
        (``hepdl predict``, ``Predictor.predict``), each (N,), in physical units;
        ``columns``: the file's flat columns of ``input_columns()``."""

    def input_columns(self) -> list[str]:
        """Flat columns of the file that ``prediction_columns`` needs (a regression's
        ``ratio_to``): none by default."""
        return []

    @abstractmethod
    def write_evaluation(
        self,
        out_dir: Path,
        *,
        outputs: np.ndarray,
        sample: Any,
        rows: np.ndarray,
        evaluate: Any,
        train: tuple[np.ndarray, Any, np.ndarray] | None = None,
        history: dict[str, list[float]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """metrics.json, predictions.npz and the figures of the model's ``outputs`` (N, K)
        on rows ``rows`` of ``sample``; ``train``: (outputs, sample, rows) of training rows,
        for the overtraining check. Returns the metrics."""
