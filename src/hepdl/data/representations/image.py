"""Image representations: ``image``, jet images in (Delta eta, Delta phi) with the
standard preprocessing (``hepdl.physics.jet_images``), and ``image_array``, images a
file already holds ((N, H, W) or (N, C, H, W) arrays) passed through to the CNNs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error, rows
from hepdl.data.representations._constituents import PaddedJets, read_constituents
from hepdl.data.representations._options import (
    boolean,
    choice,
    positive_float,
    positive_int,
)
from hepdl.data.representations._particles import relative_coordinates
from hepdl.data.representations._registry import register_representation
from hepdl.errors import ConfigError, DataError
from hepdl.physics import jet_images, kinematics

WEIGHTS: tuple[str, ...] = ("pt", "energy")
CHANNELS: tuple[str, ...] = ("total", "charged_neutral")
CENTERS: tuple[str, ...] = ("centroid", "leading_subjet", "jet_axis")
NORMALIZATIONS: tuple[str, ...] = ("sum", "jet", "none")


@register_representation("image")
class ImageRepresentation:
    """``{"image": (N, C, H, W) float32}``: constituent intensities on an eta-phi grid.

    Coordinates are x = Delta eta (pseudorapidity, columns) and y = Delta phi (rows) to the
    E-scheme jet axis; row i grows with y and column j with x, and the grid covers
    ``[-extent, extent]`` in both (pixel size ``2 extent / pixels``); constituents
    outside are dropped. Preprocessing, in the standard order, each step optional:

    1. ``center``: ``"centroid"`` (default) puts the intensity centroid at the origin,
       ``"leading_subjet"`` the hardest inclusive kT subjet of radius ``subjet_radius``
       (default 0.3), ``"jet_axis"`` leaves the jet axis there;
    2. ``rotate`` (default True): the principal axis of the intensity (second moments
       about the new origin) is turned vertical;
    3. ``flip`` (default True): mirrored so the right half and the upper half carry at
       least as much intensity as the opposite ones;
    4. pixelise with intensity ``weight`` ``"pt"`` (default) or ``"energy"``, one channel
       (``channels="total"``) or charged and neutral constituents in channels 0 and 1
       (``"charged_neutral"``, needs ``part_charge``);
    5. ``normalize``: ``"sum"`` (default) divides each image by its pixel sum, ``"jet"``
       by the jet's total intensity (sum of pT or E over all constituents, also those
       outside the window), ``"none"`` keeps GeV.

    ``pixels`` is one number (square images, default 40) or [H, W]; ``extent`` defaults to
    0.8 (40 x 40 pixels of 0.04). An empty jet gives an all-zero image.
    """

    name = "image"
    provides = ("image",)  # the arrays __call__ returns

    def __init__(
        self,
        *,
        pixels: int | Sequence[int] = 40,
        extent: float = 0.8,
        weight: str = "pt",
        channels: str = "total",
        center: str = "centroid",
        subjet_radius: float = 0.3,
        rotate: bool = True,
        flip: bool = True,
        normalize: str = "sum",
    ) -> None:
        self._pixels = pixel_shape(pixels, representation=self.name)
        self._extent = positive_float(extent, option="extent", representation=self.name)
        self._weight = choice(weight, option="weight", representation=self.name, choices=WEIGHTS)
        self._channels = choice(
            channels, option="channels", representation=self.name, choices=CHANNELS
        )
        self._center = choice(center, option="center", representation=self.name, choices=CENTERS)
        self._subjet_radius = positive_float(
            subjet_radius, option="subjet_radius", representation=self.name
        )
        self._rotate = boolean(rotate, option="rotate", representation=self.name)
        self._flip = boolean(flip, option="flip", representation=self.name)
        self._normalize = choice(
            normalize, option="normalize", representation=self.name, choices=NORMALIZATIONS
        )

    @property
    def feature_names(self) -> list[str]:
        """The channel names: ``pt`` or ``pt_charged, pt_neutral`` (``energy`` likewise)."""
        if self._channels == "total":
            return [self._weight]
        return [f"{self._weight}_charged", f"{self._weight}_neutral"]

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pixels": list(self._pixels),
            "extent": self._extent,
            "weight": self._weight,
            "channels": self._channels,
            "center": self._center,
            "subjet_radius": self._subjet_radius,
            "rotate": self._rotate,
            "flip": self._flip,
            "normalize": self._normalize,
        }

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        charged = self._channels == "charged_neutral"
        jets = read_constituents(
            table,
            source=source,
            representation=self.name,
            max_particles=None,
            extra_columns=["part_charge"] if charged else [],
        )
        w = jets.masked(jets.pt if self._weight == "pt" else jets.energy)  # (N, P)
        x, y = self._origin_at_center(jets, w, source=source)
        if self._rotate:
            x, y = jet_images.rotate_to_vertical(x, y, w)
        if self._flip:
            x, y = jet_images.flip_to_upper_right(x, y, w)
        # (N, P) channel of each constituent: 0 = charged (or all), 1 = neutral
        if charged:
            channel = (jets.extras["part_charge"] == 0).astype(np.int64)
        else:
            channel = np.zeros(jets.mask.shape, dtype=np.int64)
        image = jet_images.pixelise(
            x,
            y,
            w,
            channel,
            n_channels=len(self.feature_names),
            pixels=self._pixels,
            extent=self._extent,
        )  # (N, C, H, W)
        if self._normalize != "none":
            scale = image.sum(axis=(1, 2, 3)) if self._normalize == "sum" else w.sum(axis=1)
            image = image / np.where(scale > 0, scale, 1.0)[:, None, None, None]
        return {"image": image.astype(np.float32)}

    def _origin_at_center(
        self, jets: PaddedJets, w: np.ndarray, *, source: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) = (Delta eta, Delta phi) of the constituents to the chosen centre."""
        points = relative_coordinates(jets, source=source)  # (N, P, 2) to the jet axis
        x, y = points[..., 0], points[..., 1]
        if self._center == "jet_axis":
            return x, y
        if self._center == "centroid":
            cx, cy = jet_images.centroid(x, y, w)
        else:
            subjet = jet_images.leading_subjet(
                jets.four_momentum, jets.mask, radius=self._subjet_radius
            )  # (N, 4)
            with np.errstate(divide="ignore", invalid="ignore"):
                eta = kinematics.pseudorapidity(subjet[:, 0], subjet[:, 1], subjet[:, 2])
            empty = jets.counts == 0
            cx = np.where(empty, 0.0, eta - jets.jet_eta)
            phi = kinematics.phi(subjet[:, 0], subjet[:, 1])
            cy = np.where(empty, 0.0, kinematics.delta_phi(phi, jets.jet_phi))
        # Delta phi differences are re-wrapped so a centre across phi = +-pi stays close.
        return jets.masked(x - cx[:, None]), jets.masked(kinematics.delta_phi(y, cy[:, None]))


def pixel_shape(value: Any, *, representation: str) -> tuple[int, int]:
    """``pixels`` as (H, W): one positive integer, or two."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise ConfigError(
                f"representation '{representation}': option pixels={value!r}; expected one "
                f"integer (square image) or two, [height, width]"
            )
        height, width = (
            positive_int(v, option="pixels", representation=representation) for v in value
        )
        return height, width
    size = positive_int(value, option="pixels", representation=representation)
    return size, size


ARRAY_NORMALIZATIONS: tuple[str, ...] = ("none", "sum", "max")


@register_representation("image_array")
class ImageArrayRepresentation:
    """``{"image": (N, C, H, W) float32}``: images a file already holds, passed through.

    ``column`` names the table's column of images, as read from an HDF5 dataset, an
    ``.npz`` array or an ``.npy`` file (column ``array``): (N, H, W) for one channel, or
    (N, C, H, W); ``channels_last`` reads (N, H, W, C) instead. The labels come from
    another column (``data.label_column``, e.g. the dataset ``y`` beside ``x``). No jet
    preprocessing is applied; ``normalize``: ``"none"`` (default) keeps the values,
    ``"sum"`` divides each image by its pixel sum, ``"max"`` by its largest pixel (all-zero
    images stay zero). The CNNs take the shape in ``model.in_channels`` and
    ``model.image_size``.
    """

    name = "image_array"
    provides = ("image",)  # the arrays __call__ returns

    def __init__(
        self, *, column: str = "image", channels_last: bool = False, normalize: str = "none"
    ) -> None:
        if not isinstance(column, str | int) or isinstance(column, bool) or not str(column):
            raise ConfigError(
                f"representation '{self.name}': option column={column!r}; expected the name "
                "of the column holding the images"
            )
        self._column = str(column)
        self._channels_last = boolean(
            channels_last, option="channels_last", representation=self.name
        )
        self._normalize = choice(
            normalize, option="normalize", representation=self.name, choices=ARRAY_NORMALIZATIONS
        )

    @property
    def feature_names(self) -> list[str]:
        return [self._column]

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "column": self._column,
            "channels_last": self._channels_last,
            "normalize": self._normalize,
        }

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        images = image_column(table, self._column, source=source)  # (N, H, W) or 4-D
        layout = "(N, H, W, C)" if self._channels_last else "(N, C, H, W)"
        if images.ndim == 3:
            images = images[:, None]  # (N, 1, H, W)
        elif images.ndim == 4 and self._channels_last:
            images = np.moveaxis(images, -1, 1)  # (N, C, H, W)
        elif images.ndim != 4:
            raise DataError(
                f"{source}: column '{self._column}' has shape {images.shape}; representation "
                f"'{self.name}' expects images (N, H, W) or {layout}"
            )
        images = images.astype(np.float32)
        bad = ~np.isfinite(images).reshape(len(images), -1).all(axis=1)  # (N,)
        if bad.any():
            raise DataError(
                f"{source}: column '{self._column}' has NaN or inf pixels in {rows(int(bad.sum()))}"
                f" (first at row {int(np.argmax(bad))}); expected finite pixel values"
            )
        if self._normalize != "none":
            flat = images.reshape(len(images), -1)  # (N, C*H*W)
            scale = flat.sum(axis=1) if self._normalize == "sum" else flat.max(axis=1)
            images = images / np.where(scale != 0, scale, 1.0)[:, None, None, None]
        return {"image": np.ascontiguousarray(images, dtype=np.float32)}


def image_column(table: ak.Array, column: str, *, source: str) -> np.ndarray:
    """The column ``column`` as a regular NumPy array (N, ...), or a DataError naming it."""
    fields = list(table.fields or [])
    if column not in fields:
        raise missing_columns_error(
            source,
            [column],
            fields,
            place="the table",
            hint="set data.representation.column to the dataset or array holding the images",
        )
    try:
        values = ak.to_numpy(table[column], allow_missing=False)
    except (ValueError, TypeError) as err:
        raise DataError(
            f"{source}: column '{column}' has type {table[column].type.content} ({err}); "
            "expected fixed-size numeric images, the same shape in every row"
        ) from None
    if values.dtype.kind not in "biuf":
        raise DataError(
            f"{source}: column '{column}' has dtype {values.dtype}; expected numeric pixels"
        )
    return values
