"""The ``trainer`` options Lightning takes, and whether this machine can run them.

The choices are Lightning 2's (``AcceleratorRegistry``, ``StrategyRegistry``, the
precision strings of ``lightning.fabric.connector``), copied here so that loading a config
imports no torch; tests/config/test_trainer_options.py compares them with Lightning's own.
``check_machine`` runs where a run starts (not when a config loads: a run made on a GPU
machine is evaluated on a laptop): ``devices: 64`` on 2 CPU cores would start 64 processes
that hang, so it is refused first.
"""

from __future__ import annotations

import os
from typing import Any

from hepdl.errors import ConfigError

ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "mps", "tpu")
STRATEGIES = (
    "auto",
    "ddp",
    "ddp_find_unused_parameters_false",
    "ddp_find_unused_parameters_true",
    "ddp_fork",
    "ddp_fork_find_unused_parameters_false",
    "ddp_fork_find_unused_parameters_true",
    "ddp_notebook",
    "ddp_notebook_find_unused_parameters_false",
    "ddp_notebook_find_unused_parameters_true",
    "ddp_spawn",
    "ddp_spawn_find_unused_parameters_false",
    "ddp_spawn_find_unused_parameters_true",
    "deepspeed",
    "deepspeed_stage_1",
    "deepspeed_stage_2",
    "deepspeed_stage_2_offload",
    "deepspeed_stage_3",
    "deepspeed_stage_3_offload",
    "deepspeed_stage_3_offload_nvme",
    "fsdp",
    "fsdp_cpu_offload",
    "single_device",
    "single_tpu",
    "single_xla",
    "xla",
    "xla_debug",
)
PRECISIONS = (
    "32-true",
    "64-true",
    "16-mixed",
    "bf16-mixed",
    "16-true",
    "bf16-true",
    "transformer-engine",
    "transformer-engine-float16",
    "64",
    "32",
    "16",
    "bf16",
)


def device_request(devices: Any) -> tuple[int | None, int | None]:
    """(devices asked for, the highest device index named) from Lightning's forms:
    ``auto`` / ``-1`` (all: None, None), ``4`` or ``"4"`` (4, None), ``"0,2"`` (2, 2).
    ValueError for anything else."""
    if isinstance(devices, int) and not isinstance(devices, bool):
        if devices == -1:
            return None, None
        if devices >= 1:
            return devices, None
        raise ValueError("expected a number of devices >= 1, -1 (all) or auto")
    if not isinstance(devices, str):
        raise ValueError("expected a number of devices, a list like '0,1', -1 or auto")
    text = devices.strip()
    if text in ("auto", "-1"):
        return None, None
    if text.isdigit() and int(text) >= 1:
        return int(text), None
    indices = [part.strip() for part in text.split(",") if part.strip()]
    if "," in text and indices and all(i.isdigit() for i in indices):
        return len(set(indices)), max(int(i) for i in indices)
    raise ValueError(
        "expected a number of devices >= 1, device indices like '0,1', -1 (all) or auto"
    )


def _cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_machine(trainer: Any) -> None:
    """ConfigError when ``trainer`` (a TrainerConfig) asks for more devices than this
    machine has: CUDA GPUs for gpu/cuda (or auto where CUDA is present), CPU cores for
    cpu (each device is a process). torch is imported only when a GPU may be meant."""
    count, highest = device_request(trainer.devices)
    accelerator = trainer.accelerator
    if accelerator == "tpu":  # counted by torch_xla, which hepdl does not install
        return
    if accelerator in ("gpu", "cuda"):
        _fits(trainer, count, highest, _cuda_devices(), "CUDA GPU(s)")
        return
    if count is None or (count == 1 and highest is None):  # one device, or all there are
        return
    if accelerator == "auto":
        gpus = _cuda_devices()
        if gpus:
            _fits(trainer, count, highest, gpus, "CUDA GPU(s)")
            return
    if accelerator == "mps" or (accelerator == "auto" and _has_mps()):
        _fits(trainer, count, highest, int(_has_mps()), "MPS device")
        return
    _fits(trainer, count, highest, _cpu_cores(), "CPU core(s) for its processes")


def _cuda_devices() -> int:
    import torch

    return torch.cuda.device_count()


def _has_mps() -> bool:
    import torch

    return torch.backends.mps.is_available()


def _fits(trainer: Any, count: int | None, highest: int | None, available: int, what: str) -> None:
    wanted = f"trainer.devices: {trainer.devices} with trainer.accelerator: {trainer.accelerator}"
    if available == 0:
        raise ConfigError(f"{wanted}, but this machine has no {what}; use trainer.accelerator: cpu")
    if count is not None and count > available:
        raise ConfigError(
            f"{wanted} asks for {count} devices, but this machine has {available} {what}; "
            f"give at most {available}, or auto"
        )
    if highest is not None and highest >= available:
        raise ConfigError(
            f"{wanted} names device {highest}, but this machine has {available} {what} "
            f"(0..{available - 1})"
        )
