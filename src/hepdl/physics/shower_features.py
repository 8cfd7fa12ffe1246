r"""High-level features of layered calorimeter showers, as the CaloChallenge compares them
(Krause et al., "CaloChallenge 2022: a community challenge for fast calorimeter
simulation", arXiv:2410.21611; its evaluate.py and the CaloGAN paper, arXiv:1712.10321).

Per shower, with E_l = sum of layer l's cells, E_tot = sum_l E_l and e_ij the cell energies
of a layer of H x W cells (row i, column j, measured from the layer's centre
((H - 1)/2, (W - 1)/2), in cell units):

    e_total_over_incident   E_tot / E_inc
    e_<l>                   E_l (GeV)
    e_fraction_<l>          E_l / E_tot                       (0 when E_tot = 0)
    centre_y_<l>            sum_ij e_ij y_i / E_l              (0 for an empty layer)
    centre_x_<l>            sum_ij e_ij x_j / E_l
    width_y_<l>             sqrt(sum_ij e_ij y_i^2 / E_l - centre_y^2)
    width_x_<l>             the same in x
    sparsity_<l>            fraction of the layer's cells above ``threshold`` GeV

Cells below zero (noise) count as they are in the sums; the widths are clipped at 0
against rounding.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hepdl.errors import DataError


def _check(layers: Mapping[str, np.ndarray], incident: np.ndarray) -> np.ndarray:
    incident = np.asarray(incident, dtype=np.float64).reshape(-1)
    if not layers:
        raise DataError("high_level_features: expected at least one layer of cells")
    for name, cells in layers.items():
        cells = np.asarray(cells)
        if cells.ndim != 3 or len(cells) != len(incident):
            raise DataError(
                f"high_level_features: layer '{name}' has shape {cells.shape}; expected "
                f"({len(incident)}, H, W), one (H, W) array per incident energy"
            )
        if not np.isfinite(cells).all():
            raise DataError(f"high_level_features: layer '{name}' holds non-finite cells")
    if not (np.isfinite(incident).all() and (incident > 0).all()):
        raise DataError("high_level_features: the incident energies must be finite and > 0")
    return incident


def high_level_features(
    layers: Mapping[str, np.ndarray], incident_energy: np.ndarray, *, threshold: float = 0.0
) -> dict[str, np.ndarray]:
    """The features of the module docstring, each (N,) float64, in its order: the total
    first, then per layer (in ``layers``' order) its energy, fraction, centres, widths and
    sparsity. ``layers``: {name: (N, H, W)} GeV; ``incident_energy``: (N,) GeV."""
    incident = _check(layers, incident_energy)
    sums = {name: np.asarray(c, np.float64).sum(axis=(1, 2)) for name, c in layers.items()}
    total = sum(sums.values())  # (N,)
    features = {"e_total_over_incident": total / incident}
    for name, cells in layers.items():
        cells = np.asarray(cells, dtype=np.float64)  # (N, H, W)
        height, width = cells.shape[1:]
        y = np.arange(height) - (height - 1) / 2  # (H,)
        x = np.arange(width) - (width - 1) / 2  # (W,)
        energy = sums[name]
        safe = np.where(energy != 0, energy, 1.0)
        rows, columns = cells.sum(axis=2), cells.sum(axis=1)  # (N, H), (N, W)
        centre_y, centre_x = rows @ y / safe, columns @ x / safe
        width_y = np.sqrt(np.clip(rows @ y**2 / safe - centre_y**2, 0, None))
        width_x = np.sqrt(np.clip(columns @ x**2 / safe - centre_x**2, 0, None))
        empty = energy == 0
        features[f"e_{name}"] = energy
        features[f"e_fraction_{name}"] = np.where(
            total != 0, energy / np.where(total != 0, total, 1), 0.0
        )
        for key, values in (("centre_y", centre_y), ("centre_x", centre_x),
                            ("width_y", width_y), ("width_x", width_x)):  # fmt: skip
            features[f"{key}_{name}"] = np.where(empty, 0.0, values)
        features[f"sparsity_{name}"] = (cells > threshold).mean(axis=(1, 2))
    return features


def feature_labels(names: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Axis labels with units for the features ``names`` (as ``high_level_features``)."""
    labels = {}
    for name in names:
        if name == "e_total_over_incident":
            labels[name] = r"$E_\mathrm{tot} / E_\mathrm{inc}$"
            continue
        key, _, layer = next(
            (p, "_", name[len(p) + 1 :])
            for p in ("e_fraction", "centre_y", "centre_x", "width_y", "width_x", "sparsity", "e")
            if name.startswith(p + "_")
        )
        labels[name] = {
            "e": f"$E$ {layer} [GeV]",
            "e_fraction": f"energy fraction, {layer}",
            "centre_y": f"centre in y, {layer} [cells]",
            "centre_x": f"centre in x, {layer} [cells]",
            "width_y": f"width in y, {layer} [cells]",
            "width_x": f"width in x, {layer} [cells]",
            "sparsity": f"sparsity, {layer}",
        }[key]
    return labels
