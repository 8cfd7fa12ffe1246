"""Event and jet generation with Pythia 8 and FastJet, written to Parquet.

Samples are recipes (:mod:`hepdl.generate.recipes`, registered in
:mod:`hepdl.generate.catalog`): ``hepdl datasets`` lists them. :func:`generate` runs one
in chunks, over several processes or shards, resumably; :func:`merge` joins the parts of
a sharded run. Pythia, FastJet, awkward and pyarrow are imported only when a chunk runs.
"""

from __future__ import annotations

from hepdl.generate import catalog as _catalog
from hepdl.generate._parquet import read_metadata
from hepdl.generate.engine import Outcome, generate, merge
from hepdl.generate.recipes import PROCESSES, SAMPLES, describe, resolve_sample
from hepdl.generate.settings import SampleSettings

del _catalog

__all__ = [
    "PROCESSES",
    "SAMPLES",
    "Outcome",
    "SampleSettings",
    "describe",
    "generate",
    "merge",
    "read_metadata",
    "resolve_sample",
]
