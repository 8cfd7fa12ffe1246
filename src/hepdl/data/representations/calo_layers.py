"""``calo_layers``: every cell of a shower file's layers as one flat vector, with the
incident energy: what a generative model of showers learns (and writes back).

The shower files of ``hepdl showers`` hold one fixed-size cell array per layer and row
(the CaloGAN layers ``layer_0`` (N, 3, 96), ``layer_1`` (N, 12, 12), ``layer_2`` (N, 12, 6);
cms_ecal's ``ecal`` (N, 35, 35) and ``hcal`` (N, 7, 7)) and the incident energy
``energy``. The layers keep their own cell counts here (no common grid, unlike
``calo_cells``): each is flattened row by row and the layers are concatenated in the order
given, D = sum_l H_l W_l cells (504 for CaloGAN). The cell names record the layout,
``<layer>:<row>:<column>``, so a model's output (B, D) goes back into the file's layers
(``layer_layout``, ``split_layers``) and generated showers are written in the format the
simulation writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error
from hepdl.data.representations._registry import register_representation
from hepdl.data.representations.calo_cells import cell_layer
from hepdl.errors import ConfigError, DataError
from hepdl.text import short_repr

NAME = "calo_layers"
CELLS = "cells"  # (N, D) GeV
ENERGY = "incident_energy"  # (N, 1) GeV


def _layer_names(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            f"representation '{NAME}': option layers={short_repr(value)}; expected a non-empty "
            "list of cell columns, e.g. [layer_0, layer_1, layer_2] or [ecal, hcal]"
        )
    names = [v for v in value if isinstance(v, str) and v]
    if len(names) != len(value) or len(set(names)) != len(names):
        raise ConfigError(
            f"representation '{NAME}': option layers={short_repr(value)}; every entry must be "
            "a distinct column name"
        )
    return names


@register_representation(NAME)
class CaloLayersRepresentation:
    """``{"cells": (N, D) float32, "incident_energy": (N, 1) float32}`` in GeV: the cells
    of ``layers``, flattened and concatenated, and column ``energy`` (the incident
    particle's energy, the condition of a generative model)."""

    name = NAME
    provides = (CELLS, ENERGY)

    def __init__(
        self,
        *,
        layers: Sequence[str] = ("layer_0", "layer_1", "layer_2"),
        energy: str = "energy",
    ) -> None:
        self._layers = _layer_names(layers)
        if not isinstance(energy, str) or not energy:
            raise ConfigError(
                f"representation '{NAME}': option energy={short_repr(energy)}; expected the "
                "name of the incident-energy column (energy)"
            )
        self._energy = energy
        self._shapes: dict[str, tuple[int, int]] | None = None  # known once data is read

    @property
    def feature_names(self) -> list[str]:
        """``<layer>:<row>:<column>`` for every cell, once a table has been read."""
        if self._shapes is None:
            return []
        return [
            f"{layer}:{r}:{c}"
            for layer, (height, width) in self._shapes.items()
            for r in range(height)
            for c in range(width)
        ]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "layers": list(self._layers), "energy": self._energy}

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        wanted = [*self._layers, self._energy]
        missing = [c for c in wanted if c not in table.fields]
        if missing:
            raise missing_columns_error(
                source,
                missing,
                table.fields,
                hint=f"representation '{NAME}' reads the cell arrays and the incident energy "
                "of a shower file (hepdl showers)",
            )
        layers = [cell_layer(table, name, source=source) for name in self._layers]
        shapes = {n: tuple(c.shape[1:]) for n, c in zip(self._layers, layers, strict=True)}
        if self._shapes is not None and shapes != self._shapes:
            raise DataError(
                f"{source}: the layers have cells {shapes}, but earlier files had "
                f"{self._shapes}; every file must come from the same geometry"
            )
        self._shapes = shapes  # type: ignore[assignment]
        cells = np.concatenate([c.reshape(len(c), -1) for c in layers], axis=1)  # (N, D)
        energy = incident_energy(table, self._energy, source=source)
        return {CELLS: np.ascontiguousarray(cells, np.float32), ENERGY: energy[:, None]}


def incident_energy(table: ak.Array, column: str, *, source: str) -> np.ndarray:
    """Column ``column`` as (N,) float32 GeV, finite and > 0."""
    try:
        values = ak.to_numpy(table[column]).astype(np.float32)
    except (ValueError, TypeError):
        values = None
    if values is None or values.ndim != 1:
        raise DataError(f"{source}: column '{column}' must hold one incident energy per row")
    bad = np.flatnonzero(~(np.isfinite(values) & (values > 0)))
    if len(bad):
        raise DataError(
            f"{source}: column '{column}' has {len(bad)} incident energies that are not "
            f"finite and > 0 (first: row {bad[0]}, {values[bad[0]]!r}); a generative model "
            "is conditioned on ln E"
        )
    return values


def layer_layout(cell_names: Sequence[str]) -> dict[str, tuple[int, int]]:
    """{layer: (H, W)} in order, from the cell names ``<layer>:<row>:<column>``
    (``CaloLayersRepresentation.feature_names``)."""
    layout: dict[str, tuple[int, int]] = {}
    for name in cell_names:
        layer, row, column = str(name).rsplit(":", 2)
        height, width = layout.get(layer, (0, 0))
        layout[layer] = (max(height, int(row) + 1), max(width, int(column) + 1))
    return layout


def split_layers(cells: np.ndarray, layout: Mapping[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """Flat cells (N, D) back into the layers {layer: (N, H, W)} of ``layout``."""
    sizes = [h * w for h, w in layout.values()]
    if cells.ndim != 2 or cells.shape[1] != sum(sizes):
        raise DataError(
            f"cells of shape {cells.shape} do not fill the layers {dict(layout)} "
            f"({sum(sizes)} cells per row)"
        )
    edges = np.cumsum([0, *sizes])
    return {
        layer: cells[:, edges[i] : edges[i + 1]].reshape(len(cells), *shape)
        for i, (layer, shape) in enumerate(layout.items())
    }
