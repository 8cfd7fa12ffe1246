"""The data section of the experiment config (``data``: files, generation, representation,
split, streaming, read-time layouts) and the base every config section shares: unknown keys
refused, scalars strict, numbers finite. ``hepdl.config`` holds the rest and re-exports
these names."""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from hepdl.limits import MAX_PARTICLES, SEED_MAX


def _scalar_kind(annotation: Any) -> type | None:
    """bool, int or float when ``annotation`` is that type (or it | None), else None."""
    args = [a for a in get_args(annotation) if a is not type(None)] or [annotation]
    if len(args) == 1 and args[0] in (bool, int, float):
        return args[0]
    return None


class Section(BaseModel):
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


class GenerateSource(Section):
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


class NamedFactory(BaseModel):
    """``name`` of a registered factory; every other key is one of its options, checked
    against the factory's signature when the config is loaded."""

    model_config = ConfigDict(extra="allow")
    name: str

    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class RepresentationConfig(NamedFactory):
    name: str = "substructure"


class SplitConfig(Section):
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


class ReweightConfig(Section):
    """Per-row training weights that flatten each class's spectrum of ``column`` (e.g.
    ``jet_pt``), so a classifier cannot learn it; ``match_to`` (a class name) reweights the
    other classes to that class's spectrum instead. Fitted on the training split."""

    column: str
    bins: int | list[float] = 20
    match_to: str | None = None
    normalize: Literal["count", "balanced"] = "count"


class StreamingConfig(Section):
    """Stream ``data.files`` chunk by chunk instead of loading them (files larger than
    memory). Validation and test rows come from ``val_files`` and ``test_files``."""

    val_files: list[str]
    test_files: list[str]
    chunk_rows: int = Field(4096, ge=1)
    buffer_chunks: int = Field(4, ge=1)  # rows shuffled together: chunk_rows x buffer_chunks
    workers: int = Field(0, ge=0)  # DataLoader worker processes
    cache: bool = True  # computed representations kept on disk for the next epoch and run
    fit_rows: int = Field(50_000, ge=1)  # first training rows fitting standardize/reweight


class ParticleLayoutConfig(Section):
    """Constituents stored as zero-padded flat columns (LHC Olympics: 700 x (pT, eta, phi)),
    read into the jagged ``part_*`` columns; slots with pT == 0 are padding and dropped.
    ``order``: particle-major (pt_0, eta_0, phi_0, pt_1, ...) or field-major (pt_0, pt_1,
    ..., eta_0, ...). ``columns``: the flat columns in file order; default: the columns
    named ``{field}_{i}`` when the file has them, else every column but the label column."""

    fields: list[str]
    max_particles: int = Field(ge=1, le=MAX_PARTICLES)  # hepdl.limits
    order: Literal["particle-major", "field-major"] = "particle-major"
    columns: list[str] | None = None


class JetClusteringConfig(Section):
    """Rows that are whole events clustered into jets when read (FastJet, E-scheme): the
    leading jet becomes the row's ``part_*``/``jet_*`` columns, and the leading ``jets``
    jets give event-level columns ``jet1_pt, jet1_mass, jet1_tau21, ..., mjj``."""

    algorithm: Literal["antikt", "kt", "cambridge"] = "antikt"
    radius: float = Field(1.0, gt=0)
    min_pt: float = Field(0.0, ge=0)  # GeV; softer jets are dropped
    jets: int = Field(2, ge=1)  # leading jets kept per event


class DataConfig(Section):
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
