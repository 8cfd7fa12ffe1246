"""``calo_cells``: calorimeter cell energies of a shower file as images, and optionally the
per-cell truth of how much of each cell's energy came from the signal particle.

The shower files of ``hepdl showers`` hold one fixed-size cell array per layer and row
(``ecal`` (N, 35, 35) crystals, ``hcal`` (N, 7, 7) towers behind them; the CaloGAN
layers ``layer_0`` ... ``layer_2``) and, with pile-up, the signal part of each
(``ecal_signal``, ``hcal_signal``). Every layer goes onto the grid of the first one, one
channel each: a coarser layer whose cell counts divide the first's is block-repeated, a
tower of f x g crystals becoming f x g pixels that share its energy equally, so each
channel still sums to the layer's energy and the pixels line up in space (an HCAL tower
lies behind its 5 x 5 crystals). The per-cell truth is the signal energy fraction on that
grid, summed over the layers: f = sum_l signal_l / sum_l total_l where the total > 0,
and 0 elsewhere (a cell of noise only, or of negative noise), clipped to [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error
from hepdl.data.representations._registry import register_representation
from hepdl.errors import ConfigError, DataError
from hepdl.text import short_repr

NAME = "calo_cells"
TARGET = "pixel_target"  # the per-cell truth array's name


def _names(value: Any, *, option: str) -> list[str]:
    """A non-empty list of distinct column names."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            f"representation '{NAME}': option {option}={short_repr(value)}; expected a "
            "non-empty list of column names, e.g. [ecal] or [ecal, hcal]"
        )
    names = [v for v in value if isinstance(v, str) and v]
    if len(names) != len(value):
        raise ConfigError(
            f"representation '{NAME}': option {option}={short_repr(value)}; every entry must "
            "be a column name"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"representation '{NAME}': option {option} names a column twice: {names}")
    return names


def _crop(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    size = [value, value] if isinstance(value, int | np.integer) else value
    if (
        isinstance(size, str)
        or not isinstance(size, Sequence)
        or len(size) != 2
        or any(isinstance(s, bool) or not isinstance(s, int | np.integer) or s < 1 for s in size)
    ):
        raise ConfigError(
            f"representation '{NAME}': option crop={short_repr(value)}; expected one size "
            "or [height, width] of positive integers, or null (the whole window)"
        )
    return int(size[0]), int(size[1])


@register_representation(NAME)
class CaloCellsRepresentation:
    """``{"image": (N, C, H, W) float32}`` in GeV, one channel per entry of ``layers``
    on the grid of the first, and with ``signal`` (one column per layer, in the same
    order) ``{"pixel_target": (N, 1, H, W) float32}``, the signal energy fraction per
    pixel. ``crop``: a central crop of H x W pixels (one size or [H, W]) of the grid."""

    name = NAME
    provides = ("image",)  # the arrays __call__ returns
    optional_provides: ClassVar[dict[str, str]] = {"signal": TARGET}  # option -> array

    def __init__(
        self,
        *,
        layers: Sequence[str] = ("ecal",),
        signal: Sequence[str] | None = None,
        crop: int | Sequence[int] | None = None,
    ) -> None:
        self._layers = _names(layers, option="layers")
        self._signal = None if signal is None else _names(signal, option="signal")
        if self._signal is not None and len(self._signal) != len(self._layers):
            raise ConfigError(
                f"representation '{NAME}': option signal names {len(self._signal)} "
                f"column(s) {self._signal} for {len(self._layers)} layer(s) {self._layers}; "
                "give one signal column per layer, in the same order"
            )
        self._crop = _crop(crop)

    @property
    def feature_names(self) -> list[str]:
        """The channel names: the layers."""
        return list(self._layers)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layers": list(self._layers),
            "signal": None if self._signal is None else list(self._signal),
            "crop": None if self._crop is None else list(self._crop),
        }

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        wanted = [*self._layers, *(self._signal or [])]
        missing = [c for c in wanted if c not in table.fields]
        if missing:
            raise missing_columns_error(
                source,
                missing,
                table.fields,
                hint=f"representation '{NAME}' reads the cell arrays of a shower file",
            )
        cells = [cell_layer(table, name, source=source) for name in self._layers]
        grid = cells[0].shape[1:]
        image = np.stack(
            [_on_grid(c, grid, name=n, first=self._layers[0], source=source)
             for c, n in zip(cells, self._layers, strict=True)],
            axis=1,
        )  # (N, C, H, W)  # fmt: skip
        arrays = {"image": image}
        if self._signal is not None:
            signal = np.zeros(image.shape[:1] + image.shape[2:], dtype=np.float64)  # (N, H, W)
            for name, layer, total in zip(self._signal, self._layers, cells, strict=True):
                values = cell_layer(table, name, source=source)
                if values.shape != total.shape:
                    raise DataError(
                        f"{source}: signal column '{name}' has cells of shape "
                        f"{values.shape[1:]}, but its layer '{layer}' has {total.shape[1:]}; "
                        "option signal pairs each layer with its signal part"
                    )
                signal += _on_grid(values, grid, name=name, first=self._layers[0], source=source)
            total = image.sum(axis=1, dtype=np.float64)  # (N, H, W)
            fraction = np.divide(signal, total, out=np.zeros_like(total), where=total > 0)
            arrays[TARGET] = np.clip(fraction, 0.0, 1.0)[:, None].astype(np.float32)
        if self._crop is not None:
            arrays = {k: self._cropped(v, source=source) for k, v in arrays.items()}
        return arrays

    def _cropped(self, values: np.ndarray, *, source: str) -> np.ndarray:
        """The central ``crop`` of (N, C, H, W): rows (H - h) // 2 onwards, and columns."""
        (h, w), (height, width) = self._crop, values.shape[-2:]
        if h > height or w > width:
            raise DataError(
                f"{source}: representation '{NAME}': option crop=[{h}, {w}] is larger than "
                f"the {height} x {width} grid of layer '{self._layers[0]}'"
            )
        top, left = (height - h) // 2, (width - w) // 2
        return np.ascontiguousarray(values[..., top : top + h, left : left + w])


def cell_layer(table: ak.Array, name: str, *, source: str) -> np.ndarray:
    """Column ``name`` as (N, h, w) float32: a fixed-size 2D cell array per row, finite."""
    try:
        values = ak.to_numpy(table[name]).astype(np.float32, copy=False)
    except (ValueError, TypeError):
        values = None
    if values is None or values.ndim != 3:
        shape = None if values is None else values.shape[1:]
        raise DataError(
            f"{source}: column '{name}' must hold one fixed-size 2D cell array per row "
            f"(e.g. ecal (N, 35, 35)); got "
            + ("rows of different lengths or non-numbers" if shape is None else f"{shape}")
        )
    bad = np.flatnonzero(~np.isfinite(values).all(axis=(1, 2)))
    if len(bad):
        raise DataError(
            f"{source}: column '{name}' has NaN or infinite cell energies in {len(bad)} "
            f"row(s) (first: row {bad[0]})"
        )
    return values


def _on_grid(
    cells: np.ndarray, grid: tuple[int, ...], *, name: str, first: str, source: str
) -> np.ndarray:
    """Cells (N, h, w) on the first layer's grid (H, W): each cell repeated over the
    (H / h) x (W / w) pixels it covers, its energy shared equally among them."""
    (h, w), (height, width) = cells.shape[1:], grid
    if height % h or width % w:
        raise DataError(
            f"{source}: layer '{name}' has {h} x {w} cells, which do not divide the "
            f"{height} x {width} grid of the first layer '{first}'; list a layer whose cell "
            "counts divide the others' first (the finest), or read the layers separately"
        )
    fh, fw = height // h, width // w
    if fh == fw == 1:
        return cells
    return np.repeat(np.repeat(cells, fh, axis=1), fw, axis=2) / np.float32(fh * fw)
