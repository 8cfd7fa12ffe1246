"""The ``pileup_images`` representation: PUMML's three jet images and per-pixel truth.

For jets of a sample generated with pile-up (``hepdl generate ... --pileup MU``, whose
constituents carry ``part_is_pileup``), three pT images on one (Delta eta, Delta phi)
grid centred on the jet axis, neither rotated nor flipped (pile-up has no preferred
direction to undo):

- channel 0: charged particles from the leading vertex,
- channel 1: charged pile-up particles (what vertexing identifies),
- channel 2: all neutral particles (leading vertex and pile-up: what a calorimeter sees);

and ``pixel_target`` (N, 1, H, W): the leading-vertex share of each pixel's neutral pT
(0 where a pixel has no neutral pT), what PUMML learns (Komiske et al., JHEP 12 (2017)
051), with ``pixel_energy`` (N, 1, H, W), the neutral pT that share is of (what
``task.kind: segment`` weighs pixels and counts recovered energy with). The images stay in
GeV. ``hepdl.physics.pileup_mitigation`` turns a predicted
share back into a corrected jet and its mass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data.representations._constituents import read_constituents
from hepdl.data.representations._options import positive_float
from hepdl.data.representations._particles import relative_coordinates
from hepdl.data.representations._registry import register_representation
from hepdl.data.representations.image import pixel_shape
from hepdl.errors import DataError
from hepdl.physics import jet_images
from hepdl.physics.pileup_mitigation import CHARGED_LV, CHARGED_PU

PILEUP_COLUMN = "part_is_pileup"


@register_representation("pileup_images")
class PileupImagesRepresentation:
    """``{"image": (N, 3, H, W), "pixel_target", "pixel_energy": (N, 1, H, W)}`` float32
    (module docstring).

    ``pixels`` (default 25) over ``[-extent, extent]`` (default 0.5: pixels of 0.04)."""

    name = "pileup_images"
    provides = ("image", "pixel_target", "pixel_energy")  # the arrays __call__ returns

    def __init__(self, *, pixels: int | Sequence[int] = 25, extent: float = 0.5) -> None:
        self._pixels = pixel_shape(pixels, representation=self.name)
        self._extent = positive_float(extent, option="extent", representation=self.name)

    @property
    def feature_names(self) -> list[str]:
        return ["pt_charged_lv", "pt_charged_pu", "pt_neutral"]

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "pixels": list(self._pixels), "extent": self._extent}

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        if PILEUP_COLUMN not in (table.fields or []):
            raise DataError(
                f"{source}: no column '{PILEUP_COLUMN}'; representation '{self.name}' needs "
                "each constituent's pile-up flag: generate the jets with --pileup MU "
                "(hepdl generate ... --pileup 40) or map your file's column onto it"
            )
        jets = read_constituents(
            table,
            source=source,
            representation=self.name,
            max_particles=None,
            extra_columns=["part_charge", PILEUP_COLUMN],
        )
        points = relative_coordinates(jets, source=source)  # (N, P, 2) to the jet axis
        pt = jets.masked(jets.pt)  # (N, P)
        charged = jets.extras["part_charge"] != 0
        pileup = jets.extras[PILEUP_COLUMN] > 0.5
        # (N, P) channel: 0 charged LV, 1 charged PU, 2 neutral LV, 3 neutral PU
        channel = np.where(charged, np.where(pileup, CHARGED_PU, CHARGED_LV), 2 + pileup)
        grids = jet_images.pixelise(
            points[..., 0], points[..., 1], pt, channel.astype(np.int64),
            n_channels=4, pixels=self._pixels, extent=self._extent,
        )  # fmt: skip
        neutral = grids[:, 2] + grids[:, 3]  # (N, H, W)
        image = np.stack([grids[:, CHARGED_LV], grids[:, CHARGED_PU], neutral], axis=1)
        share = np.divide(grids[:, 2], neutral, out=np.zeros_like(neutral), where=neutral > 0)
        return {
            "image": image.astype(np.float32),  # channel NEUTRAL = 2 holds all neutrals
            "pixel_target": share[:, None].astype(np.float32),
            "pixel_energy": neutral[:, None].astype(np.float32),
        }
