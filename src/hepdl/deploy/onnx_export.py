"""``hepdl export``: a finished run directory as one ONNX file, checked against PyTorch.

Networks go through PyTorch's TorchScript exporter (``torch.onnx.export(dynamo=False)``):
it exports every network hepdl can export with dynamic batch and particle axes, where the
``torch.export`` path (``dynamo=True``) fails on the MLP's and LeNet's shape checks. The
graph is :class:`~hepdl.deploy.network.DeployedNetwork`: raw representation arrays in
(the flat features' standardisation folded in), the output activation applied. The
scikit-learn baselines go through ``skl2onnx`` (``hepdl.deploy.sklearn_onnx``).

Before the file is written, ONNX Runtime runs it on inputs of another batch size and
particle count than the traced ones, and its outputs must match PyTorch's (max |diff|
below ``TOLERANCE``); the file is written atomically (``hepdl.atomic``), never half.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.deploy.onnx_file import CLASSICAL_FILE, NEURAL_FILE
from hepdl.errors import ConfigError, DataError, ExportError

DEFAULT_OPSET = 17
OUTPUT = "output"
TOLERANCE = 1e-5  # max |ONNX Runtime - PyTorch| accepted at export
TRACE_JETS = 4  # jets in the traced example
CHECK_JETS = 7  # jets in the check, another batch size than the traced one


@dataclass(frozen=True)
class ExportResult:
    path: Path
    opset: int
    exporter: str
    inputs: list[dict[str, Any]]  # name, dtype, shape ("batch", "particles" dynamic)
    unused_inputs: list[str] = field(default_factory=list)
    max_difference: float = 0.0  # max |ONNX Runtime - PyTorch| in the export's check
    checked: str = ""  # on what the check ran


def export_onnx(
    run_dir: Path,
    out: Path | None = None,
    *,
    opset: int = DEFAULT_OPSET,
    data: str | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """Export run ``run_dir`` to ``out`` (default ``run_dir/model.onnx``) at ONNX
    ``opset``, traced on the first rows of file ``data`` (else on toy jets through the
    run's representation, or random rows of its flat features)."""
    run_dir = Path(run_dir)
    out = Path(out) if out is not None else run_dir / "model.onnx"
    classical = _check_run_dir(run_dir)
    _check_out(out, overwrite=overwrite)
    if classical:
        from hepdl.deploy.sklearn_onnx import export_classical

        blob, result = export_classical(run_dir, opset=opset, data=data)
    else:
        blob, result = _export_network(run_dir, opset=opset, data=data)
    from hepdl.atomic import write_bytes
    from hepdl.deploy.onnx_file import recording_weights

    write_bytes(out, recording_weights(blob, run_dir, classical=classical))
    return ExportResult(path=out, **result)


def _check_run_dir(run_dir: Path) -> bool:
    """ConfigError unless ``run_dir`` holds a finished run; True for a scikit-learn one."""
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: no such run directory")
    classical = (run_dir / CLASSICAL_FILE).is_file()
    weights = CLASSICAL_FILE if classical else NEURAL_FILE
    for name in ("config.yaml", "preprocessing.json", weights):
        if not (run_dir / name).is_file():
            raise ConfigError(f"{run_dir}: not a finished hepdl run ({name} is missing)")
    _refuse_generative(run_dir)
    return classical


def _refuse_generative(run_dir: Path) -> None:
    """A generative run draws its noise inside the network: the export's check (the ONNX
    file's outputs against PyTorch's on the same inputs) cannot hold for random outputs,
    and an unchecked export is not written."""
    from hepdl.tasks import task_class
    from hepdl.train.artifacts import run_task_kind

    kind = run_task_kind(run_dir)
    if getattr(task_class(kind), "generative", False):
        raise ConfigError(
            f"{run_dir}: a generative run (task.kind: {kind}) draws random showers; hepdl "
            "export writes only networks whose ONNX outputs it can check against PyTorch's, "
            "so it does not export samplers; draw showers with `hepdl sample`"
        )


def _check_out(out: Path, *, overwrite: bool) -> None:
    if out.exists() and not overwrite:
        raise ConfigError(f"{out}: exists already; pass --overwrite to replace it")
    if out.is_dir():
        raise ConfigError(f"{out}: is a folder; --out names the .onnx file to write")
    if not out.parent.is_dir():
        raise DataError(f"{out.parent}: no such folder to write {out.name} into")


def _export_network(run_dir: Path, *, opset: int, data: str | None) -> tuple[bytes, dict]:
    import onnx
    import torch

    from hepdl.deploy import example_inputs as examples
    from hepdl.deploy.metadata import attach, describe, output_meaning
    from hepdl.deploy.network import DeployedNetwork, dynamic_axes, input_arrays
    from hepdl.train.artifacts import load_trained

    config, model, prep = load_trained(run_dir)
    if data is not None:
        traced = examples.file_inputs(config, prep, data, TRACE_JETS)
    elif examples.is_flat(prep):
        traced = examples.random_inputs(prep, TRACE_JETS)
    else:
        traced = examples.jet_inputs(prep, TRACE_JETS)
    arrays = input_arrays(model, traced)
    names = list(arrays)
    wrapper = DeployedNetwork(model, names, prep.standardizer).eval()
    blob, unused, benign = trace_to_onnx(wrapper, config.model.name, arrays, opset=opset)
    graph = onnx.load_from_string(blob)
    used = [i.name for i in graph.graph.input]
    check = _check_inputs(prep, traced)
    with torch.no_grad():
        width = int(wrapper(*_tensors(input_arrays(model, check[0][1]), names)).shape[1])
    exporter = f"torch.onnx TorchScript exporter (dynamo=False), torch {torch.__version__}"
    shapes = [_describe_input(n, arrays[n], dynamic_axes(arrays, OUTPUT)[n]) for n in used]
    props = describe(
        config,
        prep,
        opset=opset,
        exporter=exporter,
        inputs=shapes,
        unused=unused,
        output=output_meaning(prep, width),
    )
    attach(graph, props)
    blob = graph.SerializeToString()

    def reference(inputs: dict[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            return wrapper(*_tensors(input_arrays(model, inputs), names)).numpy()

    difference, checked = parity(
        blob, check, reference, model=config.model.name, opset=opset, benign=benign
    )
    return blob, {
        "opset": opset,
        "exporter": exporter,
        "inputs": shapes,
        "unused_inputs": unused,
        "max_difference": difference,
        "checked": checked,
    }


def trace_to_onnx(
    wrapper: Any, name: str, arrays: dict[str, np.ndarray], *, opset: int
) -> tuple[bytes, list[str], list[str]]:
    """``wrapper`` (a DeployedNetwork of model ``name``) traced on ``arrays``: the ONNX
    bytes, the inputs the graph dropped (unused by the model) and the let-through
    TracerWarnings' locations."""
    import onnx
    import torch

    from hepdl.deploy.failures import exporter_failure, tracer_warning, tracing_guard
    from hepdl.deploy.network import dynamic_axes

    buffer = io.BytesIO()
    names = list(arrays)
    with tracing_guard(wrapper.network, name) as benign, warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)  # "legacy exporter"
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        try:
            torch.onnx.export(
                wrapper,
                tuple(_tensors(arrays, names)),
                buffer,
                input_names=names,
                output_names=[OUTPUT],
                dynamic_axes=dynamic_axes(arrays, OUTPUT),
                opset_version=opset,
                dynamo=False,
            )
        except ExportError:
            raise
        except Exception as err:  # the exporter raises many kinds for an unsupported op
            if tracer_warning(err) is not None:
                raise  # a frozen value: tracing_guard names its layer
            raise exporter_failure(name, err, opset=opset) from None
    blob = buffer.getvalue()
    used = {i.name for i in onnx.load_from_string(blob).graph.input}
    return blob, [n for n in names if n not in used], benign


def _check_inputs(prep: Any, traced: dict[str, np.ndarray]) -> list[tuple[str, dict]]:
    """(description, arrays) the export is checked on: random arrays and toy jets through
    the representation, at another batch size and particle count than the traced ones."""
    from hepdl.deploy import example_inputs as examples

    if examples.is_flat(prep):
        return [(f"{CHECK_JETS} random rows", examples.random_inputs(prep, CHECK_JETS, seed=1))]
    saved = examples.max_particles(prep)
    particles = None if saved is None else saved + 5
    where = "" if particles is None else f", {particles} particles (traced: {saved})"
    return [
        (
            f"{CHECK_JETS} random jets{where}",
            examples.random_inputs(prep, CHECK_JETS, particles=particles, seed=1),
        ),
        (
            f"{CHECK_JETS} toy jets{where}",
            examples.jet_inputs(prep, CHECK_JETS, particles=particles, seed=2),
        ),
    ]


def parity(
    blob: bytes,
    checks: list[tuple[str, dict[str, np.ndarray]]],
    reference: Any,
    *,
    model: str,
    opset: int,
    benign: list[str],
) -> tuple[float, str]:
    """Max |ONNX Runtime - reference| over ``checks``; ExportError above TOLERANCE."""
    from hepdl.deploy.failures import exporter_failure

    try:
        session = onnx_session(blob)
    except Exception as err:  # onnxruntime raises its own kinds for a missing kernel
        raise exporter_failure(model, err, opset=opset) from None
    worst = 0.0
    for description, arrays in checks:
        expected = np.asarray(reference(arrays))
        got = run_session(session, arrays)
        difference = float(np.max(np.abs(got.astype(np.float64) - expected)))
        if not difference <= TOLERANCE:
            where = f"; the trace read {', '.join(sorted(set(benign)))}" if benign else ""
            raise ExportError(
                f"model '{model}': the exported graph disagrees with PyTorch on "
                f"{description}: max |difference| {difference:.3g} > {TOLERANCE:g}; a "
                f"data-dependent branch was frozen by the trace{where}"
            )
        worst = max(worst, difference)
    return worst, "; ".join(description for description, _ in checks)


def onnx_session(blob: bytes | str, *, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session (``threads``: intra-op threads, default ORT's)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    return ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])


def run_session(session: Any, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """The session's first output on the arrays its graph takes (others are ignored:
    an array the model does not use is no input of the graph)."""
    feed = {i.name: np.ascontiguousarray(arrays[i.name]) for i in session.get_inputs()}
    return np.asarray(session.run(None, feed)[0])


def _tensors(arrays: dict[str, np.ndarray], names: list[str]) -> list[Any]:
    import torch

    return [torch.as_tensor(np.asarray(arrays[n])) for n in names]


def _describe_input(name: str, values: np.ndarray, axes: dict[int, str]) -> dict[str, Any]:
    shape = [axes.get(i, int(size)) for i, size in enumerate(np.shape(values))]
    return {"name": name, "dtype": str(np.asarray(values).dtype), "shape": shape}
