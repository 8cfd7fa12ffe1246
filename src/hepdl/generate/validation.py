"""Physics validation of a generated file: the distributions that show the sample is right.

``validate(path, out_dir)`` histograms, per class, the jet mass, the soft-drop mass
(z_cut = 0.1, β = 0), τ21, τ32 and the constituent multiplicity (jet samples), or the
event-level features (event samples), and evaluates the checks a physicist looks at
first:

- the soft-drop mass of top, W, Z and H jets peaks near 173, 80, 91 and 125 GeV;
- τ32 is lower for top than for QCD jets, τ21 lower for W/Z/H than for QCD jets;
- gluon jets have more constituents than quark jets;
- SUSY-like events have more missing E_T than WW events.

A check runs when the file has the classes it needs. Results go to ``validation.json``
(every check: what, measured value, expectation, pass) and one PNG per quantity.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.paths import output_folder

# Soft-drop mass windows [GeV] in which the peak of a resonance's jets must lie.
MASS_PEAKS = {"top": (173.0, 150.0, 195.0), "w": (80.4, 65.0, 95.0), "z": (91.2, 75.0, 105.0),
              "higgs": (125.0, 105.0, 140.0)}  # fmt: skip


@dataclass(frozen=True)
class CheckResult:
    check: str
    measured: float
    expected: str
    passed: bool


def mass_peak(mass: np.ndarray, *, low: float = 20.0, high: float = 300.0) -> float:
    """The mode of a mass distribution: 5 GeV bins, smoothed over 3 bins (small samples)."""
    counts, edges = np.histogram(mass, bins=np.arange(low, high + 5.0, 5.0))
    smooth = np.convolve(counts, np.ones(3) / 3, mode="same")
    best = int(np.argmax(smooth))
    return float(0.5 * (edges[best] + edges[best + 1]))


# The columns jet_quantities reads.
JET_COLUMNS = ("jet_mass", "jet_nparticles", "part_px", "part_py", "part_pz", "part_energy")


def jet_quantities(table: Any) -> dict[str, np.ndarray]:
    """Per-jet validation quantities of a JetClass-style table."""
    import awkward as ak

    from hepdl.generate._jets import _silence_fastjet_banner
    from hepdl.physics.grooming import softdrop_mass
    from hepdl.physics.substructure import nsubjettiness, tau_ratio

    constituents = ak.zip({name: table[f"part_{name}"] for name in ("px", "py", "pz", "energy")})
    _silence_fastjet_banner()
    taus = {n: nsubjettiness(constituents, n=n) for n in (1, 2, 3)}
    return {
        "jet_mass": np.asarray(table["jet_mass"], np.float64),
        "softdrop_mass": softdrop_mass(constituents),
        "tau21": tau_ratio(taus[2], taus[1]),
        "tau32": tau_ratio(taus[3], taus[2]),
        "n_constituents": np.asarray(table["jet_nparticles"], np.float64),
    }


def _median_below(quantity: str, lower: str, higher: str) -> Callable[..., CheckResult | None]:
    def check(values: dict[str, dict[str, np.ndarray]]) -> CheckResult | None:
        if lower not in values or higher not in values or quantity not in values[lower]:
            return None
        a, b = np.median(values[lower][quantity]), np.median(values[higher][quantity])
        return CheckResult(
            f"median {quantity}: {lower} < {higher}",
            float(a - b),
            f"{lower} {a:.3g} below {higher} {b:.3g} (difference < 0)",
            bool(a < b),
        )

    return check


def _mean_above(quantity: str, higher: str, lower: str) -> Callable[..., CheckResult | None]:
    def check(values: dict[str, dict[str, np.ndarray]]) -> CheckResult | None:
        if lower not in values or higher not in values or quantity not in values[lower]:
            return None
        a, b = np.mean(values[higher][quantity]), np.mean(values[lower][quantity])
        return CheckResult(
            f"mean {quantity}: {higher} > {lower}",
            float(a - b),
            f"{higher} {a:.3g} above {lower} {b:.3g} (difference > 0)",
            bool(a > b),
        )

    return check


def _peak(process: str) -> Callable[..., CheckResult | None]:
    nominal, low, high = MASS_PEAKS[process]

    def check(values: dict[str, dict[str, np.ndarray]]) -> CheckResult | None:
        if process not in values:
            return None
        peak = mass_peak(values[process]["softdrop_mass"])
        return CheckResult(
            f"{process} soft-drop mass peak [GeV]",
            peak,
            f"near {nominal} (in [{low}, {high}])",
            bool(low <= peak <= high),
        )

    return check


CHECKS: list[Callable[..., CheckResult | None]] = [
    *(_peak(name) for name in MASS_PEAKS),
    _median_below("tau32", "top", "qcd"),
    *(_median_below("tau21", name, "qcd") for name in ("w", "z", "higgs")),
    _mean_above("n_constituents", "gluon", "quark"),
    _mean_above("missing_energy_magnitude", "susy", "ww"),
]


def validate(path: Path, out_dir: Path) -> list[CheckResult]:
    """Histogram the file's physics per class into ``out_dir`` and run every check that
    applies; returns the results (also in ``out_dir/validation.json``)."""
    import awkward as ak

    from hepdl.generate._parquet import read_metadata

    path = Path(path)
    meta = read_metadata(path)
    names = meta.get("class_names")
    if not names:
        raise DataError(f"{str(path)!r} has no 'class_names' in its hepdl metadata")
    table = ak.from_parquet(path)
    jets = meta.get("kind", "jet") == "jet"
    needed = ["label", *(JET_COLUMNS if jets else ())]
    missing = [name for name in needed if name not in table.fields]
    if missing:
        raise DataError(
            f"{path}: has no column(s) {', '.join(missing)}; hepdl validate checks files "
            f"written by hepdl generate (jets with their constituents, or events)"
        )
    labels = np.asarray(table["label"])
    if jets:
        quantities = jet_quantities(table)
    else:
        quantities = {f: np.asarray(table[f], np.float64) for f in table.fields if f != "label"}
    values = {
        name: {q: v[labels == label] for q, v in quantities.items()}
        for label, name in enumerate(names)
    }
    results = [r for check in CHECKS if (r := check(values)) is not None]
    out_dir = Path(out_dir)
    output_folder(out_dir)
    _plot(values, out_dir)
    summary = {"file": str(path), "sample": meta.get("sample"),
               "rows_per_class": {n: int(np.sum(labels == i)) for i, n in enumerate(names)},
               "checks": [asdict(r) for r in results]}  # fmt: skip
    (out_dir / "validation.json").write_text(json.dumps(summary, indent=1))
    return results


def _plot(values: dict[str, dict[str, np.ndarray]], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hepdl.plots import hep_style

    quantities = next(iter(values.values())).keys()
    with hep_style():
        for quantity in quantities:
            figure, axes = plt.subplots(figsize=(6, 4.5))
            everything = np.concatenate([v[quantity] for v in values.values()])
            finite = everything[np.isfinite(everything)]
            if finite.size == 0:
                plt.close(figure)
                continue
            bins = np.linspace(*np.percentile(finite, [0.5, 99.5]), 41)
            for name, per_class in values.items():
                axes.hist(per_class[quantity], bins=bins, histtype="step", density=True, label=name)
            axes.set_xlabel(quantity)
            axes.set_ylabel("density")
            axes.legend()
            figure.tight_layout()
            figure.savefig(out_dir / f"{quantity}.png", dpi=100)
            plt.close(figure)
