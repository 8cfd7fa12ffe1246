"""Generate a shower sample: chunks of seeded single-particle showers, parallel, resumable.

``generate_showers(sample, settings, out)`` is ``hepdl showers``: the sample is a named
recipe (``SHOWER_SAMPLES``, e.g. ``eg_vs_pu``) or particles separated by commas (each its
own class: ``e-,pi+``). It plans chunks of ``chunk_rows`` showers per class, each with a
seed derived from (seed, class, chunk) alone, writes every finished chunk as a part in
``OUT.parts/`` (the jet generation's parts directory: a killed run keeps them and the same
command resumes, giving the same bytes), runs the missing chunks over ``jobs``
processes and merges the parts into ``out`` (Parquet, or HDF5 for ``.h5`` / ``.hdf5``),
atomically. The cells are simulated by :func:`hepdl.generate.shower_model.simulate`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import GenerationError
from hepdl.generate import _parts, _shower_files
from hepdl.generate._chunk import ChunkTask
from hepdl.generate.calo_geometry import get_geometry
from hepdl.generate.shower_model import (
    PARTICLES,
    SPOTS_PER_BATCH,
    expected_spots,
    get_particle,
    simulate,
)
from hepdl.text import did_you_mean

SPECTRA = ("flat", "log")
HDF5_SUFFIXES = (".h5", ".hdf5")
# progress(chunks done, chunks in all)
ShowerProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class ShowerClass:
    """One class of a sample: particles drawn with ``weights``; ``multiplicity`` times the
    sample's showers per class (an imbalance such as pile-up : signal = 10 : 1)."""

    name: str
    particles: tuple[str, ...]
    weights: tuple[float, ...]
    multiplicity: int = 1


@dataclass(frozen=True)
class ShowerSample:
    name: str
    description: str
    classes: tuple[ShowerClass, ...]


SHOWER_SAMPLES: dict[str, ShowerSample] = {
    "eg_vs_pu": ShowerSample(
        "eg_vs_pu",
        "CMS-ECAL-style electron/photon (EG, label 1) against pile-up-like clusters (PU, "
        "label 0: pi+-, pi0 -> gamma gamma and neutrons, the hadrons of minimum-bias "
        "collisions) at 10 PU clusters per EG cluster; run it with --pileup so the soft "
        "deposits of the same bunch crossing lie on every window",
        (
            ShowerClass("pu", ("pi+", "pi-", "pi0", "neutron"), (0.3, 0.3, 0.3, 0.1), 10),
            ShowerClass("eg", ("e-", "e+", "gamma"), (0.25, 0.25, 0.5), 1),
        ),
    ),
}


def resolve_shower_sample(text: str) -> ShowerSample:
    """A recipe by name, or comma-separated particles, each a class (in that order)."""
    if text in SHOWER_SAMPLES:
        return SHOWER_SAMPLES[text]
    names = [part.strip() for part in str(text).split(",") if part.strip()]
    unknown = [n for n in names if n not in PARTICLES]
    if not names or unknown:
        bad = unknown[0] if unknown else text
        choices = {**SHOWER_SAMPLES, **PARTICLES}
        raise GenerationError(
            f"unknown particle or shower sample {bad!r}{did_you_mean(str(bad), choices)}; "
            f"particles: {', '.join(PARTICLES)}; samples: {', '.join(SHOWER_SAMPLES)}"
        )
    if len(set(names)) != len(names):
        raise GenerationError(f"particles {text!r}: each may appear once (one class each)")
    classes = tuple(ShowerClass(n, (n,), (1.0,)) for n in names)
    return ShowerSample(",".join(names), "single particles: " + ", ".join(names), classes)


@dataclass(frozen=True)
class ShowerSettings:
    """What defines a shower sample besides its classes (checked when built)."""

    showers: int  # per class, times the class's multiplicity
    geometry: str = "cms_ecal"
    energy: tuple[float, float] = (10.0, 100.0)  # GeV; equal ends: one fixed energy
    spectrum: str = "flat"  # "flat" in E or "log" (flat in ln E)
    angle_deg: float = 0.0
    pileup_mu: float = 0.0
    pileup_library: int = 200  # minimum-bias events generated per chunk
    sqrt_s: float = 13600.0
    seed: int = 1
    chunk_rows: int = 500

    def __post_init__(self) -> None:
        _integer("showers", self.showers, 1)
        _integer("chunk_rows", self.chunk_rows, 1)
        _integer("seed", self.seed, 0)
        _integer("pileup_library", self.pileup_library, 1)
        geometry = get_geometry(self.geometry)
        low, high = _energy_range(self.energy)
        object.__setattr__(self, "energy", (low, high))
        if self.spectrum not in SPECTRA:
            raise GenerationError(
                f"option 'spectrum' must be one of {', '.join(SPECTRA)}, got {self.spectrum!r}"
            )
        mu = self.pileup_mu
        if (
            isinstance(mu, bool)
            or not isinstance(mu, int | float)
            or not (math.isfinite(mu) and mu >= 0)
        ):
            raise GenerationError(f"option 'pileup' must be a number >= 0, got {mu!r}")
        if mu > 0 and not geometry.pileup_capable:
            raise GenerationError(
                f"geometry {self.geometry!r} has no eta-phi cells: --pileup needs cms_ecal"
            )

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["energy"] = list(self.energy)
        return values


def _integer(option: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise GenerationError(f"option {option!r} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _energy_range(energy: Any) -> tuple[float, float]:
    try:
        low, high = (float(e) for e in energy)
    except (TypeError, ValueError):
        raise GenerationError(
            f"option 'energy' must be LO:HI in GeV (or one energy), got {energy!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= high):
        raise GenerationError(
            f"option 'energy' must be 0 < LO <= HI GeV, got {low:g}:{high:g} (an empty or "
            "negative range)"
        )
    return low, high


def parse_energy(text: str) -> tuple[float, float]:
    """``"10:100"`` -> (10, 100); ``"50"`` -> (50, 50)."""
    low, sep, high = str(text).partition(":")
    try:
        return (float(low), float(high)) if sep else (float(low), float(low))
    except ValueError:
        raise GenerationError(f"option --energy must be LO:HI or E in GeV, got {text!r}") from None


def versions() -> dict[str, str]:
    """What else changes the showers: hepdl, NumPy's random streams, Pythia (pile-up)."""
    from importlib import metadata

    from hepdl import __version__

    found = {"hepdl_version": __version__, "numpy_version": np.__version__}
    try:
        found["pythia8mc_version"] = metadata.version("pythia8mc")
    except metadata.PackageNotFoundError:
        found["pythia8mc_version"] = "absent"
    return found


@dataclass(frozen=True)
class ShowerPlan:
    """Every chunk of every class, in canonical order; the parts directory's plan."""

    sample: ShowerSample
    settings: ShowerSettings
    versions: dict[str, str]

    def rows(self, shower_class: ShowerClass) -> int:
        return self.settings.showers * shower_class.multiplicity

    @cached_property
    def tasks(self) -> list[ChunkTask]:
        size = self.settings.chunk_rows
        tasks = []
        for label, shower_class in enumerate(self.sample.classes):
            rows = self.rows(shower_class)
            for index in range(-(-rows // size)):
                seed = _chunk_seed(self.settings.seed, shower_class.name, index)
                tasks.append(
                    ChunkTask(label, shower_class.name, index, min(size, rows - index * size), seed)
                )
        return tasks

    def description(self) -> dict[str, Any]:
        return {
            "sample": self.sample.name,
            "kind": "shower",
            "class_names": [c.name for c in self.sample.classes],
            "classes": [asdict(c) for c in self.sample.classes],
            "settings": self.settings.as_dict(),
            "geometry": get_geometry(self.settings.geometry).describe(),
            **self.versions,
        }

    @cached_property
    def fingerprint(self) -> str:
        text = json.dumps(self.description(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _chunk_seed(seed: int, class_name: str, index: int) -> int:
    digest = hashlib.sha256(f"hepdl-showers/{class_name}/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 900_000_000 + 1  # also a valid Pythia seed


def chunk_columns(plan: ShowerPlan, task: ChunkTask) -> dict[str, np.ndarray]:
    """The rows of one chunk; they depend on (plan, task) only."""
    settings = plan.settings
    geometry = get_geometry(settings.geometry)
    shower_class = plan.sample.classes[task.label]
    rng = np.random.default_rng(task.seed)
    low, high = settings.energy
    if settings.spectrum == "log":
        energy = np.exp(rng.uniform(math.log(low), math.log(high), task.rows))
    else:
        energy = rng.uniform(low, high, task.rows)
    weights = np.asarray(shower_class.weights, np.float64)
    which = rng.choice(len(shower_class.particles), task.rows, p=weights / weights.sum())
    overlay = _overlay(settings, task.seed) if settings.pileup_mu > 0 else None
    pieces: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
    for k, name in enumerate(shower_class.particles):
        rows = np.flatnonzero(which == k)
        particle = get_particle(name)
        spots = np.cumsum(expected_spots(particle, energy[rows], geometry))
        batch_of = (spots - 1) // SPOTS_PER_BATCH  # consecutive rows, ~equal spot counts
        for batch in np.unique(batch_of):
            chosen = rows[batch_of == batch]
            cells = simulate(geometry, particle, energy[chosen], rng,
                             angle_deg=settings.angle_deg, pileup=overlay)  # fmt: skip
            pieces.append((chosen, cells))
    order = np.argsort(np.concatenate([rows for rows, _ in pieces]), kind="stable")
    names = [PARTICLES[n] for n in shower_class.particles]
    columns: dict[str, np.ndarray] = {
        "label": np.full(task.rows, task.label, np.int64),
        "particle": np.array([names[k].name for k in which], dtype=object),
        "pid": np.array([names[k].pid for k in which], np.int32),
        "energy": energy,
    }
    for name in pieces[0][1]:
        columns[name] = np.concatenate([cells[name] for _, cells in pieces])[order]
    return columns


def _overlay(settings: ShowerSettings, seed: int) -> Any:
    from hepdl.generate._shower_pileup import MinBiasOverlay
    from hepdl.generate.pileup import PileupLibrary, PileupSource

    source = PileupSource(sqrt_s=settings.sqrt_s, seed=seed)
    return MinBiasOverlay(PileupLibrary(source.take(settings.pileup_library)),
                          mu=settings.pileup_mu)  # fmt: skip


def run_task(out: Path, plan: ShowerPlan, task: ChunkTask) -> None:
    """Simulate one chunk and write its part (atomically, with the plan's fingerprint)."""
    columns = chunk_columns(plan, task)
    meta = {"fingerprint": plan.fingerprint, "rows": task.rows, "chunk": task.key,
            "seed": task.seed}  # fmt: skip
    _shower_files.write_part(_parts.part_path(out, task), columns, meta)


def generate_showers(
    sample: str | ShowerSample,
    settings: ShowerSettings,
    out: Path,
    *,
    jobs: int = 1,
    overwrite: bool = False,
    progress: ShowerProgress | None = None,
) -> tuple[Path, int, int]:
    """Generate (or resume) the sample into ``out``: (out, chunks generated, reused)."""
    from hepdl.generate import _parquet

    if isinstance(sample, str):
        sample = resolve_shower_sample(sample)
    _integer("jobs", jobs, 1)
    out = Path(out)
    plan = ShowerPlan(sample, settings, versions())
    if out.exists() and not overwrite and _same_content(out, plan):
        return out, 0, len(plan.tasks)
    _parquet.check_output(out, overwrite=overwrite)
    if overwrite:
        _parts.remove_parts(out)
    _parts.prepare(out, plan)  # type: ignore[arg-type]  # the plan's duck type suffices
    todo = [t for t in plan.tasks if not _parts.is_done(out, plan, t)]  # type: ignore[arg-type]
    done = len(plan.tasks) - len(todo)
    if progress is not None:
        progress(done, len(plan.tasks))
    if jobs == 1 or len(todo) <= 1:
        for task in todo:
            run_task(out, plan, task)
            done += 1
            if progress is not None:
                progress(done, len(plan.tasks))
    else:
        _run_parallel(out, plan, todo, min(jobs, len(todo)), progress, done)
    parts = [_parts.part_path(out, t) for t in plan.tasks]
    metadata = {
        **plan.description(),
        "fingerprint": plan.fingerprint,
        "label_column": "label",
        "rows_per_class": {c.name: plan.rows(c) for c in sample.classes},
        "seed_rule": "numpy default_rng(sha256('hepdl-showers/{class}/{seed}/{chunk}') mod "
        "900000000 + 1)",
        "units": "GeV; cells (N, H, W): rows then columns of each layer",
    }
    merge = _shower_files.merge_hdf5 if out.suffix in HDF5_SUFFIXES else _shower_files.merge_parquet
    merge(parts, out, metadata, overwrite=overwrite)
    _parts.remove_parts(out)
    return out, len(todo), len(plan.tasks) - len(todo)


def _same_content(out: Path, plan: ShowerPlan) -> bool:
    try:
        if out.suffix in HDF5_SUFFIXES:
            import h5py

            with h5py.File(out, "r") as h5:
                return json.loads(h5.attrs["hepdl"]).get("fingerprint") == plan.fingerprint
        from hepdl.generate._parquet import read_metadata

        return read_metadata(out).get("fingerprint") == plan.fingerprint
    except Exception:
        return False


def _run_parallel(
    out: Path,
    plan: ShowerPlan,
    tasks: list[ChunkTask],
    jobs: int,
    progress: ShowerProgress | None,
    done: int,
) -> None:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")  # no state shared with the parent
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending = {pool.submit(run_task, out, plan, task) for task in tasks}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()  # a worker's error stops the run
                    done += 1
                    if progress is not None:
                        progress(done, len(plan.tasks))
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def write_shower_file(
    chunks: Iterable[Mapping[str, np.ndarray]],
    out: Path,
    metadata: Mapping[str, Any],
    *,
    overwrite: bool = False,
) -> Path:
    """Showers that come from elsewhere (a generative model, ``hepdl sample``) into a file
    of the layout ``hepdl showers`` writes, so every reader of shower files reads them:
    ``chunks`` of columns ((N,) values, (N, H, W) cells), one row group each, Parquet, or
    HDF5 for ``.h5`` / ``.hdf5``; ``out`` appears only when complete, with ``metadata``
    under the key ``hepdl``. One chunk is held in memory at a time."""
    import tempfile

    from hepdl.generate import _parquet

    out = Path(out)
    _parquet.check_output(out, overwrite=overwrite)
    tables = (_shower_files.rows_table(columns) for columns in chunks)
    if out.suffix not in HDF5_SUFFIXES:
        return _parquet.write_stream(out, tables, metadata, overwrite=overwrite)
    with tempfile.TemporaryDirectory(prefix=".hepdl-parts-", dir=out.parent) as folder:
        parts = []
        for i, table in enumerate(tables):
            parts.append(_parquet.write_atomic(table, Path(folder) / f"{i:06d}.parquet", {},
                                               overwrite=True))  # fmt: skip
        return _shower_files.merge_hdf5(parts, out, metadata, overwrite=overwrite)
