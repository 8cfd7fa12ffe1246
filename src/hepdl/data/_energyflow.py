"""NumPy ``.npz`` files, and the Energy Flow quark/gluon jets preset ``energyflow-qg``.

An ``.npz`` file is read as a table with one column per array: a 1-D array is a flat
column, an (N, ...) array a regular nested one; every array must have the same N. Object
arrays are refused (loading them would unpickle).

``energyflow-qg``: the quark and gluon jets of P. T. Komiske, E. M. Metodiev, J. Thaler,
"Energy Flow Networks: Deep Sets for Particle Jets", JHEP 01 (2019) 121 (the
``energyflow`` package's ``qg_jets``; Pythia 8 Z(->nu nu) + q / g, anti-kT R = 0.4). The
file holds exactly ``X`` (N, M, 4), per particle (pT, rapidity y, azimuth phi, PDG id),
zero-padded to M, and ``y`` (N,), 1 for quark and 0 for gluon jets. Mapped onto hepdl's
JetClass names:

- padding (pT = 0) dropped; ``part_pid`` the PDG id, ``part_charge`` its charge;
- four-momenta with the PDG mass m of each id (EF stores no mass; the same convention
  as energyflow's ``pids2ms`` and ``p4s_from_ptyphipids``):

      mT = sqrt(m^2 + pT^2),  px = pT cos phi,  py = pT sin phi,
      pz = mT sinh y,         E = mT cosh y   (so E^2 = m^2 + pT^2 + pz^2);

- ``jet_*`` from the sum of the constituents' four-momenta (``jet_eta`` is the
  pseudorapidity, 0 for a jet without particles), ``jet_nparticles`` their number;
- ``label`` = ``y``; classes gluon (0), quark (1).
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._column_names import Output, Preset
from hepdl.errors import DataError
from hepdl.physics import kinematics

# PDG masses (GeV, PDG 2024) and charges of the final-state particles in the EF samples.
_MASS = {
    22: 0.0,
    11: 0.51099895e-3,
    13: 0.1056583755,
    211: 0.13957039,
    321: 0.493677,
    130: 0.497611,
    310: 0.497611,
    2112: 0.93956542,
    2212: 0.93827209,
    3122: 1.115683,
}
# Charges of the positive ids; a negative id is the antiparticle, of opposite charge.
_CHARGE = {22: 0, 11: -1, 13: -1, 211: 1, 321: 1, 130: 0, 310: 0, 2112: 0, 2212: 1, 3122: 0}


def npz_columns(name: str) -> list[str]:
    """The array names of an ``.npz`` file, read without loading the arrays."""
    with _open(name) as data:
        return list(data.files)


def _open(name: str) -> Any:
    try:
        return np.load(name, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{name}: cannot read as .npz ({err}); expected a complete NumPy .npz archive "
            "(numpy.savez), e.g. an energyflow qg_jets file"
        ) from err


def read_npz(name: str, *, columns: Sequence[str] | None) -> ak.Array:
    """The arrays ``columns`` (None: all) of an ``.npz`` file as a table, one row per
    entry of their first axis."""
    with _open(name) as data:
        available = list(data.files)
        chosen = list(available if columns is None else columns)
        missing = [c for c in chosen if c not in available]
        if missing:
            from hepdl.data._messages import missing_columns_error

            raise missing_columns_error(name, missing, available)
        arrays = {}
        for key in chosen:
            try:
                arrays[key] = data[key]
            except ValueError as err:  # an object array: np.load would have to unpickle
                raise DataError(
                    f"{name}: array '{key}' cannot be loaded without unpickling ({err}); "
                    "expected numeric arrays"
                ) from err
    lengths = {key: len(a) if a.ndim else None for key, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise DataError(
            f"{name}: arrays of different lengths {lengths}; expected one entry per row "
            "(the same first dimension) in every array"
        )
    return ak.zip({k: ak.from_numpy(a) for k, a in arrays.items()}, depth_limit=1)


class EnergyFlowQG(Preset):
    """The ``energyflow-qg`` preset (see the module docstring)."""

    name = "energyflow-qg"
    layout = "X (N, M, 4) per particle (pT, y, phi, pid), zero-padded, and y (N,) 1 quark, 0 gluon"
    class_names = ("gluon", "quark")
    KEYS = ("X", "y")
    PARTICLES = ("part_px", "part_py", "part_pz", "part_energy", "part_pid", "part_charge")
    JETS = ("jet_pt", "jet_eta", "jet_phi", "jet_energy", "jet_mass", "jet_nparticles")

    def missing(self, available: Sequence[str]) -> list[str]:
        return [key for key in self.KEYS if key not in available]

    def is_exact(self, available: Sequence[str]) -> bool:
        return sorted(available) == sorted(self.KEYS)

    def consumed(self, available: Sequence[str]) -> set[str]:
        return set(self.KEYS)

    def mapped(self, available: Sequence[str], *, source: str) -> dict[str, Output]:
        last: dict[str, Any] = {}  # the raw table last converted and its columns

        def converted(raw: ak.Array) -> dict[str, Any]:
            # Every output is built from the same raw table: convert it once.
            if last.get("raw") is not raw:
                last.clear()
                last.update(raw=raw, columns=energyflow_columns(raw, source=source))
            return last["columns"]

        def column(name: str) -> Output:
            return Output(self.KEYS, lambda raw: converted(raw)[name])

        return {name: column(name) for name in (*self.JETS, *self.PARTICLES, "label")}


def energyflow_columns(raw: ak.Array, *, source: str) -> dict[str, Any]:
    """hepdl's columns from the raw ``X`` and ``y`` of an Energy Flow file."""
    x = _particles(raw, source=source)  # (N, M, 4)
    labels = _labels(raw, n_jets=len(x), source=source)  # (N,)
    keep = x[..., 0] > 0  # (N, M): padding has pT = 0
    pt, rapidity, phi, pid = (x[..., i][keep] for i in range(4))  # (P,) each, jet by jet
    pid = pid.astype(np.int64)
    mass = _lookup(_MASS, np.abs(pid), source=source)
    transverse_mass = np.sqrt(mass**2 + pt**2)
    momenta = {
        "part_px": pt * np.cos(phi),
        "part_py": pt * np.sin(phi),
        "part_pz": transverse_mass * np.sinh(rapidity),
        "part_energy": transverse_mass * np.cosh(rapidity),
    }
    counts = keep.sum(axis=1)  # (N,)
    jet = np.repeat(np.arange(len(x)), counts)  # (P,) the jet of each particle
    px, py, pz, energy = (
        np.bincount(jet, weights=momenta[k], minlength=len(x)) for k in momenta
    )  # (N,) each
    jet_pt = kinematics.pt(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        jet_eta = np.where(jet_pt > 0, kinematics.pseudorapidity(px, py, pz), 0.0)
    columns: dict[str, Any] = {
        "jet_pt": jet_pt,
        "jet_eta": jet_eta,
        "jet_phi": kinematics.phi(px, py),
        "jet_energy": energy,
        "jet_mass": kinematics.mass(px, py, pz, energy),
        "jet_nparticles": counts.astype(np.int64),
        "label": labels,
    }
    particles = {**momenta, "part_pid": pid, "part_charge": _charges(pid, source=source)}
    for name, values in particles.items():
        columns[name] = ak.unflatten(values, counts)  # N * var
    return columns


def _particles(raw: ak.Array, *, source: str) -> np.ndarray:
    try:
        x = np.asarray(ak.to_numpy(raw["X"]), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(
            f"{source}: key 'X' is not a numeric (N, M, 4) array ({err}); preset "
            "'energyflow-qg' expects per particle (pT, y, phi, pid)"
        ) from err
    if x.ndim != 3 or x.shape[2] != 4:
        raise DataError(
            f"{source}: key 'X' has shape {x.shape}; preset 'energyflow-qg' expects (N, M, 4), "
            "per particle (pT, rapidity, phi, pid) (preset: null reads the arrays as they are)"
        )
    if not np.isfinite(x).all() or (x[..., 0] < 0).any():
        raise DataError(
            f"{source}: key 'X' holds NaN, inf or a negative pT; expected finite "
            "(pT >= 0, y, phi, pid) per particle, pT = 0 for padding"
        )
    pid = x[..., 3][x[..., 0] > 0]
    if (pid != np.round(pid)).any():
        raise DataError(
            f"{source}: key 'X' column 3 (pid) holds non-integer values, e.g. "
            f"{pid[pid != np.round(pid)][0]}; expected PDG ids"
        )
    return x


def _labels(raw: ak.Array, *, n_jets: int, source: str) -> np.ndarray:
    y = np.asarray(ak.to_numpy(raw["y"]))
    if y.shape != (n_jets,) or not np.isin(y, (0, 1)).all():
        raise DataError(
            f"{source}: key 'y' must hold one label per jet, 1 (quark) or 0 (gluon), shape "
            f"({n_jets},); got shape {y.shape} with values {np.unique(y)[:5].tolist()}"
        )
    return y.astype(np.int64)


def _lookup(table: dict[int, float], keys: np.ndarray, *, source: str) -> np.ndarray:
    """``table[k]`` for every k of ``keys``: one lookup per distinct id, not per particle."""
    distinct, inverse = np.unique(keys, return_inverse=True)
    unknown = [int(k) for k in distinct if int(k) not in table]
    if unknown:
        raise DataError(
            f"{source}: key 'X' has particle ids {unknown} (|pid|) with no known mass/charge; "
            f"preset 'energyflow-qg' knows {sorted(table)}"
        )
    return np.array([table[int(k)] for k in distinct], dtype=np.float64)[inverse]


def _charges(pid: np.ndarray, *, source: str) -> np.ndarray:
    """Electric charge of each PDG id; antiparticles (negative ids) the opposite."""
    magnitude = _lookup(_CHARGE, np.abs(pid), source=source)
    return (np.sign(pid) * magnitude).astype(np.float32)
