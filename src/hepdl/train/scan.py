"""Hyperparameter scans: a grid (Optuna's GridSampler) or an Optuna search (TPE), one study.

Each trial is one point of the search: it trains the config with the point's values as
``--set`` overrides once per seed (:func:`hepdl.train.run.train_experiment`, run
directories ``<out>/trials/<number>_<values>/seed=<seed>``) and records the run
directories, every test metric and the validation metric that chooses as user
attributes; its value is the mean over the seeds of the validation counterpart of
``metric`` (``selection``, :mod:`hepdl.train.selection`: ``val_auc`` for ``auc``, each
run's best epoch). The test metrics are reported beside it and never choose: no trial
value, no best point and no Optuna suggestion depends on the test rows. A trial whose
training raises is recorded as FAIL with the error, and the scan goes on.

Any task kind: ``metric`` defaults to the config's ``task.default_metric()`` (AUC for a
classifier, the relative resolution for a regression) and ``direction`` to the one its
task class gives the metric (``metric_direction``): maximised (AUC) or minimised (a
resolution); a metric best at 1 (a response) or 0 (a bias) is scanned by minimising the
distance to it, ``|mean - target|``, which is then the trials' value.

The study lives in ``<out>/study.db`` (SQLite) or at ``storage`` (a PostgreSQL URL that
several machines share); the same request joins or resumes the same study, and a grid
trains only the points no trial has finished or started.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hepdl.errors import ConfigError, DataError
from hepdl.paths import output_folder
from hepdl.train._scan_report import (
    DIVERGED_ATTR,
    ERROR_ATTR,
    INTERRUPTED,
    METRICS_ATTR,
    RUN_DIRS_ATTR,
    VALUES_ATTR,
    ScanRow,
    rows_from_trials,
    write_tables,
)
from hepdl.train._scan_space import (
    GridAxis,
    SearchParam,
    parse_grid,
    parse_param,
    point_config,
    run_name,
    short_text,
    to_param,
)

__all__ = [
    "GridAxis",
    "ScanRequest",
    "ScanResult",
    "SearchParam",
    "parse_grid",
    "parse_param",
    "run_scan",
    "short_text",
]

# Overrides applied before the user's --set: a scan prints one line per trial instead.
_SCAN_DEFAULTS = ("trainer.progress_bar=false",)


@dataclass
class ScanRequest:
    """A grid (``grid``) or an Optuna search of ``n_trials`` trials over ``params``.
    ``metric`` / ``direction`` None: the task's default metric and its better direction
    (``target``: minimise the distance to this value instead, e.g. 1 for a response)."""

    config_path: Path
    grid: list[GridAxis] = field(default_factory=list)
    params: list[SearchParam] = field(default_factory=list)
    n_trials: int | None = None
    seeds: int = 1
    overrides: list[str] = field(default_factory=list)
    out: Path | None = None
    storage: str | None = None
    study_name: str | None = None
    metric: str | None = None
    direction: Literal["maximize", "minimize"] | None = None
    kind: str = "scan"
    sampler_seed: int = 0
    target: float | None = None
    selection: str | None = None  # the validation metric that chooses (resolve_metric)

    def keys(self) -> list[str]:
        return [a.key for a in self.grid] + [p.key for p in self.params]

    def digest(self) -> str:
        """Eight hex digits naming this search: same request, same study and folder."""
        described = {
            "config": str(self.config_path.resolve()),
            "grid": [(a.key, a.choices()) for a in self.grid],
            "params": [(p.key, p.kind, p.low, p.high, p.choices) for p in self.params],
            "seeds": self.seeds,
            "overrides": self.overrides,
            "metric": self.metric,
            "direction": self.direction,
            "chooses_by": "validation",  # studies that ranked by test metrics are others
        }
        if self.target is not None:  # a study of |metric - target|: another study
            described["target"] = self.target
        text = json.dumps(described, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class ScanResult:
    out: Path
    study_name: str
    rows: list[ScanRow]
    n_complete: int
    n_failed: int
    best: ScanRow | None
    metric: str = "auc"  # the test metric reported (the task's default unless asked)
    direction: str = "maximize"
    selection: str = "val_auc"  # its validation counterpart, which chose ``best``


def _check_request(request: ScanRequest) -> None:
    if bool(request.grid) == bool(request.params):
        raise ConfigError("scan: give grid keys (--grid) or Optuna parameters (--param), not both")
    if request.params and (request.n_trials is None or request.n_trials < 1):
        raise ConfigError("scan: --param needs --optuna N, the number of trials (N >= 1)")
    if request.seeds < 1:
        raise ConfigError(f"scan: --seeds {request.seeds}; expected at least 1")
    keys = request.keys()
    if "seed" in keys:
        raise ConfigError("scan: vary the seed with --seeds N, not as a scan key")
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise ConfigError(f"scan: key {', '.join(repeated)} is given twice")


def _grid_points(grid: list[GridAxis]) -> list[dict[str, Any]]:
    import itertools

    return [
        dict(zip([a.key for a in grid], combo, strict=True))
        for combo in itertools.product(*(a.values for a in grid))
    ]


def validate_points(request: ScanRequest) -> Any:
    """Load the config of every grid point (or both ends of every Optuna range) before
    anything trains; returns the config without scan values (for its name, seed, output)."""
    path, overrides = request.config_path, request.overrides
    base = point_config(path, overrides=overrides, values={}, option="--set")
    for values in _grid_points(request.grid) if request.grid else []:
        point_config(path, overrides=overrides, values=values, option="--grid")
    for param in request.params:
        for value in param.ends():
            point_config(path, overrides=overrides, values={param.key: value}, option="--param")
    return base


# A task's metric_direction -> (the study's direction, the value a distance is taken to).
_DIRECTIONS: dict[str, tuple[str, float | None]] = {
    "max": ("maximize", None),
    "min": ("minimize", None),
    "one": ("minimize", 1.0),
    "zero": ("minimize", 0.0),
}


def resolve_metric(request: ScanRequest, base: Any) -> ScanRequest:
    """``request`` with its metric (``base.task.default_metric()`` when None), the
    validation metric that chooses (:func:`hepdl.train.selection.validation_metric`) and
    direction (the task class's ``metric_direction`` when None) filled in."""
    from hepdl.tasks import task_class
    from hepdl.train.selection import validation_metric

    metric = request.metric or base.task.default_metric()
    selection = validation_metric(metric, list(base.task.epoch_metrics(base.evaluate)))
    request = dataclasses.replace(request, metric=metric, selection=selection)
    if request.direction is not None:
        return request
    better = task_class(base.task.kind).metric_direction(metric)
    if better not in _DIRECTIONS:
        raise ConfigError(
            f"--metric '{metric}': a '{base.task.kind}' task does not say whether it is better "
            "high or low; give --direction maximize or --direction minimize"
        )
    direction, target = _DIRECTIONS[better]
    return dataclasses.replace(request, metric=metric, direction=direction, target=target)


def _score(request: ScanRequest, mean: float) -> float:
    """What the study optimises: the mean, or its distance to the request's target."""
    return mean if request.target is None else abs(mean - request.target)


def _refuse_diverged(trial: Any, result: Any, seed: int) -> None:
    """A diverged run (hepdl.tasks.divergence) fails its trial, so it is never ranked;
    the trial keeps why, for the table's ``diverged`` column."""
    from hepdl.tasks.divergence import DIVERGED_KEY, divergence_line

    diverged = result.metrics.get(DIVERGED_KEY)
    if not diverged:
        return
    record = {"seed": seed, **diverged, "run_dir": str(result.run_dir)}
    trial.set_user_attr(DIVERGED_ATTR, [*trial.user_attrs.get(DIVERGED_ATTR, []), record])
    raise DataError(f"{result.run_dir}: {divergence_line(result.metrics)}")


def _objective(
    request: ScanRequest, *, seeds: list[int], trials_dir: Path, report: Callable[[str], None]
) -> Callable[[Any], float]:
    from hepdl.train.run import train_experiment
    from hepdl.train.selection import best_validation_value

    assert request.selection is not None  # resolve_metric ran
    selection = request.selection

    def objective(trial: Any) -> float:
        import optuna

        # Another worker's trial holds this point: recorded as PRUNED, not trained again.
        if request.grid and _taken_by_another(trial):
            raise optuna.TrialPruned("every grid point is taken (by another worker)")
        if request.grid:
            picked = {a.key: trial.suggest_categorical(a.key, a.choices()) for a in request.grid}
            values = {a.key: a.value(picked[a.key]) for a in request.grid}
        else:
            values = {p.key: p.suggest(trial) for p in request.params}
        trial.set_user_attr(VALUES_ATTR, values)
        folder = trials_dir / run_name(trial.number, values)
        metrics: list[dict[str, Any]] = []
        run_dirs: list[str] = []
        for seed in seeds:
            try:
                config = point_config(
                    request.config_path,
                    overrides=[*_SCAN_DEFAULTS, *request.overrides, f"seed={seed}"],
                    values=values,
                    option="scan",
                )
                result = train_experiment(config, run_dir=folder / f"seed={seed}")
                _refuse_diverged(trial, result, seed)
                if request.metric not in result.metrics:
                    raise ConfigError(
                        f"--metric '{request.metric}' is not a test metric of this run; "
                        f"metrics: {', '.join(result.metrics)}"
                    )
                chosen_by = best_validation_value(
                    result.history,
                    selection,
                    direction=str(request.direction),
                    target=request.target,
                    source=str(result.run_dir),
                )
            except KeyboardInterrupt:  # FAIL for Optuna; the same command runs it again
                trial.set_user_attr(ERROR_ATTR, INTERRUPTED)
                raise
            except Exception as err:  # recorded as FAIL; the scan goes on (optimize's catch)
                message = f"seed {seed}: {type(err).__name__}: {err}"
                trial.set_user_attr(ERROR_ATTR, message)
                report(f"trial {trial.number} {values} FAILED: {message}")
                raise
            metrics.append({**result.metrics, selection: chosen_by})  # test + validation
            run_dirs.append(str(result.run_dir))
            trial.set_user_attr(METRICS_ATTR, metrics)
            trial.set_user_attr(RUN_DIRS_ATTR, run_dirs)
        value = sum(float(m[selection]) for m in metrics) / len(metrics)
        tested = sum(float(m[request.metric]) for m in metrics) / len(metrics)
        report(
            f"trial {trial.number} {values}: {selection} = {value:.4f} "
            f"(test {request.metric} = {tested:.4f}, reported only)"
        )
        return _score(request, value)

    return objective


def _taken_by_another(trial: Any) -> bool:
    """Whether GridSampler gave ``trial`` a point an earlier trial already holds (running,
    or finished and not interrupted): it does so once every point is taken, when several
    workers share the study. The earlier trial keeps the point; ties go to the lower number."""
    grid_id = trial.storage.get_trial_system_attrs(trial._trial_id).get("grid_id")
    if grid_id is None:  # a queued point (fixed values): always trained
        return False
    return any(
        other.number < trial.number
        and other.system_attrs.get("grid_id") == grid_id
        and other.state.name in ("RUNNING", "COMPLETE", "FAIL")
        and not _interrupted(other)
        for other in trial.study.get_trials(deepcopy=False)
    )


def _interrupted(trial: Any) -> bool:
    return trial.user_attrs.get(ERROR_ATTR) == INTERRUPTED


def _queue_interrupted(study: Any) -> int:
    """Queue again, with their values, the points whose trials were interrupted and never
    finished otherwise; returns how many trials wait in the queue."""
    trials = study.get_trials(deepcopy=False)
    # Finished, running or already queued (by another worker): not queued again.
    seen = {
        json.dumps(t.system_attrs.get("fixed_params", t.params), sort_keys=True)
        for t in trials
        if not _interrupted(t)
    }
    for trial in trials:
        key = json.dumps(trial.params, sort_keys=True)
        if _interrupted(trial) and key not in seen:
            study.enqueue_trial(trial.params)
            seen.add(key)
    return sum(t.state.name == "WAITING" for t in study.get_trials(deepcopy=False))


def _untaken_grid_points(study: Any, n_points: int) -> int:
    """Grid points no trial has taken (GridSampler stores ``grid_id`` on each trial)."""
    taken = {t.system_attrs.get("grid_id") for t in study.get_trials(deepcopy=False)}
    return n_points - len(taken & set(range(n_points)))


def _optuna_todo(study: Any, n_trials: int) -> int:
    """Trials to run for ``--optuna N``: N minus those finished (interrupted ones run again)."""
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    return max(0, n_trials - sum(not _interrupted(t) for t in finished))


def run_scan(request: ScanRequest, *, report: Callable[[str], None] | None = None) -> ScanResult:
    """Run (or join, or resume) the scan; writes results.csv, results.md, scan.json and,
    for a grid, heatmap.png into the scan directory."""
    import optuna

    from hepdl.train._scan_storage import default_storage, open_storage, shown_url

    say = report or (lambda _line: None)
    _check_request(request)
    base = validate_points(request)  # every mistake in a key or value, before training
    request = resolve_metric(request, base)
    name = request.study_name or f"{base.name}-{request.kind}-{request.digest()}"
    out = (request.out or Path(base.trainer.output_dir) / name).resolve()
    output_folder(out)  # a writable folder (the SQLite file lives there), or one error
    url = request.storage or default_storage(out)
    storage = open_storage(url)  # reachable, or one clear error before anything trains
    if request.grid:
        space = {a.key: a.choices() for a in request.grid}
        sampler: Any = optuna.samplers.GridSampler(space, seed=request.sampler_seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=request.sampler_seed)
    try:
        study = optuna.create_study(
            study_name=name,
            storage=storage,
            sampler=sampler,
            direction=request.direction,
            load_if_exists=True,
        )
    except ValueError as err:  # e.g. an existing study of that name optimises the other way
        raise ConfigError(f"--study-name {name}: cannot join the study: {err}") from None
    seeds = [base.seed + i for i in range(request.seeds)]
    objective = _objective(request, seeds=seeds, trials_dir=out / "trials", report=say)
    run = {"func": objective, "catch": (Exception,)}
    if request.grid:
        queued = _queue_interrupted(study)
        fresh = _untaken_grid_points(study, len(_grid_points(request.grid)))
        say(f"study '{name}' in {shown_url(url)}: {queued + fresh} point(s) to train")
        if queued:  # fixed values: any sampler; GridSampler would stop on its full grid
            plain = optuna.samplers.RandomSampler(seed=request.sampler_seed)
            again = optuna.load_study(study_name=name, storage=storage, sampler=plain)
            again.optimize(n_trials=queued, **run)
        if fresh:
            study.optimize(n_trials=fresh, **run)
    else:  # --optuna N; with several workers, each stops once N trials have completed
        todo = _optuna_todo(study, request.n_trials)
        say(f"study '{name}' in {shown_url(url)}: {todo} trial(s) to run")
        complete = (optuna.trial.TrialState.COMPLETE,)
        limit = optuna.study.MaxTrialsCallback(request.n_trials, states=complete)
        if todo:
            study.optimize(n_trials=todo, callbacks=[limit], **run)
    return _summarise(request, study, out=out, url=url)


def _summarise(request: ScanRequest, study: Any, *, out: Path, url: str) -> ScanResult:
    from hepdl.train._scan_heatmap import plot_heatmap
    from hepdl.train._scan_storage import shown_url

    trials = study.get_trials(deepcopy=False)
    rows = rows_from_trials(trials)
    if request.grid:  # the grid's own order, not the order the trials ran in
        rows.sort(
            key=lambda r: [a.choices().index(to_param(r.values[a.key])) for a in request.grid]
        )
    states = [t.state.name for t in trials if not _interrupted(t)]
    chooser = str(request.selection)  # the validation metric; the test metric never chooses
    scored = [r for r in rows if r.mean(chooser) is not None]
    pick = max if request.direction == "maximize" else min
    best = pick(scored, key=lambda r: _score(request, r.mean(chooser))) if scored else None
    summary = {
        "kind": request.kind,
        "config": str(request.config_path),
        "study_name": study.study_name,
        "storage": shown_url(url),
        "metric": request.metric,
        "chooses_by": chooser,
        "direction": request.direction,
        **({} if request.target is None else {"target": request.target}),
        "keys": request.keys(),
        "seeds": request.seeds,
        "overrides": request.overrides,
        "n_complete": states.count("COMPLETE"),
        "n_failed": states.count("FAIL"),
        "best": None
        if best is None
        else {
            "values": best.values,
            "mean": best.mean(chooser),
            "test_mean": best.mean(request.metric),
        },
    }
    metrics = [chooser, request.metric]
    write_tables(out, rows, keys=request.keys(), first=metrics, summary=summary)
    if request.grid and scored and request.kind == "scan":  # a learning curve plots its own
        plot_heatmap(
            rows,
            keys=request.keys(),
            metric=chooser,
            direction=request.direction,
            target=request.target,
            path=out / "heatmap.png",
        )
    return ScanResult(
        out=out,
        study_name=study.study_name,
        rows=rows,
        n_complete=summary["n_complete"],
        n_failed=summary["n_failed"],
        best=best,
        metric=request.metric,
        direction=request.direction,
        selection=chooser,
    )
