"""A regression's judgement on the test rows: metrics.json, predictions.npz, the figures,
and the rows of the CLI's summary table.

Every metric is computed per target in its physical units (``hepdl.metrics.regression``);
the binned response and resolution use bins of the true value (``task.bins``: a number of
equal-population bins, or the bin edges). With ``task.ratio_to`` the uncorrected input is
judged in the same bins as the *baseline* the network must beat.

With ``task.resolution_fit`` (an energy target, GeV), the relative resolution of the test
rows in the same bins is fitted by the calorimeter formula
sigma/E = a/sqrt(E) (+) b/E (+) c (``hepdl.metrics.resolution_fit``), for the prediction
and the baseline; the fits go into metrics.json (``resolution_fit``) and the figure
``resolution_fit.png``. They describe the model chosen, they never choose it: the test
rows are only judged after training has picked its checkpoint on the validation rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.atomic import write_json, write_npz
from hepdl.errors import DataError

log = logging.getLogger(__name__)

RESOLUTION_FORMULA = "sigma/E = a/sqrt(E) (+) b/E (+) c, E in GeV, (+) the sum in quadrature"


def bin_edges(true: np.ndarray, bins: int | Sequence[float]) -> np.ndarray:
    """Edges (B + 1,) of ``bins`` equal-population bins of ``true`` (rounded to three
    significant digits, so tables read well), or the given edges."""
    if not isinstance(bins, int):
        return np.asarray(bins, dtype=np.float64)
    edges = np.quantile(true, np.linspace(0.0, 1.0, bins + 1))
    rounded = np.array([float(f"{e:.3g}") for e in edges])
    rounded[0], rounded[-1] = edges[0], np.nextafter(edges[-1], np.inf)  # every row inside
    return np.unique(rounded)


def target_metrics(
    predictions: Mapping[str, np.ndarray],
    true: np.ndarray,
    t: int,
    *,
    quantiles: Sequence[float] | None,
    edges: np.ndarray,
) -> dict[str, Any]:
    """The metrics of target column ``t`` of the predictions against ``true`` (n,): the
    ratio metrics (response, resolution) for a positive target, the residual metrics
    for one that crosses zero (a pseudorapidity, a displacement)."""
    from hepdl.metrics.regression import regression_summary

    if not (true > 0).all():
        return residual_metrics(predictions, true, t, edges=edges)
    sigma = predictions.get("sigma")
    quantile_predictions = predictions.get("quantiles")
    return regression_summary(
        predictions["point"][:, t],
        true,
        sigma=None if sigma is None else sigma[:, t],
        quantiles=quantiles if quantile_predictions is not None else None,
        quantile_predictions=None if quantile_predictions is None else quantile_predictions[:, t],
        bins=edges,
    )


def residual_metrics(
    predictions: Mapping[str, np.ndarray], true: np.ndarray, t: int, *, edges: np.ndarray
) -> dict[str, Any]:
    """Bias, RMSE, MAE and the half 16-84 % width of predicted - true, overall and per bin
    of ``true``, for a target with values <= 0 (predicted / true means nothing there)."""
    from hepdl.metrics.regression import bias, mae, pull_summary, rmse

    point = predictions["point"][:, t]

    def width(residual: np.ndarray) -> float | None:
        if len(residual) < 10:
            return None
        q16, q84 = np.percentile(residual, [16, 84])
        return float(0.5 * (q84 - q16))

    inside = np.clip(np.searchsorted(edges, true, side="right") - 1, 0, len(edges) - 2)
    binned = [
        {
            "low": float(edges[b]),
            "high": float(edges[b + 1]),
            "n": int((inside == b).sum()),
            "bias": float(np.mean(point[inside == b] - true[inside == b]))
            if (inside == b).sum() >= 10
            else None,
            "residual_resolution": width(point[inside == b] - true[inside == b]),
        }
        for b in range(len(edges) - 1)
    ]
    result: dict[str, Any] = {
        "n": len(true),
        "response": None,
        "relative_resolution": None,
        "note": "the target has values <= 0: residual metrics (predicted - true) instead "
        "of the ratio metrics",
        "bias": bias(point, true),
        "rmse": rmse(point, true),
        "mae": mae(point, true),
        "residual_resolution": width(point - true),
        "binned_residuals": binned,
    }
    if "sigma" in predictions:
        pulls = pull_summary(point, true, predictions["sigma"][:, t])
        result.update(pull_mean=pulls["mean"], pull_width=pulls["width"])
    return result


def write_regression_report(
    out_dir: Path,
    *,
    coding: Any,
    predictions: Mapping[str, np.ndarray],
    true: np.ndarray | None,
    baseline: np.ndarray | None,
    plots: bool,
    history: dict[str, list[float]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the judgement of ``predictions`` (``point`` (n, T), ``sigma`` (n, T) or
    ``quantiles`` (n, T, Q)) against ``true`` (n, T) into ``out_dir``; return the metrics.
    Without ``true`` (a file without the target columns) only the predictions are written."""
    from hepdl.metrics.regression import regression_summary

    out_dir.mkdir(parents=True, exist_ok=True)
    names = coding.targets
    arrays = {f"predicted_{k}": v for k, v in predictions.items()}
    metrics: dict[str, Any] = {**(extra or {}), "targets": names}
    if true is None:
        metrics["note"] = (
            f"the file has no target column(s) {', '.join(names)}: predictions written, "
            "metrics need the true values"
        )
        write_npz(out_dir / "predictions.npz", **arrays)
        write_json(out_dir / "metrics.json", metrics)
        return metrics
    per_target: dict[str, Any] = {}
    curves: dict[str, dict[str, Any]] = {}
    for t, name in enumerate(names):
        edges = bin_edges(true[:, t], coding.bins)
        result = target_metrics(predictions, true[:, t], t, quantiles=coding.quantiles, edges=edges)
        curves[name] = {"network": result["binned"]} if "binned" in result else {}
        if baseline is not None and "binned" in result:
            reference = regression_summary(baseline, true[:, t], bins=edges)
            result["baseline"] = {
                "estimate": coding.ratio_to,
                **{
                    k: reference[k]
                    for k in (
                        "response",
                        "response_error",
                        "resolution",
                        "relative_resolution",
                        "relative_resolution_error",
                    )
                },
                "binned": reference["binned"],
            }
            curves[name][f"baseline ({coding.ratio_to})"] = reference["binned"]
        per_target[name] = result
    # The first target's metrics at the top level: what `compare`, `scan` and the CLI rank.
    metrics.update(per_target[names[0]])
    if len(names) > 1:
        metrics["per_target"] = per_target
    fit_options = getattr(coding, "resolution_fit", None)  # task.resolution_fit, or None
    fits: dict[str, Any] = {}
    if fit_options is not None:
        t = names.index(fit_options.target)
        estimates = {"predicted": predictions["point"][:, t]}
        if baseline is not None:
            estimates[f"baseline ({coding.ratio_to})"] = baseline
        fits = resolution_fits(
            estimates, true[:, t], fit_options, edges=bin_edges(true[:, t], coding.bins)
        )
        metrics["resolution_fit"] = resolution_fit_metrics(fits, fit_options)
    write_npz(out_dir / "predictions.npz", true=true, **arrays)
    if plots:
        baselines = None if baseline is None else {f"baseline ({coding.ratio_to})": baseline}
        _figures(
            out_dir,
            curves=curves,
            predictions=predictions,
            true=true,
            baselines=baselines,
            history=history,
        )
        if fits:
            _resolution_figure(fits, out_dir / "resolution_fit.png")
    write_json(out_dir / "metrics.json", metrics)  # last: its presence means complete
    return metrics


def check_fit_energies(values: np.ndarray, target: str, *, where: str) -> None:
    """DataError unless the energy target ``values`` (n,) of ``task.resolution_fit`` are
    all > 0 (GeV): sigma/E and the 1/sqrt(E) and 1/E terms need positive energies."""
    bad = np.flatnonzero(~(np.asarray(values, dtype=np.float64) > 0))
    if len(bad):
        raise DataError(
            f"{where}: task.resolution_fit fits the energy resolution of target '{target}', "
            f"which must be > 0 (GeV) in every row, but {len(bad)} row(s) are not (first: row "
            f"{bad[0]}, value {values[bad[0]]:g}); fit another target or turn "
            "task.resolution_fit off"
        )


def with_resolution_fit(coding: Any, section: Any, sample: Any = None) -> Any:
    """``coding`` (the regression's RegressionTargets) carrying ``section.resolution_fit``
    for the evaluation; with ``sample``, its energy target is checked > 0 before any
    training, so a wrong target fails at once rather than after the fit."""
    coding.resolution_fit = section.resolution_fit
    if section.resolution_fit is not None and sample is not None:
        target = section.resolution_fit.target
        check_fit_energies(sample.columns[target], target, where=sample.source)
    return coding


def resolution_fits(
    estimates: Mapping[str, np.ndarray],
    true: np.ndarray,
    options: Any,
    *,
    edges: np.ndarray,
) -> dict[str, tuple[Any, Any, str | None]]:
    """Per estimate (label -> (n,) GeV) its binned resolution in ``edges`` of ``true``
    (n,), the fit of ``options.terms`` to it, and why there is no fit (None when there is
    one): a fit that cannot be made (too few filled bins) is reported, not raised, so the
    rest of the evaluation stands."""
    from hepdl.metrics.resolution_fit import binned_resolution

    check_fit_energies(true, options.target, where="the test rows")
    result: dict[str, tuple[Any, Any, str | None]] = {}
    for label, estimate in estimates.items():
        binned = binned_resolution(true, estimate, edges, method=options.method)
        try:
            fit, reason = binned.fit(terms=options.terms), None
        except DataError as err:
            fit, reason = None, str(err)
            log.warning("resolution fit of %s (%s): %s", options.target, label, reason)
        result[label] = (binned, fit, reason)
    return result


def resolution_fit_metrics(
    fits: Mapping[str, tuple[Any, Any, str | None]], options: Any
) -> dict[str, Any]:
    """metrics.json's ``resolution_fit``: the formula, the options, and per estimate the
    fitted terms with their errors (``hepdl.metrics.resolution_fit.ResolutionFit``) and
    the points fitted (``bins``), or ``error`` saying why there is no fit."""
    out: dict[str, Any] = {
        "formula": RESOLUTION_FORMULA,
        "target": options.target,
        "terms": list(options.terms),
        "method": options.method,
        "note": "test rows in the bins of task.bins; reported, never used to choose a model",
    }
    for label, (binned, fit, reason) in fits.items():
        entry = fit.as_dict() if fit is not None else {"error": reason}
        out[label] = {**entry, "bins": binned.as_records()}
    return out


def _resolution_figure(fits: Mapping[str, tuple[Any, Any, str | None]], path: Path) -> None:
    """resolution_fit.png: the prediction's sigma/E per bin with its fit and, dashed, the
    baseline's fitted curve; nothing when the prediction has no fit."""
    from hepdl.plots.calorimetry import plot_resolution_fit

    (label, (binned, fit, _)), *others = fits.items()
    if fit is None:
        return
    reference = next(((name, f) for name, (_, f, _) in others if f is not None), None)
    ok = binned.valid
    plot_resolution_fit(
        binned.energy[ok],
        binned.relative_resolution[ok],
        binned.relative_resolution_error[ok],
        fit,
        path=path,
        label=label,
        reference=None if reference is None else {t: getattr(reference[1], t) for t in "abc"},
        reference_label="baseline" if reference is None else reference[0],
    )


def _figures(
    out_dir: Path,
    *,
    curves: Mapping[str, Mapping[str, Any]],
    predictions: Mapping[str, np.ndarray],
    true: np.ndarray,
    baselines: Mapping[str, np.ndarray] | None,
    history: dict[str, list[float]] | None,
) -> None:
    from hepdl.plots import plot_training_history
    from hepdl.plots.regression import (
        plot_predicted_vs_true,
        plot_pulls,
        plot_ratio_distribution,
        plot_response_resolution,
    )

    several = len(curves) > 1
    for t, (name, target_curves) in enumerate(curves.items()):
        suffix = f"_{name}" if several else ""
        point = predictions["point"][:, t]
        plot_predicted_vs_true(
            point, true[:, t], path=out_dir / f"predicted_vs_true{suffix}.png", label=name
        )
        if "sigma" in predictions:
            pulls = (point - true[:, t]) / predictions["sigma"][:, t]
            plot_pulls(pulls, path=out_dir / f"pulls{suffix}.png")
        if not target_curves:  # a target crossing zero: no ratio to draw
            continue
        plot_response_resolution(
            target_curves, path=out_dir / f"response{suffix}.png", xlabel=f"true {name}"
        )
        ratios = {"network": point / true[:, t]}
        for label, estimate in (baselines or {}).items():  # the uncorrected input beside it
            ratios[label] = estimate / true[:, t]
        plot_ratio_distribution(ratios, path=out_dir / f"ratio{suffix}.png")
    if history:
        plot_training_history(history, path=out_dir / "history.png")


def regression_summary_rows(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The CLI's table of a regression's test metrics (the first target's)."""
    targets = metrics.get("targets") or ["?"]
    if "response" not in metrics:
        return f"predictions of {', '.join(targets)} (no truth)", []
    title = f"test set ({metrics.get('n', '?')} rows): {targets[0]}"
    rows = [
        ("response (median predicted/true)", _fraction(metrics.get("response"))),
        ("relative resolution (16-84 %)", _fraction(metrics.get("relative_resolution"))),
        ("Gaussian core sigma", _fraction(metrics.get("core_sigma"))),
        ("bias (mean predicted - true)", _number(metrics.get("bias"))),
        ("RMSE", _number(metrics.get("rmse"))),
    ]
    if metrics.get("residual_resolution") is not None:  # a target crossing zero
        rows.append(("resolution of predicted - true", _number(metrics["residual_resolution"])))
    baseline = metrics.get("baseline")
    if baseline:
        rows.append(
            (
                f"baseline {baseline['estimate']}: resolution",
                _number(baseline["relative_resolution"]),
            )
        )
    if metrics.get("pull_width") is not None:
        rows.append(
            ("pull mean / width", f"{metrics['pull_mean']:.3f} / {metrics['pull_width']:.3f}")
        )
    for q, observed in (metrics.get("coverage") or {}).items():
        rows.append((f"coverage of quantile {q}", _fraction(observed)))
    rows += _resolution_fit_rows(metrics.get("resolution_fit"))
    return title, rows


def _resolution_fit_rows(fits: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Per estimate three rows: a (% sqrt(GeV)), b (GeV), c (%) with their errors."""
    rows: list[tuple[str, str]] = []
    terms = (
        ("a", "stochastic", 100, " % sqrt(GeV)"),
        ("b", "noise", 1, " GeV"),
        ("c", "constant", 100, " %"),
    )
    for label, fit in (fits or {}).items():
        if not isinstance(fit, Mapping):
            continue  # the formula, target, terms, method, note
        if fit.get("a") is None:
            rows.append((f"resolution fit ({label})", "no fit: see metrics.json"))
            continue
        for term, name, scale, unit in terms:
            value = (
                f"{scale * fit[term]:.3g} +- {scale * fit[f'{term}_error']:.2g}{unit}"
                if term in fit["terms"]
                else "0 (fixed)"
            )
            rows.append((f"{name} term {term} ({label})", value))
    return rows


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _fraction(value: Any) -> str:
    """A ratio of predicted to true values (or a fraction), to four decimals."""
    return "n/a" if value is None else f"{value:.4f}"
