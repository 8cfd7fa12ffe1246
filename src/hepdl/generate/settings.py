"""What to generate: the user's settings of a sample, validated, and the Pythia strings.

Settings left at None take the sample's default (its jet radius, pT window, |η| or |y|
cut). Every resolved value is written into the output file's metadata.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, fields
from typing import Any

import numpy as np

from hepdl.errors import GenerationError
from hepdl.generate.detector import DetectorSettings
from hepdl.generate.recipes import PROCESSES, Sample

# Rows (jets or events) per chunk: each chunk is one Pythia run with its own seed. Large
# enough that Pythia's initialisation (~0.5 s) costs a few per cent, small enough that a
# chunk (~80 constituents per jet) stays at tens of MB and two jobs share the work evenly.
DEFAULT_CHUNK_ROWS = 1000


def _is_integer(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    return (
        isinstance(value, (int, float, np.floating, np.integer))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


@dataclass(frozen=True)
class SampleSettings:
    """The user's settings of one generation; momenta and energies in GeV.

    rows_per_class: jets (jet samples) or events (event-level samples) of each class.
    jet_radius, pt_min, pt_max, eta_max, rapidity_max: the jet definition and window;
        None takes the sample's default. Give at most one of eta_max and rapidity_max.
    match_radius: ΔR within which a resonance and its decay quarks must lie (default:
        the jet radius).
    pthat_margin: jet samples generate pTHat in [pt_min - margin, pt_max + margin].
    pythia_settings: extra "Name = value" strings, applied last (a tune, MPI off, ...).
    chunk_rows: rows per chunk (one Pythia run, one seed). Part of what defines the
        sample: the same seed with another chunk_rows gives other events.
    max_events_per_chunk: give up after this many events in one chunk; None means
        10000 + 100 per row of the chunk.
    detector: the detector response (:class:`hepdl.generate.detector.DetectorSettings`)
        applied before clustering, or None for particle level (the default).
    pileup_mean: overlay a Poisson number of minimum-bias events with this mean on each
        event (0: none). Jet samples only, like the detector.
    pileup_range: (low, high), instead of pileup_mean: each event draws its mean mu
        uniformly in [low, high], then a Poisson(mu) number of minimum-bias events; None
        (the default) for none. Left out of :meth:`as_dict` when None, so the samples
        made before it existed keep their fingerprint and bytes.
    pileup_library: 0 (the default) overlays freshly generated minimum-bias events; N > 0
        generates N of them once per chunk and draws every event's pile-up from that
        library (:class:`hepdl.generate.pileup.PileupLibrary`: about 4x faster at mu ~ 35,
        at the price of reused collisions). Left out of :meth:`as_dict` when 0.
    """

    rows_per_class: int
    _: KW_ONLY
    seed: int = 1
    jet_radius: float | None = None
    pt_min: float | None = None
    pt_max: float | None = None
    eta_max: float | None = None
    rapidity_max: float | None = None
    match_radius: float | None = None
    sqrt_s: float = 14000.0
    pthat_margin: float = 100.0
    pythia_settings: tuple[str, ...] = ()
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    max_events_per_chunk: int | None = None
    detector: DetectorSettings | None = None
    pileup_mean: float = 0.0
    pileup_range: tuple[float, float] | None = None
    pileup_library: int = 0

    def __post_init__(self) -> None:
        for option in ("rows_per_class", "seed", "chunk_rows"):
            value = getattr(self, option)
            if not _is_integer(value):
                raise _bad(self, option, "an integer")
            object.__setattr__(self, option, int(value))
        if self.rows_per_class < 1:
            raise _bad(self, "rows_per_class", "an integer >= 1 (rows of each class)")
        if self.chunk_rows < 1:
            raise _bad(self, "chunk_rows", "an integer >= 1")
        if not 0 <= self.seed < 2**63:
            raise _bad(self, "seed", "an integer in [0, 2**63)")
        optional = ("jet_radius", "pt_min", "pt_max", "eta_max", "rapidity_max", "match_radius")
        for option in (*optional, "sqrt_s", "pthat_margin"):
            value = getattr(self, option)
            if value is None and option in optional:
                continue
            if not _is_finite(value):
                raise _bad(self, option, "a finite number")
            object.__setattr__(self, option, float(value))
            if option != "pthat_margin" and float(value) <= 0:
                raise _bad(self, option, "> 0")
        if self.pthat_margin < 0:
            raise _bad(self, "pthat_margin", ">= 0")
        if self.eta_max is not None and self.rapidity_max is not None:
            raise GenerationError(
                "settings 'eta_max' and 'rapidity_max' conflict: give at most one "
                f"(got eta_max = {self.eta_max}, rapidity_max = {self.rapidity_max})"
            )
        extra = self.pythia_settings
        if isinstance(extra, str) or not isinstance(extra, Sequence):
            raise _bad(self, "pythia_settings", "a sequence of strings 'Name = value'")
        for setting in extra:
            if not isinstance(setting, str) or "=" not in setting:
                raise GenerationError(
                    f"setting 'pythia_settings' must hold strings 'Name = value', got {setting!r}"
                )
        object.__setattr__(self, "pythia_settings", tuple(extra))
        limit = self.max_events_per_chunk
        if limit is not None and (not _is_integer(limit) or limit < 1):
            raise _bad(self, "max_events_per_chunk", "None or an integer >= 1")
        if isinstance(self.detector, Mapping):  # read back from a file's metadata
            object.__setattr__(self, "detector", _detector_from(self.detector))
        if self.detector is not None and not isinstance(self.detector, DetectorSettings):
            raise _bad(self, "detector", "None or a DetectorSettings")
        if not _is_finite(self.pileup_mean) or self.pileup_mean < 0:
            raise _bad(self, "pileup_mean", "a finite number >= 0 (mean pile-up collisions)")
        object.__setattr__(self, "pileup_mean", float(self.pileup_mean))
        if self.pileup_range is not None:
            object.__setattr__(self, "pileup_range", _pileup_range(self))
        if not _is_integer(self.pileup_library) or self.pileup_library < 0:
            raise _bad(self, "pileup_library", "an integer >= 0 (minimum-bias events per chunk)")
        object.__setattr__(self, "pileup_library", int(self.pileup_library))
        if self.pileup_library and not self.has_pileup:
            raise GenerationError(
                f"setting 'pileup_library' ({self.pileup_library}) needs pile-up: give "
                "'pileup_mean' > 0 or a 'pileup_range'"
            )

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: every setting, the detector's as a dict."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "_"}
        if self.pileup_range is None:
            del values["pileup_range"]
        if not self.pileup_library:
            del values["pileup_library"]
        if self.detector is not None:
            values["detector"] = dataclasses.asdict(self.detector)
        return values

    @property
    def reconstructed(self) -> bool:
        """Whether anything happens between Pythia's particles and the clustering."""
        return self.detector is not None or self.has_pileup

    @property
    def has_pileup(self) -> bool:
        """Whether minimum-bias events are overlaid (a mean, or a range of means)."""
        return self.pileup_mean > 0 or self.pileup_range is not None


def _pileup_range(settings: SampleSettings) -> tuple[float, float]:
    """The validated (low, high) of ``settings.pileup_range``."""
    values = settings.pileup_range
    if (
        isinstance(values, (str, bytes, Mapping))
        or not isinstance(values, Sequence | np.ndarray)
        or len(values) != 2
        or not all(_is_finite(v) for v in values)
    ):
        raise _bad(settings, "pileup_range", "None or two finite numbers (low, high)")
    low, high = (float(v) for v in values)
    if low < 0 or high < low:
        raise GenerationError(
            "setting 'pileup_range' must satisfy 0 <= low <= high (mean pile-up "
            f"collisions), got low = {low}, high = {high}"
        )
    if settings.pileup_mean > 0:
        raise GenerationError(
            "settings 'pileup_mean' and 'pileup_range' conflict: give at most one (got "
            f"pileup_mean = {settings.pileup_mean}, pileup_range = {(low, high)})"
        )
    return low, high


def _detector_from(values: Mapping[str, Any]) -> DetectorSettings:
    values = dict(values)
    values["invisible_pids"] = tuple(values.get("invisible_pids", ()))
    return DetectorSettings(**values)


def _bad(settings: SampleSettings, option: str, expected: str) -> GenerationError:
    return GenerationError(
        f"setting {option!r} must be {expected}, got {getattr(settings, option)!r}"
    )


@dataclass(frozen=True)
class JetSelection:
    """The resolved jet definition and window of one generation."""

    radius: float
    pt_min: float
    pt_max: float
    eta_max: float | None
    rapidity_max: float | None
    match_radius: float
    leading_only: bool


def jet_selection(sample: Sample, settings: SampleSettings) -> JetSelection:
    """The sample's jet defaults overridden by the user's settings, checked together."""
    if sample.jets is None:
        raise GenerationError(f"sample {sample.name!r} is event-level: it has no jet selection")
    d = sample.jets
    eta_max, rapidity_max = d.eta_max, d.rapidity_max
    if settings.eta_max is not None or settings.rapidity_max is not None:
        eta_max, rapidity_max = settings.eta_max, settings.rapidity_max
    radius = settings.jet_radius if settings.jet_radius is not None else d.radius
    selection = JetSelection(
        radius=radius,
        pt_min=settings.pt_min if settings.pt_min is not None else d.pt_min,
        pt_max=settings.pt_max if settings.pt_max is not None else d.pt_max,
        eta_max=eta_max,
        rapidity_max=rapidity_max,
        match_radius=settings.match_radius if settings.match_radius is not None else radius,
        leading_only=d.leading_only,
    )
    if selection.pt_max <= selection.pt_min:
        raise GenerationError(
            f"setting 'pt_max' ({selection.pt_max} GeV) must be greater than pt_min "
            f"({selection.pt_min} GeV): the pT window is empty"
        )
    if selection.pt_min >= settings.sqrt_s / 2:
        raise GenerationError(
            f"setting 'pt_min' ({selection.pt_min} GeV) must be below sqrt_s / 2 = "
            f"{settings.sqrt_s / 2} GeV: no jet can reach it"
        )
    return selection


def pthat_window(selection: JetSelection, settings: SampleSettings) -> tuple[float, float]:
    """The pTHat range of the generated 2 -> 2 process.

    A jet's pT is close to the pTHat of its parton (or top) but not equal: FSR out of the
    cone and hadronization lower it, ISR, MPI and the other partons raise it. Generating
    only pTHat in [pt_min, pt_max] would cut the jets that migrate into the window and
    sculpt its pT spectrum; generating from pTHat = 0 would waste almost every event (the
    QCD cross section falls like pTHat^-5 or so). A margin of 100 GeV on both sides keeps
    the spectrum inside the window unbiased at the per-cent level while most events still
    give a jet. The lower edge never goes below pt_min / 2.
    """
    low = max(selection.pt_min - settings.pthat_margin, selection.pt_min / 2)
    high = min(selection.pt_max + settings.pthat_margin, settings.sqrt_s / 2)
    return low, high


def pythia_strings(
    sample: Sample, process_name: str, settings: SampleSettings, seed: int
) -> list[str]:
    """Every Pythia setting of one chunk of one class, in the order they are applied."""
    strings = [
        "Beams:idA = 2212",
        "Beams:idB = 2212",
        f"Beams:eCM = {settings.sqrt_s!r}",
        *PROCESSES[process_name].pythia,
    ]
    if sample.pthat_window:
        low, high = pthat_window(jet_selection(sample, settings), settings)
        strings += [f"PhaseSpace:pTHatMin = {low!r}", f"PhaseSpace:pTHatMax = {high!r}"]
    return [
        *strings,
        # Particles with c·tau > 10 mm (K0S, Λ, ...) reach the detector: stable, as in
        # the LHC experiments' particle-level definition.
        "ParticleDecays:limitTau0 = on",
        "ParticleDecays:tau0Max = 10",
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        *settings.pythia_settings,
    ]
