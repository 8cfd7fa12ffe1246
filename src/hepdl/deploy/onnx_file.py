"""An exported ONNX file opened for predictions, checked to be the export of its run.

``hepdl export`` records the SHA-256 of the run's weights file (``model.safetensors`` or
``model.skops``) in the file's ``hepdl.weights_sha256``; a file exported from another run,
from this run before it was trained again, or by a hepdl that did not record it is
refused with the command that exports it again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError

WEIGHTS_KEY = "hepdl.weights_sha256"
NEURAL_FILE, CLASSICAL_FILE = "model.safetensors", "model.skops"


def weights_digest(run_dir: Path, *, classical: bool) -> str:
    """The SHA-256 (hex) of the run's weights file."""
    path = Path(run_dir) / (CLASSICAL_FILE if classical else NEURAL_FILE)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recording_weights(blob: bytes, run_dir: Path, *, classical: bool) -> bytes:
    """The ONNX bytes ``blob`` with the run's weights digest in ``WEIGHTS_KEY``."""
    import onnx

    from hepdl.deploy.metadata import attach

    graph = onnx.load_from_string(blob)
    attach(graph, {WEIGHTS_KEY: weights_digest(run_dir, classical=classical)})
    return graph.SerializeToString()


def open_export(
    path: Path, *, run_dir: Path, classical: bool, exported_by: str | None = None
) -> Any:
    """An ONNX Runtime session of ``path``, the export of the weights in ``run_dir`` (a run
    or a model folder). ``exported_by``: the command that writes it (default: ``hepdl
    export`` of ``run_dir``), for the errors' advice."""
    from hepdl.deploy.onnx_export import onnx_session

    again = exported_by or f"hepdl export {run_dir} --out {path} --overwrite"
    if not path.is_file():
        raise ConfigError(f"{path}: no such ONNX file; write it with: hepdl export {run_dir}")
    try:
        session = onnx_session(str(path))
    except Exception as err:  # onnxruntime raises its own kinds for a damaged file
        raise DataError(
            f"{path}: not a readable ONNX model ({err}); write it again: {again}"
        ) from None
    recorded = session.get_modelmeta().custom_metadata_map.get(WEIGHTS_KEY)
    if recorded is None:
        raise ConfigError(
            f"{path}: records no {WEIGHTS_KEY}, so it cannot be told to be the export of "
            f"run {run_dir}; export it again: {again}"
        )
    if recorded != weights_digest(run_dir, classical=classical):
        raise ConfigError(
            f"{path}: is the export of other weights than run {run_dir}'s (its "
            f"{WEIGHTS_KEY} differs); export it again: {again}"
        )
    return session


def run_export(session: Any, arrays: dict[str, Any], *, batch_size: int) -> np.ndarray:
    """The session's output (n, K) float64 on the representation arrays, batch by batch
    (arrays the graph does not take are ignored)."""
    names = [i.name for i in session.get_inputs()]
    n = len(arrays[names[0]])
    chunks = []
    for start in range(0, n, batch_size):
        feed = {
            name: np.ascontiguousarray(arrays[name][start : start + batch_size]) for name in names
        }
        chunks.append(np.asarray(session.run(None, feed)[0], dtype=np.float64))
    return np.concatenate(chunks) if chunks else np.zeros((0, 0))
