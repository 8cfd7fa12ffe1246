"""``task.kind: vae``: the config section of a conditional variational autoencoder of
showers, without torch or Lightning (``hepdl.tasks.vae`` holds the task)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hepdl.tasks._generative_section import GenerativeSection
from hepdl.tasks._registry import register_section


@register_section("vae")
class VaeConfig(GenerativeSection):
    """``task.kind: vae``: the negative ELBO, reconstruction + beta KL(q(z|x,c) || N(0,1)),
    with beta = ``kl_weight``, raised linearly from 0 over the first
    ``kl_annealing_epochs`` training epochs (0: constant). Validation always uses the
    full ``kl_weight``, so val_loss compares across epochs."""

    kind: Literal["vae"] = "vae"
    kl_weight: float = Field(1.0, ge=0)
    kl_annealing_epochs: int = Field(0, ge=0)

    def own_epoch_metrics(self) -> dict[str, str | None]:
        return {name: "min" for name in
                ("train_reconstruction", "train_kl", "val_reconstruction", "val_kl")}  # fmt: skip
