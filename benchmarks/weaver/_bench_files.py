"""The files of benchmarks/bench_weaver_particlenet.py: train/val/test Parquet files that
hepdl and weaver-core both read, and weaver's data config for them.

Each file holds the sample's columns plus what weaver's expression language cannot derive
itself, computed with hepdl's own functions: Delta eta and Delta phi to the jet axis and
the particle-type flags. tests/test_bench_weaver_config.py checks that weaver's padded
inputs from these files equal hepdl's ``point_cloud`` features.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
WEAVER_DATA_CONFIG = HERE / "top_particlenet_data.yaml"
WEAVER_NETWORK_CONFIG = HERE / "particlenet.py"
SAMPLE_PATTERN = "top-vs-qcd-20000-*.parquet"
SPLITS = ("train", "val", "test")

# hepdl feature name -> the file or weaver variable holding it (same order as hepdl's
# POINT_CLOUD_FEATURES; tests/test_bench_weaver_config.py checks the data config against it).
WEAVER_NAMES = {
    "delta_eta": "part_deta",
    "delta_phi": "part_dphi",
    "log_pt": "part_pt_log",
    "log_energy": "part_e_log",
    "log_pt_rel": "part_logptrel",
    "log_energy_rel": "part_logerel",
    "delta_r": "part_deltaR",
    "charge": "part_charge",
    "is_charged_hadron": "part_isChargedHadron",
    "is_neutral_hadron": "part_isNeutralHadron",
    "is_photon": "part_isPhoton",
    "is_electron": "part_isElectron",
    "is_muon": "part_isMuon",
}


def source_sample() -> Path:
    """The cached top-vs-QCD sample (20000 jets per class, ``hepdl`` generated it for
    configs/top_tagging_particlenet.yaml): the newest matching file, never regenerated
    here (that takes hours on one core)."""
    from hepdl.errors import DataError
    from hepdl.paths import cache_dir

    found = sorted((cache_dir() / "samples").glob(SAMPLE_PATTERN), key=lambda p: p.stat().st_mtime)
    if not found:
        raise DataError(
            f"no cached sample {cache_dir() / 'samples' / SAMPLE_PATTERN}: make it with "
            "`hepdl train configs/top_tagging_particlenet.yaml` or pass --source FILE"
        )
    return found[-1]


def with_weaver_columns(table: Any) -> Any:
    """``table`` with constituents ordered by decreasing pT, jet_pt/eta/phi/energy set to
    the E-scheme sum of all constituents (hepdl's jet axis), and per particle

        part_deta = eta_i - eta_J,  part_dphi = phi_i - phi_J wrapped to [-pi, pi),
        part_is* = hepdl.physics.particle_features.particle_type_onehot(pid, charge).
    """
    import awkward as ak

    from hepdl.physics import kinematics
    from hepdl.physics.particle_features import PARTICLE_TYPES, particle_type_onehot

    # Plain (non-option) NumPy columns: weaver's fused padding skips option-typed lists.
    order = ak.argsort(np.hypot(table["part_px"], table["part_py"]), axis=1, ascending=False)
    counts = np.asarray(ak.num(table["part_px"]), dtype=np.int64)  # (N,)
    flat = {  # (M,) each, jet by jet, decreasing pT within a jet
        name: np.asarray(ak.flatten(table[name][order]))
        for name in table.fields
        if name.startswith("part_")
    }
    jet_of = np.repeat(np.arange(len(counts)), counts)  # (M,) row of each constituent
    px, py, pz, energy = (
        np.bincount(jet_of, weights=flat[f"part_{c}"], minlength=len(counts))
        for c in ("px", "py", "pz", "energy")
    )  # (N,) each, float64
    jet_eta = kinematics.pseudorapidity(px, py, pz)  # (N,)
    jet_phi = kinematics.phi(px, py)  # (N,)
    eta = kinematics.pseudorapidity(
        flat["part_px"].astype(np.float64),
        flat["part_py"].astype(np.float64),
        flat["part_pz"].astype(np.float64),
    )  # (M,)
    phi = kinematics.phi(flat["part_px"].astype(np.float64), flat["part_py"].astype(np.float64))
    flat["part_deta"] = (eta - jet_eta[jet_of]).astype(np.float32)
    flat["part_dphi"] = kinematics.delta_phi(phi, jet_phi[jet_of]).astype(np.float32)
    flags = particle_type_onehot(flat["part_pid"], flat["part_charge"])  # (M, 5)
    for index, kind in enumerate(PARTICLE_TYPES):
        flat[WEAVER_NAMES[kind]] = flags[:, index].astype(np.float32)
    columns: dict[str, Any] = {
        name: np.asarray(table[name]) for name in table.fields if not name.startswith("part_")
    }
    columns.update(jet_pt=np.hypot(px, py), jet_eta=jet_eta, jet_phi=jet_phi, jet_energy=energy)
    for name, values in flat.items():
        columns[name] = ak.unflatten(values, counts)
    return ak.Array(columns)


def write_split_files(
    source: Path, work: Path, *, per_class: dict[str, int], seed: int = 0
) -> dict[str, Path]:
    """train/val/test Parquet files, ``per_class[split]`` jets of each class, disjoint,
    drawn by one seeded permutation per class; written once (atomically) and reused."""
    import awkward as ak
    import pyarrow.parquet as pq

    from hepdl.errors import DataError

    tag = "-".join(str(per_class[s]) for s in SPLITS)
    paths = {split: work / f"{split}-{tag}.parquet" for split in SPLITS}
    if all(p.exists() for p in paths.values()):
        return paths
    table = ak.from_parquet(source)
    metadata = pq.read_schema(source).metadata or {}
    labels = np.asarray(table["label"])
    rng = np.random.default_rng(seed)
    picked: dict[str, list[np.ndarray]] = {split: [] for split in SPLITS}
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        needed = sum(per_class.values())
        if len(rows) < needed:
            raise DataError(
                f"{source}: class {label} has {len(rows)} jets; --train + --val + --test "
                f"ask for {needed} per class"
            )
        start = 0
        for split in SPLITS:
            picked[split].append(rows[start : start + per_class[split]])
            start += per_class[split]
    work.mkdir(parents=True, exist_ok=True)
    for split, path in paths.items():
        rows = rng.permutation(np.concatenate(picked[split]))
        arrow = ak.to_arrow_table(with_weaver_columns(table[rows]), extensionarray=False)
        arrow = arrow.replace_schema_metadata({**metadata, b"split": split.encode()})
        partial = path.with_suffix(".partial")
        pq.write_table(arrow, partial)
        partial.rename(path)
    return paths


def weaver_data_config(work: Path, *, max_particles: int) -> Path:
    """The data config with every input ``length`` set to ``max_particles``, written in
    ``work``: weaver writes its ``.auto.yaml`` beside the config it reads."""
    import yaml

    config = yaml.safe_load(WEAVER_DATA_CONFIG.read_text())
    for block in config["inputs"].values():
        block["length"] = max_particles
    path = work / f"weaver_data_p{max_particles}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
