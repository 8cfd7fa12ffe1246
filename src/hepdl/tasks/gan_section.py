"""``task.kind: gan``: the config section of adversarial training of a shower generator,
without torch or Lightning (``hepdl.tasks.gan`` holds the task)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from hepdl.tasks._generative_section import GenerativeSection
from hepdl.tasks._registry import register_section


@register_section("gan")
class GanConfig(GenerativeSection):
    """``task.kind: gan``: a generator against a critic. ``loss: wasserstein`` (WGAN-GP,
    Gulrajani et al. arXiv:1704.00028: the critic's score difference plus
    ``gradient_penalty`` x (|grad| - 1)^2 at points between real and generated showers),
    ``minimax`` (Goodfellow et al.'s original min_G max_D of the log-likelihood, the
    generator minimising ln(1 - D(G(z)))) or ``non_saturating`` (the generator maximising
    ln D(G(z)) instead, Goodfellow et al.'s practical variant). The critic takes
    ``critic_steps`` updates per generator update; both use Adam with ``betas``."""

    kind: Literal["gan"] = "gan"
    loss: Literal["wasserstein", "minimax", "non_saturating"] = "wasserstein"
    gradient_penalty: float = Field(10.0, ge=0)  # lambda of WGAN-GP
    critic_steps: int = Field(5, ge=1, le=100)
    lr: float = Field(1e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.9)

    @field_validator("betas")
    @classmethod
    def _betas(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not all(0 <= b < 1 for b in value):
            raise ValueError(f"task.betas must be two numbers in [0, 1), got {list(value)}")
        return value

    def own_epoch_metrics(self) -> dict[str, str | None]:
        # The adversarial losses rank nothing: each network's loss falls as the other's rises.
        return {"train_critic_loss": None, "train_generator_loss": None,
                "train_gradient_penalty": "min"}  # fmt: skip
