"""Calorimeter geometries for the shower simulation, registered by name.

A geometry is a stack of *sections* (one material each: radiation length X0, nuclear
interaction length lambda, Moliere radius, critical energy, resolution terms) along the
depth z (cm from the calorimeter's front face), read out by *layers*: a layer covers a
depth range of one section and a grid of H x W cells of a fixed transverse size.

Transverse positions are in cm on the front face of the first section. A *projective*
geometry (cells pointing at the interaction point, like the CMS ECAL crystals) has its
front face at ``radius_cm`` from the origin: a deposit at depth z and transverse distance
r from the shower axis lands at r * radius / (radius + z) on the front face, so a tower
behind a crystal covers the same eta-phi. A non-projective geometry (a test-beam block like
CaloGAN's) has ``radius_cm = inf``.

``hepdl.generate.calo_geometry.GEOMETRIES`` holds the recipes; ``get_geometry(name)``
returns one (did-you-mean error for a name not registered).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hepdl.errors import GenerationError
from hepdl.text import did_you_mean


@dataclass(frozen=True)
class Section:
    """One material slab, depth [start_cm, stop_cm) from the front face.

    ``sampling_em`` / ``sampling_hadronic``: the stochastic term a (GeV^1/2) of the energy
    seen from electromagnetic / hadronic deposits (sigma^2 = a^2 E); ``h_over_e``: the
    response to the non-electromagnetic part of a hadronic shower relative to electrons
    (non-compensation); ``mip_gev_per_cm``: what a minimum-ionising particle leaves, at
    the electromagnetic scale. A section without material (a gap) has ``x0_cm = inf``.
    """

    name: str
    start_cm: float
    stop_cm: float
    x0_cm: float
    lambda_cm: float
    moliere_cm: float
    critical_gev: float
    z_eff: float
    sampling_em: float
    sampling_hadronic: float
    h_over_e: float
    mip_gev_per_cm: float

    @property
    def is_gap(self) -> bool:
        return not math.isfinite(self.x0_cm)


@dataclass(frozen=True)
class Layer:
    """A read-out layer: H x W cells of ``cell_cm`` (rows, columns) in the section
    ``section``'s depth range [start_cm, stop_cm); the grid is centred on the axis."""

    name: str
    shape: tuple[int, int]
    cell_cm: tuple[float, float]
    start_cm: float
    stop_cm: float
    noise_gev: float  # Gaussian electronic noise per cell


@dataclass(frozen=True)
class CaloGeometry:
    """Sections (in depth order, contiguous) read out by ``layers``."""

    name: str
    description: str
    sections: tuple[Section, ...]
    layers: tuple[Layer, ...]
    radius_cm: float  # front face distance from the origin; inf: not projective
    upstream_x0: float  # material in front of the calorimeter (tracker, cryostat)
    constant_term: float  # relative spread of the overall response per shower
    impact_spread_cells: float  # impact uniform in +-spread/2 first-layer cells
    pileup_capable: bool  # cells in eta-phi: min-bias particles can be overlaid

    @property
    def depth_cm(self) -> float:
        return self.sections[-1].stop_cm

    @property
    def total_x0(self) -> float:
        return float(self.depth_in_x0(np.array([self.depth_cm]))[0])

    def _edges(self, length: Callable[[Section], float]) -> tuple[np.ndarray, np.ndarray]:
        """(S + 1,) depth edges in cm and the same edges in units of ``length``."""
        cm = np.array([s.start_cm for s in self.sections] + [self.depth_cm])
        # A gap adds a negligible depth (1e-9 per cm), so the map stays strictly increasing.
        units = [0.0]
        for s in self.sections:
            size = length(s)
            units.append(
                units[-1]
                + (s.stop_cm - s.start_cm) * (1e-9 if not math.isfinite(size) else 1 / size)
            )
        return cm, np.array(units)

    def depth_in_x0(self, z_cm: np.ndarray) -> np.ndarray:
        cm, x0 = self._edges(lambda s: s.x0_cm)
        return np.interp(z_cm, cm, x0)

    def depth_from_x0(self, t: np.ndarray) -> np.ndarray:
        """Depth in cm of ``t`` radiation lengths into the calorimeter; beyond the back:
        ``inf`` (the energy leaks out)."""
        cm, x0 = self._edges(lambda s: s.x0_cm)
        return np.where(t > x0[-1], np.inf, np.interp(t, x0, cm))

    def depth_in_lambda(self, z_cm: np.ndarray) -> np.ndarray:
        cm, lam = self._edges(lambda s: s.lambda_cm)
        return np.interp(z_cm, cm, lam)

    def depth_from_lambda(self, t: np.ndarray) -> np.ndarray:
        cm, lam = self._edges(lambda s: s.lambda_cm)
        return np.where(t > lam[-1], np.inf, np.interp(t, lam, cm))

    @property
    def total_lambda(self) -> float:
        return float(self.depth_in_lambda(np.array([self.depth_cm]))[0])

    def section_index(self, z_cm: np.ndarray) -> np.ndarray:
        """(M,) index of the section holding each depth (the last for z >= depth)."""
        starts = np.array([s.start_cm for s in self.sections])
        return np.clip(np.searchsorted(starts, z_cm, side="right") - 1, 0, len(self.sections) - 1)

    def section_table(self, attribute: str) -> np.ndarray:
        return np.array([getattr(s, attribute) for s in self.sections], dtype=np.float64)

    def to_front_face(self, z_cm: np.ndarray) -> np.ndarray:
        """The factor turning a transverse distance at depth z into front-face cm."""
        if not math.isfinite(self.radius_cm):
            return np.ones_like(z_cm)
        return self.radius_cm / (self.radius_cm + z_cm)

    def describe(self) -> dict:
        """JSON-safe: every number the simulation uses, for the file's metadata."""
        from dataclasses import asdict

        def safe(value: object) -> object:
            if isinstance(value, float) and not math.isfinite(value):
                return "inf"
            if isinstance(value, dict):
                return {k: safe(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [safe(v) for v in value]
            return value

        return safe(asdict(self))  # type: ignore[return-value]


GEOMETRIES: dict[str, CaloGeometry] = {}


def register_geometry(geometry: CaloGeometry) -> CaloGeometry:
    _check(geometry)
    GEOMETRIES[geometry.name] = geometry
    return geometry


def get_geometry(name: str) -> CaloGeometry:
    if not isinstance(name, str) or name not in GEOMETRIES:
        raise GenerationError(
            f"unknown calorimeter geometry {name!r}{did_you_mean(str(name), GEOMETRIES)}; "
            f"registered: {', '.join(sorted(GEOMETRIES))}"
        )
    return GEOMETRIES[name]


def _check(geometry: CaloGeometry) -> None:
    """Sections contiguous from 0, each layer inside one section."""
    start = 0.0
    for section in geometry.sections:
        if not math.isclose(section.start_cm, start) or section.stop_cm <= section.start_cm:
            raise ValueError(f"geometry {geometry.name}: section {section.name} is not contiguous")
        start = section.stop_cm
    for layer in geometry.layers:
        inside = [s for s in geometry.sections if s.start_cm <= layer.start_cm < s.stop_cm]
        if not inside or layer.stop_cm > inside[0].stop_cm + 1e-9:
            raise ValueError(f"geometry {geometry.name}: layer {layer.name} spans sections")


# --- the recipes -----------------------------------------------------------------------
# PbWO4 (PDG): X0 = 0.89 cm, lambda_I = 20.3 cm, R_M = 1.96 cm, E_c = 9.3 MeV, Z_eff ~ 68;
# dE/dx_min = 10.2 MeV/cm. Brass (HCAL absorber, CMS HB): X0 = 1.49 cm, lambda_I = 16.4 cm,
# R_M = 1.7 cm (sampling with scintillator: R_M ~ 2 cm effective). CMS ECAL barrel: crystals
# 0.0174 x 0.0174 at R = 129 cm (2.2 cm front face), 23 cm = 25.8 X0; resolution
# 2.8 %/sqrt(E) (+) 0.12 GeV/E (+) 0.3 % (noise ~40 MeV per crystal); HB towers 0.087 x 0.087
# at R = 181 cm, 5.8 lambda_I; hadron resolution ~100 %/sqrt(E) (+) 5 %.
_CMS_RADIUS = 129.0
_CRYSTAL = _CMS_RADIUS * 0.0174  # cm on the ECAL front face
_PBWO4 = {
    "x0_cm": 0.89, "lambda_cm": 20.3, "moliere_cm": 1.96, "critical_gev": 0.0093,
    "z_eff": 68.0, "mip_gev_per_cm": 0.0102,
}  # fmt: skip
_BRASS = {
    "x0_cm": 1.49, "lambda_cm": 16.4, "moliere_cm": 2.0, "critical_gev": 0.0125,
    "z_eff": 29.5, "mip_gev_per_cm": 0.0124,
}  # fmt: skip
_GAP = {
    "x0_cm": math.inf, "lambda_cm": math.inf, "moliere_cm": 1.0, "critical_gev": 0.0,
    "z_eff": 1.0, "sampling_em": 0.0, "sampling_hadronic": 0.0, "h_over_e": 1.0,
    "mip_gev_per_cm": 0.0,
}  # fmt: skip
_HCAL_DEPTH = 5.8 * 16.4

register_geometry(
    CaloGeometry(
        name="cms_ecal",
        description="CMS-ECAL-like barrel at eta = 0: a 35 x 35 window of PbWO4 crystals "
        "(0.0174 x 0.0174 in eta-phi, 23 cm = 25.8 X0) and the 7 x 7 brass/scintillator HCAL "
        "towers behind them (0.087 x 0.087, 5.8 lambda_I), projective from the origin",
        sections=(
            Section(
                "ecal",
                0.0,
                23.0,
                sampling_em=0.028,
                sampling_hadronic=0.30,
                h_over_e=0.60,
                **_PBWO4,
            ),
            Section("gap", 23.0, 52.0, **_GAP),
            Section(
                "hcal",
                52.0,
                52.0 + _HCAL_DEPTH,
                sampling_em=0.20,
                sampling_hadronic=0.85,
                h_over_e=0.70,
                **_BRASS,
            ),
        ),
        layers=(
            Layer("ecal", (35, 35), (_CRYSTAL, _CRYSTAL), 0.0, 23.0, noise_gev=0.040),
            Layer(
                "hcal",
                (7, 7),
                (5 * _CRYSTAL, 5 * _CRYSTAL),
                52.0,
                52.0 + _HCAL_DEPTH,
                noise_gev=0.20,
            ),
        ),
        radius_cm=_CMS_RADIUS,
        upstream_x0=0.4,
        constant_term=0.003,
        impact_spread_cells=1.0,
        pileup_capable=True,
    )
)

# CaloGAN (Paganini, de Oliveira, Nachman 2018): a 480 mm cube of lead / liquid argon,
# ATLAS-like, read out in three layers of 90, 347 and 43 mm: 3 x 96 cells of 160 x 5 mm,
# 12 x 12 of 40 x 40 mm and 12 x 6 of 40 x 80 mm (504 cells). Effective medium: X0 = 2.1 cm
# (~23 X0 in all), lambda_I = 24 cm, R_M = 4.0 cm, E_c = 10 MeV, Z_eff ~ 35; sampling
# ~10 %/sqrt(E). The cell energies are at the electromagnetic scale (the energy the cell's
# sampling fraction corresponds to), with no noise, as CaloGAN's Geant4 samples have none.
_PB_LAR = {
    "x0_cm": 2.1, "lambda_cm": 24.0, "moliere_cm": 4.0, "critical_gev": 0.010,
    "z_eff": 35.0, "sampling_em": 0.10, "sampling_hadronic": 0.45, "h_over_e": 0.65,
    "mip_gev_per_cm": 0.0105,
}  # fmt: skip
register_geometry(
    CaloGeometry(
        name="calogan",
        description="the CaloGAN layout: a 48 cm cube of Pb/LAr (~23 X0), three layers of "
        "3 x 96, 12 x 12 and 12 x 6 cells (504), particles at normal incidence at the centre",
        sections=(
            Section("layer_0", 0.0, 9.0, **_PB_LAR),
            Section("layer_1", 9.0, 43.7, **_PB_LAR),
            Section("layer_2", 43.7, 48.0, **_PB_LAR),
        ),
        layers=(
            Layer("layer_0", (3, 96), (16.0, 0.5), 0.0, 9.0, noise_gev=0.0),
            Layer("layer_1", (12, 12), (4.0, 4.0), 9.0, 43.7, noise_gev=0.0),
            Layer("layer_2", (12, 6), (4.0, 8.0), 43.7, 48.0, noise_gev=0.0),
        ),
        radius_cm=math.inf,
        upstream_x0=0.0,
        constant_term=0.005,
        impact_spread_cells=0.0,
        pileup_capable=False,
    )
)
