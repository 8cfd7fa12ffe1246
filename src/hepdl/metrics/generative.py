r"""How close generated samples are to simulated ones: the metrics of the Fast Calorimeter
Simulation Challenge 2022 (CaloChallenge; Krause et al., arXiv:2410.21611), as pure
functions of NumPy arrays.

* **Separation power** of the histograms h^ref, h^gen of one feature,

      S = 1/2 sum_i (h^ref_i - h^gen_i)^2 / (h^ref_i + h^gen_i),   sum_i h_i = 1,

  0 for identical histograms, 1 for disjoint ones. The bins are the reference's
  ``bins`` equal-population bins (its quantiles; repeated edges, from a feature with a
  few discrete values, merged), and one bin below and one above the reference's range,
  so a generated tail outside it counts in full (a disjoint sample gives S = 1).
* **1-Wasserstein distance** of one feature's two samples (the area between their
  empirical distribution functions, ``scipy.stats.wasserstein_distance``), in the
  feature's unit.
* **Classifier test**: a neural network trained to tell reference (label 1) from
  generated (label 0) samples, the CaloChallenge's "AUC of the classifier": 0.5 when it
  cannot, 1 when it always can. Equal numbers of each, split 60 / 20 / 20 into training,
  validation and test rows; the inputs standardised on the training rows; a
  scikit-learn ``MLPClassifier`` (two hidden layers of 256, ReLU, Adam) trained epoch by
  epoch and kept at the epoch of best validation AUC (patience 5), so nothing is chosen
  on the test rows. CaloChallenge's evaluate.py trains a DNN of two hidden layers of 512
  (with dropout) and keeps the epoch of best accuracy on its selection split; half the
  width keeps 10k rows of 504 cells under a minute on two CPU cores without torch, and a
  smooth network sees the small, many-cell differences a tree ensemble splits poorly.
  The test AUC is reported with the standard deviation over a stratified bootstrap of the
  test rows (``hepdl.metrics.uncertainty.bootstrap_metrics``), and, as CaloChallenge
  quotes beside it, the **JSD** figure

      JSD = (ln 2 - BCE) / ln 2,

  the binary cross-entropy BCE of the test rows after the scores are calibrated by
  isotonic regression on the validation rows (clipped to [1e-6, 1 - 1e-6]): 0 when the
  samples are indistinguishable (it can come out slightly below 0 on finite samples), 1
  when they are disjoint. Low-level inputs are the cells over the incident energy with
  log10 E_inc; high-level ones the features of ``hepdl.physics.shower_features`` with
  log10 E_inc.

Every metric is reported with its **truth-vs-truth floor** where a second reference
sample is given: the same metric between two independent simulated samples of the same
size, which is as close to 0 (0.5 for the AUC) as finite samples can show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from hepdl.errors import DataError

BINS = 50
HIDDEN = (256, 256)


def _sample(values: Any, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(array) < 2 or not np.isfinite(array).all():
        raise DataError(f"{name}: expected at least two finite values, got {len(array)}")
    return array


def separation_power(reference: Any, generated: Any, *, bins: int = BINS) -> float:
    """S of the module docstring, on ``bins`` equal-population bins of ``reference``."""
    ref, gen = _sample(reference, "reference"), _sample(generated, "generated")
    if not isinstance(bins, int) or bins < 1:
        raise DataError(f"bins: expected a positive number of bins, got {bins!r}")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:  # a constant reference: one bin at its value, one for the rest
        at = float(np.mean(gen == edges[0]))  # generated share in the reference's bin
        return 0.5 * ((1 - at) ** 2 / (1 + at) + (1 - at))
    h_ref, h_gen = _binned(ref, edges), _binned(gen, edges)
    h_ref, h_gen = h_ref / len(ref), h_gen / len(gen)
    total = h_ref + h_gen
    filled = total > 0
    return float(0.5 * np.sum((h_ref[filled] - h_gen[filled]) ** 2 / total[filled]))


def _binned(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts (len(edges) + 1,): below the first edge, the bins (the last one closed),
    above the last edge."""
    index = np.searchsorted(edges[1:-1], values, side="right") + 1
    index[values < edges[0]] = 0
    index[values > edges[-1]] = len(edges)
    return np.bincount(index, minlength=len(edges) + 1)


def wasserstein_1(reference: Any, generated: Any) -> float:
    """The 1-Wasserstein distance of two 1-D samples, in their unit."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(_sample(reference, "reference"),
                                      _sample(generated, "generated")))  # fmt: skip


def feature_distances(
    reference: Mapping[str, np.ndarray],
    generated: Mapping[str, np.ndarray],
    *,
    floor_reference: Mapping[str, np.ndarray] | None = None,
    bins: int = BINS,
) -> dict[str, Any]:
    """Per feature (the keys of ``reference``) the separation power and W1 of
    ``generated`` against ``reference`` and, with ``floor_reference`` (a second,
    independent reference sample), of it against ``reference``; plus the means of the
    separation powers (``mean_separation_power``, ``floor_mean_separation_power``)."""
    missing = [name for name in reference if name not in generated]
    if missing:
        raise DataError(f"generated: the features {missing} are missing")
    features: dict[str, dict[str, float]] = {}
    for name, values in reference.items():
        entry = {
            "separation_power": separation_power(values, generated[name], bins=bins),
            "wasserstein_1": wasserstein_1(values, generated[name]),
        }
        if floor_reference is not None:
            entry["floor_separation_power"] = separation_power(
                values, floor_reference[name], bins=bins
            )
            entry["floor_wasserstein_1"] = wasserstein_1(values, floor_reference[name])
        features[name] = entry
    result: dict[str, Any] = {
        "features": features,
        "mean_separation_power": float(np.mean([f["separation_power"] for f in features.values()])),
    }
    if floor_reference is not None:
        result["floor_mean_separation_power"] = float(
            np.mean([f["floor_separation_power"] for f in features.values()])
        )
    return result


def _split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = rng.permutation(n)
    a, b = int(0.6 * n), int(0.8 * n)
    return order[:a], order[a:b], order[b:]


def classifier_test(
    reference: Any,
    generated: Any,
    *,
    seed: int = 0,
    hidden: tuple[int, ...] = HIDDEN,
    max_epochs: int = 60,
    patience: int = 5,
) -> dict[str, Any]:
    """The classifier two-sample test of the module docstring on inputs (N, F) and
    (M, F): {"auc", "auc_error", "jsd", "validation_auc", "epochs", "n_train",
    "n_val", "n_test"} (rows per class)."""
    from sklearn.isotonic import IsotonicRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from hepdl.metrics.classification import roc_auc
    from hepdl.metrics.uncertainty import bootstrap_metrics

    ref = np.asarray(reference, dtype=np.float64)
    gen = np.asarray(generated, dtype=np.float64)
    if ref.ndim != 2 or gen.ndim != 2 or ref.shape[1] != gen.shape[1]:
        raise DataError(
            f"classifier_test: expected two (rows, features) arrays of the same width, got "
            f"{ref.shape} and {gen.shape}"
        )
    if not (np.isfinite(ref).all() and np.isfinite(gen).all()):
        raise DataError("classifier_test: the inputs hold non-finite values")
    n = min(len(ref), len(gen))
    if n < 10:
        raise DataError(f"classifier_test: expected at least 10 rows of each, got {n}")
    rng = np.random.default_rng(seed)
    ref, gen = ref[rng.permutation(len(ref))[:n]], gen[rng.permutation(len(gen))[:n]]
    parts = [_split(n, rng) for _ in range(2)]  # per class: train, val, test rows

    def rows(k: int) -> tuple[np.ndarray, np.ndarray]:
        x = np.concatenate([ref[parts[0][k]], gen[parts[1][k]]])
        y = np.concatenate([np.ones(len(parts[0][k])), np.zeros(len(parts[1][k]))])
        return x, y

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = rows(0), rows(1), rows(2)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val, x_test = (scaler.transform(x) for x in (x_train, x_val, x_test))
    net = MLPClassifier(hidden_layer_sizes=hidden, learning_rate_init=1e-3, batch_size=128,
                        alpha=1e-4, random_state=seed)  # fmt: skip
    best, best_auc, waited, epochs = None, -1.0, 0, 0
    for epoch in range(max_epochs):
        order = rng.permutation(len(x_train))
        net.partial_fit(x_train[order], y_train[order], classes=[0.0, 1.0])
        auc = roc_auc(y_val, net.predict_proba(x_val)[:, 1])
        epochs = epoch + 1
        if auc > best_auc:
            best_auc, waited = auc, 0
            best = ([w.copy() for w in net.coefs_], [b.copy() for b in net.intercepts_])
        else:
            waited += 1
            if waited >= patience:
                break
    net.coefs_, net.intercepts_ = best
    score = net.predict_proba(x_test)[:, 1]
    aucs, _ = bootstrap_metrics(y_test, score, n_resamples=200, seed=seed)
    # the calibration is fitted on the validation rows, so the test rows stay unseen
    calibrator = IsotonicRegression(out_of_bounds="clip", y_min=1e-6, y_max=1 - 1e-6)
    calibrated = calibrator.fit(net.predict_proba(x_val)[:, 1], y_val).predict(score)
    bce = -np.mean(y_test * np.log(calibrated) + (1 - y_test) * np.log(1 - calibrated))
    return {
        "auc": roc_auc(y_test, score),
        "auc_error": float(np.std(aucs)),
        "jsd": float((np.log(2) - bce) / np.log(2)),
        "validation_auc": float(best_auc),
        "epochs": epochs,
        "n_train": len(parts[0][0]),
        "n_val": len(parts[0][1]),
        "n_test": len(parts[0][2]),
    }


def low_level_inputs(layers: Mapping[str, np.ndarray], incident_energy: Any) -> np.ndarray:
    """(N, D + 1): every cell over the incident energy, and log10 E_inc."""
    energy = np.asarray(incident_energy, dtype=np.float64).reshape(-1)
    cells = np.concatenate([np.asarray(c).reshape(len(energy), -1) for c in layers.values()], 1)
    return np.concatenate([cells / energy[:, None], np.log10(energy)[:, None]], axis=1)


def high_level_inputs(features: Mapping[str, np.ndarray], incident_energy: Any) -> np.ndarray:
    """(N, F + 1): the high-level features, and log10 E_inc."""
    energy = np.asarray(incident_energy, dtype=np.float64).reshape(-1)
    return np.column_stack([*features.values(), np.log10(energy)])


def shower_metrics(
    reference_layers: Mapping[str, np.ndarray],
    reference_energy: Any,
    generated_layers: Mapping[str, np.ndarray],
    generated_energy: Any,
    *,
    floor: tuple[Mapping[str, np.ndarray], Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The CaloChallenge judgement of generated showers against reference ones (each
    {layer: (N, H, W)} GeV with incident energies (N,)), JSON-ready: the classifier tests
    on cells and on high-level features, the separation power and W1 of every high-level
    feature and their mean, W1 of E_tot / E_inc; with ``floor`` (layers, energies of a
    second reference sample) the same under ``"floor"``, reference against it."""
    from hepdl.physics.shower_features import high_level_features

    ref = high_level_features(reference_layers, reference_energy)
    gen = high_level_features(generated_layers, generated_energy)
    other = None if floor is None else high_level_features(*floor)
    distances = feature_distances(ref, gen, floor_reference=other)

    def judged(layers: Mapping[str, np.ndarray], energy: Any, features: dict) -> dict[str, Any]:
        return {
            "classifier_low_level": classifier_test(
                low_level_inputs(reference_layers, reference_energy),
                low_level_inputs(layers, energy), seed=seed,
            ),
            "classifier_high_level": classifier_test(
                high_level_inputs(ref, reference_energy),
                high_level_inputs(features, energy), seed=seed,
            ),
            "w1_e_total_over_incident": wasserstein_1(
                ref["e_total_over_incident"], features["e_total_over_incident"]
            ),
        }  # fmt: skip

    metrics = {
        **judged(generated_layers, generated_energy, gen),
        "mean_separation_power": distances["mean_separation_power"],
        "features": distances["features"],
        "n_reference": len(ref["e_total_over_incident"]),
        "n_generated": len(gen["e_total_over_incident"]),
    }
    if floor is not None:
        metrics["floor"] = {
            **judged(floor[0], floor[1], other),
            "mean_separation_power": distances["floor_mean_separation_power"],
        }
    return metrics
