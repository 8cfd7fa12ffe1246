"""Naming the layer and op that keep a network from exporting.

The TorchScript exporter traces one forward pass. Where the network turns a tensor into a
Python value (``.tolist()``, ``int(t)``, ``.item()``), the trace would freeze that value,
e.g. the recursive network's loop over tree levels, so the graph would silently compute
the example's answer for every input: such a TracerWarning is turned into an
:class:`ExportError` naming the module that was running (a forward-hook stack) and the
source line (for the recursive network also why, and what to use instead). Converting a
tensor to a Python *boolean* (shape checks, input validation) is let through and
recorded; the exported graph is then checked against PyTorch on inputs of another batch
size and particle count, which catches a frozen branch. Ops the exporter or ONNX Runtime
lacks are named with the module path from the ONNX node name.
"""

from __future__ import annotations

import re
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hepdl.errors import ExportError

# Let through under tracing, recorded: shape and validity checks read on the example,
# a constant tensor; the graph is then checked on other shapes (onnx_export.parity).
_BENIGN = (
    r"Converting a tensor to a Python boolean",
    r"Using len to get tensor shape",
    r"Iterating over a tensor",  # a fixed axis (an RNN's layers); another batch size is checked
    r"torch.tensor results are registered",
)
# ONNX node names are "/<module path with '/'>/<OpType>[_n]"; the wrapper's attribute first.
_NODE = re.compile(r"node with name '/(?:network/)?(?P<path>[^']*?)/?(?P<op>[A-Za-z]+)(?:_\d+)?'")
_ATEN = re.compile(r"'(?P<op>aten::\w+)'")


@contextmanager
def tracing_guard(network: Any, model: str) -> Iterator[list[str]]:
    """Within the block, a freezing TracerWarning raises ExportError naming model
    ``model``'s running module; yields the list of the let-through warnings' locations
    ("file:line"), filled when the block ends."""
    import torch

    stack: list[str] = []  # the modules whose forward is running, innermost last

    def enter(label: str) -> Any:
        def hook(*_: Any) -> None:  # returns None: the module's inputs stay as they are
            stack.append(label)

        return hook

    def leave(*_: Any) -> None:  # returns None: the module's output stays as it is
        if stack:
            stack.pop()

    handles = []
    for name, module in network.named_modules():
        label = f"{name or '<root>'} ({type(module).__name__})"
        handles.append(module.register_forward_pre_hook(enter(label)))
        handles.append(module.register_forward_hook(leave))
    benign: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("error", torch.jit.TracerWarning)
            for message in _BENIGN:
                warnings.filterwarnings("always", message=message, category=torch.jit.TracerWarning)
            try:
                yield benign
            except Exception as err:  # a TracerWarning, or raised from one in C++ code
                frozen = tracer_warning(err)
                if frozen is None:
                    raise
                message = _frozen_message(network, model, stack, frozen, err.__traceback__)
                raise ExportError(f"model '{model}': {message}") from None
            finally:
                benign.extend(
                    f"{Path(w.filename).name}:{w.lineno}"
                    for w in shown
                    if issubclass(w.category, torch.jit.TracerWarning)
                )
    finally:
        for handle in handles:
            handle.remove()


def tracer_warning(err: BaseException) -> BaseException | None:
    """The TracerWarning an exception is or was raised from (its cause or context)."""
    import torch

    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, torch.jit.TracerWarning):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _frozen_message(
    network: Any, model: str, stack: list[str], warning: BaseException, tb: Any
) -> str:
    where = _model_frame(tb)
    layer = stack[-1] if stack else f"<root> ({type(network).__name__})"
    reason = str(warning).split(" might ")[0]  # "Converting a tensor to a Python list"
    return (
        f"layer {layer} cannot be exported to ONNX: {reason} at {where}; the trace would "
        f"freeze this value, which depends on the input{_WHY.get(model, '')}, so the graph "
        f"would be wrong for other inputs. This model has no ONNX export{_INSTEAD.get(model, '')}"
    )


# Per model: which input-dependent value the trace would freeze, and what to use instead.
_WHY = {
    "recursive": (
        " (the loop over the batch's tree levels: one merge per level, as many as the "
        "tallest clustering tree has, which a traced graph, a fixed sequence of ops "
        "without loops, cannot repeat a variable number of times)"
    ),
}
_INSTEAD = {
    "recursive": (
        "; run it with hepdl evaluate / hepdl predict in PyTorch, or export a network of "
        "a per-particle representation instead (lstm, gru or rnn on sequence; pfn, "
        "particlenet or part on point_cloud)"
    ),
}


def _model_frame(tb: Any) -> str:
    """'hepdl/models/x.py:123 `source`': the innermost frame of a traceback in hepdl's
    models (else in hepdl outside this package)."""
    frames = traceback.extract_tb(tb)
    inside = [f for f in frames if "hepdl" in f.filename and "deploy" not in f.filename]
    models = [f for f in inside if "models" in f.filename]
    chosen = (models or inside)[-1:]
    if not chosen:
        return "an unknown line"
    frame = chosen[0]
    parts = Path(frame.filename).parts
    short = "/".join(parts[parts.index("hepdl") :]) if "hepdl" in parts else frame.filename
    return f"{short}:{frame.lineno} `{(frame.line or '').strip()}`"


def exporter_failure(model: str, err: Exception, *, opset: int) -> ExportError:
    """One ExportError for an op the exporter or ONNX Runtime cannot handle."""
    text = str(err)
    node = _NODE.search(text)
    if node:
        layer = node["path"].replace("/", ".") or "<root>"
        return ExportError(
            f"model '{model}': layer {layer}, op {node['op']}: ONNX Runtime cannot run the "
            f"exported graph at opset {opset} ({text.splitlines()[0][:300]})"
        )
    first = f"{type(err).__name__}: {text.splitlines()[0][:300]}" if text else type(err).__name__
    aten = _ATEN.search(text)
    if aten:
        return ExportError(
            f"model '{model}': op {aten['op']} cannot be exported to ONNX at opset {opset} "
            f"({first})"
        )
    return ExportError(f"model '{model}': the ONNX exporter failed at opset {opset} ({first})")
