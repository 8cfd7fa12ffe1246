"""Zero-padded flat particle columns -> the jagged constituent columns ``part_*``.

Files such as the LHC Olympics 2020 R&D set store each event's particles as fixed
columns: 700 particles x (pT, eta, phi) = columns 0..2099, pT == 0 in the unused slots.
``data.particle_layout`` declares that layout; this module reads the (N, P) array of each
field, drops the padding and gives the four-momenta the constituent representations
read (``part_px, part_py, part_pz, part_energy``, GeV), plus ``part_<field>`` for any
other field (pid, charge, ...). The flat columns themselves are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.errors import ConfigError, DataError

REQUIRED_FIELDS = ("pt", "eta", "phi")
FOUR_MOMENTUM_FIELDS = ("pt", "eta", "phi", "mass", "energy")  # turned into px, py, pz, E


def layout_columns(
    available: Sequence[str], layout: Any, *, exclude: Sequence[str], source: str
) -> list[str]:
    """The flat columns of ``layout`` in the file's order: ``layout.columns``, else the
    ``{field}_{i}`` names when the file has all of them, else every column not in
    ``exclude`` (the label column). A DataError when they are not ``max_particles`` x
    ``fields``."""
    fields, n = list(layout.fields), layout.max_particles
    if layout.columns is not None:
        columns = [str(c) for c in layout.columns]
        missing = [c for c in columns if c not in available]
        if missing:
            raise DataError(
                f"{source}: data.particle_layout.columns names {len(missing)} column(s) the "
                f"file lacks (first: '{missing[0]}')"
            )
    else:
        named = [f"{f}_{i}" for i in range(n) for f in fields]  # particle-major names
        if set(named) <= set(available):
            if layout.order == "field-major":
                named = [f"{f}_{i}" for f in fields for i in range(n)]
            return named
        columns = [c for c in available if c not in set(exclude)]
    if len(columns) != n * len(fields):
        per = len(columns) / len(fields)
        fits = f"{int(per)} particles" if per == int(per) else "no whole number of particles"
        raise DataError(
            f"{source}: data.particle_layout declares max_particles {n} x {len(fields)} fields "
            f"({', '.join(fields)}) = {n * len(fields)} columns, but the file has "
            f"{len(columns)} particle columns ({fits} of {len(fields)} fields); expected "
            f"max_particles to divide the columns"
        )
    return columns


def check_fields(fields: Sequence[str]) -> None:
    """A ConfigError unless the fields name pT, eta and phi once each."""
    missing = [f for f in REQUIRED_FIELDS if f not in fields]
    repeated = sorted({f for f in fields if list(fields).count(f) > 1})
    if missing or repeated:
        raise ConfigError(
            f"data.particle_layout.fields {list(fields)}: expected each of pt, eta, phi once "
            f"(and optionally mass or energy, pid, charge, ...)"
            + (f"; missing {missing}" if missing else f"; repeated {repeated}")
        )


def apply_particle_layout(
    table: ak.Array, layout: Any, *, exclude: Sequence[str] = (), source: str
) -> ak.Array:
    """``table`` with its flat particle columns replaced by jagged ``part_*`` columns,
    padding (pT == 0) dropped; the other columns (labels, event variables) kept."""
    check_fields(layout.fields)
    fields, n = list(layout.fields), layout.max_particles
    available = list(table.fields)
    columns = layout_columns(available, layout, exclude=exclude, source=source)
    step = len(fields)

    def field_values(f: int) -> np.ndarray:  # (N, P) float64 of field f
        names = columns[f::step] if layout.order == "particle-major" else columns[f * n :][:n]
        try:
            return np.stack([np.asarray(table[c], dtype=np.float64) for c in names], axis=1)
        except (TypeError, ValueError):
            raise DataError(
                f"{source}: data.particle_layout columns must hold one number per row"
            ) from None

    values = {name: field_values(f) for f, name in enumerate(fields)}
    mask = values["pt"] > 0  # (N, P) the padding is pT == 0
    counts = mask.sum(axis=1)  # (N,)
    parts = _four_momenta(values)
    parts.update({f"part_{k}": v for k, v in values.items() if k not in FOUR_MOMENTUM_FIELDS})
    kept = {name: table[name] for name in available if name not in set(columns)}
    jagged = {name: ak.unflatten(v[mask], counts) for name, v in parts.items()}
    return ak.zip({**kept, **jagged}, depth_limit=1)


def _four_momenta(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """px, py, pz, E (each (N, P)) from pT, eta, phi and the mass (0 when not given) or
    the energy."""
    pt, eta, phi = values["pt"], values["eta"], values["phi"]
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    if "energy" in values:
        energy = values["energy"]
    else:
        mass = values.get("mass", np.zeros_like(pt))
        energy = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return {"part_px": px, "part_py": py, "part_pz": pz, "part_energy": energy}
