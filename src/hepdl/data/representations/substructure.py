"""The ``substructure`` representation: jet substructure observables from constituents.

Needs the jagged constituent columns ``part_px, part_py, part_pz, part_energy`` (one
list per jet) and computes, per jet, the observables of
``hepdl.physics.substructure.substructure_features``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data.entries import is_jagged
from hepdl.data.representations._registry import register_representation
from hepdl.data.representations._table import require_columns
from hepdl.data.validation import check_finite
from hepdl.errors import ConfigError, DataError
from hepdl.text import did_you_mean

CONSTITUENT_COLUMNS = ("part_px", "part_py", "part_pz", "part_energy")


def _known_features() -> tuple[str, ...]:
    from hepdl.physics.substructure import SUBSTRUCTURE_FEATURES

    return tuple(SUBSTRUCTURE_FEATURES)


@register_representation("substructure")
class SubstructureRepresentation:
    """``{"features": (N, F) float32}`` of jet substructure observables.

    Options: ``features``, names from ``SUBSTRUCTURE_FEATURES`` (default: all of them,
    jet_pt, jet_mass, tau1, tau2, tau3, tau21, tau32, n_constituents, pt_d, girth, in that
    order; leave jet_pt out to train on shape alone); ``jet_radius`` R (default 0.8) used
    by N-subjettiness and girth. NaN or inf results (e.g. tau21 of a one-particle jet)
    are refused by ``check_finite`` naming the observable.
    """

    name = "substructure"
    provides = ("features",)  # the arrays __call__ returns
    flat_features = True  # data.standardize can scale its features (N, F)

    def __init__(self, *, features: Sequence[str] | None = None, jet_radius: float = 0.8) -> None:
        known = _known_features()
        if features is None:
            names = list(known)
        elif isinstance(features, str) or not isinstance(features, Sequence):
            raise ConfigError(
                f"representation 'substructure': option features={features!r}; expected a "
                f"list of names from {', '.join(known)}"
            )
        else:
            names = [str(f) for f in features]
        if not names:
            raise ConfigError("representation 'substructure': option features is empty")
        for feature in names:
            if feature not in known:
                hint = did_you_mean(feature, known, cutoff=0.7)
                raise ConfigError(
                    f"representation 'substructure': unknown feature '{feature}'{hint}; "
                    f"valid features: {', '.join(known)}"
                )
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ConfigError(
                f"representation 'substructure': option features repeats {', '.join(repeated)}"
            )
        radius = float(jet_radius)
        if not np.isfinite(radius) or radius <= 0:
            raise ConfigError(
                f"representation 'substructure': jet_radius={jet_radius!r}; expected a "
                f"positive number (e.g. 0.4 or 0.8)"
            )
        self._features = names
        self._jet_radius = radius

    @property
    def feature_names(self) -> list[str]:
        return list(self._features)

    @property
    def jet_radius(self) -> float:
        return self._jet_radius

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "features": list(self._features), "jet_radius": self._jet_radius}

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        from hepdl.physics.substructure import substructure_features

        require_columns(table, CONSTITUENT_COLUMNS, source=source, representation=self.name)
        flat = [c for c in CONSTITUENT_COLUMNS if not is_jagged(ak.to_layout(table[c]))]
        if flat:
            raise DataError(
                f"{source}: column(s) {', '.join(flat)} are not jagged; the 'substructure' "
                f"representation expects one list of constituents per jet in each of "
                f"{', '.join(CONSTITUENT_COLUMNS)}"
            )
        constituents = ak.zip(
            {
                "px": table["part_px"],
                "py": table["part_py"],
                "pz": table["part_pz"],
                "energy": table["part_energy"],
            }
        )  # (N, var) records
        values = substructure_features(
            constituents, jet_radius=self._jet_radius, names=tuple(self._features)
        )
        columns = [np.asarray(values[name], dtype=np.float64) for name in self._features]
        features = np.stack(columns, axis=1).astype(np.float32)  # (N, F)
        check_finite(features, feature_names=self._features, source=source)
        return {"features": features}
