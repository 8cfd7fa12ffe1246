"""Peak memory of training on ROWS x FEATURES float32 features held in memory (issue 15's
measurement: 200k x 28, 21 MiB of features), each probe in a fresh interpreter:

- ``import_mib``: peak resident memory (ru_maxrss) after importing torch, Lightning and
  hepdl's training code, the floor every run pays;
- ``train_peak_mib``: peak resident memory of ``train_experiment`` (one epoch, no plots);
- ``prepared_held_mib`` / ``prepared_peak_mib``: what ``prepare_data`` allocates through
  NumPy (tracemalloc), held by its result afterwards and at its peak, against
  ``features_mib``, one copy of the features.

    python -m tests.memory.training_memory --rows 200000 --features 28

prints one JSON object. ``tests/memory/test_prepared_memory.py`` runs the tracemalloc
probe on a small file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def write_wide_file(path: Path, *, rows: int, features: int, seed: int = 0) -> list[str]:
    """A labelled Parquet file of ``features`` float32 Gaussian columns (the first shifted
    by the label) and ``label``; the feature column names."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, rows)
    names = [f"x{j}" for j in range(features)]
    columns = {name: rng.normal(size=rows).astype(np.float32) for name in names}
    columns[names[0]] += label.astype(np.float32)
    meta = {b"hepdl": json.dumps({"class_names": ["qcd", "top"]}).encode()}
    table = pa.table({**columns, "label": label})
    pq.write_table(table.replace_schema_metadata(meta), path)
    return names


def write_config(folder: Path, data: Path, names: list[str]) -> Path:
    """A one-epoch MLP experiment on ``data``'s columns ``names``, standardised."""
    import yaml

    raw = {
        "name": "memory",
        "seed": 1,
        "data": {
            "files": [str(data)],
            "representation": {"name": "columns", "columns": names},
            "standardize": True,
            "batch_size": 4096,
        },
        "model": {"name": "mlp", "hidden": [32]},
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(folder / "runs")},
        "evaluate": {"plots": False},
    }
    path = folder / "memory.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


_IMPORTS = "import torch, lightning\nimport hepdl.train.run\n"
_PEAK = "import resource\nprint(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
_TRAIN = (
    "from hepdl.config import load_config\nfrom hepdl.train.run import train_experiment\n"
    "train_experiment(load_config({config!r}))\n"
)
# Imports are made before tracing starts (and any made inside are left out of ``held``),
# so that what is counted is the data.
_TRACED = (
    "import json, tracemalloc\nimport torch, lightning, awkward, pyarrow.parquet\n"
    "import hepdl.models, hepdl.tasks, hepdl.train.run\nfrom hepdl.config import load_config\n"
    "from hepdl.train.prepared import prepare_data\n"
    "config = load_config({config!r})\n"
    "tracemalloc.start(64)\n"
    "data = prepare_data(config)\n"
    "_, peak = tracemalloc.get_traced_memory()\n"
    "imports = tracemalloc.Filter(False, '<frozen importlib._bootstrap>', all_frames=True)\n"
    "held = sum(s.size for s in tracemalloc.take_snapshot().filter_traces([imports]).traces)\n"
    "print(json.dumps([held / 2**20, peak / 2**20]))\n"
)


def _last_line(code: str) -> str:
    env_code = "import os\nos.environ.setdefault('OMP_NUM_THREADS', '1')\n" + code
    out = subprocess.run(
        [sys.executable, "-c", env_code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return out.stdout.strip().splitlines()[-1]


def traced_prepare(config: Path) -> tuple[float, float]:
    """(MiB held by prepare_data's result, MiB at its peak), NumPy allocations traced."""
    held, peak = json.loads(_last_line(_TRACED.format(config=str(config))))
    return held, peak


def measure(rows: int, features: int, folder: Path) -> dict[str, float]:
    data = folder / "wide.parquet"
    names = write_wide_file(data, rows=rows, features=features)
    config = write_config(folder, data, names)
    held, peak = traced_prepare(config)
    return {
        "rows": rows,
        "features": features,
        "features_mib": rows * features * 4 / 2**20,
        "import_mib": float(_last_line(_IMPORTS + _PEAK)),
        "train_peak_mib": float(_last_line(_IMPORTS + _TRAIN.format(config=str(config)) + _PEAK)),
        "prepared_held_mib": held,
        "prepared_peak_mib": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=28)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        result = measure(args.rows, args.features, Path(folder))
    print(json.dumps({k: round(v, 1) for k, v in result.items()}))


if __name__ == "__main__":
    main()
