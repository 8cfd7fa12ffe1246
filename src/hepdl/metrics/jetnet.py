"""The JetNet metrics of generated jets (point clouds), in pure NumPy/SciPy.

Reference: R. Kansal et al., "Evaluating generative models in high energy physics",
Phys. Rev. D 107 (2023) 076017, arXiv:2211.10295, and its code, the ``jetnet`` package
(``jetnet/evaluation/gen_metrics.py``), whose defaults are kept here.

Jets are ``(N, P, 3)`` arrays of (eta_rel, phi_rel, pT_rel) (relative to the jet axis, pT as a
fraction of the jet pT; JetNet uses the P = 30 leading particles) with a mask ``(N, P)``.

- W1M (:func:`w1m`): 1-Wasserstein distance between the jet-mass distributions, the mass of
  the sum of the massless particle four-vectors (:func:`jet_mass`; m / pT_jet for pT_rel).
- W1P (:func:`w1p`): W1 of each particle feature over all (unmasked) particles, then the mean
  over the 3 features.
- W1EFP (:func:`w1efp`): W1 of each of the 5 prime n = 4, d = 4 energy flow polynomials
  (``hepdl.physics.efp.efps_d4``), then the mean over the 5.

  Each W1 is measured ``num_batches`` times on ``num_eval_samples`` jets drawn with
  replacement from each sample; value and error are the mean and standard deviation over the
  batches. For the feature means, the error is sqrt(sum_f sigma_f^2) / F (independent
  errors of an average).

- FPD (:func:`fpd`): the Frechet distance between Gaussians fitted to the two feature sets,
  ``FD = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2))``, which is biased upward by
  O(1/N). It is measured at ``num_points`` batch sizes N regularly spaced in 1/N between
  ``min_samples`` and ``max_samples`` (``num_batches`` draws each, averaged) and extrapolated
  to N -> infinity by a straight-line fit FD(1/N) = FPD + s / N (intercept and slope >= 0):
  the value is the intercept, the error its fit uncertainty (as FID_inf, Chong & Forsyth,
  arXiv:1911.07023).
- KPD (:func:`kpd`): the unbiased quadratic-time estimate of the squared maximum mean
  discrepancy (Gretton et al., JMLR 13 (2012) 723) with the polynomial kernel
  ``k(x, y) = (x . y / D + 1)^degree``::

      MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (n (n - 1))
                - 2 sum_{i, j} k(x_i, y_j) / (m n),

  on ``num_batches`` batches of ``batch_size`` draws; value = median over batches, error =
  half the 16.275-83.725 percentile range. JetNet's code uses ``degree = 4`` (the paper
  text cites the cubic kernel of KID, Binkowski et al., arXiv:1801.01401); ``degree=3``
  gives that one.

  FPD and KPD take any feature sets; for jets JetNet uses the d <= 4 EFPs
  (``hepdl.physics.efp.efps_upto_d4``), each feature divided by the maximum of its absolute
  value in the real sample (``normalise=True``).

:func:`jetnet_metrics` computes all five for a real and a generated sample, and optionally
the same between two independent real samples (the truth-vs-truth floor a perfect generator
would reach with these sample sizes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.physics import efp as efp_module
from hepdl.physics import kinematics

# The scales of the JetNet paper's tables (values are reported as value x scale).
PAPER_SCALES: dict[str, float] = {"w1m": 1e3, "w1p": 1e3, "w1efp": 1e5, "fpd": 1e3, "kpd": 1e3}

PARTICLE_FEATURE_NAMES: tuple[str, ...] = ("eta_rel", "phi_rel", "pt_rel")


def jet_mass(particles: Any, mask: Any = None) -> np.ndarray:
    """Mass of the sum of massless particles given as (eta, phi, pT), ``(N,)``.

    ``E = pT cosh eta``, ``p = pT (cos phi, sin phi, sinh eta)``; for (eta_rel, phi_rel,
    pT_rel) this is the relative mass m_jet / pT_jet (up to the rotation to the jet axis,
    which Delta eta / Delta phi coordinates approximate as JetNet does).
    """
    parts, _ = efp_module.check_point_cloud(particles, mask)
    eta, phi, pt = parts[..., 0], parts[..., 1], parts[..., 2]  # (N, P), 0 where masked
    px = (pt * np.cos(phi)).sum(axis=1)
    py = (pt * np.sin(phi)).sum(axis=1)
    pz = (pt * np.sinh(eta)).sum(axis=1)
    energy = (pt * np.cosh(eta)).sum(axis=1)
    return kinematics.mass(px, py, pz, energy)  # (N,)


def w1m(
    particles1: Any,
    mask1: Any,
    particles2: Any,
    mask2: Any,
    *,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 0,
) -> tuple[float, float]:
    """W1 between the jet masses of two samples: (mean, std) over ``num_batches`` batches."""
    m1 = jet_mass(particles1, mask1)[:, None]  # (N1, 1)
    m2 = jet_mass(particles2, mask2)[:, None]
    means, stds = _w1_batches(
        _rows(m1), _rows(m2), len(m1), len(m2), num_eval_samples, num_batches, seed
    )
    return float(means[0]), float(stds[0])


def w1p(
    particles1: Any,
    mask1: Any,
    particles2: Any,
    mask2: Any,
    *,
    exclude_zeros: bool = True,
    average: bool = True,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 0,
) -> tuple[Any, Any]:
    """W1 of each particle feature over the particles of ``num_eval_samples`` drawn jets.

    ``exclude_zeros`` also drops particles whose three features are all exactly 0 (JetNet's
    zero padding). Returns (value, error) averaged over the features, or with
    ``average=False`` the per-feature means and stds, ``(3,)`` each.
    """
    p1, k1 = efp_module.check_point_cloud(particles1, mask1, name="particles1")
    p2, k2 = efp_module.check_point_cloud(particles2, mask2, name="particles2")
    if exclude_zeros:
        k1 = k1 & (np.abs(p1).sum(axis=-1) != 0)
        k2 = k2 & (np.abs(p2).sum(axis=-1) != 0)

    def particles_of(parts: np.ndarray, keep: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        return lambda jets: parts[jets][keep[jets]]  # (M, 3) particles of the drawn jets

    means, stds = _w1_batches(
        particles_of(p1, k1),
        particles_of(p2, k2),
        len(p1),
        len(p2),
        num_eval_samples,
        num_batches,
        seed,
    )
    return _averaged(means, stds) if average else (means, stds)


def w1efp(
    particles1: Any,
    mask1: Any,
    particles2: Any,
    mask2: Any,
    *,
    average: bool = True,
    beta: float = 1.0,
    normed: bool = True,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 0,
) -> tuple[Any, Any]:
    """W1 of each of the 5 prime n = 4, d = 4 EFPs; (value, error) averaged over them, or
    with ``average=False`` the per-EFP means and stds, ``(5,)`` each."""
    e1 = efp_module.efps_d4(particles1, mask1, beta=beta, normed=normed)  # (N1, 5)
    e2 = efp_module.efps_d4(particles2, mask2, beta=beta, normed=normed)
    return w1_features(
        e1,
        e2,
        average=average,
        num_eval_samples=num_eval_samples,
        num_batches=num_batches,
        seed=seed,
    )


def w1_features(
    features1: Any,
    features2: Any,
    *,
    average: bool = True,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    seed: int = 0,
) -> tuple[Any, Any]:
    """W1 of each column of two per-jet feature tables ``(N1, F)``, ``(N2, F)``, batched."""
    x, y = _check_features(features1, features2, minimum=1)
    means, stds = _w1_batches(
        _rows(x), _rows(y), len(x), len(y), num_eval_samples, num_batches, seed
    )
    return _averaged(means, stds) if average else (means, stds)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, *, eps: float = 1e-6
) -> float:
    """``|mu1 - mu2|^2 + Tr(S1 + S2 - 2 sqrtm(S1 S2))`` between two Gaussians.

    A singular product (non-finite square root) is retried with ``eps`` added to both
    diagonals; the tiny imaginary part rounding leaves is dropped (as pytorch-fid does).
    """
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fpd(
    real_features: Any,
    gen_features: Any,
    *,
    min_samples: int = 20_000,
    max_samples: int = 50_000,
    num_batches: int = 20,
    num_points: int = 10,
    normalise: bool = True,
    seed: int = 42,
) -> tuple[float, float]:
    """Frechet physics distance extrapolated to infinite sample size: (value, error)."""
    from scipy.optimize import curve_fit

    x, y = _check_features(real_features, gen_features, minimum=2)
    min_samples = _positive_int(min_samples, "min_samples", minimum=2)
    max_samples = _positive_int(max_samples, "max_samples", minimum=min_samples)
    num_batches = _positive_int(num_batches, "num_batches")
    num_points = _positive_int(num_points, "num_points", minimum=2)
    if normalise:
        x, y = _normalise(x, y)
    # Batch sizes at regular intervals in 1/N (JetNet truncates to int the same way).
    sizes = (1.0 / np.linspace(1.0 / min_samples, 1.0 / max_samples, num_points)).astype(int)
    rng = np.random.default_rng(seed)
    mean_fd = []
    for size in sizes:
        values = []
        for _ in range(num_batches):
            a = x[rng.choice(len(x), size=size)]  # (size, D)
            b = y[rng.choice(len(y), size=size)]
            values.append(
                frechet_distance(
                    a.mean(axis=0),
                    np.cov(a, rowvar=False),
                    b.mean(axis=0),
                    np.cov(b, rowvar=False),
                )
            )
        mean_fd.append(np.mean(values))
    params, cov = curve_fit(
        lambda inv_n, intercept, slope: intercept + slope * inv_n,
        1.0 / sizes,
        np.asarray(mean_fd),
        bounds=([0.0, 0.0], [np.inf, np.inf]),
    )
    return float(params[0]), float(np.sqrt(cov[0, 0]))


def mmd_poly_unbiased(x: np.ndarray, y: np.ndarray, *, degree: int = 4) -> float:
    """Unbiased MMD^2 of samples ``x (m, D)``, ``y (n, D)`` with ``(x.y / D + 1)^degree``."""
    gamma = 1.0 / x.shape[1]
    kxx = (x @ x.T * gamma + 1.0) ** degree  # (m, m)
    kyy = (y @ y.T * gamma + 1.0) ** degree  # (n, n)
    kxy = (x @ y.T * gamma + 1.0) ** degree  # (m, n)
    m, n = len(x), len(y)
    # The i = j terms are left out: that is what makes the estimate unbiased.
    return float(
        (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
        + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
        - 2.0 * kxy.mean()
    )


def kpd(
    real_features: Any,
    gen_features: Any,
    *,
    num_batches: int = 10,
    batch_size: int = 5_000,
    degree: int = 4,
    normalise: bool = True,
    seed: int = 42,
) -> tuple[float, float]:
    """Kernel physics distance: (median, half the 16-84 % spread) of the batch MMD^2."""
    x, y = _check_features(real_features, gen_features, minimum=2)
    num_batches = _positive_int(num_batches, "num_batches")
    batch_size = _positive_int(batch_size, "batch_size", minimum=2)
    degree = _positive_int(degree, "degree")
    if normalise:
        x, y = _normalise(x, y)
    values = []
    for i in range(num_batches):
        # One generator per batch, as JetNet seeds them (seed + 1000 i).
        rng = np.random.default_rng(seed + i * 1000)
        a = x[rng.choice(len(x), size=batch_size)]
        b = y[rng.choice(len(y), size=batch_size)]
        values.append(mmd_poly_unbiased(a, b, degree=degree))
    low, high = np.percentile(values, [16.275, 83.725])
    return float(np.median(values)), float((high - low) / 2.0)


def jetnet_metrics(
    real: Any,
    real_mask: Any,
    gen: Any,
    gen_mask: Any,
    *,
    floor: tuple[Any, Any] | None = None,
    seed: int = 0,
    num_eval_samples: int = 50_000,
    num_batches: int = 5,
    beta: float = 1.0,
    normed: bool = True,
    kpd_degree: int = 4,
) -> dict[str, Any]:
    """W1M, W1P, W1EFP, FPD and KPD of ``gen`` against ``real``, as a JSON-ready dict.

    ``floor`` = (particles, mask) of a second, independent real sample: the same metrics are
    then also computed between ``real`` and it (``"floor"``), the values a perfect
    generator would reach. Sample sizes below JetNet's recommended 50,000 shrink the batch
    sizes: ``num_eval_samples``, FPD's ``max_samples`` (FPD's ``min_samples`` = 0.4 of it,
    JetNet's 20k/50k ratio) and KPD's ``batch_size`` are capped at the smaller sample.
    Values are raw; ``PAPER_SCALES`` are the factors of the JetNet paper's tables.
    """
    real_p, real_k = efp_module.check_point_cloud(real, real_mask, name="real")
    gen_p, gen_k = efp_module.check_point_cloud(gen, gen_mask, name="gen")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ConfigError(f"seed is {seed!r}; expected an integer")
    for name, parts in (("real", real_p), ("gen", gen_p)):
        if len(parts) < 2:
            raise DataError(f"{name} has {len(parts)} jet; expected at least 2 (FPD, KPD)")
    num_eval_samples = _positive_int(num_eval_samples, "num_eval_samples")
    num_batches = _positive_int(num_batches, "num_batches")
    kpd_degree = _positive_int(kpd_degree, "kpd_degree")
    floor_sample = None
    if floor is not None:
        if not isinstance(floor, (tuple, list)) or len(floor) != 2:
            raise ConfigError(
                "floor is not a (particles, mask) pair; expected a second real sample as "
                "(particles (N, P, 3), mask (N, P))"
            )
        floor_sample = efp_module.check_point_cloud(floor[0], floor[1], name="floor")
        if len(floor_sample[0]) < 2:
            raise DataError(f"floor has {len(floor_sample[0])} jet; expected at least 2")
    settings = {"beta": beta, "normed": normed}
    real_efps = efp_module.efps_upto_d4(real_p, real_k, **settings)  # (N, 35)
    result: dict[str, Any] = {
        "n_real": len(real_p),
        "n_gen": len(gen_p),
        "metrics": _all_metrics(
            (real_p, real_k, real_efps),
            (gen_p, gen_k, efp_module.efps_upto_d4(gen_p, gen_k, **settings)),
            seed=seed,
            num_eval_samples=num_eval_samples,
            num_batches=num_batches,
            kpd_degree=kpd_degree,
        ),
    }
    if floor_sample is not None:
        floor_p, floor_k = floor_sample
        result["n_floor"] = len(floor_p)
        result["floor"] = _all_metrics(
            (real_p, real_k, real_efps),
            (floor_p, floor_k, efp_module.efps_upto_d4(floor_p, floor_k, **settings)),
            seed=seed,
            num_eval_samples=num_eval_samples,
            num_batches=num_batches,
            kpd_degree=kpd_degree,
        )
    result["settings"] = {
        "seed": int(seed),
        "num_batches": int(num_batches),
        "efp": {"beta": float(beta), "normed": bool(normed), "w1efp": 5, "fpd_kpd": 35},
        "kpd_degree": int(kpd_degree),
        "paper_scales": dict(PAPER_SCALES),
    }
    return result


def _all_metrics(
    sample1: tuple[np.ndarray, np.ndarray, np.ndarray],
    sample2: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    seed: int,
    num_eval_samples: int,
    num_batches: int,
    kpd_degree: int,
) -> dict[str, dict[str, Any]]:
    (p1, k1, e1), (p2, k2, e2) = sample1, sample2
    n = min(len(p1), len(p2))
    w1 = {"num_eval_samples": min(num_eval_samples, n), "num_batches": num_batches, "seed": seed}
    metrics: dict[str, dict[str, Any]] = {}
    value, error = w1m(p1, k1, p2, k2, **w1)
    metrics["w1m"] = {"value": value, "error": error}
    means, stds = w1p(p1, k1, p2, k2, average=False, **w1)
    value, error = _averaged(means, stds)
    metrics["w1p"] = {
        "value": value,
        "error": error,
        "per_feature": {
            name: {"value": float(m), "error": float(s)}
            for name, m, s in zip(PARTICLE_FEATURE_NAMES, means, stds, strict=True)
        },
    }
    columns = list(efp_module.efp_d4_columns())  # the W1-EFP graphs within the d <= 4 set
    value, error = w1_features(e1[:, columns], e2[:, columns], **w1)
    metrics["w1efp"] = {"value": value, "error": error}
    max_samples = min(50_000, n)
    min_samples = max(2, int(0.4 * max_samples))
    value, error = fpd(e1, e2, min_samples=min_samples, max_samples=max_samples, seed=seed)
    metrics["fpd"] = {"value": value, "error": error}
    metrics["fpd"].update(min_samples=min_samples, max_samples=max_samples)
    batch_size = max(2, min(5_000, n))
    value, error = kpd(e1, e2, batch_size=batch_size, degree=kpd_degree, seed=seed)
    metrics["kpd"] = {"value": value, "error": error, "batch_size": batch_size}
    return metrics


def _w1_batches(
    draw1: Callable[[np.ndarray], np.ndarray],
    draw2: Callable[[np.ndarray], np.ndarray],
    n1: int,
    n2: int,
    num_eval_samples: int,
    num_batches: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column W1 means and stds ``(F,)`` over batches of jets drawn with replacement.

    ``draw(jets)`` maps drawn jet indices to the values compared, ``(M, F)``.
    """
    from scipy.stats import wasserstein_distance

    num_eval_samples = _positive_int(num_eval_samples, "num_eval_samples")
    num_batches = _positive_int(num_batches, "num_batches")
    rng = np.random.default_rng(seed)
    w1s = []
    for _ in range(num_batches):
        a = draw1(rng.choice(n1, size=num_eval_samples))  # (M1, F)
        b = draw2(rng.choice(n2, size=num_eval_samples))  # (M2, F)
        if len(a) == 0 or len(b) == 0:
            w1s.append(np.full(a.shape[1], np.inf))  # no particles drawn: JetNet's inf
            continue
        w1s.append([wasserstein_distance(a[:, f], b[:, f]) for f in range(a.shape[1])])
    w1s = np.asarray(w1s)  # (num_batches, F)
    return w1s.mean(axis=0), w1s.std(axis=0)


def _rows(table: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    return lambda jets: table[jets]


def _averaged(means: np.ndarray, stds: np.ndarray) -> tuple[float, float]:
    return float(np.mean(means)), float(np.sqrt(np.sum(np.square(stds))) / len(stds))


def _normalise(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both divided by the real sample's max |feature| (1 where that is 0), as JetNet."""
    scale = np.abs(x).max(axis=0)  # (D,)
    scale[scale == 0] = 1.0
    return x / scale, y / scale


def _check_features(real: Any, gen: Any, *, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for name, values in (("real_features", real), ("gen_features", gen)):
        array = np.asarray(values)
        if array.ndim != 2 or len(array) < minimum or array.shape[1] == 0:
            raise DataError(
                f"{name} has shape {array.shape}; expected (N, D) with N >= {minimum} "
                f"samples of D >= 1 features"
            )
        if array.dtype.kind not in "biuf" or not np.isfinite(array).all():
            raise DataError(f"{name} has non-numeric, NaN or inf values; expected finite numbers")
        arrays.append(array.astype(np.float64))
    if arrays[0].shape[1] != arrays[1].shape[1]:
        raise DataError(
            f"real_features has {arrays[0].shape[1]} features and gen_features "
            f"{arrays[1].shape[1]}; expected the same features in both"
        )
    return arrays[0], arrays[1]


def _positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"{name} is {value!r}; expected an integer >= {minimum}")
    return int(value)
