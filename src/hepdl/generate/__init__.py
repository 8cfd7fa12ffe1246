"""Event and jet generation with Pythia 8 and FastJet, written to Parquet.

Samples are recipes (:mod:`hepdl.generate.recipes`, registered in
:mod:`hepdl.generate.catalog`): ``hepdl datasets`` lists them. :func:`generate` runs one
in chunks, over several processes or shards, resumably; :func:`merge` joins the parts of
a sharded run. Pythia, FastJet, awkward and pyarrow are imported only when a chunk runs.
"""

from __future__ import annotations

from hepdl.generate import catalog as _catalog  # registers the samples (NumPy only)
from hepdl.lazy_exports import lazy_exports

del _catalog

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hepdl.generate._parquet": ["read_metadata"],
        "hepdl.generate.engine": ["Outcome", "generate", "merge"],
        "hepdl.generate.recipes": ["PROCESSES", "SAMPLES", "describe", "resolve_sample"],
        "hepdl.generate.settings": ["SampleSettings"],
    },
)
