"""``task.kind: regress``: the config section of regression, without torch or Lightning,
so that loading a config validates it cheaply (``hepdl.tasks.regress`` holds the task)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from hepdl.config import EvaluateConfig, TaskSection
from hepdl.config_data import Section
from hepdl.tasks._registry import register_section


class ResolutionFitConfig(Section):
    """``task.resolution_fit``: fit the calorimeter resolution formula
    sigma/E = a/sqrt(E) (+) b/E (+) c to the test rows' relative resolution in the bins
    of ``task.bins`` (true energy, GeV), for the network and, with ``task.ratio_to``, the
    baseline. ``target``: the energy target (default: the first of ``task.targets``);
    ``terms``: the free terms, the others fixed to 0 (``[a, c]`` without noise);
    ``method``: the width per bin, ``iqr`` (half the 16-84 % range, Gaussian-equivalent)
    or ``core`` (an iterative Gaussian fit of the core); see
    ``hepdl.metrics.resolution_fit``. Reported in metrics.json and a figure, never used
    to choose a model (the test rows are judged after the model is chosen)."""

    target: str | None = None
    terms: list[Literal["a", "b", "c"]] = Field(default_factory=lambda: ["a", "b", "c"])
    method: Literal["iqr", "core"] = "iqr"


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
    # The resolution fit of an energy target: true (the defaults) or its options.
    resolution_fit: ResolutionFitConfig | None = None

    @field_validator("resolution_fit", mode="before")
    @classmethod
    def _fit_switch(cls, value: Any) -> Any:
        """``true``: the fit with its default options; ``false``: off."""
        if value is True:
            return {}
        return None if value is False else value

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
        self._check_resolution_fit()
        return self

    def _check_resolution_fit(self) -> None:
        """The target must be one of ``targets`` (default: the first), the terms distinct,
        and the bins more than the free terms."""
        if self.resolution_fit is None:
            return
        fit = self.resolution_fit
        if fit.target is None:
            fit.target = self.targets[0]
        if fit.target not in self.targets:
            raise ValueError(
                f"task.resolution_fit.target '{fit.target}' is not one of task.targets "
                f"{self.targets}; name the energy target to fit"
            )
        if not fit.terms or len(set(fit.terms)) != len(fit.terms):
            raise ValueError(
                f"task.resolution_fit.terms must name a, b and/or c once each, got {fit.terms}"
            )
        n_bins = self.bins if isinstance(self.bins, int) else len(self.bins) - 1
        if n_bins <= len(fit.terms):
            raise ValueError(
                f"task.resolution_fit fits {len(fit.terms)} term(s) ({', '.join(fit.terms)}), "
                f"which needs more than {len(fit.terms)} bins of true energy; task.bins gives "
                f"{n_bins}"
            )

    def options(self) -> dict[str, Any]:
        """The task's own keys, without ``resolution_fit``: the evaluation reads it (see
        ``hepdl.tasks._regression_report``), the training does not."""
        return {k: v for k, v in super().options().items() if k != "resolution_fit"}

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
