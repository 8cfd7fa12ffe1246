"""Inputs to trace and to check an exported model, built from a run's saved representation.

All are raw inputs, as the representation writes them (the standardisation of flat
features is folded into the exported graph), NumPy arrays by name:

- ``random_inputs``: the representation's shapes with random values; jets of particles are
  padded as ``sequence`` and ``point_cloud`` pad them (mask True for each jet's first n
  particles, then False), n drawn per jet, the first jet full;
- ``jet_inputs``: toy jets (random constituents around one axis) through the run's own
  representation, at any ``max_particles``;
- ``file_inputs``: the first rows of a data file, read as ``hepdl evaluate`` reads it.

Flat-feature representations (``substructure``, ``columns``: one row of F numbers per
jet) get random (N, F) rows, F = the saved ``feature_names``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

# Arrays with a particle axis, and which axes index particles (N, P, ...).
PARTICLE_AXES: dict[str, tuple[int, ...]] = {
    "points": (1,),
    "features": (1,),
    "mask": (1,),
    "pairwise": (1, 2),
}
# Particle types the toy jets draw from: (pid, charge), all the point cloud's flags.
_SPECIES = ((211, 1), (-211, -1), (321, 1), (2212, 1), (130, 0), (2112, 0), (22, 0), (11, -1))


def is_flat(prep: Any) -> bool:
    """Whether the saved representation gives one flat feature row per jet (N, F)."""
    from hepdl.data.representations import provided_arrays

    name = str(prep.representation.get("name"))
    options = {k: v for k, v in prep.representation.items() if k != "name"}
    return tuple(provided_arrays(name, options) or ()) == ("features",)


def max_particles(prep: Any) -> int | None:
    """The saved representation's particle count P, None where it has none."""
    value = prep.representation.get("max_particles")
    return int(value) if value is not None else None


def toy_jets(n_jets: int, *, most_particles: int, seed: int = 0) -> Any:
    """An awkward table of ``n_jets`` jets with 1 .. ``most_particles`` massive constituents
    (px, py, pz, energy, charge, pid) around (eta, phi) = (0.3, 1.0)."""
    import awkward as ak

    rng = np.random.default_rng(seed)
    counts = rng.integers(1, most_particles + 1, n_jets)
    columns: dict[str, list] = {
        k: [] for k in ("part_px", "part_py", "part_pz", "part_energy", "part_charge", "part_pid")
    }
    for count in counts:
        pt = rng.exponential(20.0, count) + 0.5
        eta, phi = rng.normal(0.3, 0.3, count), rng.normal(1.0, 0.3, count)
        mass = rng.uniform(0.0, 0.5, count)
        kinds = rng.integers(0, len(_SPECIES), count)
        pz = pt * np.sinh(eta)
        columns["part_px"].append(pt * np.cos(phi))
        columns["part_py"].append(pt * np.sin(phi))
        columns["part_pz"].append(pz)
        columns["part_energy"].append(np.sqrt(pt**2 + pz**2 + mass**2))
        columns["part_pid"].append([_SPECIES[k][0] for k in kinds])
        columns["part_charge"].append([float(_SPECIES[k][1]) for k in kinds])
    return ak.Array({k: [list(map(float, v)) for v in vals] for k, vals in columns.items()})


def jet_inputs(
    prep: Any, n_jets: int, *, particles: int | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Toy jets through the run's representation (``particles`` replaces its
    ``max_particles``); jets longer than P are truncated, shorter ones padded."""
    from hepdl.data import representation_from_config

    config = dict(prep.representation)
    if particles is not None and "max_particles" in config:
        config["max_particles"] = particles
    most = int(config.get("max_particles") or 16)
    table = toy_jets(n_jets, most_particles=most + 4, seed=seed)  # some jets longer than P
    arrays = representation_from_config(config)(table, source="toy jets")
    return {name: np.asarray(values) for name, values in dict(arrays).items()}


def random_inputs(
    prep: Any, n_jets: int, *, particles: int | None = None, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random arrays of the representation's shapes at ``n_jets`` jets and ``particles``
    particles (default: the saved P), padded jets as the representation pads them."""
    rng = np.random.default_rng(seed)
    if is_flat(prep):
        width = len(prep.feature_names)
        return {"features": rng.normal(size=(n_jets, width)).astype(np.float32)}
    shapes = jet_inputs(prep, 2, particles=particles, seed=seed)  # shapes and dtypes
    if "mask" not in shapes:  # images, trees: toy jets are the random inputs
        return jet_inputs(prep, n_jets, particles=particles, seed=seed)
    width = shapes["mask"].shape[1]
    counts = rng.integers(1, width + 1, n_jets)
    counts[0] = width
    mask = np.arange(width)[None, :] < counts[:, None]  # (N, P): particles first
    out: dict[str, np.ndarray] = {"mask": mask}
    for name, template in shapes.items():
        if name == "mask":
            continue
        values = rng.normal(size=(n_jets, *template.shape[1:])).astype(template.dtype)
        keep = mask
        if name == "pairwise":
            keep = mask[:, :, None] & mask[:, None, :]  # (N, P, P)
        out[name] = values * keep.reshape(*keep.shape, *(1,) * (values.ndim - keep.ndim))
    return out


def file_inputs(config: Any, prep: Any, path: str, n_rows: int) -> dict[str, np.ndarray]:
    """The first ``n_rows`` rows of ``path`` through the run's saved representation,
    with the columns the run's task reads (labels and truth optional)."""
    from hepdl.tasks import task_class
    from hepdl.train.inputs import load_sample

    kind = task_class(config.task.kind)
    data = config.data.model_copy(update={"classes": prep.class_names or None})
    sample = load_sample(
        data,
        files=[path],
        representation=prep.representation,
        labels_needed=False,
        columns=kind.sample_columns(config.task),
        optional_columns=frozenset(kind.truth_columns(config.task)),
    )
    return first_rows(sample.inputs, n_rows)


def first_rows(arrays: Mapping[str, Any], n_rows: int) -> dict[str, np.ndarray]:
    """The first ``n_rows`` jets of per-jet arrays (each (N, ...)), or of the ``tree``
    representation's node arrays (T nodes of N jets, ``offsets`` (N + 1,)): whole trees,
    renumbered (``select_jets``), not the first nodes."""
    if "offsets" in arrays and "roots" in arrays:  # the tree representation
        from hepdl.data.representations.tree import select_jets

        jets = min(n_rows, len(arrays["roots"]))
        return select_jets({k: np.asarray(v) for k, v in arrays.items()}, np.arange(jets))
    return {name: np.asarray(values)[:n_rows] for name, values in arrays.items()}
