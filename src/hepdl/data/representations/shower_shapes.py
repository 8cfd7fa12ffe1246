"""The ``shower_shapes`` representation: CMS-style ECAL cluster variables as features.

The variables and their formulas are in ``hepdl.physics.shower_shapes``; this module reads
the crystal and tower columns of a shower file (``hepdl showers --geometry cms_ecal``),
checks their shapes and passes them on, so the EG-vs-PU classifiers (logistic regression,
BDT, MLP) train on the same numbers a physicist would cut on.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np

from hepdl.data._messages import missing_columns_error
from hepdl.data.representations._options import positive_float
from hepdl.data.representations._registry import register_representation
from hepdl.data.representations.image import image_column
from hepdl.data.validation import check_finite
from hepdl.errors import ConfigError, DataError
from hepdl.physics import shower_shapes as physics


@register_representation("shower_shapes")
class ShowerShapesRepresentation:
    """``{"features": (N, F) float32}``, the F = 14 variables of
    ``hepdl.physics.shower_shapes.SHOWER_SHAPES`` (``feature_names``).

    ``ecal`` names the column of crystal windows (N, H, W), rows = i-eta, columns = i-phi,
    the particle at the centre, H and W >= 7; ``hcal`` the column of HCAL towers
    (N, H / r, W / r), r x r crystals each (``"ecal"`` and ``"hcal"`` by default, the
    names ``hepdl showers`` writes). ``threshold`` (GeV, default 0.1: 2.5 sigma of the
    40 MeV crystal noise) is the crystal threshold of ``n_crystals``,
    ``strip_phi_length`` and ``ecal_iso``; ``min_energy`` (GeV, default 1) floors the
    denominator E5x5 of every ratio, so windows without a real cluster do not give ratios
    of 10^5 (see ``hepdl.physics.shower_shapes``).
    """

    name = "shower_shapes"
    provides = ("features",)  # the arrays __call__ returns
    flat_features = True  # data.standardize can scale its features (N, F)

    def __init__(
        self,
        *,
        ecal: str = "ecal",
        hcal: str = "hcal",
        threshold: float = 0.1,
        min_energy: float = 1.0,
    ) -> None:
        self._ecal = _column_name(ecal, option="ecal", representation=self.name)
        self._hcal = _column_name(hcal, option="hcal", representation=self.name)
        if self._hcal == self._ecal:
            raise ConfigError(
                f"representation '{self.name}': options ecal and hcal both name column "
                f"{self._ecal!r}; expected the ECAL crystals and the HCAL towers behind them"
            )
        self._threshold = positive_float(threshold, option="threshold", representation=self.name)
        self._min_energy = positive_float(min_energy, option="min_energy", representation=self.name)

    @property
    def feature_names(self) -> list[str]:
        return list(physics.SHOWER_SHAPES)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ecal": self._ecal,
            "hcal": self._hcal,
            "threshold": self._threshold,
            "min_energy": self._min_energy,
        }

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        fields = list(table.fields or [])
        missing = [c for c in (self._ecal, self._hcal) if c not in fields]
        if missing:
            raise missing_columns_error(
                source,
                missing,
                fields,
                place="the table",
                hint="set data.representation.ecal and .hcal to the crystal and tower columns",
            )
        ecal = image_column(table, self._ecal, source=source)  # (N, H, W)
        side = physics.min_window()
        if ecal.ndim != 3 or min(ecal.shape[1:]) < side:
            raise DataError(
                f"{source}: column '{self._ecal}' has shape {ecal.shape}; representation "
                f"'{self.name}' expects ECAL crystal windows (N, H, W) with H, W >= {side} "
                f"(rows i-eta, columns i-phi; (N, 35, 35) from hepdl showers)"
            )
        hcal = image_column(table, self._hcal, source=source)  # (N, h, w)
        try:
            physics.tower_size(ecal.shape, hcal.shape)
        except ValueError:
            n, height, width = ecal.shape
            raise DataError(
                f"{source}: column '{self._hcal}' has shape {hcal.shape}; representation "
                f"'{self.name}' expects HCAL towers ({n}, H / r, W / r) of r x r crystals "
                f"behind column '{self._ecal}' ({n}, {height}, {width}), e.g. ({n}, "
                f"{height // 5}, {width // 5}) for towers of 5 x 5 crystals"
            ) from None
        for column, values in ((self._ecal, ecal), (self._hcal, hcal)):
            check_finite(
                values.reshape(len(values), -1)[..., None], feature_names=[column], source=source
            )
        features = physics.shower_shapes(
            ecal, hcal, threshold=self._threshold, min_energy=self._min_energy
        )  # (N, F)
        return {"features": features.astype(np.float32)}


def _column_name(value: Any, *, option: str, representation: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"representation '{representation}': option {option}={value!r}; expected the "
            f"name of a column"
        )
    return value
