"""The typed experiment config: one YAML file with sections data, model, task, trainer, evaluate.

Loading validates every key: an unknown key or a wrong type raises ConfigError naming the
key path (``trainer.max_epochs``) and the closest valid key. Model and representation
options are checked against the signature of the registered factory.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

# The data section lives in its own module; its names stay importable from here.
from hepdl.config_data import DataConfig as DataConfig
from hepdl.config_data import GenerateSource as GenerateSource
from hepdl.config_data import JetClusteringConfig as JetClusteringConfig
from hepdl.config_data import NamedFactory, Section
from hepdl.config_data import ParticleLayoutConfig as ParticleLayoutConfig
from hepdl.config_data import RepresentationConfig as RepresentationConfig
from hepdl.config_data import ReweightConfig as ReweightConfig
from hepdl.config_data import SplitConfig as SplitConfig
from hepdl.config_data import StreamingConfig as StreamingConfig
from hepdl.config_yaml import check_document, load_yaml, read_yaml_file
from hepdl.errors import ConfigError
from hepdl.limits import MAX_NAME, SEED_MAX
from hepdl.text import did_you_mean, short_repr
from hepdl.trainer_checks import ACCELERATORS, PRECISIONS, STRATEGIES, device_request


class ModelConfig(NamedFactory):
    name: str = "mlp"


class ScheduleConfig(Section):
    """Learning-rate schedule (hepdl.tasks._optim): ``name`` and its options, and/or a
    linear warm-up over ``warmup_epochs`` or ``warmup_steps`` from ``warmup_start_factor``."""

    name: Literal["step", "exponential", "cosine", "one-cycle", "plateau"] | None = None
    step_size: int | None = Field(None, ge=1)  # step: epochs between decays
    gamma: float | None = Field(None, gt=0)  # step (default 0.1), exponential: decay per epoch
    min_lr: float | None = Field(None, ge=0)  # cosine: the lr at trainer.max_epochs (default 0)
    max_lr: float | None = Field(None, gt=0)  # one-cycle: the peak (default task.lr)
    pct_start: float | None = Field(None, gt=0, lt=1)  # one-cycle: rising share (default 0.3)
    factor: float | None = Field(None, gt=0, lt=1)  # plateau: lr multiplier (default 0.1)
    patience: int | None = Field(None, ge=0)  # plateau: epochs without gain (default 10)
    monitor: str | None = None  # plateau: metric (default val_loss)
    mode: Literal["min", "max"] | None = None  # plateau: default min for *loss, else max
    warmup_epochs: int | None = Field(None, ge=1)
    warmup_steps: int | None = Field(None, ge=1)
    warmup_start_factor: float | None = Field(None, gt=0, le=1)  # default 0.01

    @model_validator(mode="after")
    def _consistent(self) -> ScheduleConfig:
        from hepdl.tasks import check_schedule  # torch: only when a schedule is given

        check_schedule(self.model_dump())
        return self


class TaskSection(Section):
    """What every task kind's section holds: ``kind`` (a registered task, ``hepdl.tasks``)
    and the optimisation settings all tasks share. Each kind subclasses it with its own
    keys (loss, targets, ...) in its task file; ``ExperimentConfig.task`` is validated
    against the class of the kind given."""

    kind: str = "classify"
    optimizer: Literal["sgd", "adam", "adamw", "rmsprop"] = "adam"
    lr: float = Field(1e-3, gt=0)
    momentum: float = Field(0.0, ge=0, lt=1)  # sgd, rmsprop
    nesterov: bool = False  # sgd
    weight_decay: float = Field(0.0, ge=0)  # L2 penalty; decoupled for adamw
    schedule: ScheduleConfig | None = None
    gradient_clip: float | None = Field(None, gt=0)  # null: off
    gradient_clip_algorithm: Literal["norm", "value"] = "norm"

    def optimizer_options(self) -> dict[str, Any]:
        """The shared optimisation keys, as ``hepdl.tasks.TaskBase`` takes them."""
        return self.model_dump(include=set(TaskSection.model_fields) - {"kind"})

    def options(self) -> dict[str, Any]:
        """This kind's own keys (loss, targets, ...), as its task class takes them."""
        return self.model_dump(exclude=set(TaskSection.model_fields))

    def check_head(self, model_options: dict[str, Any], data: DataConfig) -> None:
        """ConfigError when the model's output options contradict what the task needs,
        where the config alone tells (e.g. the classes of a generated sample); the check
        with the data's own classes runs again when the data is read. Default: nothing."""

    @abstractmethod
    def epoch_metrics(self, evaluate: EvaluateConfig) -> dict[str, str | None]:
        """Every metric the task logs per epoch, with the direction that is better ("min",
        "max", or None for one that cannot rank, like the learning rate)."""

    @abstractmethod
    def default_metric(self) -> str:
        """The test metric (a key of metrics.json) that ranks runs of this kind, and its
        direction: hepdl scan's default ``--metric``."""


def _task_section(value: Any) -> Any:
    """The raw ``task`` mapping validated as the section of its ``kind``."""
    if isinstance(value, TaskSection) or not isinstance(value, dict):
        return value
    from hepdl.tasks import task_config_class  # the task registry: torch, lazily

    kind = value.get("kind", "classify")
    if not isinstance(kind, str):
        raise ValueError(f"task.kind must be the name of a task kind, got {short_repr(kind)}")
    try:
        section = task_config_class(kind)
    except ConfigError as err:
        # "unknown task 'x' (did you mean 'y'?); valid tasks: ..." -> names the key
        detail = str(err).removeprefix("unknown task ").removeprefix(repr(str(kind)))
        raise ValueError(f"task.kind {short_repr(kind)} is not a task kind{detail}") from None
    return section.model_validate(value)


class EarlyStoppingConfig(Section):
    # A metric the task logs per epoch (checked against the task at load); it also picks
    # the best checkpoint.
    monitor: str = "val_loss"
    mode: Literal["min", "max"] | None = None  # default: the metric's better direction
    patience: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0)


class TrainerConfig(Section):
    max_epochs: int = Field(20, ge=1)
    early_stopping: EarlyStoppingConfig | None = Field(default_factory=EarlyStoppingConfig)
    # Lightning's choices (hepdl.trainer_checks); devices: a number, indices "0,1", -1
    # (all) or auto, refused when the run starts if this machine has fewer.
    accelerator: Literal[ACCELERATORS] = "auto"  # type: ignore[valid-type]
    devices: int | str = "auto"
    # Lightning's strategy name (auto, ddp, ddp_spawn, fsdp, ...) and the number of machines;
    # processes per machine = devices (docs/distributed.md).
    strategy: str = "auto"
    num_nodes: int = Field(1, ge=1)
    precision: Literal[PRECISIONS] = "32-true"  # type: ignore[valid-type]
    deterministic: bool = True
    progress_bar: bool = True
    output_dir: str = "runs"
    # Optimizer steps per Lightning training call, like Keras's steps_per_execution: a
    # group of batches pays Lightning's per-call bookkeeping once (hepdl.train.loaders).
    # "auto": up to 16 small batches in memory on one process, else 1 (DDP's gradient
    # sync and streamed data need one step per call; hepdl.train._fit).
    steps_per_execution: int | Literal["auto"] = "auto"
    # BatchNorm running statistics of the evaluated weights recomputed over this many
    # training batches before the test (PreciseBN, hepdl.train._precise_bn); 0: keep the
    # running averages of training.
    recalibrate_batchnorm: int = Field(200, ge=0)

    @field_validator("devices")
    @classmethod
    def _device_forms(cls, value: int | str) -> int | str:
        device_request(value)  # ValueError naming the forms Lightning takes
        return value

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(
                f"unknown strategy {short_repr(value)}{did_you_mean(value, STRATEGIES)}; "
                f"valid strategies: {', '.join(STRATEGIES)}"
            )
        return value

    @field_validator("precision", mode="before")
    @classmethod
    def _precision_text(cls, value: Any) -> Any:
        # YAML reads `precision: 16` as a number; Lightning takes 16, 32, 64 as "16", ...
        if isinstance(value, int) and not isinstance(value, bool) and value in (16, 32, 64):
            return str(value)
        return value

    @field_validator("steps_per_execution")
    @classmethod
    def _positive_steps(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError(f"must be >= 1 or 'auto', got {value}")
        return value


class EvaluateConfig(Section):
    # signal efficiencies at which the background rejection is quoted, each in (0, 1)
    signal_efficiencies: list[Annotated[float, Field(gt=0, lt=1)]] = Field(
        default_factory=lambda: [0.3, 0.5]
    )
    plots: bool = True
    # Stratified bootstrap resamples of the test set for the AUC's and the rejections'
    # errors (metrics.json "uncertainties"); 0 turns the bootstrap off.
    bootstrap: int = Field(200, ge=0)

    @field_validator("bootstrap")
    @classmethod
    def _enough_resamples(cls, value: int) -> int:
        if value == 1:  # one resample has no spread
            raise ValueError("expected 0 (off) or at least 2 resamples, got 1")
        return value


class ExperimentConfig(Section):
    # the run directory is <trainer.output_dir>/<name>-<time>: a name, never a path
    name: str = "experiment"
    seed: int = Field(42, ge=0, le=SEED_MAX)  # numpy's seeds: 0 .. 2**32 - 1
    data: DataConfig
    model: ModelConfig = Field(default_factory=ModelConfig)
    # The section of the registered task ``task.kind`` (classify when omitted).
    task: SerializeAsAny[TaskSection] = Field(default_factory=lambda: _task_section({}))
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)

    _task = field_validator("task", mode="before")(_task_section)

    @field_validator("name")
    @classmethod
    def _a_name(cls, value: str) -> str:
        if not value.strip() or value in (".", "..") or any(c in value for c in "/\\\0"):
            raise ValueError(
                "expected a run name (the run directory is trainer.output_dir/<name>-<time>), "
                "not empty, '.', '..' or with '/', '\\' or a NUL character; put the folder "
                "in trainer.output_dir"
            )
        if len(value) > MAX_NAME:
            raise ValueError(
                f"expected a run name of at most {MAX_NAME} characters (the run folder "
                f"<name>-<time> must fit a file name), got {len(value)} characters"
            )
        return value

    @model_validator(mode="after")
    def _monitors_the_task_logs(self) -> ExperimentConfig:
        _check_task_metrics(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


# ----------------------------------------------------------------------------- loading


def _section_fields(model: type[BaseModel], path: tuple[str | int, ...]) -> list[str]:
    """The valid keys at ``path`` below ``model`` (for 'did you mean')."""
    current: Any = model
    for part in path:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = current.model_fields.get(str(part))
        if field is None:
            return []
        current = field.annotation
        for arg in getattr(current, "__args__", ()):  # unwrap X | None
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                current = arg
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _task_kind_fields(raw: Any) -> tuple[type[BaseModel] | None, dict[str, str]]:
    """The section class of the raw config's task kind (None if it is not registered) and,
    for each key of another kind, that kind (a hint when a key is given under the wrong one)."""
    from hepdl.tasks import list_tasks, task_config_class

    task = raw.get("task") if isinstance(raw, dict) else None
    kind = task.get("kind", "classify") if isinstance(task, dict) else "classify"
    owners: dict[str, str] = {}
    for other in list_tasks():
        for key in task_config_class(other).model_fields:
            owners.setdefault(key, other)
    section = task_config_class(kind) if kind in list_tasks() else None
    return section, owners


def _explain(error: ValidationError, source: str, raw: Any = None) -> ConfigError:
    first = error.errors()[0]
    loc = tuple(first["loc"])
    key = (
        ".".join(short_repr(p) if not isinstance(p, str) else p[:80] for p in loc) or "(top level)"
    )
    if first["type"] == "extra_forbidden":
        valid = _section_fields(ExperimentConfig, loc[:-1])
        hint = did_you_mean(str(loc[-1]), valid)
        if loc[0] == "task" and len(loc) == 2:  # the keys of the kind given, not the base's
            section, owners = _task_kind_fields(raw)
            if section is not None:  # kind, then the kind's own keys, then the shared ones
                shared = [k for k in TaskSection.model_fields if k != "kind"]
                own = [k for k in section.model_fields if k not in shared and k != "kind"]
                valid = ["kind", *own, *shared]
            hint = did_you_mean(str(loc[-1]), valid)
            owner = owners.get(str(loc[-1]))
            if owner is not None and not hint:
                hint = f" (it is a key of task kind '{owner}')"
        where = ".".join(str(p) for p in loc[:-1]) or "the top level"
        return ConfigError(
            f"{source}: unknown config key '{key}'{hint}; valid keys in {where}: {', '.join(valid)}"
        )
    message = first["msg"].removeprefix("Value error, ")
    # A check across sections, or one whose message names its own keys ("task.quantiles
    # needs ..."): the message alone reads best.
    if first["type"] == "value_error" and (not loc or message.startswith(f"{key}.")):
        return ConfigError(f"{source}: {message}")
    given = first.get("input")
    shown = short_repr(given)
    got = "" if isinstance(given, dict) or shown in message else f" (got {shown})"
    if first["type"] == "string_type" and isinstance(given, int | float):
        got += f"; YAML reads {given!r} as a number: quote it, '{given}', to give the name"
    return ConfigError(f"{source}: config key '{key}': {message}{got}")


def _check_monitor(name: str, metrics: dict[str, str | None], *, key: str, kind: str) -> str:
    """The better direction of ``name``, or ConfigError naming ``key`` when the task does not
    log it or it cannot rank (the learning rate)."""
    ranked = [m for m, direction in metrics.items() if direction is not None]
    if name not in ranked:
        raise ConfigError(
            f"{key} '{name}' is never logged by task kind '{kind}'{did_you_mean(name, ranked)}; "
            f"it logs: {', '.join(ranked)}"
        )
    return str(metrics[name])


def _check_task_metrics(config: ExperimentConfig) -> None:
    """Every monitor names a metric the chosen task logs; an early-stopping mode left out
    becomes that metric's better direction."""
    metrics = config.task.epoch_metrics(config.evaluate)
    kind = config.task.kind
    stopping = config.trainer.early_stopping
    if stopping is not None:
        key = "trainer.early_stopping.monitor"
        direction = _check_monitor(stopping.monitor, metrics, key=key, kind=kind)
        if stopping.mode is None:
            stopping.mode = direction  # type: ignore[assignment]
    schedule = config.task.schedule
    if schedule is not None and schedule.name == "plateau" and schedule.monitor is not None:
        _check_monitor(schedule.monitor, metrics, key="task.schedule.monitor", kind=kind)


def _check_standardize(data: DataConfig) -> None:
    """data.standardize scales flat feature columns; a representation of images, sequences
    or point clouds (no ``flat_features``) is refused before any data is read."""
    from hepdl.data.representations import REPRESENTATIONS, provided_arrays

    name = data.representation.name
    factory = REPRESENTATIONS.factory(name)
    declared = getattr(factory, "provides", None)
    if not data.standardize or declared is None or getattr(factory, "flat_features", False):
        return
    arrays = provided_arrays(name, data.representation.options()) or ()
    raise ConfigError(
        f"data.standardize: true scales flat feature columns (N, F), but representation "
        f"'{name}' gives {', '.join(arrays)}; set data.standardize: false (images, sequences "
        "and point clouds are normalised by the representation and the models)"
    )


def _check_registered_options(config: ExperimentConfig, source: str) -> None:
    from hepdl.data import representations
    from hepdl.models import check_model_options
    from hepdl.models.classical import (
        check_classical_options,
        check_classical_task,
        is_classical,
    )

    derived = {"in_features"}  # set from the data by the trainer
    try:
        if is_classical(config.model.name):
            check_classical_options(config.model.name, config.model.options())
            loss = getattr(config.task, "loss", None)
            check_classical_task(config.model.name, config.task.kind, loss)
        else:
            check_model_options(
                config.model.name, config.model.options(), where="model", derived=derived
            )
            for key in derived & set(config.model.options()):
                raise ConfigError(f"model.{key} is set from the data; remove it from the config")
            config.task.check_head(config.model.options(), config.data)
        registry = representations.REPRESENTATIONS
        name, options = config.data.representation.name, config.data.representation.options()
        registry.check_options(name, options, where="data.representation")
        registry.check_values(name, options, where="data.representation")
        # building one reads no data (choices, feature names: the representation's checks)
        registry.create(name, **options)
        _check_standardize(config.data)
        if not is_classical(config.model.name):
            from hepdl.models.inputs import check_model_fits_representation

            check_model_fits_representation(
                config.model.name,
                config.data.representation.name,
                config.data.representation.options(),
            )
    except ConfigError as err:
        raise ConfigError(f"{source}: {err}") from None


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"trainer.max_epochs=5"`` -> (["trainer", "max_epochs"], 5); values are YAML."""
    if "=" not in text:
        raise ConfigError(f"--set {text!r}: expected KEY.PATH=VALUE, e.g. trainer.max_epochs=5")
    key, value = text.split("=", 1)
    path = [p for p in key.strip().split(".") if p]
    if not path:
        raise ConfigError(f"--set {text!r}: the key before '=' is empty")
    return path, load_yaml(value, source=f"--set {short_repr(key.strip())}")


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``raw`` with each ``KEY.PATH=VALUE`` set (missing sections are created)."""
    result = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[path[-1]] = value
    return result


def config_from_dict(raw: dict[str, Any], *, source: str = "config") -> ExperimentConfig:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping with sections data, model, task, ...")
    check_document(raw, source=source)
    try:
        config = ExperimentConfig.model_validate(raw)
    except ValidationError as err:
        raise _explain(err, source, raw) from None
    _check_registered_options(config, source)
    return config


def load_config(path: str | Path, *, overrides: list[str] | None = None) -> ExperimentConfig:
    """Read a YAML experiment file, apply ``--set`` overrides, validate."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    raw = read_yaml_file(path) or {}
    config = config_from_dict(apply_overrides(raw, overrides or []), source=str(path))
    return resolve_paths(config, base=Path.cwd())


def resolve_paths(config: ExperimentConfig, *, base: Path) -> ExperimentConfig:
    """Make data file paths absolute, relative to ``base`` (where the command runs)."""

    def absolute(p: str) -> str:
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    data = config.data
    data.files = [absolute(p) for p in data.files]
    data.class_files = {c: [absolute(p) for p in ps] for c, ps in data.class_files.items()}
    data.val_files = [absolute(p) for p in data.val_files]
    data.test_files = [absolute(p) for p in data.test_files]
    for key in ("labels_file", "weights_file"):  # "{stem}" survives: only the folder is added
        if getattr(data, key) is not None:
            setattr(data, key, absolute(getattr(data, key)))
    return config


def save_config(config: ExperimentConfig, path: Path) -> None:
    """Write ``config`` as YAML to ``path`` atomically, never through a link (hepdl.atomic)."""
    from hepdl.atomic import write_text

    write_text(path, yaml.safe_dump(config.to_dict(), sort_keys=False))
