"""The truth of a regression: target columns, their ratio to an input, their scaling, and
the judgement of the predictions on the test rows.

    y (N, T) = table[targets] / table[ratio_to]     (ratio_to optional, > 0 in every row)
    z (N, T) = (y - mean) / std                     (mean, std of the training rows)

The network predicts z; evaluation turns it back into the physical quantity (multiplied
by ``ratio_to`` again), so metrics and figures are in the units of the target column.
When ``ratio_to`` is set, the input column itself is the *baseline* estimate of every
target (e.g. the uncalibrated reconstructed jet pT for the particle-level jet pT) and is
judged beside the network.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.tasks._coding import TargetCoding
from hepdl.tasks._regression_losses import DEFAULT_QUANTILES, decode_outputs


class RegressionTargets(TargetCoding):
    """Target columns ``targets`` (optionally over ``ratio_to``), standardised with
    ``mean`` and ``std`` (each (T,)) fitted on the training rows."""

    def __init__(
        self,
        *,
        targets: Sequence[str],
        ratio_to: str | None,
        mean: Sequence[float],
        std: Sequence[float],
        loss: str,
        quantiles: Sequence[float] | None,
        bins: int | Sequence[float],
    ) -> None:
        self.targets = list(targets)
        self.ratio_to = ratio_to
        self.mean = np.asarray(mean, dtype=np.float64)  # (T,)
        self.std = np.asarray(std, dtype=np.float64)  # (T,)
        self.loss = loss
        self.quantiles = list(quantiles or DEFAULT_QUANTILES) if loss == "quantile" else None
        self.bins = bins

    # ----------------------------------------------------------------- truth -> loss targets
    def has_truth(self, sample: Any) -> bool:
        """Whether ``sample`` holds every target column (an evaluation file may not)."""
        return all(name in sample.columns for name in self.targets)

    def regressed(self, sample: Any) -> np.ndarray:
        """The regressed quantity y (N, T): the targets, over ``ratio_to`` if set."""
        y = np.stack([sample.columns[name] for name in self.targets], axis=1)
        return y / self.denominator(sample)[:, None]

    def denominator(self, sample: Any) -> np.ndarray:
        """``ratio_to`` per row (N,), checked > 0; ones without it."""
        return self._ratio(sample.columns, len(sample.labels), source=sample.source)

    def _ratio(self, columns: Mapping[str, np.ndarray], n: int, *, source: str) -> np.ndarray:
        if self.ratio_to is None:
            return np.ones(n)
        x = np.asarray(columns[self.ratio_to], dtype=np.float64)
        bad = np.flatnonzero(x <= 0)
        if len(bad):
            raise DataError(
                f"{source}: task.ratio_to '{self.ratio_to}' must be > 0 to divide the "
                f"targets by it, but {len(bad)} row(s) are not (first: row {bad[0]}, value "
                f"{x[bad[0]]:g})"
            )
        return x

    def check_sample(self, sample: Any) -> None:
        self.denominator(sample)  # the truth may be missing; the ratio input may not

    def encode(self, sample: Any) -> np.ndarray:
        return ((self.regressed(sample) - self.mean) / self.std).astype(np.float32)  # (N, T)

    # ----------------------------------------------------------------- the model and task
    def outputs_per_target(self) -> int:
        if self.loss == "quantile":
            return len(self.quantiles or DEFAULT_QUANTILES)
        return 2 if self.loss == "gaussian_nll" else 1

    def head_options(self, model_options: Mapping[str, Any]) -> dict[str, Any]:
        output = model_options.get("output", "linear")
        if output != "linear":
            raise ConfigError(
                f"model.output '{output}' squashes the outputs, but a regression predicts "
                "unbounded numbers; remove model.output (task.kind: regress uses 'linear')"
            )
        width = len(self.targets) * self.outputs_per_target()
        given = model_options.get("out_features")
        if given is not None and given != width:
            raise ConfigError(
                f"model.out_features is {given}, but task.kind: regress with "
                f"{len(self.targets)} target(s) and loss '{self.loss}' needs {width}; "
                "remove model.out_features (the task sets it)"
            )
        return {
            k: v
            for k, v in {"output": "linear", "out_features": width}.items()
            if k not in model_options
        }

    def task_options(self, evaluate: Any) -> dict[str, Any]:
        return {"target_mean": self.mean.tolist(), "target_std": self.std.tolist()}

    def saved(self) -> dict[str, Any]:
        return {
            "targets": {
                "columns": self.targets,
                "ratio_to": self.ratio_to,
                "mean": self.mean.tolist(),
                "std": self.std.tolist(),
            }
        }

    @classmethod
    def from_saved(cls, section: Any, saved: Mapping[str, Any]) -> RegressionTargets:
        return cls(
            targets=saved["columns"],
            ratio_to=saved["ratio_to"],
            mean=saved["mean"],
            std=saved["std"],
            loss=section.loss,
            quantiles=section.quantiles,
            bins=section.bins,
        )

    # ----------------------------------------------------------------- model outputs -> physics
    def physical(self, outputs: np.ndarray, sample: Any, rows: np.ndarray) -> dict[str, Any]:
        """The predictions in the targets' units for rows ``rows``: ``point`` (n, T) and,
        per loss, ``sigma`` (n, T) or ``quantiles`` (n, T, Q)."""
        return self._unscaled(outputs, self.denominator(sample)[rows])

    def input_columns(self) -> list[str]:
        return [] if self.ratio_to is None else [self.ratio_to]

    def prediction_columns(
        self, outputs: np.ndarray, columns: Mapping[str, np.ndarray], *, source: str
    ) -> dict[str, np.ndarray]:
        """Per target ``<target>`` (the point prediction), and ``<target>_sigma``
        (gaussian_nll) or ``<target>_q<percent>`` per quantile (quantile loss: q16, q50,
        q84; a fractional percent's point written p, q2p5), in the targets' units."""
        found = self._unscaled(outputs, self._ratio(columns, len(outputs), source=source))
        named: dict[str, np.ndarray] = {}
        for index, target in enumerate(self.targets):
            named[target] = found["point"][:, index]
            if "sigma" in found:
                named[f"{target}_sigma"] = found["sigma"][:, index]
            for q_index, q in enumerate(self.quantiles if "quantiles" in found else []):
                percent = f"{100 * q:g}".replace(".", "p")
                named[f"{target}_q{percent}"] = found["quantiles"][:, index, q_index]
        return named

    def _unscaled(self, outputs: np.ndarray, scale: np.ndarray) -> dict[str, Any]:
        """Outputs (n, T * P) in the targets' units, ``scale`` (n,) the ratio_to values."""
        decoded = decode_outputs(outputs, n_targets=len(self.targets), loss=self.loss)
        mean, std = self.mean, self.std
        result: dict[str, Any] = {}
        if "point" in decoded:
            result["point"] = (decoded["point"] * std + mean) * scale[:, None]
        if "log_var" in decoded:
            result["sigma"] = np.exp(0.5 * decoded["log_var"]) * std * scale[:, None]
        if "quantiles" in decoded:
            q = (decoded["quantiles"] * std[:, None] + mean[:, None]) * scale[:, None, None]
            result["quantiles"] = q
            from hepdl.tasks._regression_losses import median_index

            result["point"] = q[..., median_index(self.quantiles)]
        return result

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
        """metrics.json (per target: response, resolution, bias, RMSE, binned in the true
        value; the baseline's beside it), predictions.npz and the figures."""
        from hepdl.tasks._regression_report import write_regression_report

        return write_regression_report(
            out_dir,
            coding=self,
            predictions=self.physical(outputs, sample, rows),
            true=self.true_values(sample, rows),
            baseline=self.baseline(sample, rows),
            plots=evaluate.plots,
            history=history,
            extra=extra,
        )

    def true_values(self, sample: Any, rows: np.ndarray) -> np.ndarray | None:
        """The targets (n, T) of rows ``rows``, or None when the file lacks them."""
        if not self.has_truth(sample):
            return None
        return np.stack([sample.columns[name][rows] for name in self.targets], axis=1)

    def baseline(self, sample: Any, rows: np.ndarray) -> np.ndarray | None:
        """The input ``ratio_to`` (n,) as the uncorrected estimate of each target."""
        if self.ratio_to is None:
            return None
        return sample.columns[self.ratio_to][rows]


def fit_regression_targets(section: Any, sample: Any, train_rows: np.ndarray) -> RegressionTargets:
    """The target coding of ``section`` (a RegressConfig), scaled on rows ``train_rows``."""
    coding = RegressionTargets(
        targets=section.targets,
        ratio_to=section.ratio_to,
        mean=np.zeros(len(section.targets)),
        std=np.ones(len(section.targets)),
        loss=section.loss,
        quantiles=section.quantiles,
        bins=section.bins,
    )
    y = coding.regressed(sample)[train_rows]  # (n_train, T)
    std = y.std(axis=0)
    for name, width in zip(section.targets, std, strict=True):
        if not width > 0:
            raise DataError(
                f"{sample.source}: task.targets '{name}' has the same value in every training "
                "row; a constant cannot be learned (is it the right column?)"
            )
    if section.standardize_targets:
        coding.mean, coding.std = y.mean(axis=0), std
    return coding
