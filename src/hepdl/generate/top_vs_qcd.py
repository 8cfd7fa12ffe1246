"""Boosted top jets (hadronic ttbar) against QCD jets, generated with Pythia 8 and FastJet.

The sample of the top-tagging reference dataset (Kasieczka et al., SciPost Phys. 7 (2019)
014), at particle level: pp at 14 TeV, anti-kT R = 0.8 jets of all visible final-state
particles with 550 <= pT <= 650 GeV and |η| < 2. Top jets come from ttbar events with both
W's decaying to quarks, and count only when the top and its three decay quarks all lie
within ΔR < 0.8 of the jet axis; QCD jets come from hard QCD 2 -> 2 events.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import GenerationError
from hepdl.generate import _jets, _parquet
from hepdl.generate._pythia import PYTHIA_SEED_MAX, ChargeTable, make_pythia, next_batch

log = logging.getLogger(__name__)

PROCESS = "top-vs-qcd"
CLASS_NAMES = ("qcd", "top")  # label 0 and 1

Progress = Callable[[str, int, int], None]

# Events per nextBatch call: large enough that the per-call overhead vanishes, small
# enough that a batch (~1800 record entries per event) stays in tens of MB.
_MAX_BATCH = 256
_MIN_BATCH = 8

_PROCESS_SETTINGS = {
    "qcd": ("HardQCD:all = on",),
    "top": (
        "Top:gg2ttbar = on",
        "Top:qqbar2ttbar = on",
        "24:onMode = off",  # both W's decay to quarks: fully hadronic ttbar
        "24:onIfAny = 1 2 3 4 5",
    ),
}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class TopVsQcdSettings:
    """What to generate. ``jets_per_class`` jets of each class; momenta in GeV.

    pthat_margin: the hard process is generated with pTHat in
        [pt_min - margin, pt_max + margin] (see :func:`pthat_window`).
    match_radius: ΔR within which the top and its decay quarks must lie for a top jet.
    pythia_settings: extra Pythia strings ("Name = value") applied to both classes after
        the built-in ones, so they can override them (a tune, MPI off, ...).
    max_events_per_class: give up (GenerationError) after this many events of a class;
        None means 10000 + 100 per jet asked.
    """

    jets_per_class: int
    _: KW_ONLY
    seed: int = 1
    pt_min: float = 550.0
    pt_max: float = 650.0
    eta_max: float = 2.0
    jet_radius: float = 0.8
    match_radius: float = 0.8
    sqrt_s: float = 14000.0
    pthat_margin: float = 100.0
    pythia_settings: tuple[str, ...] = ()
    max_events_per_class: int | None = None

    def __post_init__(self) -> None:
        def bad(option: str, expected: str) -> GenerationError:
            return GenerationError(
                f"top-vs-qcd setting {option!r} must be {expected}, got {getattr(self, option)!r}"
            )

        for option in ("jets_per_class", "seed"):
            value = getattr(self, option)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise bad(option, "an integer")
            object.__setattr__(self, option, int(value))
        if self.jets_per_class < 1:
            raise bad("jets_per_class", "an integer >= 1 (jets of each class)")
        if not 0 <= self.seed < 2**63:
            raise bad("seed", "an integer in [0, 2**63)")
        for option in (
            "pt_min",
            "pt_max",
            "eta_max",
            "jet_radius",
            "match_radius",
            "sqrt_s",
            "pthat_margin",
        ):
            value = getattr(self, option)
            if isinstance(value, np.generic):
                value = value.item()
            if not _finite(value):
                raise bad(option, "a finite number")
            object.__setattr__(self, option, float(value))
        for option in ("pt_min", "eta_max", "jet_radius", "match_radius", "sqrt_s"):
            if getattr(self, option) <= 0:
                raise bad(option, "> 0")
        if self.pt_max <= self.pt_min:
            raise bad("pt_max", f"greater than pt_min = {self.pt_min} GeV")
        if self.pt_min >= self.sqrt_s / 2:
            raise bad("pt_min", f"below sqrt_s / 2 = {self.sqrt_s / 2} GeV")
        if self.pthat_margin < 0:
            raise bad("pthat_margin", ">= 0")
        extra = self.pythia_settings
        if isinstance(extra, str) or not isinstance(extra, Sequence):
            raise bad("pythia_settings", "a sequence of strings 'Name = value'")
        extra = tuple(extra)
        for setting in extra:
            if not isinstance(setting, str) or "=" not in setting:
                raise GenerationError(
                    f"top-vs-qcd setting 'pythia_settings' must hold strings 'Name = value', "
                    f"got {setting!r}"
                )
        object.__setattr__(self, "pythia_settings", extra)
        limit = self.max_events_per_class
        if limit is not None and (
            not isinstance(limit, (int, np.integer)) or isinstance(limit, bool) or limit < 1
        ):
            raise bad("max_events_per_class", "None or an integer >= 1")

    @property
    def event_limit(self) -> int:
        if self.max_events_per_class is not None:
            return int(self.max_events_per_class)
        return 10_000 + 100 * self.jets_per_class


def pthat_window(settings: TopVsQcdSettings) -> tuple[float, float]:
    """The pTHat range of the generated 2 -> 2 process.

    A jet's pT is close to the pTHat of its parton (or top) but not equal: FSR out of the
    cone and hadronization lower it, ISR, MPI and the other partons raise it. Generating
    only pTHat in [pt_min, pt_max] would cut the jets that migrate into the window and
    sculpt its pT spectrum; generating from pTHat = 0 would waste almost every event (the
    QCD cross section falls like pTHat^-5 or so). A margin of 100 GeV on both sides keeps
    the spectrum inside the window unbiased at the per-cent level while most events still
    give a jet. The lower edge never goes below pt_min / 2.
    """
    low = max(settings.pt_min - settings.pthat_margin, settings.pt_min / 2)
    high = min(settings.pt_max + settings.pthat_margin, settings.sqrt_s / 2)
    return low, high


def derive_seed(seed: int, class_name: str) -> int:
    """The Pythia seed, in [1, 900000000], of one class for the user's ``seed``."""
    digest = hashlib.sha256(f"hepdl/{PROCESS}/{class_name}/{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % PYTHIA_SEED_MAX + 1


def class_seeds(seed: int) -> dict[str, int]:
    """Distinct Pythia seeds of the two classes."""
    seeds = {name: derive_seed(seed, name) for name in CLASS_NAMES}
    if seeds["top"] == seeds["qcd"]:  # one chance in 9e8
        seeds["top"] = seeds["qcd"] % PYTHIA_SEED_MAX + 1
    return seeds


def class_pythia_settings(settings: TopVsQcdSettings, class_name: str, seed: int) -> list[str]:
    """Every Pythia setting string of one class, in the order they are applied."""
    low, high = pthat_window(settings)
    return [
        "Print:quiet = on",
        "Beams:idA = 2212",
        "Beams:idB = 2212",
        f"Beams:eCM = {settings.sqrt_s!r}",
        *_PROCESS_SETTINGS[class_name],
        f"PhaseSpace:pTHatMin = {low!r}",
        f"PhaseSpace:pTHatMax = {high!r}",
        # Particles with c·tau > 10 mm (K0S, Λ, ...) reach the detector: stable, as in
        # the LHC experiments' particle-level definition.
        "ParticleDecays:limitTau0 = on",
        "ParticleDecays:tau0Max = 10",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        *settings.pythia_settings,
    ]


def _batch_size(wanted: int, jets_done: int, events_done: int, previous: int) -> int:
    if events_done == 0:
        size = 4 * wanted  # a first guess: at least 1 jet in 4 events
    elif jets_done == 0:
        size = 2 * previous
    else:
        size = math.ceil(1.1 * (wanted - jets_done) * events_done / jets_done) + 4
    return int(min(max(size, _MIN_BATCH), _MAX_BATCH))


def _concatenate(pieces: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([piece[name] for piece in pieces]) for name in pieces[0]}


def _generate_class(
    settings: TopVsQcdSettings,
    class_name: str,
    seed: int,
    progress: Progress | None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``jets_per_class`` jets of one class, and how many events they took."""
    wanted = settings.jets_per_class
    strings = class_pythia_settings(settings, class_name, seed)
    pythia = make_pythia(strings[1:], sample=class_name)
    charge = ChargeTable(pythia)
    pieces: list[dict[str, np.ndarray]] = []
    jets_done = events_done = attempted = events_used = 0
    size = 0
    started = time.perf_counter()
    if progress is not None:
        progress(class_name, 0, wanted)
    while jets_done < wanted:
        if attempted >= settings.event_limit:
            raise GenerationError(
                f"{class_name!r} sample: only {jets_done} of {wanted} jets in "
                f"{attempted} events (max_events_per_class = {settings.event_limit}); "
                "widen the pt/eta window or raise max_events_per_class"
            )
        size = min(
            _batch_size(wanted, jets_done, events_done, size), settings.event_limit - attempted
        )
        events = next_batch(pythia, size)
        attempted += size
        if events.n_events == 0:  # every event of the batch failed in Pythia
            continue
        jets = _jets.cluster(events, radius=settings.jet_radius, pt_min=settings.pt_min)
        jets = jets.take(
            _jets.in_window(
                jets, pt_min=settings.pt_min, pt_max=settings.pt_max, eta_max=settings.eta_max
            )
        )
        if class_name == "top":
            jets = jets.take(_jets.top_matched(jets, events, radius=settings.match_radius))
        jets = jets.take(np.arange(len(jets)) < wanted - jets_done)  # event order
        if len(jets):
            events_used = events_done + int(jets.event[-1]) + 1
            pieces.append(_jets.jet_columns(jets, events, charge))
        jets_done += len(jets)
        events_done += events.n_events
        if progress is not None:
            progress(class_name, jets_done, wanted)
    seconds = time.perf_counter() - started
    log.info(
        "%s: %d jets from %d events (%d generated) in %.1f s: %.1f events/s, %.1f jets/s",
        class_name,
        jets_done,
        events_used,
        events_done,
        seconds,
        events_done / seconds,
        jets_done / seconds,
    )
    stats = {
        "events_used": events_used,
        "events_generated": events_done,
        "seconds": seconds,
        "settings": strings,
    }
    return _concatenate(pieces), stats


class _QueueProgress:
    """Progress reports from a worker process, sent to the parent through a queue."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue

    def __call__(self, class_name: str, done: int, wanted: int) -> None:
        self.queue.put((class_name, done, wanted))


def _generate_classes_in_parallel(
    settings: TopVsQcdSettings, seeds: dict[str, int], progress: Progress | None
) -> list[tuple[dict[str, np.ndarray], dict[str, Any]]]:
    """One worker process per class; the parent relays their progress."""
    import multiprocessing
    import queue as queue_module
    from concurrent.futures import ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")  # no state shared with the parent
    with (
        context.Manager() as manager,
        ProcessPoolExecutor(max_workers=len(CLASS_NAMES), mp_context=context) as pool,
    ):
        reports = manager.Queue()
        futures = [
            pool.submit(_generate_class, settings, name, seeds[name], _QueueProgress(reports))
            for name in CLASS_NAMES
        ]
        while True:
            done, _ = wait(futures, timeout=0.2)
            while True:
                try:
                    report = reports.get_nowait()
                except queue_module.Empty:
                    break
                if progress is not None:
                    progress(*report)
            if len(done) == len(futures):
                return [future.result() for future in futures]


def _versions() -> dict[str, Any]:
    from importlib import metadata

    import fastjet

    from hepdl import __version__
    from hepdl.generate._pythia import pythia_versions

    return {
        "generator": pythia_versions(),
        "fastjet_version": fastjet.fastjet_version_string().split()[-1],
        "fastjet_package_version": metadata.version("fastjet"),
        "hepdl_version": __version__,
    }


def generate_top_vs_qcd(
    settings: TopVsQcdSettings,
    out: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    jobs: int = 1,
) -> Path:
    """Generate ``settings.jets_per_class`` QCD (label 0) and top (label 1) jets to ``out``.

    Rows alternate qcd, top, qcd, top, ... so that any leading slice of the file is
    balanced. Columns: ``jet_pt, jet_eta, jet_phi, jet_energy, jet_mass, jet_nparticles``
    (float64 / int64), jagged ``part_px, part_py, part_pz, part_energy, part_charge``
    (float32) and ``part_pid`` (int32), constituents by decreasing pT, and ``label``
    (int64). The Parquet metadata key ``hepdl`` holds the provenance as JSON.

    ``jobs=2`` generates the two classes in two processes at once; each class has its own
    seed, so the file is the same byte for byte.
    ``progress(class_name, jets_done, jets_wanted)`` is called after each batch. Raises
    GenerationError for an existing ``out`` (unless ``overwrite``), bad settings, or a
    setting Pythia rejects. The same settings give a byte-identical file.
    """
    import pyarrow as pa

    if not isinstance(settings, TopVsQcdSettings):
        raise GenerationError(f"settings must be a TopVsQcdSettings, got {type(settings).__name__}")
    if jobs < 1:
        raise GenerationError(f"top-vs-qcd option 'jobs' must be >= 1, got {jobs}")
    out = _parquet.check_output(Path(out), overwrite=overwrite)
    seeds = class_seeds(settings.seed)
    if jobs == 1:
        results = [_generate_class(settings, name, seeds[name], progress) for name in CLASS_NAMES]
    else:
        results = _generate_classes_in_parallel(settings, seeds, progress)
    tables = []
    runs: dict[str, dict[str, Any]] = {}
    for label, (class_name, (columns, stats)) in enumerate(zip(CLASS_NAMES, results, strict=True)):
        runs[class_name] = stats
        tables.append(_parquet.jets_table(columns, np.full(settings.jets_per_class, label)))
    n = settings.jets_per_class
    interleaved = np.stack([np.arange(n), n + np.arange(n)], axis=1).reshape(-1)
    table = pa.concat_tables(tables).take(pa.array(interleaved))

    low, high = pthat_window(settings)
    metadata = {
        "process": PROCESS,
        "class_names": list(CLASS_NAMES),
        "label_column": "label",
        **_versions(),
        "settings": dataclasses.asdict(settings),
        "seed": settings.seed,
        "pythia_seeds": seeds,
        "pythia_settings": {name: runs[name]["settings"] for name in CLASS_NAMES},
        "jets_per_class": {name: n for name in CLASS_NAMES},
        "events_per_class": {name: runs[name]["events_used"] for name in CLASS_NAMES},
        "jets": {
            "algorithm": "anti-kt",
            "radius": settings.jet_radius,
            "recombination": "E-scheme",
            "inputs": "final-state particles (status > 0) except neutrinos (12, 14, 16)",
            "pt_min": settings.pt_min,
            "pt_max": settings.pt_max,
            "eta_max": settings.eta_max,
            "pthat_window": [low, high],
            "top_matching": (
                f"top and its three decay quarks (last copies) within dR < "
                f"{settings.match_radius} of the jet axis; unmatched jets dropped"
            ),
            "order": "rows alternate qcd, top; constituents by decreasing pT",
            "units": "GeV",
        },
    }
    return _parquet.write_atomic(table, out, metadata, overwrite=overwrite)
