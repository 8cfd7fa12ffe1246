"""Classical baselines on flat high-level features (N, F): scikit-learn estimators.

A separate registry from the neural ``MODELS``: these are not ``nn.Module``s and are fitted
by ``hepdl.train.classical``, not by Lightning. Each factory maps hepdl's keyword options
onto the estimator's own; ``random_state`` is derived from the experiment seed, never set
in a config, so the same config gives the same fit.

- ``logistic_regression``: p(signal | x) = sigma(w . x + b), sigma(z) = 1 / (1 + e^-z),
  fitted by minimising the binary cross-entropy plus the L2 penalty |w|^2 / (2 C).
- ``svm``: an ``SVC`` whose decision f(x) = sum_i a_i y_i K(x_i, x) + b is mapped to a
  probability by Platt scaling, p = 1 / (1 + exp(A f + B)), with A, B fitted on 5-fold
  cross-validated decisions (``CalibratedClassifierCV(SVC(), method="sigmoid",
  ensemble=False)``, what scikit-learn 1.9 recommends over the deprecated
  ``SVC(probability=True)``). The folds are not shuffled, so the fit is deterministic.
  Fitting costs O(N^2) to O(N^3) in the training rows: keep it to tens of thousands of jets.
- ``random_forest``: the average of ``n_estimators`` decorrelated trees, each grown on a
  bootstrap sample with a random feature subset per split.
- ``bdt``: gradient-boosted decision trees (``HistGradientBoostingClassifier``, the
  lectures' BDT): F_m(x) = F_{m-1}(x) + eta h_m(x), each tree h_m fitted to the gradient of
  the log loss, p = sigma(F_M(x)). scikit-learn's own early stopping (which would carve
  its own validation fraction out of the training rows) stays off; instead, with
  ``early_stopping: true`` (the default), ``hepdl.train.classical`` stops on hepdl's
  validation split, the one a network's checkpoint is chosen on: the validation loss of
  every stage (staged predictions) picks the number of trees, and only those are kept.
  ``early_stopping: false`` keeps all ``max_iter`` trees, and the history says so.

Under ``task.kind: regress`` the same names give the regressor of the same family on the
standardised targets (``bdt``: ``HistGradientBoostingRegressor`` on the squared or the
absolute error; ``random_forest``: ``RandomForestRegressor``), and ``least_squares`` is
the linear fit y = w . x + b minimising sum (y - w . x - b)^2 (``LinearRegression``);
``binned_calibration`` is the experiments' standard jet energy correction, the median
target in bins of a few inputs (``hepdl.models.binned_calibration``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from hepdl.errors import ConfigError
from hepdl.registry import Registry


def _option_bounds() -> dict[str, Any]:
    """The range of every numeric option of the baselines (scikit-learn's own limits,
    with hepdl.limits' caps where a value would only cost memory or time)."""
    from pydantic import Field

    from hepdl.limits import MAX_LAYERS, MAX_WIDTH

    positive = Field(gt=0)
    count = Field(ge=1, le=MAX_WIDTH, description="hepdl.limits.MAX_WIDTH")
    return {
        "C": positive,
        "max_iter": count,
        "n_estimators": count,
        "max_depth": Field(ge=1, le=MAX_LAYERS, description="hepdl.limits.MAX_LAYERS"),
        "min_samples_leaf": Field(ge=1),
        "learning_rate": positive,
        "max_leaf_nodes": Field(ge=2, le=MAX_WIDTH, description="hepdl.limits.MAX_WIDTH"),
        "l2_regularization": Field(ge=0),
        "bins": count,
        "min_rows": Field(ge=1),
        "random_state": Field(ge=0),
    }


CLASSICAL_MODELS: Registry[Any] = Registry("classical model", bounds=_option_bounds)
register_classical = CLASSICAL_MODELS.register

# Filled in by hepdl (from the experiment seed), never by the user.
DERIVED_OPTIONS = frozenset({"random_state", "task", "loss", "feature_names"})

# The task kinds each baseline serves (a classifier only, or both).
CLASSICAL_TASKS: dict[str, tuple[str, ...]] = {
    "logistic_regression": ("classify",),
    "svm": ("classify",),
    "random_forest": ("classify", "regress"),
    "bdt": ("classify", "regress"),
    "least_squares": ("regress",),
    "binned_calibration": ("regress",),
}
# task.loss of a regression -> the loss a regressor fits (the others need a network head).
REGRESSION_LOSSES = {"mse": "squared_error", "mae": "absolute_error"}


@register_classical("logistic_regression")
def logistic_regression(
    *, C: float = 1.0, max_iter: int = 1000, random_state: int = 0, **_task: Any
) -> Any:
    """L2-regularised logistic regression (lbfgs); ``C`` is the inverse penalty strength."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=max_iter, random_state=random_state)


@register_classical("svm")
def svm(
    *,
    C: float = 1.0,
    kernel: Literal["linear", "poly", "rbf", "sigmoid"] = "rbf",
    gamma: float | Literal["scale", "auto"] = "scale",
    random_state: int = 0,
    **_task: Any,
) -> Any:
    """Support vector classifier with Platt-scaled probabilities (see the module doc)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    svc = SVC(C=C, kernel=kernel, gamma=gamma, random_state=random_state)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False)


@register_classical("random_forest")
def random_forest(
    *,
    n_estimators: int = 200,
    max_depth: int | None = None,
    min_samples_leaf: int = 1,
    random_state: int = 0,
    task: str = "classify",
    loss: str = "squared_error",
) -> Any:
    """Random forest; ``n_jobs=1`` so that fits are reproducible and share the machine."""
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    forest = RandomForestRegressor if task == "regress" else RandomForestClassifier
    extra = {"criterion": loss} if task == "regress" else {}
    return forest(
        **extra,
        n_estimators=n_estimators,
        max_depth=max_depth,
        min_samples_leaf=min_samples_leaf,
        n_jobs=1,
        random_state=random_state,
    )


@register_classical("bdt")
def bdt(
    *,
    max_iter: int = 200,
    learning_rate: float = 0.1,
    max_depth: int | None = None,
    max_leaf_nodes: int | None = 31,
    l2_regularization: float = 0.0,
    early_stopping: bool = True,
    random_state: int = 0,
    task: str = "classify",
    loss: str = "squared_error",
) -> Any:
    """Histogram gradient-boosted trees: ``max_iter`` trees, shrinkage ``learning_rate``.
    ``early_stopping`` is hepdl's, on its validation split (see :func:`stops_early`)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    boosted = HistGradientBoostingRegressor if task == "regress" else HistGradientBoostingClassifier
    extra = {"loss": loss} if task == "regress" else {}
    return boosted(
        **extra,
        max_iter=max_iter,
        learning_rate=learning_rate,
        max_depth=max_depth,
        max_leaf_nodes=max_leaf_nodes,
        l2_regularization=l2_regularization,
        early_stopping=False,
        random_state=random_state,
    )


@register_classical("least_squares")
def least_squares(*, fit_intercept: bool = True, random_state: int = 0, **_task: Any) -> Any:
    """Linear least squares (``LinearRegression``; deterministic, ``random_state`` unused)."""
    from sklearn.linear_model import LinearRegression

    return LinearRegression(fit_intercept=fit_intercept)


@register_classical("binned_calibration")
def binned_calibration(
    *,
    columns: Sequence[str] = ("jet_pt", "jet_eta"),
    bins: Sequence[int] = (20, 4),
    min_rows: int = 20,
    random_state: int = 0,
    **_task: Any,
) -> Any:
    """The median target per bin of ``columns`` (``bins`` equal-population bins each)."""
    from hepdl.models.binned_calibration import BinnedCalibration

    return BinnedCalibration(columns=list(columns), bins=list(bins), min_rows=min_rows)


def check_classical_task(name: str, kind: str, loss: str | None) -> None:
    """ConfigError when baseline ``name`` cannot learn task ``kind`` with ``loss``."""
    served = CLASSICAL_TASKS.get(name, ("classify",))
    if kind not in served:
        others = [n for n, kinds in CLASSICAL_TASKS.items() if kind in kinds]
        raise ConfigError(
            f"model '{name}' is a baseline for task.kind {', '.join(served)}, not '{kind}'; "
            f"for {kind} use one of: {', '.join(others) or 'a network'}"
        )
    if kind == "regress" and loss not in REGRESSION_LOSSES:
        raise ConfigError(
            f"task.loss '{loss}' needs a network head; the baseline '{name}' fits "
            f"{' or '.join(REGRESSION_LOSSES)}"
        )
    if name == "least_squares" and loss != "mse":
        raise ConfigError("model 'least_squares' minimises squared errors: use task.loss: mse")


def stops_early(name: str, options: dict[str, Any]) -> bool:
    """Whether baseline ``name`` with config ``options`` chooses its number of boosting
    stages on the validation split (the BDT unless ``early_stopping: false``)."""
    return name == "bdt" and bool(options.get("early_stopping", True))


def is_classical(name: str) -> bool:
    """Whether ``name`` is a classical baseline (not a neural model)."""
    return name in CLASSICAL_MODELS.names()


def list_classical_models() -> list[str]:
    return CLASSICAL_MODELS.names()


def check_classical_options(
    name: str, options: Iterable[str] | Mapping[str, Any], *, where: str = "model"
) -> None:
    """ConfigError for an unknown name or option, an option hepdl derives itself or, when
    ``options`` is a mapping, a value of the wrong type or out of range."""
    keys = list(options)
    CLASSICAL_MODELS.check_options(name, keys, where=where, derived=DERIVED_OPTIONS)
    for key in DERIVED_OPTIONS.intersection(keys):
        raise ConfigError(
            f"{where}.{key} is set from the experiment seed; remove it from the config"
        )
    if isinstance(options, Mapping):
        CLASSICAL_MODELS.check_values(name, options, where=where)


def create_classical(
    name: str, *, seed: int, task: str = "classify", loss: str | None = None, **options: Any
) -> Any:
    """An unfitted scikit-learn estimator for task kind ``task`` (with ``task.loss``
    ``loss`` for a regression), seeded by ``seed``; bad options raise ConfigError."""
    check_classical_options(name, options)
    check_classical_task(name, task, loss)
    derived: dict[str, Any] = {"task": task} if task != "classify" else {}
    if task == "regress":
        derived["loss"] = REGRESSION_LOSSES[str(loss)]
    # scikit-learn takes seeds in [0, 2^32); any experiment seed maps into that range.
    return CLASSICAL_MODELS.factory(name)(**options, **derived, random_state=seed % 2**32)
