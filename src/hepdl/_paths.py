"""Where hepdl keeps what it computes once: generated samples, cached representations."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$HEPDL_CACHE_DIR, else ~/.cache/hepdl."""
    root = os.environ.get("HEPDL_CACHE_DIR") or Path.home() / ".cache" / "hepdl"
    return Path(root)
