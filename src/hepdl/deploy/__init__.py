"""``hepdl export``, ``predict``, ``save-pretrained``: a finished run put to use.

It sits beside ``evaluation`` (cli -> deploy -> train's public loading functions, models,
data): it loads a run (``hepdl.train.artifacts``, ``hepdl.train.classical``), folds in
what hepdl does around the network (the flat features' standardisation, the output
activation), writes ONNX and checks it in ONNX Runtime against PyTorch.

- ``onnx_export.py``   export_onnx: the run directory -> one checked .onnx file
- ``network.py``       the network with its caller's steps, as one module to trace
- ``sklearn_onnx.py``  the scikit-learn baselines through skl2onnx
- ``hgb_onnx.py``      the BDT (HistGradientBoosting) as an ai.onnx.ml tree ensemble
- ``onnx_file.py``     an export opened for predictions, checked to be its run's
- ``example_inputs.py`` tracing and checking inputs from the saved representation
- ``failures.py``      the layer and op that keep a model from exporting, named
- ``metadata.py``      what the file says about itself (metadata_props)
- ``predictor.py``     Predictor: a finished run as a function of tables
- ``predict_file.py``  predict_to_file (``hepdl predict``): a file's predictions, chunk by chunk
- ``table_writers.py`` Parquet and ROOT outputs written chunk by chunk
- ``pretrained.py``    save_pretrained / from_pretrained: a self-describing model folder
- ``model_card.py``    its README.md model card

>>> from hepdl.deploy import export_onnx
>>> result = export_onnx("runs/top-20250101-120000")  # doctest: +SKIP
"""

from __future__ import annotations

_EXPORTS = {
    "ExportResult": "hepdl.deploy.onnx_export",
    "export_onnx": "hepdl.deploy.onnx_export",
    "PredictSummary": "hepdl.deploy.predict_file",
    "predict_to_file": "hepdl.deploy.predict_file",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):  # lazy: importing hepdl.deploy must not import torch
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(name)
