"""Process and sample recipes: what Pythia runs, and how its events become rows.

A **process** is one class of a sample: the Pythia strings of its hard process and
decays, and, for jet samples, the resonance whose hadronic decay must lie inside a jet
(``truth_pid``: 6 for top jets, 24 W, 23 Z, 25 H; None for QCD, quark and gluon jets).

A **sample** is a list of processes, labelled 0, 1, ... in that order, and the defaults
of its selection: for jet samples the jet definition and the pT and |η| (or |y|)
window; for event-level samples the function that turns events into feature rows.

Adding a process or a sample is a new ``register_process`` / ``register_sample`` call,
not a new code path. ``hepdl datasets`` lists them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from hepdl.errors import GenerationError
from hepdl.text import did_you_mean

Kind = Literal["jet", "event"]

# W and Z to quarks (no top), Z to neutrinos: the decay settings used by several processes.
W_TO_QUARKS = ("24:onMode = off", "24:onIfAny = 1 2 3 4 5")
Z_TO_QUARKS = ("23:onMode = off", "23:onIfAny = 1 2 3 4 5")
Z_TO_NEUTRINOS = ("23:onMode = off", "23:onIfAny = 12 14 16")
PURE_Z = ("WeakZ0:gmZmode = 2",)  # Z only, no photon interference in gamma*/Z processes


@dataclass(frozen=True)
class Process:
    """One class of a sample. ``pythia``: the strings of its hard process and decays.

    ``slha``: a SUSY spectrum (SLHA text) Pythia reads from a file; the engine writes it
    to a temporary file for each run, and the text itself is stored in the metadata.
    """

    name: str
    kind: Kind
    description: str
    pythia: tuple[str, ...]
    truth_pid: int | None = None
    reference: str = ""
    slha: str | None = None


@dataclass(frozen=True)
class JetDefaults:
    """Jet definition and window of a jet sample. ``rapidity_max`` cuts |y| instead of |η|.

    ``leading_only``: keep only the hardest jet of each event (the quark/gluon datasets);
    otherwise every jet in the window is a row.
    """

    radius: float = 0.8
    pt_min: float = 550.0
    pt_max: float = 650.0
    eta_max: float | None = 2.0
    rapidity_max: float | None = None
    leading_only: bool = False


@dataclass(frozen=True)
class Sample:
    """A named list of processes (label order) with its selection defaults.

    ``rows`` (event-level samples only) maps a batch of events to feature rows; see
    :mod:`hepdl.generate._event_level`. ``pthat_window``: generate the hard process in a
    pTHat window around the jet pT window (jet samples; see ``settings.pthat_window``).
    """

    name: str
    kind: Kind
    description: str
    classes: tuple[str, ...]
    jets: JetDefaults | None = None
    rows: Callable[..., Any] | None = field(default=None, compare=False)
    feature_set: str | None = None
    reference: str = ""

    @property
    def pthat_window(self) -> bool:
        return self.kind == "jet"


PROCESSES: dict[str, Process] = {}
SAMPLES: dict[str, Sample] = {}


def register_process(process: Process) -> Process:
    if process.name in PROCESSES and PROCESSES[process.name] != process:
        raise ValueError(f"process {process.name!r} is already registered")
    PROCESSES[process.name] = process
    return process


def register_sample(sample: Sample) -> Sample:
    if sample.name in SAMPLES and SAMPLES[sample.name] != sample:
        raise ValueError(f"sample {sample.name!r} is already registered")
    for name in sample.classes:
        process = PROCESSES.get(name)
        if process is None or process.kind != sample.kind:
            raise ValueError(f"sample {sample.name!r}: {name!r} is not a {sample.kind} process")
    SAMPLES[sample.name] = sample
    return sample


def resolve_sample(spec: str) -> Sample:
    """A registered sample by name, or jet processes joined by commas (``qcd,top,w``).

    A comma list makes an ad-hoc multi-class jet sample with the default jet definition
    (anti-kT R = 0.8, 550-650 GeV, |η| < 2), labelled in the order given.
    """
    spec = spec.strip()
    if spec in SAMPLES:
        return SAMPLES[spec]
    names = [part.strip() for part in spec.split(",") if part.strip()]
    known = sorted(SAMPLES) + sorted(n for n, p in PROCESSES.items() if p.kind == "jet")
    if len(names) == 1 and names[0] in PROCESSES and PROCESSES[names[0]].kind == "jet":
        raise GenerationError(
            f"sample {spec!r} is a single jet process: a labelled sample needs two or more "
            f"joined by commas (e.g. {names[0]},gluon for one class against another)"
        )
    if len(names) < 2:
        raise GenerationError(
            f"unknown sample {spec!r}{did_you_mean(spec, known)}; expected a sample "
            f"({', '.join(sorted(SAMPLES))}) or two or more jet processes joined by commas "
            f"({', '.join(n for n, p in sorted(PROCESSES.items()) if p.kind == 'jet')})"
        )
    for name in names:
        process = PROCESSES.get(name)
        if process is None:
            raise GenerationError(
                f"unknown process {name!r} in {spec!r}{did_you_mean(name, PROCESSES)}; "
                f"known processes: {', '.join(sorted(PROCESSES))}"
            )
        if process.kind != "jet":
            event_samples = [s for s in sorted(SAMPLES) if SAMPLES[s].kind == "event"]
            raise GenerationError(
                f"process {name!r} is event-level; only jet processes combine by commas "
                f"(event-level samples: {', '.join(event_samples)})"
            )
    if len(set(names)) != len(names):
        raise GenerationError(f"sample {spec!r} names a process twice")
    return Sample(
        name=",".join(names),
        kind="jet",
        description="jets of " + ", ".join(names),
        classes=tuple(names),
        jets=JetDefaults(),
    )


def describe() -> list[dict[str, Any]]:
    """Every sample with its classes, selection and each class's Pythia strings."""
    rows = []
    for name in sorted(SAMPLES):
        sample = SAMPLES[name]
        rows.append(
            {
                "sample": name,
                "kind": sample.kind,
                "description": sample.description,
                "classes": list(sample.classes),
                "jets": None if sample.jets is None else vars(sample.jets),
                "features": sample.feature_set,
                "reference": sample.reference,
                "pythia": {c: list(PROCESSES[c].pythia) for c in sample.classes},
            }
        )
    return rows
