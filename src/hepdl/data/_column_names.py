"""Column names: a user's rename mapping and the built-in presets, onto the JetClass names.

hepdl's own names (``JETCLASS_NAMES``, the JetClass convention) are what representations
read. A file with other names is brought onto them in one of two explicit ways:

- ``columns={"jet_pt": "FatJet_pt", ...}``: new name -> column of the file. Exactly these
  columns are read and returned under the new names, in the mapping's order.
- a preset, a built-in layout of a well-known dataset where the mapping is unambiguous:
  chosen by name (``preset="top-landscape"``), or detected when a file's columns are
  exactly that layout (``preset="auto"``, the default; a partial match is never guessed).
  Columns a preset does not map pass through under their own names.

Presets:

``top-landscape``
    The top-tagging reference dataset (Kasieczka, Plehn et al., SciPost Phys. 7 (2019)
    014; pandas HDF5, key "table"). Constituent i = 0..K-1 (K = 200 in the release) is
    ``E_i, PX_i, PY_i, PZ_i``, zero-padded; truth ``is_signal_new`` (1 top, 0 QCD); the
    release adds ``ttv`` and ``truthE, truthPX, truthPY, truthPZ``. Mapped:
    ``part_px/part_py/part_pz/part_energy`` = the constituents with E_i > 0 (padding
    dropped, file order kept), ``jet_nparticles`` = their number, ``label`` =
    ``is_signal_new``. Classes: QCD, top.
``jetclass``
    JetClass ROOT files (Qu, Li, Qian, arXiv:2202.03772; tree "tree"), already in the
    JetClass names. Added: ``label`` = the index of the one-hot ``label_*`` branch that is
    set, in the order of ``JetClass.LABELS``; classes named after those branches
    (QCD, Hbb, Hcc, Hgg, H4q, Hqql, Zqq, Wqq, Tbqq, Tbl).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error, preview
from hepdl.errors import DataError
from hepdl.text import did_you_mean

JETCLASS_NAMES = (
    "jet_pt",
    "jet_eta",
    "jet_phi",
    "jet_energy",
    "jet_mass",
    "jet_nparticles",
    "part_px",
    "part_py",
    "part_pz",
    "part_energy",
    "part_pid",
    "part_charge",
    "label",
)
AUTO = "auto"

Build = Callable[[ak.Array], Any]  # the source columns read from the file -> one column


@dataclass(frozen=True)
class Output:
    """One output column: the file's columns it is made from, and how."""

    sources: tuple[str, ...]
    build: Build


def _same(column: str) -> Output:
    return Output((column,), lambda raw: raw[column])


@dataclass(frozen=True)
class ColumnPlan:
    """The output columns, in order, and the preset they come from (None: a user mapping)."""

    outputs: dict[str, Output]
    preset: str | None = None

    @property
    def sources(self) -> list[str]:
        """Every column of the file that the outputs need, each once."""
        return list(dict.fromkeys(c for out in self.outputs.values() for c in out.sources))

    def select(self, names: Sequence[str]) -> ColumnPlan:
        return ColumnPlan({n: self.outputs[n] for n in names}, preset=self.preset)

    def build(self, raw: ak.Array) -> ak.Array:
        return ak.zip({n: out.build(raw) for n, out in self.outputs.items()}, depth_limit=1)


class Preset(ABC):
    """A well-known file layout and its unambiguous mapping onto the JetClass names."""

    name: str
    layout: str  # the columns it needs, in words, for messages
    class_names: tuple[str, ...]

    @abstractmethod
    def missing(self, available: Sequence[str]) -> list[str]:
        """Columns this layout needs that ``available`` lacks ([] when it has them all)."""

    @abstractmethod
    def is_exact(self, available: Sequence[str]) -> bool:
        """Whether ``available`` is this layout exactly: every column known, none missing."""

    @abstractmethod
    def mapped(self, available: Sequence[str], *, source: str) -> dict[str, Output]:
        """The columns this preset makes, by name."""

    def consumed(self, available: Sequence[str]) -> set[str]:
        """The file's columns that the mapped ones replace (they do not pass through)."""
        return set()

    def plan(self, available: Sequence[str], *, source: str) -> ColumnPlan:
        """The mapped columns first, then every other column under its own name."""
        outputs = self.mapped(available, source=source)
        hidden = self.consumed(available)
        for column in available:
            if column not in hidden and column not in outputs:
                outputs[column] = _same(column)
        return ColumnPlan(outputs, preset=self.name)


class TopLandscape(Preset):
    name = "top-landscape"
    layout = "E_i, PX_i, PY_i, PZ_i for constituents i = 0..K-1, and is_signal_new"
    class_names = ("QCD", "top")
    PREFIXES = ("PX", "PY", "PZ", "E")
    TARGETS = ("part_px", "part_py", "part_pz", "part_energy")
    LABEL = "is_signal_new"
    EXTRAS = ("ttv", "truthE", "truthPX", "truthPY", "truthPZ")
    _SLOT = re.compile(r"^(E|PX|PY|PZ)_\d+$")

    def _constituents(self, available: Sequence[str]) -> int:
        """K: the number of leading slots i = 0, 1, ... with all of E_i, PX_i, PY_i, PZ_i."""
        names = set(available)
        k = 0
        while all(f"{p}_{k}" in names for p in self.PREFIXES):
            k += 1
        return k

    def missing(self, available: Sequence[str]) -> list[str]:
        names = set(available)
        k = max(self._constituents(available), 1)
        needed = [f"{p}_{i}" for i in range(k) for p in self.PREFIXES] + [self.LABEL]
        return [c for c in needed if c not in names]

    def is_exact(self, available: Sequence[str]) -> bool:
        k = self._constituents(available)
        known = {f"{p}_{i}" for i in range(k) for p in self.PREFIXES} | {self.LABEL}
        return k > 0 and known <= set(available) <= known | set(self.EXTRAS)

    def consumed(self, available: Sequence[str]) -> set[str]:
        # Slots past K (an incomplete E_i, PX_i, ... set) are not constituents either.
        return {c for c in available if self._SLOT.match(c)} | {self.LABEL}

    def mapped(self, available: Sequence[str], *, source: str) -> dict[str, Output]:
        k = self._constituents(available)
        slots = {p: tuple(f"{p}_{i}" for i in range(k)) for p in self.PREFIXES}

        def matrix(raw: ak.Array, prefix: str) -> np.ndarray:
            return np.stack([ak.to_numpy(raw[c]) for c in slots[prefix]], axis=1)  # (N, K)

        def present(raw: ak.Array) -> np.ndarray:
            return matrix(raw, "E") > 0  # (N, K): padding slots hold E = 0

        def constituents(prefix: str) -> Build:
            def build(raw: ak.Array) -> ak.Array:
                keep = present(raw)
                # Boolean indexing runs row by row: each jet keeps its file order.
                return ak.unflatten(matrix(raw, prefix)[keep], keep.sum(axis=1))  # N * var

            return build

        out = {
            target: Output(slots["E"] + slots[p], constituents(p))
            for p, target in zip(self.PREFIXES, self.TARGETS, strict=True)
        }
        out["jet_nparticles"] = Output(
            slots["E"], lambda raw: present(raw).sum(axis=1).astype(np.int64)
        )
        out["label"] = Output(
            (self.LABEL,), lambda raw: ak.values_astype(raw[self.LABEL], np.int64)
        )
        return out


class JetClass(Preset):
    name = "jetclass"
    LABELS = (
        "label_QCD",
        "label_Hbb",
        "label_Hcc",
        "label_Hgg",
        "label_H4q",
        "label_Hqql",
        "label_Zqq",
        "label_Wqq",
        "label_Tbqq",
        "label_Tbl",
    )
    class_names = tuple(name.removeprefix("label_") for name in LABELS)
    layout = f"part_px, part_py, part_pz, part_energy and the one-hot {', '.join(LABELS)}"
    PARTICLES = (
        "part_px",
        "part_py",
        "part_pz",
        "part_energy",
        "part_deta",
        "part_dphi",
        "part_d0val",
        "part_d0err",
        "part_dzval",
        "part_dzerr",
        "part_charge",
        "part_isChargedHadron",
        "part_isNeutralHadron",
        "part_isPhoton",
        "part_isElectron",
        "part_isMuon",
    )
    JETS = (
        "jet_pt",
        "jet_eta",
        "jet_phi",
        "jet_energy",
        "jet_nparticles",
        "jet_sdmass",
        "jet_tau1",
        "jet_tau2",
        "jet_tau3",
        "jet_tau4",
    )
    AUX = (
        "aux_genpart_eta",
        "aux_genpart_phi",
        "aux_genpart_pid",
        "aux_genpart_pt",
        "aux_truth_match",
    )

    def missing(self, available: Sequence[str]) -> list[str]:
        names = set(available)
        return [c for c in (*self.PARTICLES[:4], *self.LABELS) if c not in names]

    def is_exact(self, available: Sequence[str]) -> bool:
        required = {*self.PARTICLES, *self.LABELS, *self.JETS}
        return required <= set(available) <= required | set(self.AUX)

    def mapped(self, available: Sequence[str], *, source: str) -> dict[str, Output]:
        def label(raw: ak.Array) -> np.ndarray:
            hot = np.stack([ak.to_numpy(raw[c]) for c in self.LABELS], axis=1) == 1  # (N, 10)
            count = hot.sum(axis=1)
            if (count != 1).any():
                row = int(np.argmax(count != 1))
                raise DataError(
                    f"{source}: row {row} has {int(count[row])} of the one-hot columns "
                    f"{', '.join(self.LABELS)} equal to 1; preset '{self.name}' expects "
                    f"exactly one per row"
                )
            return np.argmax(hot, axis=1).astype(np.int64)  # (N,)

        # The JetClass names are already hepdl's: every column passes through as it is.
        return {"label": Output(self.LABELS, label)}


PRESETS: dict[str, Preset] = {p.name: p for p in (TopLandscape(), JetClass())}


def get_preset(name: str, *, source: str) -> Preset:
    if name not in PRESETS:
        raise DataError(
            f"{source}: unknown preset='{name}'{did_you_mean(name, PRESETS)}; expected one "
            f"of {', '.join(PRESETS)}, '{AUTO}' (detect) or None (the file's own columns)"
        )
    return PRESETS[name]


def detect_preset(available: Sequence[str]) -> Preset | None:
    """The preset whose layout ``available`` is exactly, or None."""
    found = [p for p in PRESETS.values() if p.is_exact(available)]
    return found[0] if len(found) == 1 else None


def mapping_plan(
    mapping: Mapping[Any, Any], available: Sequence[str], *, source: str
) -> ColumnPlan:
    """The plan of a user's ``columns={new name: column of the file}``, checked."""
    if not mapping:
        raise DataError(f"{source}: columns={{}} maps no columns; pass None for all")
    for new, old in mapping.items():
        if not (isinstance(new, str) and new and isinstance(old, str) and old):
            raise DataError(
                f"{source}: columns maps {new!r} to {old!r}; expected new name -> column "
                f"of the file, both non-empty text, e.g. {{'jet_pt': 'FatJet_pt'}}"
            )
    names = set(available)
    for new, old in mapping.items():
        if old not in names:
            raise DataError(
                f"{source}: columns maps '{new}' to '{old}', which is not a column of the "
                f"file{did_you_mean(old, available)}; available columns: {preview(available)}"
            )
    return ColumnPlan({new: _same(old) for new, old in mapping.items()})


def preset_plan(
    preset: str | None,
    available: Sequence[str],
    *,
    select: Sequence[str] | None,
    source: str,
) -> ColumnPlan | None:
    """The plan of ``preset`` (a name, ``"auto"`` or None) narrowed to the ``select``
    columns (names after mapping); None when no preset applies."""
    if preset is None:
        return None
    if preset == AUTO:
        chosen = detect_preset(available)
        if chosen is None:
            return None
    else:
        chosen = get_preset(preset, source=source)
        absent = chosen.missing(available)
        if absent:
            raise missing_columns_error(
                source, absent, available, hint=f"preset='{chosen.name}' needs {chosen.layout}"
            )
    plan = chosen.plan(available, source=source)
    if select is None:
        return plan
    unknown = [c for c in select if c not in plan.outputs]
    if unknown:
        raise missing_columns_error(
            source,
            unknown,
            list(plan.outputs),
            place=f"the table of preset '{chosen.name}'",
            hint="Pass preset=None to select from the file's own columns",
        )
    return plan.select(select)
