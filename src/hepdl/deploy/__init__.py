"""``hepdl export``: a finished run as a file other software runs without hepdl.

It sits beside ``evaluation`` (cli -> deploy -> train's public loading functions, models,
data): it loads a run (``hepdl.train.artifacts``, ``hepdl.train.classical``), folds in
what hepdl does around the network (the flat features' standardisation, the output
activation), writes ONNX and checks it in ONNX Runtime against PyTorch.

- ``onnx_export.py``   export_onnx: the run directory -> one checked .onnx file
- ``network.py``       the network with its caller's steps, as one module to trace
- ``sklearn_onnx.py``  the scikit-learn baselines through skl2onnx
- ``example_inputs.py`` tracing and checking inputs from the saved representation
- ``failures.py``      the layer and op that keep a model from exporting, named
- ``metadata.py``      what the file says about itself (metadata_props)

>>> from hepdl.deploy import export_onnx
>>> result = export_onnx("runs/top-20250101-120000")  # doctest: +SKIP
"""

from __future__ import annotations

__all__ = ["ExportResult", "export_onnx"]


def __getattr__(name: str):  # lazy: importing hepdl.deploy must not import torch
    if name in __all__:
        from hepdl.deploy import onnx_export

        return getattr(onnx_export, name)
    raise AttributeError(name)
