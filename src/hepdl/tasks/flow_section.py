"""``task.kind: flow``: the config section of a conditional normalizing flow of showers
trained by maximum likelihood, without torch or Lightning (``hepdl.tasks.flow``)."""

from __future__ import annotations

from typing import Literal

from hepdl.tasks._generative_section import GenerativeSection
from hepdl.tasks._registry import register_section


@register_section("flow")
class FlowConfig(GenerativeSection):
    """``task.kind: flow``: the negative log-likelihood per cell of the dequantised log
    cells (``hepdl.models.shower_flow``); no options of its own beyond the optimiser's."""

    kind: Literal["flow"] = "flow"
