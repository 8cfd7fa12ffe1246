"""hepdl: deep learning for particle physics, end to end.

The top-level package imports nothing heavy, so ``hepdl --help`` answers at once.
Import the subpackages you need: ``hepdl.physics``, ``hepdl.data``, ``hepdl.models``, ...
"""

from __future__ import annotations

__version__ = "0.1.0"
