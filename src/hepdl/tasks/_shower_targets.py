"""The truth of a generative shower model: the cells of representation ``calo_layers`` as
fractions of the incident energy, the model options they set, and the judgement of the
showers the model draws for the test rows' energies.

Targets: u = cells / E_inc (N, D) float32, what every generative model learns
(``hepdl.models._shower_space``). The coding fixes from the training rows the cells per
layer (the generator's heads) and the incident-energy range (the condition's scale), and
saves both with the model, so ``hepdl sample`` rebuilds the network and knows the range
it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.tasks._coding import TargetCoding
from hepdl.tasks._generative_section import CELLS, DERIVED_OPTIONS, ENERGY


class ShowerTargets(TargetCoding):
    """``layers``: {layer: (H, W)} in the order of the cells; ``energy_range``: [lo, hi]
    GeV of the training rows' incident energies."""

    def __init__(
        self, *, layers: Mapping[str, Any], energy_range: Any, origin: Mapping | None = None
    ) -> None:
        self.layers = {str(k): (int(v[0]), int(v[1])) for k, v in layers.items()}
        self.energy_range = [float(energy_range[0]), float(energy_range[1])]
        # What simulated the training showers ({"geometry": name, "particles": [...]}),
        # when the files say (hepdl showers' metadata); None for other files.
        self.origin = dict(origin) if isinstance(origin, Mapping) else None

    @property
    def layer_cells(self) -> list[int]:
        return [h * w for h, w in self.layers.values()]

    def encode(self, sample: Any) -> np.ndarray:
        cells, energy = shower_arrays(sample)
        if cells.shape[1] != sum(self.layer_cells):
            raise DataError(
                f"{sample.source}: the showers have {cells.shape[1]} cells, but the model was "
                f"trained on {sum(self.layer_cells)} (layers {self.layers}); the file must "
                "come from the same calorimeter geometry"
            )
        return (cells / energy).astype(np.float32)  # (N, D) fractions of E_inc

    def head_options(self, model_options: Mapping[str, Any]) -> dict[str, Any]:
        for key in DERIVED_OPTIONS:
            if key in model_options:
                raise ConfigError(
                    f"model.{key} is set from the training showers (cells per layer, "
                    f"incident-energy range); remove model.{key}"
                )
        return {"layer_cells": self.layer_cells, "energy_range": list(self.energy_range)}

    def saved(self) -> dict[str, Any]:
        layers = {k: list(v) for k, v in self.layers.items()}
        return {
            "targets": {"layers": layers, "energy_range": self.energy_range, "origin": self.origin}
        }

    @classmethod
    def from_saved(cls, saved: Mapping[str, Any]) -> ShowerTargets:
        try:
            return cls(
                layers=saved["layers"],
                energy_range=saved["energy_range"],
                origin=saved.get("origin"),
            )
        except (KeyError, TypeError, ValueError, IndexError):
            raise DataError(
                "preprocessing.json: 'targets' should hold the shower 'layers' ({layer: [H, W]}) "
                "and 'energy_range' ([lo, hi] GeV) of a generative run; the file is damaged"
            ) from None

    # ------------------------------------------------------------ hepdl sample
    condition_name = "energy"  # --condition energy=E or LO:HI, GeV
    condition_unit = "GeV"

    @property
    def condition_range(self) -> tuple[float, float]:
        """The training rows' range of the condition: the incident energy, GeV."""
        return self.energy_range[0], self.energy_range[1]

    def draw_conditions(
        self, low: float, high: float, rows: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Incident energies (rows, 1) float32, uniform in [low, high] GeV."""
        return rng.uniform(low, high, (rows, 1)).astype(np.float32)

    def sample_columns(self, outputs: np.ndarray, condition: np.ndarray) -> dict[str, np.ndarray]:
        """Drawn cells (n, D) GeV at energies (n, 1) as the columns of a shower file:
        ``energy`` (n,), ``particle`` (the training showers' particle, when they were of
        one; else "generated") and one (n, H, W) array per layer."""
        from hepdl.data.representations.calo_layers import split_layers

        particles = (self.origin or {}).get("particles") or []
        particle = particles[0] if len(particles) == 1 else "generated"
        return {
            "energy": condition[:, 0].astype(np.float64),
            "particle": np.full(len(condition), particle, dtype=object),
            **split_layers(outputs, self.layers),
        }

    def sample_metadata(self) -> dict[str, Any]:
        """What a file of drawn showers says of itself beyond the run: the geometry of the
        simulation the model stands in for (``hepdl validate-showers`` reads it), as the
        files of ``hepdl showers`` do."""
        if not self.origin or not self.origin.get("geometry"):
            return {}
        from hepdl.generate.calo_geometry import get_geometry

        particles = self.origin.get("particles") or []
        return {
            "kind": "shower",
            "geometry": get_geometry(self.origin["geometry"]).describe(),
            "class_names": particles,
        }

    def prediction_columns(
        self, outputs: np.ndarray, columns: Mapping[str, np.ndarray], *, source: str
    ) -> dict[str, np.ndarray]:
        raise ConfigError(
            f"{source}: a generative model draws new showers, it predicts nothing per row of a "
            "file; use `hepdl sample RUN_DIR --n N --condition energy=E --out FILE`"
        )

    def write_evaluation(
        self,
        out_dir: Path,
        *,
        outputs: np.ndarray,
        sample: Any,
        rows: np.ndarray,
        evaluate: Any,
        train: tuple[np.ndarray, Any, np.ndarray] | None = None,
        history: dict[str, list[float]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The showers generated for the test rows' energies (``outputs`` (n, D) GeV)
        against the simulated test showers, with the truth-vs-truth floor from as many
        training showers (simulated too, independent of the test rows)."""
        from hepdl.tasks._shower_report import write_shower_report

        cells, energy = shower_arrays(sample)
        floor = None
        if train is not None:
            _, train_sample, train_rows = train
            train_cells, train_energy = shower_arrays(train_sample)
            pick = train_rows[: len(rows)]
            floor = (train_cells[pick], train_energy[pick, 0])
        return write_shower_report(
            out_dir,
            layers=self.layers,
            generated=np.asarray(outputs, dtype=np.float32),
            simulated=cells[rows],
            energy=energy[rows, 0],
            floor=floor,
            plots=evaluate.plots,
            history=history,
            extra=extra,
        )


def shower_arrays(sample: Any) -> tuple[np.ndarray, np.ndarray]:
    """The sample's cells (N, D) and incident energies (N, 1), GeV; ConfigError naming
    representation calo_layers when the representation gives other arrays."""
    arrays = sample.inputs
    if CELLS not in arrays or ENERGY not in arrays:
        raise ConfigError(
            f"{sample.source}: a generative model learns '{CELLS}' given '{ENERGY}', but "
            f"representation '{sample.representation.get('name')}' gives "
            f"{', '.join(sorted(arrays))}; use representation calo_layers"
        )
    return arrays[CELLS], arrays[ENERGY]


def fit_shower_targets(sample: Any, train_rows: np.ndarray) -> ShowerTargets:
    """The coding of ``sample``'s layout (its cell names) and its training energy range."""
    from hepdl.data.representations.calo_layers import layer_layout

    cells, energy = shower_arrays(sample)
    layers = layer_layout(sample.feature_names)
    if sum(h * w for h, w in layers.values()) != cells.shape[1]:
        raise DataError(
            f"{sample.source}: the cell names describe layers {layers}, which do not make "
            f"the {cells.shape[1]} cells of '{CELLS}'"
        )
    train_energy = energy[train_rows, 0]
    return ShowerTargets(
        layers=layers,
        energy_range=[float(train_energy.min()), float(train_energy.max())],
        origin=shower_origin(sample.files),
    )


def shower_origin(files: list[str]) -> dict[str, Any] | None:
    """{"geometry", "particles"} of files written by ``hepdl showers`` (all of one
    geometry), from their metadata; None when a file does not say."""
    from hepdl.errors import HepdlError
    from hepdl.generate.shower_measurements import file_geometry

    geometries, particles = set(), []
    for name in files:
        try:
            geometry, meta = file_geometry(Path(name))
        except (HepdlError, OSError, ValueError):
            return None
        geometries.add(geometry.name)
        particles += [p for c in meta.get("classes", []) for p in c.get("particles", [])]
    if len(geometries) != 1:
        return None
    return {"geometry": geometries.pop(), "particles": sorted(set(particles))}
