"""Rows that are whole events: detected, or clustered into jets when the file is read.

A file whose rows are events (the LHC Olympics set: every particle of the event, across
the detector) fed to a constituent model trains on "one jet" that is the whole event,
which learns next to nothing (AUC ~0.5) without any error. ``event_spread`` measures
how far each row's constituents lie from the row's axis; ``refuse_events`` turns a
table that looks like events into one DataError that names ``data.jet_clustering``.

``cluster_events`` (``data.jet_clustering``) runs FastJet on each event and gives, per
event: the leading jet as the row's ``part_*`` constituents and ``jet_*`` columns (so the
jet models read a jet), and flat event-level columns of the leading ``jets`` jets,
``jet{k}_pt, jet{k}_eta, jet{k}_phi, jet{k}_mass, jet{k}_nparticles, jet{k}_tau1 ..
jet{k}_tau32`` (k = 1 .. jets; 0 where an event has fewer jets) and ``mjj``, the
invariant mass of the two leading jets, for an event-level MLP (representation
``columns``).
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from hepdl.errors import DataError
from hepdl.physics import kinematics

PARTS = ("part_px", "part_py", "part_pz", "part_energy")
# A jet's constituents lie within about its radius (0.4 - 1.5) of its axis: a row with
# more than WIDE_PT_SHARE of its pT beyond WIDE_DR of the row's axis is not one jet.
WIDE_DR = 2.0
WIDE_PT_SHARE = 0.1
CHECKED_ROWS = 2000  # the first rows tell; the whole file is not needed
SUBSTRUCTURE = ("tau1", "tau2", "tau3", "tau21", "tau32")
JET_COLUMNS = ("pt", "eta", "phi", "mass", "nparticles", *SUBSTRUCTURE)


def event_spread(table: ak.Array, *, rows: int = CHECKED_ROWS) -> float:
    """The share (0..1) of the first ``rows`` non-empty rows that carry more than
    ``WIDE_PT_SHARE`` of their pT at ΔR > ``WIDE_DR`` from the row's E-scheme axis."""
    head = table[:rows]
    counts = np.asarray(ak.num(head[PARTS[0]]), dtype=np.int64)  # (R,)
    px, py, pz = (np.asarray(ak.flatten(head[c]), dtype=np.float64) for c in PARTS[:3])
    row = np.repeat(np.arange(len(counts)), counts)  # (M,) the row of each constituent
    axis = [np.bincount(row, weights=v, minlength=len(counts)) for v in (px, py, pz)]
    pt = kinematics.pt(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = kinematics.pseudorapidity(px, py, pz)
        axis_eta = kinematics.pseudorapidity(*axis)[row]
    d_phi = kinematics.delta_phi(kinematics.phi(px, py), kinematics.phi(axis[0], axis[1])[row])
    wide = ~(np.hypot(eta - axis_eta, d_phi) <= WIDE_DR) & (pt > 0)  # NaN counts as wide
    wide_pt = np.bincount(row, weights=np.where(wide, pt, 0.0), minlength=len(counts))
    total = np.bincount(row, weights=pt, minlength=len(counts))
    filled = total > 0
    if not filled.any():
        return 0.0
    return float(np.mean(wide_pt[filled] > WIDE_PT_SHARE * total[filled]))


def refuse_events(table: ak.Array, *, source: str, representation: str) -> None:
    """A DataError when most rows of ``table`` look like events rather than jets."""
    if not set(PARTS) <= set(table.fields) or len(table) == 0:
        return
    share = event_spread(table)
    if share > 0.5:
        raise DataError(
            f"{source}: the rows look like whole events, not jets: {share:.0%} of the first "
            f"{min(len(table), CHECKED_ROWS)} rows have more than {WIDE_PT_SHARE:.0%} of their "
            f"pT at ΔR > {WIDE_DR:g} from the row's axis, and representation '{representation}' "
            f"would treat each event as one jet. Cluster jets when reading: data.jet_clustering: "
            f"{{algorithm: antikt, radius: 1.0, jets: 2}} (the leading jet becomes the row, "
            f"jet1_*, jet2_*, mjj event columns), or set data.event_check: false to keep the "
            f"rows as they are"
        )


def cluster_events(table: ak.Array, options: Any, *, source: str) -> ak.Array:
    """``table`` (one event per row, jagged ``part_*``) with the constituents replaced by
    the leading jet's and the event-level jet columns added; other columns kept."""
    import fastjet

    missing = [c for c in PARTS if c not in table.fields]
    if missing:
        raise DataError(
            f"{source}: data.jet_clustering clusters the constituent columns {list(PARTS)}; "
            f"the table lacks {missing} (declare data.particle_layout for flat columns)"
        )
    particles = ak.zip({k: table[c] for k, c in zip(("px", "py", "pz", "E"), PARTS, strict=True)})
    algorithm = {
        "antikt": fastjet.antikt_algorithm,
        "kt": fastjet.kt_algorithm,
        "cambridge": fastjet.cambridge_algorithm,
    }[options.algorithm]
    sequence = fastjet.ClusterSequence(particles, fastjet.JetDefinition(algorithm, options.radius))
    found = sequence.constituents(min_pt=options.min_pt)  # events x jets x constituents
    jet_px, jet_py = ak.sum(found["px"], axis=2), ak.sum(found["py"], axis=2)
    order = ak.argsort(np.hypot(jet_px, jet_py), axis=1, ascending=False)
    leading = ak.pad_none(found[order][:, : options.jets], options.jets, axis=1)
    leading = ak.fill_none(leading, [], axis=1)  # a missing jet: no constituents
    per_jet = _jet_columns(leading, options)  # {name: (E, jets)}
    first = leading[:, 0]
    constituents = {c: first[k] for c, k in zip(PARTS, ("px", "py", "pz", "E"), strict=True)}
    kept = {n: table[n] for n in table.fields if not n.startswith("part_")}
    jet = {f"jet_{name}": per_jet[name][:, 0] for name in ("pt", "eta", "phi", "mass")}
    jet["jet_energy"] = per_jet["energy"][:, 0]
    jet["jet_nparticles"] = per_jet["nparticles"][:, 0]
    event = {
        f"jet{k + 1}_{name}": per_jet[name][:, k]
        for k in range(options.jets)
        for name in JET_COLUMNS
    }
    if options.jets >= 2:
        event["mjj"] = _pair_mass(per_jet)
    return ak.zip({**kept, **constituents, **jet, **event}, depth_limit=1)


def _jet_columns(leading: ak.Array, options: Any) -> dict[str, np.ndarray]:
    """Kinematics and substructure of each of the leading jets, each (E, jets) float64."""
    from hepdl.physics.substructure import substructure_features

    n_events, width = len(leading), options.jets
    flat = ak.flatten(leading, axis=1)  # (E * jets) jets of constituents
    sums = {
        k: np.asarray(ak.sum(flat[k], axis=1), dtype=np.float64) for k in ("px", "py", "pz", "E")
    }
    nparticles = np.asarray(ak.num(flat, axis=1), dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = kinematics.pseudorapidity(sums["px"], sums["py"], sums["pz"])
    columns = {
        "pt": kinematics.pt(sums["px"], sums["py"]),
        "eta": np.where(nparticles > 0, eta, 0.0),
        "phi": np.where(nparticles > 0, kinematics.phi(sums["px"], sums["py"]), 0.0),
        "mass": kinematics.mass(sums["px"], sums["py"], sums["pz"], sums["E"]),
        "energy": sums["E"],
        "nparticles": nparticles,
        **{k: np.asarray(v, np.float64) for k, v in sums.items()},
    }
    records = ak.zip({"px": flat["px"], "py": flat["py"], "pz": flat["pz"], "energy": flat["E"]})
    columns.update(substructure_features(records, jet_radius=options.radius, names=SUBSTRUCTURE))
    return {k: np.asarray(v, np.float64).reshape(n_events, width) for k, v in columns.items()}


def _pair_mass(per_jet: dict[str, np.ndarray]) -> np.ndarray:
    """(E,) invariant mass of the two leading jets (0 when an event has fewer than two)."""
    total = {k: per_jet[k][:, 0] + per_jet[k][:, 1] for k in ("px", "py", "pz", "E")}
    both = (per_jet["nparticles"][:, :2] > 0).all(axis=1)
    return np.where(both, kinematics.mass(total["px"], total["py"], total["pz"], total["E"]), 0.0)
