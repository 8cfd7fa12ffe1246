r"""Regression: predict one or more numbers per row (a jet's true pT, the number of pile-up
interactions) from the same inputs a classifier reads.

The targets y (N, T) are columns of the file (``task.targets``), optionally divided by an
input column x (``task.ratio_to``: the network then learns the correction y / x, e.g.
p_T^true / p_T^reco), and standardised on the training rows, z = (y - mu) / sigma. The
model's head has T * P linear outputs, P per target:

    mse          (z_hat - z)^2                                              P = 1
    mae          |z_hat - z|                                                P = 1
    huber        z^2 / 2 inside |z_hat - z| < delta, delta (|.| - delta / 2) outside
    log_cosh     ln cosh(z_hat - z)    (quadratic near 0, linear far away)  P = 1
    quantile     pinball sum_q max(q (z - z_q), (q - 1)(z - z_q)),          P = Q
                 non-crossing: z_q1 = o_1, z_qk = z_q(k-1) + softplus(o_k)
    gaussian_nll (ln s^2 + (z - m)^2 / s^2) / 2, outputs (m, ln s^2)         P = 2

The point prediction is z_hat (mse, mae, huber, log_cosh), the mean m (gaussian_nll) or
the quantile nearest the median (quantile). Per epoch the validation set's response
(median of y_hat / y) and relative resolution (half the 16-84 % range of y_hat / y over
its median) are logged with the RMSE of y; judged per bin of the true value at the end
(``hepdl.metrics.regression``, figures in ``hepdl.plots.regression``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from hepdl.errors import ConfigError, DataError
from hepdl.models.inputs import forward
from hepdl.tasks._base import TaskBase, weighted_mean
from hepdl.tasks._epoch_metrics import gather_rows
from hepdl.tasks._registry import register_task
from hepdl.tasks._regression_losses import (
    DEFAULT_QUANTILES,
    LOSSES,
    decode_outputs,
    median_index,
    per_row_loss,
    structured_outputs,
)
from hepdl.tasks._regression_report import regression_summary_rows, with_resolution_fit
from hepdl.tasks._regression_targets import RegressionTargets, fit_regression_targets
from hepdl.tasks.regress_section import RegressConfig


@register_task("regress")
class RegressionTask(TaskBase):
    """Trains ``model`` (inputs -> (B, T * P)) on standardised targets (B, T)."""

    Config = RegressConfig

    def __init__(
        self,
        model: nn.Module,
        *,
        targets: Sequence[str],
        ratio_to: str | None = None,
        loss: str = "mse",
        huber_delta: float = 1.0,
        quantiles: Sequence[float] | None = None,
        standardize_targets: bool = True,
        bins: int | Sequence[float] = 10,
        target_mean: Sequence[float] | None = None,
        target_std: Sequence[float] | None = None,
        **optimization: Any,
    ) -> None:
        if loss not in LOSSES:
            raise ConfigError(f"task.loss '{loss}' is not one of {', '.join(LOSSES)}")
        super().__init__(model, **optimization)
        self.target_names = list(targets)
        self.loss_name = loss
        self.huber_delta = huber_delta
        self.quantiles = list(quantiles or DEFAULT_QUANTILES)
        n = len(self.target_names)
        # Back to the regressed quantity (y, or y / ratio_to) for the epoch's metrics.
        self.register_buffer("_mean", torch.tensor(target_mean or [0.0] * n).double())
        self.register_buffer("_std", torch.tensor(target_std or [1.0] * n).double())

    def outputs(self, raw: torch.Tensor) -> dict[str, torch.Tensor]:
        return structured_outputs(raw, n_targets=len(self.target_names), loss=self.loss_name)

    def point(self, outputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The point prediction (B, T) in standardised units."""
        if "point" in outputs:
            return outputs["point"]
        return outputs["quantiles"][..., median_index(self.quantiles)]

    def compute_loss(
        self, raw: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The batch loss: the mean over rows, or sum(w_i l_i) / sum(w_i) with ``weights``."""
        per_row = per_row_loss(
            self.outputs(raw),
            target.to(raw.dtype),
            loss=self.loss_name,
            huber_delta=self.huber_delta,
            quantiles=self.quantiles,
        )
        return per_row.mean() if weights is None else weighted_mean(per_row, weights)

    def step_loss(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        inputs, target, *weights = batch  # {name: (B, ...)}, (B, T) [, (B,)]
        raw = forward(self.model, inputs)  # (B, T * P)
        loss = self.compute_loss(raw, target, weights[0] if weights else None)
        if stage == "val":  # the physics metrics need the validation predictions only
            self.record(stage, loss, len(raw), (self.point(self.outputs(raw)).detach(), target))
        else:
            self.record(stage, loss, len(raw))
        return loss

    def epoch_metrics(self, stage: str, records: Sequence[Any]) -> dict[str, float]:
        """Response, relative resolution and RMSE of the regressed quantity on the rows of
        every process, so each rank logs the same values."""
        if stage != "val":
            return {}
        world = self.trainer.world_size
        point = torch.cat([r[0] for r in records]).double()  # (N, T)
        target = torch.cat([r[1] for r in records]).double()
        point = gather_rows(point, all_gather=self.all_gather, world_size=world)
        target = gather_rows(target, all_gather=self.all_gather, world_size=world)
        predicted = (point * self._std + self._mean).cpu().numpy()
        true = (target * self._std + self._mean).cpu().numpy()
        return ratio_metrics(predicted, true, suffixes=self.metric_suffixes())

    def metric_suffixes(self) -> list[str]:
        names = self.target_names
        return [""] if len(names) == 1 else [f"_{t}" for t in names]

    def logged_metrics(self) -> list[str]:
        names = ["train_loss", "val_loss", "lr"]
        for suffix in self.metric_suffixes():
            names += [f"val_rmse{suffix}", f"val_resolution{suffix}", f"val_response{suffix}"]
        return names

    # ------------------------------------------------------------ the run's data and results
    needs_labels = False  # rows are split at random, not per class
    predictions_are = "values"  # see TaskBase.predictions_are

    @classmethod
    def sample_columns(cls, section: RegressConfig) -> dict[str, str]:
        columns = {name: "task.targets" for name in section.targets}
        if section.ratio_to is not None:
            columns[section.ratio_to] = "task.ratio_to"
        return columns

    @classmethod
    def truth_columns(cls, section: RegressConfig) -> set[str]:
        return set(section.targets)

    @classmethod
    def fit_targets(
        cls, section: RegressConfig, sample: Any, train_rows: np.ndarray, data: Any
    ) -> RegressionTargets:
        coding = fit_regression_targets(section, sample, train_rows)
        return with_resolution_fit(coding, section, sample)

    @classmethod
    def targets_from_saved(
        cls, section: RegressConfig, saved: Mapping[str, Any]
    ) -> RegressionTargets:
        coding = RegressionTargets.from_saved(section, saved["targets"])
        return with_resolution_fit(coding, section)

    @staticmethod
    def summary(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
        return regression_summary_rows(metrics)

    # ------------------------------------------------------------ comparing runs
    @classmethod
    def comparison_columns(
        cls, metrics: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, str, str, str | None]]:
        """Of the first target: relative resolution (ranks), response, Gaussian core
        sigma, RMSE; the baseline's relative resolution and an ensemble's member spread
        where a run records them."""
        columns: list[tuple[str, str, str, str | None]] = [
            ("relative_resolution", "rel. resolution", "{:.4f}", None),
            ("response", "response", "{:.4f}", None),
            ("core_sigma", "core sigma", "{:.4f}", None),
            ("rmse", "RMSE", "{:.4g}", None),
        ]
        if any(m.get("baseline") for m in metrics):
            columns.append(
                ("baseline.relative_resolution", "baseline rel. resolution", "{:.4f}", None)
            )
        if any("member_spread" in m for m in metrics):
            columns.append(("member_spread", "member spread", "{:.4f}", None))
        return columns

    @classmethod
    def metric_direction(cls, name: str) -> str | None:
        """Resolutions, widths and errors are better low; a response (or a core mean, a
        pull width) nearest 1; a bias (a pull mean) nearest 0. A ``val_`` prefix or a
        ``baseline.`` path reads as the metric itself."""
        name = name.removeprefix("val_").rsplit(".", 1)[-1]
        if name in ("response", "core_mean", "pull_width", "pull_width_iqr"):
            return "one"
        if name in ("bias", "pull_mean"):
            return "zero"
        if name.endswith(("resolution", "sigma", "rmse", "mae", "loss", "_error", "spread")):
            return "min"
        return None


def ratio_metrics(
    predicted: np.ndarray, true: np.ndarray, *, suffixes: Sequence[str]
) -> dict[str, float]:
    """Per target (column of (N, T)): ``val_response`` (median of predicted / true),
    ``val_resolution`` (half the 16-84 % range of the ratio over its median) and
    ``val_rmse``; rows with true = 0 have no ratio and are left out of the first two."""
    from hepdl.metrics.regression import relative_resolution, response, rmse

    metrics: dict[str, float] = {}
    for t, suffix in enumerate(suffixes):
        y_hat, y = predicted[:, t], true[:, t]
        metrics[f"val_rmse{suffix}"] = float(rmse(y_hat, y))
        defined = y != 0
        if not defined.any():
            raise DataError(
                "validation set: every true value is 0, so predicted / true is undefined; "
                "the response and resolution need true values != 0"
            )
        metrics[f"val_response{suffix}"] = float(response(y_hat[defined], y[defined]))
        metrics[f"val_resolution{suffix}"] = float(relative_resolution(y_hat[defined], y[defined]))
    return metrics


__all__ = [
    "RegressConfig",
    "RegressionTargets",
    "RegressionTask",
    "decode_outputs",
    "fit_regression_targets",
    "per_row_loss",
    "structured_outputs",
]
