r"""Conditional normalizing flow of calorimeter showers: RealNVP affine couplings
(Dinh, Sohl-Dickstein, Bengio, arXiv:1605.08803) from the ``zuko`` package, conditioned
on the incident energy, the family of CaloFlow (Krause, Shih, arXiv:2106.05285) that the
CaloChallenge results favour.

The flow maps the dequantised log cells x (B, D) (``hepdl.models._shower_space``:
empty cells below 0, the others in [0, 1]) to a standard normal through ``transforms``
coupling layers with alternating checkered masks; each layer's scale and shift come from
an MLP (``hidden``) of the other half of the cells and the condition c. Training
maximises the exact log-likelihood; sampling inverts the couplings, one pass each, so a
batch of showers costs ``transforms`` MLP evaluations (a masked autoregressive flow
would cost D of them per layer).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from hepdl.models._registry import register_model
from hepdl.models._set_common import check_positive, check_widths
from hepdl.models._shower_space import ShowerGenerator, cells_from_flow, flow_cells


@register_model("shower_flow")
class ShowerFlow(ShowerGenerator):
    """RealNVP flow over the ``sum(layer_cells)`` cells of a shower."""

    def __init__(
        self,
        *,
        layer_cells: Sequence[int] = (288, 144, 72),
        energy_range: Sequence[float] = (1.0, 100.0),
        transforms: int = 6,
        hidden: Sequence[int] = (256, 256),
    ) -> None:
        import zuko

        super().__init__()
        self._setup(layer_cells, energy_range)
        check_positive(transforms, option="transforms")
        hidden = list(hidden)
        check_widths(hidden, option="hidden")
        self.flow = zuko.flows.RealNVP(
            self.cells, context=1, transforms=transforms, hidden_features=hidden
        )

    def log_prob(self, u: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        """ln p(x | c) (B,) of showers u (B, D), x dequantised (in validation too: the
        density is that of the dequantised cells, so train and val losses compare)."""
        x = flow_cells(u, dequantize=True)
        return self.flow(self.condition(energy)).log_prob(x)

    def fractions(self, energy: torch.Tensor) -> torch.Tensor:
        return cells_from_flow(self.flow(self.condition(energy)).sample())
