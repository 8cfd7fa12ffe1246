"""Physics metrics of a validation epoch, from the logits the task collected per step.

Once per epoch, for the signal class s (signal = label s, background = every other label):

    val_auc                         area under the ROC curve, int eps_S d eps_B
    val_rejection_at_eps_s_<eps>    1 / eps_B at the signal efficiency eps_S = <eps>

computed by :mod:`hepdl.metrics` on the score of the test evaluation, P(signal) (the
sigmoid unit, 1 - it for signal class 0, or the softmax entry of s), in float64 so that
confident jets keep distinct scores.

A rejection is capped at N_B, the number of background jets of the validation set: one
surviving jet gives eps_B = 1/N_B, so a larger rejection (``inf`` when no background jet
survives) is not resolved by this set. The logged value is then finite and still ordered
correctly, which early stopping (that stops on a non-finite metric) and the best
checkpoint need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from hepdl.errors import ConfigError, DataError
from hepdl.metrics import background_rejection, roc_auc

# The names logged live with the section (torch-free, read when a config loads).
from hepdl.tasks.classify_section import BASE_NAMES as BASE_NAMES
from hepdl.tasks.classify_section import logged_names as logged_names
from hepdl.tasks.classify_section import rejection_name
from hepdl.text import did_you_mean


def check_monitor(name: str, valid: Sequence[str], *, key: str) -> None:
    """ConfigError naming ``key`` when ``name`` is not a metric the task logs."""
    if name not in valid:
        raise ConfigError(
            f"{key} '{name}' is never logged{did_you_mean(name, valid)}; logged metrics: "
            f"{', '.join(valid)}"
        )


def signal_score(
    logits: torch.Tensor, probabilities: Callable[[torch.Tensor], torch.Tensor], signal: int
) -> np.ndarray:
    """P(signal) per jet, (N,) float64, from logits (N, K) and the model's output map."""
    prob = probabilities(logits.double())  # (N, K)
    if prob.shape[1] == 1:
        column = prob[:, 0] if signal == 1 else 1.0 - prob[:, 0]
    else:
        column = prob[:, signal]
    return column.cpu().numpy()


def gather_rows(
    tensor: torch.Tensor, *, all_gather: Callable[[torch.Tensor], torch.Tensor], world_size: int
) -> torch.Tensor:
    """The rows (N_r, ...) of every process, concatenated in rank order.

    ``all_gather`` (``LightningModule.all_gather``) stacks equal shapes into (W, ...), but
    processes may hold different row counts (the last batches of a stream), so each pads to
    the largest count and the padding is dropped after the gather.
    """
    if world_size == 1:
        return tensor
    counts = all_gather(torch.tensor(len(tensor), device=tensor.device)).reshape(-1)  # (W,)
    most = int(counts.max())
    padded = tensor.new_zeros((most, *tensor.shape[1:]))
    padded[: len(tensor)] = tensor
    stacked = all_gather(padded)  # (W, most, ...)
    return torch.cat([stacked[r, : int(n)] for r, n in enumerate(counts)])


def physics_metrics(
    scores: np.ndarray, labels: np.ndarray, *, signal_class: int, efficiencies: Sequence[float]
) -> dict[str, float]:
    """``val_auc`` and ``val_rejection_at_eps_s_<eps>`` (capped at N_B, see the module)."""
    is_signal = (labels == signal_class).astype(np.int64)  # (N,)
    n_background = int(len(is_signal) - is_signal.sum())
    if n_background == 0 or n_background == len(is_signal):
        missing = "background" if n_background == 0 else f"signal (class {signal_class})"
        raise DataError(
            f"validation set: it holds no {missing} jets, so val_auc and the rejections "
            "cannot be computed; give a validation set with both"
        )
    if not np.isfinite(scores).all():
        # NaN weights (a diverged fit): no ROC to compute; hepdl.tasks.divergence stops the
        # fit at this epoch and records why, so NaN here is never read as a result
        return {"val_auc": np.nan, **{rejection_name(e): np.nan for e in efficiencies}}
    metrics = {"val_auc": roc_auc(is_signal, scores)}
    for eps in efficiencies:
        rejection = background_rejection(is_signal, scores, signal_efficiency=eps)
        metrics[rejection_name(eps)] = min(rejection, float(n_background))
    return metrics
