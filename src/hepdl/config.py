"""The typed experiment config: one YAML file with sections data, model, task, trainer, evaluate.

Loading validates every key: an unknown key or a wrong type raises ConfigError naming the
key path (``trainer.max_epochs``) and the closest valid key. Model and representation
options are checked against the signature of the registered factory.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from hepdl.config_yaml import check_document, load_yaml, read_yaml_file
from hepdl.errors import ConfigError
from hepdl.limits import MAX_NAME, MAX_PARTICLES, SEED_MAX
from hepdl.text import did_you_mean, short_repr
from hepdl.trainer_checks import ACCELERATORS, PRECISIONS, STRATEGIES, device_request


def _scalar_kind(annotation: Any) -> type | None:
    """bool, int or float when ``annotation`` is that type (or it | None), else None."""
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    if len(args) == 1 and args[0] in (bool, int, float):
        return args[0]
    return None


class _Section(BaseModel):
    # allow_inf_nan=False: `lr: .inf` or `pt_min: .nan` is an error, never a silent NaN run.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _strict_scalars(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic's lax mode reads `batch_norm: 1` and `standardize: "yes"` as True and
        # `max_epochs: true` as 1; a boolean is true or false, a number is a number.
        field = cls.model_fields.get(info.field_name or "")
        kind = _scalar_kind(field.annotation) if field is not None else None
        if kind is None or value is None:
            return value
        if kind is bool and not isinstance(value, bool):
            raise ValueError("expected true or false")
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError("expected an integer")
        if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError("expected a number")
        return value


class GenerateSource(_Section):
    """Make the sample with Pythia 8 + FastJet; cached by its settings for the next run.

    ``sample`` is a registered sample (``hepdl datasets``) or jet processes joined by
    commas; the window settings left out take the sample's defaults.
    """

    sample: str = "top-vs-qcd"
    jets_per_class: int = Field(2000, ge=1)
    seed: int = Field(1, ge=1, le=SEED_MAX)
    jet_radius: float | None = Field(None, gt=0)
    pt_min: float | None = Field(None, gt=0)
    pt_max: float | None = Field(None, gt=0)
    eta_max: float | None = Field(None, gt=0)
    rapidity_max: float | None = Field(None, gt=0)
    pythia_settings: list[str] = Field(default_factory=list)
    detector: bool = False  # the CMS-like detector response of hepdl.generate.detector
    pileup_mean: float = Field(0.0, ge=0)  # Poisson(pileup_mean) collisions on each event
    # Or, per event, mu drawn uniformly in [low, high], then Poisson(mu) collisions.
    pileup_range: tuple[float, float] | None = None
    # > 0: draw the pile-up from this many minimum-bias events generated once per chunk
    pileup_library: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _a_window(self) -> GenerateSource:
        if self.pt_min is not None and self.pt_max is not None and self.pt_min >= self.pt_max:
            raise ValueError(
                f"data.generate.pt_min ({self.pt_min:g}) must be below data.generate.pt_max "
                f"({self.pt_max:g}): no jet falls in an empty pT window"
            )
        return self

    @model_validator(mode="after")
    def _one_pileup(self) -> GenerateSource:
        if self.pileup_library and not (self.pileup_mean > 0 or self.pileup_range):
            raise ValueError(
                "data.generate.pileup_library draws the pile-up from a library of "
                "minimum-bias events: give data.generate.pileup_mean or pileup_range too"
            )
        if self.pileup_range is not None:
            low, high = self.pileup_range
            if self.pileup_mean > 0:
                raise ValueError(
                    "data.generate.pileup_mean and data.generate.pileup_range: give one, not "
                    "both (a fixed mean, or a range of means drawn per event)"
                )
            if not 0 <= low <= high:
                raise ValueError(
                    f"data.generate.pileup_range must be [low, high] with 0 <= low <= high, "
                    f"got {list(self.pileup_range)}"
                )
        return self

    @field_validator("sample")
    @classmethod
    def _known_sample(cls, value: str) -> str:
        from hepdl.errors import GenerationError
        from hepdl.generate.recipes import resolve_sample

        try:
            return resolve_sample(value).name
        except GenerationError as err:
            raise ValueError(str(err)) from None

    def settings_options(self) -> dict[str, Any]:
        """Keyword arguments of ``hepdl.generate.SampleSettings`` (None: sample default)."""
        from hepdl.generate.detector import DetectorSettings

        options = self.model_dump(exclude={"sample", "jets_per_class"})
        options["pythia_settings"] = tuple(options["pythia_settings"])
        options["detector"] = DetectorSettings() if self.detector else None
        return {"rows_per_class": self.jets_per_class, **options}


class _NamedFactory(BaseModel):
    """``name`` of a registered factory; every other key is one of its options, checked
    against the factory's signature when the config is loaded."""

    model_config = ConfigDict(extra="allow")
    name: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RepresentationConfig(_NamedFactory):
    name: str = "substructure"


class SplitConfig(_Section):
    train: float = Field(0.6, gt=0, lt=1)
    val: float = Field(0.2, gt=0, lt=1)
    test: float = Field(0.2, gt=0, lt=1)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    # a validation or test split with fewer rows is refused (its metrics would be noise),
    # as is one without a row of every class
    min_rows: int = Field(20, ge=1)

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitConfig:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"train + val + test must be 1, got {total:g}")
        return self


class ReweightConfig(_Section):
    """Per-row training weights that flatten each class's spectrum of ``column`` (e.g.
    ``jet_pt``), so a classifier cannot learn it; ``match_to`` (a class name) reweights the
    other classes to that class's spectrum instead. Fitted on the training split."""

    column: str
    bins: int | list[float] = 20
    match_to: str | None = None
    normalize: Literal["count", "balanced"] = "count"


class StreamingConfig(_Section):
    """Stream ``data.files`` chunk by chunk instead of loading them (files larger than
    memory). Validation and test rows come from ``val_files`` and ``test_files``."""

    val_files: list[str]
    test_files: list[str]
    chunk_rows: int = Field(4096, ge=1)
    buffer_chunks: int = Field(4, ge=1)  # rows shuffled together: chunk_rows x buffer_chunks
    workers: int = Field(0, ge=0)  # DataLoader worker processes
    cache: bool = True  # computed representations kept on disk for the next epoch and run
    fit_rows: int = Field(50_000, ge=1)  # first training rows fitting standardize/reweight


class ParticleLayoutConfig(_Section):
    """Constituents stored as zero-padded flat columns (LHC Olympics: 700 x (pT, eta, phi)),
    read into the jagged ``part_*`` columns; slots with pT == 0 are padding and dropped.
    ``order``: particle-major (pt_0, eta_0, phi_0, pt_1, ...) or field-major (pt_0, pt_1,
    ..., eta_0, ...). ``columns``: the flat columns in file order; default: the columns
    named ``{field}_{i}`` when the file has them, else every column but the label column."""

    fields: list[str]
    max_particles: int = Field(ge=1, le=MAX_PARTICLES)  # hepdl.limits
    order: Literal["particle-major", "field-major"] = "particle-major"
    columns: list[str] | None = None


class JetClusteringConfig(_Section):
    """Rows that are whole events clustered into jets when read (FastJet, E-scheme): the
    leading jet becomes the row's ``part_*``/``jet_*`` columns, and the leading ``jets``
    jets give event-level columns ``jet1_pt, jet1_mass, jet1_tau21, ..., mjj``."""

    algorithm: Literal["antikt", "kt", "cambridge"] = "antikt"
    radius: float = Field(1.0, gt=0)
    min_pt: float = Field(0.0, ge=0)  # GeV; softer jets are dropped
    jets: int = Field(2, ge=1)  # leading jets kept per event


class DataConfig(_Section):
    """Where the jets come from (exactly one of files, class_files, generate) and how to
    turn them into network inputs."""

    files: list[str] = Field(default_factory=list)
    class_files: dict[str, list[str]] = Field(default_factory=dict)
    generate: GenerateSource | None = None
    # the reader whatever the extension ("auto": by extension, .csv.gz etc. included)
    format: Literal["auto", "parquet", "csv", "hdf5", "root", "npz", "npy"] = "auto"
    # names of the columns of a CSV file without a header line, in file order
    column_names: list[str] | None = None
    tree: str | None = None
    key: str | None = None
    # {JetClass name: column of the file}, e.g. {jet_pt: FatJet_pt}; or a known layout
    # (auto: applied only when a file's columns match one exactly; null: the file's names).
    columns: dict[str, str] | None = None
    preset: Literal["auto", "top-landscape", "jetclass", "energyflow-qg"] | None = "auto"
    label_column: str = "label"
    classes: list[str] | None = None
    signal_class: str | None = None
    # more distinct labels than this: an id column (particle ids, event numbers), refused
    max_classes: int = Field(100, ge=2)
    representation: RepresentationConfig = Field(default_factory=RepresentationConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    standardize: bool = True
    reweight: ReweightConfig | None = None
    streaming: StreamingConfig | None = None
    # rows per batch, or a percentage of the training rows used: "1%" (at least one row)
    batch_size: int | str = 256
    # only this many training rows: a seeded, class-stratified subset of the training
    # split, so validation and test stay the same across sizes (learning curves); null: all
    train_size: int | None = Field(None, ge=1)
    # A given split: data.files are the training rows, these the validation and test rows.
    val_files: list[str] = Field(default_factory=list)
    test_files: list[str] = Field(default_factory=list)
    # Labels / per-row weights from a .npy or .npz array beside each feature file, one value
    # per row; "{stem}" stands for the feature file's name without its extensions.
    labels_file: str | None = None
    weights_file: str | None = None
    particle_layout: ParticleLayoutConfig | None = None
    jet_clustering: JetClusteringConfig | None = None
    # Refuse rows whose constituents spread far beyond a jet (whole events) for the
    # constituent representations; false: treat each row as one jet regardless.
    event_check: bool = True

    @field_validator("label_column", "signal_class", mode="before")
    @classmethod
    def _integer_name(cls, value: Any) -> Any:
        # pandas writes integer column names (2100) and integer labels name their classes
        # ("1"); YAML reads `label_column: 2100` or `signal_class: 1` as numbers
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("batch_size", mode="before")
    @classmethod
    def _rows_or_percent(cls, value: Any) -> int | str:
        import re

        if isinstance(value, str) and re.fullmatch(r"\s*(\d+\.?\d*|\.\d+)\s*%\s*", value):
            if not 0 < float(value.strip().rstrip("%")) <= 100:
                raise ValueError("a percentage batch size must be in (0%, 100%]")
            return value.replace(" ", "")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        raise ValueError(
            "expected a number of rows >= 1 or a percentage of the training rows, '1%'"
        )

    def batch_rows(self, train_rows: int) -> int:
        """Rows per batch for ``train_rows`` training rows: ``batch_size``, or its
        percentage p of them, max(1, round(p / 100 * train_rows))."""
        if isinstance(self.batch_size, int):
            return self.batch_size
        percent = float(self.batch_size.rstrip("%"))
        return max(1, int(percent / 100 * train_rows + 0.5))

    @model_validator(mode="after")
    def _streaming_counts_no_rows(self) -> DataConfig:
        if self.streaming is not None and (
            self.train_size is not None or isinstance(self.batch_size, str)
        ):
            raise ValueError(
                "data.streaming never holds the training rows, so it cannot take data.train_size "
                "or a percentage data.batch_size; give a number of rows per batch"
            )
        return self

    @model_validator(mode="after")
    def _given_split_and_side_files(self) -> DataConfig:
        given = [n for n in ("val_files", "test_files") if getattr(self, n)]
        if given and len(given) != 2:
            raise ValueError(
                "a given split needs both data.val_files and data.test_files (data.files are "
                f"the training rows); got only data.{given[0]}"
            )
        if given and not self.files:
            raise ValueError("data.val_files and data.test_files split data.files: give data.files")
        if given and self.streaming is not None:
            raise ValueError(
                "data.streaming has its own val_files and test_files: drop data.val_files and "
                "data.test_files"
            )
        for key in ("labels_file", "weights_file"):
            if getattr(self, key) is not None and not self.files:
                raise ValueError(f"data.{key} gives the arrays of data.files: give data.files")
        if self.labels_file is not None and self.class_files:
            raise ValueError("data.labels_file and data.class_files both give labels; give one")
        return self

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        given = [n for n in ("files", "class_files", "generate") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one source of jets: data.files (labels from a column), "
                f"data.class_files (one file per class) or data.generate; got {given or 'none'}"
            )
        if self.streaming is not None and not self.files:
            raise ValueError(
                "data.streaming streams data.files (the training rows); give data.files"
            )
        if self.streaming is not None and self.columns:
            raise ValueError("data.streaming reads the files' own column names: drop data.columns")
        if self.columns and self.preset not in (None, "auto"):
            raise ValueError(
                f"data.columns and data.preset '{self.preset}' both rename the file's columns; "
                "give one of them"
            )
        return self


class ModelConfig(_NamedFactory):
    name: str = "mlp"


class ScheduleConfig(_Section):
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


class TaskSection(_Section):
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


class EarlyStoppingConfig(_Section):
    # A metric the task logs per epoch (checked against the task at load); it also picks
    # the best checkpoint.
    monitor: str = "val_loss"
    mode: Literal["min", "max"] | None = None  # default: the metric's better direction
    patience: int = Field(5, ge=1)
    min_delta: float = Field(0.0, ge=0)


class TrainerConfig(_Section):
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


class EvaluateConfig(_Section):
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


class ExperimentConfig(_Section):
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
