from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


def write_feature_file(
    path, *, n: int = 600, seed: int = 0, shift: float = 2.0, classes=("qcd", "top")
) -> str:
    """A labelled Parquet file with two unit Gaussian features (signal shifted by
    ``shift`` and ``-shift``) and one noise feature; hepdl class names in the file metadata."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    table = pa.table(
        {
            "f1": rng.normal(size=n) + shift * label,
            "f2": rng.normal(size=n) - shift * label,
            "noise": rng.normal(size=n),
            "label": label,
        }
    )
    meta = {b"hepdl": json.dumps({"class_names": list(classes)}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    return str(path)


@pytest.fixture
def feature_file(tmp_path):
    return write_feature_file(tmp_path / "jets.parquet")


@pytest.fixture
def one_thread():
    """One torch thread: runs compared bit for bit share one reduction order (and leave the
    other core alone)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
