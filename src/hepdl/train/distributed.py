"""Several processes, one run: agreeing on the run directory, sharding the batches, and
leaving the writing and the test evaluation to rank 0.

The run directory's name carries a timestamp taken when the process reaches it, which
differs between processes started by torchrun or srun. It is therefore chosen once, on
global rank 0, and handed to the others:

* torchrun, SLURM and other launchers that start every process themselves: the process
  group is brought up early (as Lightning would at ``fit``, with the same backend and
  cluster environment) and rank 0 broadcasts the name. A deterministic name from
  ``TORCHELASTIC_RUN_ID`` would not do: plain ``torchrun`` sets it to ``none`` for
  every launch, and SLURM has its own variables.
* ``devices: N`` without a launcher: Lightning starts ranks 1..N-1 from rank 0 during
  ``fit``, as fresh runs of the same command line; rank 0 puts the name in the
  environment variable ``HEPDL_RUN_DIR``, which they inherit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hepdl.config import TrainerConfig

RUN_DIR_ENV = "HEPDL_RUN_DIR"


def _probe(config: TrainerConfig) -> Any:
    """A bare Trainer with the config's devices and strategy: Lightning's own answer to
    "which rank am I, how many are we, and who starts the processes"."""
    import lightning as L

    from hepdl.trainer_checks import check_machine

    check_machine(config)  # before Lightning starts a process per device
    return L.Trainer(
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def agree_run_dir(config: TrainerConfig, make: Callable[[], Path]) -> Path:
    """The run directory every process of this run uses; ``make`` creates a new one and
    is called on global rank 0 only."""
    from lightning.fabric.plugins.environments import LightningEnvironment

    trainer = _probe(config)
    if trainer.world_size == 1:
        return make()
    strategy = trainer.strategy
    environment = strategy.cluster_environment
    if not environment.creates_processes_externally:  # rank 0, about to start the others
        run_dir = make()
        os.environ[RUN_DIR_ENV] = str(run_dir)
        return run_dir
    inherited = os.environ.get(RUN_DIR_ENV)
    if inherited and trainer.global_rank > 0 and isinstance(environment, LightningEnvironment):
        return Path(inherited)  # started by rank 0 (previous branch)
    strategy.setup_environment()  # the process group, exactly as fit would bring it up
    name = str(make()) if trainer.global_rank == 0 else None
    return Path(strategy.broadcast(name, src=0))


def shard_batches(*loaders: Any, rank: int, world_size: int) -> None:
    """Make each loader's ``ShuffledBatches`` yield this process's share of every batch."""
    from hepdl.train.loaders import ShuffledBatches

    for loader in loaders:
        sampler = getattr(loader, "sampler", None)
        if not isinstance(sampler, ShuffledBatches):
            raise TypeError(
                f"shard_batches expects DataLoaders over ShuffledBatches, got a sampler "
                f"{type(sampler).__name__}"
            )
        sampler.shard(rank=rank, world_size=world_size)


def wait_for_rank_zero(trainer: Any, run_dir: Path) -> tuple[dict[str, Any], dict[str, list]]:
    """On ranks > 0: wait until rank 0 has evaluated and written the run, then read its
    (metrics, history)."""
    trainer.strategy.barrier("hepdl-evaluated")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    history = json.loads((run_dir / "history.json").read_text())
    return metrics, history


def release_other_ranks(trainer: Any) -> None:
    """On rank 0, once the run directory is complete: let the waiting ranks go."""
    trainer.strategy.barrier("hepdl-evaluated")
