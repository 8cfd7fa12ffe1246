"""Files written whole or not at all: a temporary name beside the target, renamed over it
when complete (``os.replace`` is atomic on POSIX within one filesystem). An interrupted
run leaves the previous file or none, never half of one."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np


def write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented JSON to ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def write_npz(path: Path, **arrays: Any) -> Path:
    """Write the named arrays as an uncompressed ``.npz`` to ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp.npz")  # savez appends .npz to other names
    np.savez(tmp, **{name: np.asarray(values) for name, values in arrays.items()})
    os.replace(tmp, path)
    return path
