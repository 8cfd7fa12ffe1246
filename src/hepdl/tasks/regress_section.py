"""``task.kind: regress``: the config section of regression, without torch or Lightning,
so that loading a config validates it cheaply (``hepdl.tasks.regress`` holds the task)."""

from __future__ import annotations

from itertools import pairwise
from typing import Literal

from pydantic import Field, model_validator

from hepdl.config import EvaluateConfig, TaskSection
from hepdl.tasks._registry import register_section


@register_section("regress")
class RegressConfig(TaskSection):
    """``task.kind: regress``: the columns ``targets`` (optionally as a ratio to the input
    column ``ratio_to``), learned with ``loss``; ``bins``: bins of the true value in the
    evaluation's response and resolution tables."""

    kind: Literal["regress"] = "regress"
    targets: list[str] = Field(min_length=1)
    ratio_to: str | None = None
    loss: Literal["mse", "mae", "huber", "log_cosh", "quantile", "gaussian_nll"] = "mse"
    huber_delta: float = Field(1.0, gt=0)  # huber: in standardised target units
    quantiles: list[float] | None = None  # quantile: default 0.16, 0.5, 0.84
    standardize_targets: bool = True
    # Bins of the true value for the binned response and resolution: a number of
    # equal-population bins, or the bin edges (e.g. [30, 50, 100, 200, 500, 1000]).
    bins: int | list[float] = 10

    @model_validator(mode="after")
    def _consistent(self) -> RegressConfig:
        if isinstance(self.bins, int) and self.bins < 1:
            raise ValueError(f"task.bins must be >= 1 bins or a list of edges, got {self.bins}")
        if isinstance(self.bins, list) and (
            len(self.bins) < 2 or any(b <= a for a, b in pairwise(self.bins))
        ):
            raise ValueError(f"task.bins: edges must rise strictly, got {self.bins}")
        if len(set(self.targets)) != len(self.targets):
            raise ValueError(f"task.targets lists a column twice: {self.targets}")
        if self.ratio_to is not None and self.ratio_to in self.targets:
            raise ValueError(f"task.ratio_to '{self.ratio_to}' is also a target")
        if self.quantiles is not None and self.loss != "quantile":
            raise ValueError("task.quantiles needs task.loss: quantile")
        if self.loss == "quantile":
            from hepdl.tasks._regression_losses import DEFAULT_QUANTILES  # torch

            q = list(self.quantiles or DEFAULT_QUANTILES)
            if not all(0 < v < 1 for v in q) or any(b <= a for a, b in pairwise(q)):
                raise ValueError(
                    f"task.quantiles must rise strictly inside (0, 1), e.g. [0.16, 0.5, 0.84]; "
                    f"got {q}"
                )
            self.quantiles = q
        return self

    def outputs_per_target(self) -> int:
        if self.loss == "quantile":
            from hepdl.tasks._regression_losses import DEFAULT_QUANTILES  # torch

            return len(self.quantiles or DEFAULT_QUANTILES)
        return 2 if self.loss == "gaussian_nll" else 1

    def metric_suffixes(self) -> list[str]:
        """'' for one target, '_<target>' for each of several."""
        return [""] if len(self.targets) == 1 else [f"_{t}" for t in self.targets]

    def epoch_metrics(self, evaluate: EvaluateConfig) -> dict[str, str | None]:
        metrics: dict[str, str | None] = {"train_loss": "min", "val_loss": "min", "lr": None}
        for suffix in self.metric_suffixes():
            metrics[f"val_rmse{suffix}"] = "min"
            metrics[f"val_resolution{suffix}"] = "min"
            metrics[f"val_response{suffix}"] = None  # best at 1: neither min nor max
        return metrics

    def default_metric(self) -> str:
        return "relative_resolution"
