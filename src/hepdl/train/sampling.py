"""Draw showers from a trained generative run into a shower file (``hepdl sample``).

The file has the layout ``hepdl showers`` writes (``energy`` and one (N, H, W) cell
array per layer, Parquet or HDF5), so every hepdl command reads generated and simulated
showers alike: representation ``calo_layers`` for a second model, ``layer_sums`` or
``calo_cells`` for a classifier that tells them apart, ``hepdl showers``' validation.
The condition (a shower generator's incident energy) is one value or uniform in a range;
the run's training range is saved with it, and a condition outside it is drawn but warned
about (a generator extrapolates to energies it never saw). What the condition is, how it
is drawn and which columns the samples become is the run's target coding's
(``condition_name``, ``draw_conditions``, ``sample_columns``). Samples are drawn and
written ``batch`` at a time, so memory does not grow with N; the file appears only when
complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import ConfigError


@dataclass
class SampleResult:
    out: Path
    rows: int
    warnings: list[str] = field(default_factory=list)


def parse_condition(texts: list[str], name: str = "energy") -> tuple[float, float]:
    """``["energy=50"]`` -> (50, 50); ``["energy=10:100"]`` -> (10, 100) (uniform)."""
    value: tuple[float, float] | None = None
    for text in texts:
        key, sep, given = str(text).partition("=")
        if not sep or key.strip() != name:
            raise ConfigError(
                f"--condition {text!r}: expected KEY=VALUE with KEY {name} (the model's "
                f"condition), e.g. {name}=50 or {name}=10:100"
            )
        low, colon, high = given.partition(":")
        try:
            lo, hi = (float(low), float(high)) if colon else (float(low), float(low))
        except ValueError:
            raise ConfigError(f"--condition {text!r}: the {name} must be V or LO:HI") from None
        if not (np.isfinite([lo, hi]).all() and 0 < lo <= hi):
            raise ConfigError(f"--condition {text!r}: expected 0 < LO <= HI")
        value = (lo, hi)
    if value is None:
        raise ConfigError(f"--condition {name}=V (or LO:HI) is required: what the model draws for")
    return value


def sample_run(
    run_dir: Path,
    *,
    n: int,
    condition: list[str],
    out: Path,
    seed: int = 0,
    batch: int = 10_000,
    overwrite: bool = False,
) -> SampleResult:
    """``n`` samples of the run in ``run_dir`` for ``condition`` (``["energy=50"]``, or a
    range LO:HI drawn uniformly) into ``out``."""
    import torch

    from hepdl.generate.showers import write_shower_file
    from hepdl.tasks import task_class
    from hepdl.train.artifacts import load_trained, run_task_kind

    run_dir = Path(run_dir)
    if n < 1 or batch < 1:
        raise ConfigError(f"--n and --batch must be positive, got n={n}, batch={batch}")
    kind = run_task_kind(run_dir)
    cls = task_class(kind)
    if not getattr(cls, "generative", False):
        raise ConfigError(
            f"{run_dir}: a run of task.kind: {kind} is not a generative model; hepdl sample "
            "draws from runs of task.kind gan, vae or flow (e.g. configs/calo_gan.yaml)"
        )
    config, model, prep = load_trained(run_dir)
    coding = cls.targets_from_saved(config.task, prep.to_dict())
    name, unit = coding.condition_name, coding.condition_unit
    low, high = parse_condition(condition, name)
    warnings = []
    trained_lo, trained_hi = coding.condition_range
    if low < trained_lo * (1 - 1e-6) or high > trained_hi * (1 + 1e-6):
        shown = f"{low:g}" if low == high else f"{low:g}-{high:g}"
        warnings.append(
            f"the condition {name} {shown} {unit} lies outside the training range "
            f"{trained_lo:.4g}-{trained_hi:.4g} {unit} of {run_dir}: the model extrapolates"
        )
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)

    def chunks() -> Iterator[dict[str, np.ndarray]]:
        for start in range(0, n, batch):
            values = coding.draw_conditions(low, high, min(batch, n - start), rng)  # (rows, 1)
            with torch.no_grad():
                outputs = model(torch.from_numpy(values)).numpy()
            yield coding.sample_columns(outputs, values)

    metadata: dict[str, Any] = {
        **getattr(coding, "sample_metadata", dict)(),
        "generated_by": {"run": str(run_dir.resolve()), "task": kind, "model": config.model.name},
        "condition": {name: [low, high]},
        "training_range": {name: [trained_lo, trained_hi]},
        "rows": n,
        "seed": seed,
        "units": unit,
    }
    model.eval()
    written = write_shower_file(chunks(), Path(out), metadata, overwrite=overwrite)
    return SampleResult(out=written, rows=n, warnings=warnings)
