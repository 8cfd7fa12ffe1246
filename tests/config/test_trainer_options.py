"""Lightning's trainer choices as hepdl copies them, and the devices this machine has
(hepdl.trainer_checks)."""

from __future__ import annotations

import typing

import pytest

from hepdl import trainer_checks
from hepdl.config import TrainerConfig
from hepdl.errors import ConfigError
from hepdl.trainer_checks import ACCELERATORS, PRECISIONS, STRATEGIES, check_machine


def test_choices_are_lightnings() -> None:
    from lightning.fabric.connector import _PRECISION_INPUT_STR, _PRECISION_INPUT_STR_ALIAS
    from lightning.pytorch.accelerators import AcceleratorRegistry
    from lightning.pytorch.strategies import StrategyRegistry

    assert set(STRATEGIES) == {"auto", *StrategyRegistry.available_strategies()}
    assert set(ACCELERATORS) == {"auto", "gpu", *AcceleratorRegistry.available_accelerators()}
    precisions = {
        *typing.get_args(_PRECISION_INPUT_STR),
        *typing.get_args(_PRECISION_INPUT_STR_ALIAS),
    }
    assert set(PRECISIONS) == precisions


@pytest.fixture
def two_cores_no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer_checks, "_cpu_cores", lambda: 2)
    monkeypatch.setattr(trainer_checks, "_cuda_devices", lambda: 0)
    monkeypatch.setattr(trainer_checks, "_has_mps", lambda: False)


@pytest.mark.parametrize(
    ("trainer", "message"),
    [
        (
            {"devices": 64, "accelerator": "cpu"},
            "trainer.devices: 64 with trainer.accelerator: cpu asks for 64 devices, but this "
            "machine has 2 CPU core(s) for its processes; give at most 2, or auto",
        ),
        (
            {"devices": 3},
            "trainer.devices: 3 with trainer.accelerator: auto asks for 3 devices, but this "
            "machine has 2 CPU core(s) for its processes; give at most 2, or auto",
        ),
        (
            {"accelerator": "gpu"},
            "trainer.devices: auto with trainer.accelerator: gpu, but this machine has no CUDA "
            "GPU(s); use trainer.accelerator: cpu",
        ),
    ],
)
def test_more_devices_than_the_machine_has(two_cores_no_gpu, trainer: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        check_machine(TrainerConfig(**trainer))
    assert str(err.value) == message


def test_device_index_beyond_the_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer_checks, "_cuda_devices", lambda: 2)
    with pytest.raises(ConfigError) as err:
        check_machine(TrainerConfig(devices="0,3", accelerator="cuda"))
    assert str(err.value) == (
        "trainer.devices: 0,3 with trainer.accelerator: cuda names device 3, but this machine "
        "has 2 CUDA GPU(s) (0..1)"
    )
    check_machine(TrainerConfig(devices="0,1", accelerator="cuda"))
    check_machine(TrainerConfig(devices=2))  # auto: the two GPUs


def test_what_fits_is_accepted(two_cores_no_gpu) -> None:
    for devices in ("auto", -1, 1, 2, "2"):
        check_machine(TrainerConfig(devices=devices, accelerator="cpu"))
