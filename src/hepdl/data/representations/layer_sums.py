"""``layer_sums``: the energy of each calorimeter layer of a shower file, and optionally
the energy in central windows, as flat features for a calibration or a DNN.

The standard calorimeter energy calibration is linear in the layer sums,
E = sum_l w_l S_l with S_l = sum of the cells of layer l (``ecal``, ``hcal``; the CaloGAN
``layer_0`` ... ``layer_2``), the weights fitted to the true energy. The energy in a
central window of w x w cells (``window: 5``: the 5 x 5 crystals around the hit one, the
"E5x5" of the CMS ECAL) collects the shower core with less noise and pile-up than the
whole layer, so it is a feature a network can weigh against the full sum; per layer
(``window: {ecal: 5, hcal: 1}``) it makes the cluster of a linear calibration, the 5 x 5
crystals and the HCAL tower behind them, whose noise is sqrt(25 x 0.04^2 + 0.2^2) =
0.28 GeV in cms_ecal against 1.4 GeV for the 35 x 35 crystals alone.

The window is centred on the middle cell of the layer (cms_ecal: crystal (17, 17), HCAL
tower (3, 3)): rows (H - w) / 2 ... (H + w) / 2 - 1, the same for columns. A window must fit
inside the layer and be centred exactly ((H - w) and (W - w) even); otherwise the data is
refused rather than shifted by half a cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data.representations._options import boolean, positive_int
from hepdl.data.representations._registry import register_representation
from hepdl.data.representations._table import require_columns
from hepdl.data.validation import check_finite
from hepdl.errors import ConfigError, DataError
from hepdl.text import short_repr

NAME = "layer_sums"
# Rows converted and summed at a time: the temporary copy of the cells is bounded
# (4096 rows of 35 x 35 float64: 40 MB) whatever the file's size.
CHUNK_ROWS = 4096


def _layer_names(value: Any, *, option: str) -> list[str]:
    """A non-empty list of distinct column names."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            f"representation '{NAME}': option {option}={short_repr(value)}; expected a "
            "non-empty list of cell columns, e.g. [ecal, hcal] or [layer_0, layer_1, layer_2]"
        )
    if not all(isinstance(v, str) and v for v in value):
        raise ConfigError(
            f"representation '{NAME}': option {option}={short_repr(value)}; every entry must "
            "be a column name"
        )
    names = list(value)
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"representation '{NAME}': option {option} repeats {', '.join(repeated)}")
    return names


def _sizes(value: Any, *, option: str) -> list[int]:
    """One window size or a non-empty list of distinct sizes, each >= 1."""
    sizes = [value] if not isinstance(value, Sequence) or isinstance(value, str) else list(value)
    if not sizes:
        raise ConfigError(
            f"representation '{NAME}': option {option} is empty; give a size (5 for 5 x 5 "
            "cells) or a list of sizes, or leave it out"
        )
    checked = [positive_int(s, option=option, representation=NAME) for s in sizes]
    if len(set(checked)) != len(checked):
        raise ConfigError(f"representation '{NAME}': option {option} repeats a size: {checked}")
    return checked


def _windows(value: Any, layers: list[str]) -> dict[str, list[int]]:
    """``window`` as {layer: sizes}: None (no window); a size or a list of sizes for the
    first layer; or a mapping from layers to a size or a list of sizes each."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        return {layers[0]: _sizes(value, option="window")}
    if not value:
        raise ConfigError(f"representation '{NAME}': option window is empty (an empty mapping)")
    unknown = [str(k) for k in value if k not in layers]
    if unknown:
        raise ConfigError(
            f"representation '{NAME}': option window names {', '.join(unknown)}, which is "
            f"not in layers {layers}; give windows as {{layer: size}}, e.g. {{ecal: 5, hcal: 1}}"
        )
    return {str(k): _sizes(v, option=f"window.{k}") for k, v in value.items()}


@register_representation(NAME)
class LayerSumsRepresentation:
    """``{"features": (N, F) float32}`` in GeV: per entry of ``layers`` the sum of its cells
    (feature ``<layer>_sum``), then per window the sum of its central w x w cells
    (``<layer>_sum_<w>x<w>``). ``window``: a size (``5``) or sizes (``[3, 5]``) on the
    first layer, or per layer (``{ecal: 5, hcal: 1}``: the 5 x 5 crystals and the HCAL
    tower behind them), in the order given. ``whole_layers: false`` leaves the sums of the
    whole layers out, keeping only the windows (a cluster calibration)."""

    name = NAME
    provides = ("features",)  # the arrays __call__ returns
    flat_features = True  # data.standardize can scale its features (N, F)

    def __init__(
        self,
        *,
        layers: Sequence[str] = ("ecal", "hcal"),
        window: int | Sequence[int] | Mapping[str, int | Sequence[int]] | None = None,
        whole_layers: bool = True,
    ) -> None:
        self._layers = _layer_names(layers, option="layers")
        self._windows = _windows(window, self._layers)  # {layer: [w, ...]}
        self._whole = boolean(whole_layers, option="whole_layers", representation=NAME)
        if not self._whole and not self._windows:
            raise ConfigError(
                f"representation '{NAME}': option whole_layers=false leaves no feature; give "
                "window sizes, e.g. window: {ecal: 5, hcal: 1}"
            )

    @property
    def feature_names(self) -> list[str]:
        names = [f"{layer}_sum" for layer in self._layers] if self._whole else []
        for layer, sizes in self._windows.items():
            names += [f"{layer}_sum_{w}x{w}" for w in sizes]
        return names

    def config(self) -> dict[str, Any]:
        windows = {layer: list(sizes) for layer, sizes in self._windows.items()}
        return {
            "name": self.name,
            "layers": list(self._layers),
            "window": windows or None,
            "whole_layers": self._whole,
        }

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        require_columns(table, self._layers, source=source, representation=self.name)
        n = len(table)
        features = np.empty((n, len(self.feature_names)), np.float32)  # (N, F)
        for start in range(0, n, CHUNK_ROWS):
            rows = slice(start, min(start + CHUNK_ROWS, n))
            features[rows] = self._chunk(table[rows], source=source)
        check_finite(features, feature_names=self.feature_names, source=source)
        return {"features": features}

    def _chunk(self, table: ak.Array, *, source: str) -> np.ndarray:
        """The features (n, F) of the rows of ``table``, summed in float64, in the order
        of ``feature_names``: every layer's sum (``whole_layers``), then the windows."""
        sums, windows = [], {}
        for layer in self._layers:
            cells = _cells(table, layer, source=source)  # (n, H, W) float64
            if self._whole:
                sums.append(cells.sum(axis=(1, 2)))  # (n,)
            sizes = self._windows.get(layer, [])
            windows[layer] = [_central(cells, w, layer=layer, source=source) for w in sizes]
        columns = [column for layer in self._windows for column in windows[layer]]
        return np.stack([*sums, *columns], axis=1)


def _cells(table: ak.Array, name: str, *, source: str) -> np.ndarray:
    """Column ``name`` as (n, H, W) float64: one fixed-size 2D array of cells per row."""
    column = table[name]
    try:
        values = ak.to_numpy(column, allow_missing=False)
    except (ValueError, TypeError):
        values = None
    if values is None or values.ndim != 3 or values.dtype.kind not in "biuf":
        got = (
            "rows of different lengths, missing values or non-numbers"
            if values is None or values.dtype.kind not in "biuf"
            else f"shape {values.shape[1:]} per row"
        )
        raise DataError(
            f"{source}: column '{name}' is not a layer of calorimeter cells: representation "
            f"'{NAME}' expects one fixed-size 2D cell array per row (e.g. ecal (N, 35, 35)); "
            f"got {got}"
        )
    return values.astype(np.float64, copy=False)


def _central(cells: np.ndarray, w: int, *, layer: str, source: str) -> np.ndarray:
    """The sum (n,) of the central w x w cells of ``cells`` (n, H, W)."""
    height, width = cells.shape[1:]
    if w > height or w > width or (height - w) % 2 or (width - w) % 2:
        raise DataError(
            f"{source}: representation '{NAME}': option window={w} does not fit centred in "
            f"layer '{layer}' of {height} x {width} cells; a window must be at most the "
            f"layer's size and have the parity of its cell counts (odd for an odd grid, "
            f"e.g. 3, 5 or 7 for cms_ecal)"
        )
    top, left = (height - w) // 2, (width - w) // 2
    return cells[:, top : top + w, left : left + w].sum(axis=(1, 2))
