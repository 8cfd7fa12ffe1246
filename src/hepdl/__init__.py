"""hepdl: deep learning for particle physics, end to end.

The top-level package imports nothing heavy, so ``hepdl --help`` answers at once.
Import the subpackages you need. The map (docs/architecture.md has the whole picture);
arrows point down, a package imports only those below it:

    hepdl.cli, hepdl._cli_*   the ``hepdl`` command: parse, build the config, call below
    hepdl.train               running experiments, generic over tasks: the one data path
                              (``prepared``), the Trainer, checkpoints and resume, streamed
                              data, scans, ensembles, learning curves, classical baselines,
                              evaluation of a finished run on other files
    hepdl.tasks               one kind of learning per module, registered by name
                              (``classify``, ``regress``): config section, targets, head,
                              loss, epoch metrics, evaluation; ``TaskBase`` holds the shared
                              optimisation plumbing; ``fit_state`` what a fit keeps
    hepdl.models              plain ``nn.Module`` architectures by name (``create_model``),
                              scikit-learn baselines (``models.classical``)
    hepdl.data                readers (Parquet, ROOT, HDF5, CSV), labels, splits, scaling,
                              reweighting, streaming, representations (each declares the
                              arrays it provides)
    hepdl.generate            Pythia 8 + FastJet samples, detector response, pile-up
    hepdl.metrics             the field's metrics as pure NumPy functions
                              (``classification``, ``regression``)
    hepdl.plots               the field's figures (matplotlib + mplhep), no figure code
                              elsewhere
    hepdl.physics             four-vectors, substructure, clustering trees, jet images
    hepdl.scratch             the lectures' networks in NumPy with explicit backprop
    hepdl.config              the typed experiment config (read by all; validates through
                              the registries' public functions)
    hepdl.atomic, hepdl.errors  files written whole or not at all; the error types

Modules whose names start with ``_`` are private to their package.
"""

from __future__ import annotations

__version__ = "0.1.0"

from hepdl.lazy_exports import lazy_exports

# ``hepdl.from_pretrained(folder)``: imported on first use, so ``import hepdl`` stays light.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__, {"hepdl.deploy.pretrained": ["from_pretrained"]}
)
