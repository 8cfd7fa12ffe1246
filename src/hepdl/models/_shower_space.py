r"""What the generative shower models share: the space they learn cells in, the incident
energy as a condition, and the interface the tasks and ``hepdl sample`` use.

**Cells.** A model learns the cell energies relative to the incident energy,
u = E_cell / E_inc (N, D), D = sum of the layers' cells. These span six orders of
magnitude (1 GeV showers' halo cells at 10^-6, a 100 GeV core at 0.5) and most are exactly
zero, so the networks see a logarithm (CaloGAN, CaloFlow and the CaloChallenge models all
do):

    GAN, VAE:  x = ln(1 + u / delta) / ln(1 + 1 / delta)        x in [0, ~1], 0 <=> u = 0
    flow:      x = ln(u + delta * U) / L + 1,  U ~ Uniform(0, 1) (training), L = -ln delta

with delta = 1e-5 (U in (0, 1]). The first is zero exactly where the cell is empty, so a ReLU output
produces the empty cells a real shower has. A flow needs a density, so its zero cells are
dequantised: uniform noise below delta, which maps them to x < 0; at sampling every x < 0
is an empty cell and the rest is u = delta * exp(L x).

**Condition.** c = 2 (ln E - ln E_lo) / (ln E_hi - ln E_lo) - 1, in [-1, 1] over the
training range [E_lo, E_hi] (``energy_range``, set from the training rows).

**Interface** (``ShowerGenerator``, what the generative tasks call): ``forward(
incident_energy (B, 1) GeV)`` draws one shower per row, cells (B, D) in GeV, so a trained
model "predicts" showers for the test rows' energies like any other model;
``sample_targets(energy)`` draws the same in the space the task learns (u);
``summary(u)`` the few numbers per shower the task's validation monitor compares (total
energy fraction and each layer's share); ``generative`` marks the family for the
commands.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import ClassVar

import torch
from torch import nn

from hepdl.errors import ConfigError, DataError

DELTA = 1e-5
_LOG_SCALE = math.log1p(1.0 / DELTA)  # x = 1 <=> u = 1
_FLOW_SCALE = -math.log(DELTA)


def log_cells(u: torch.Tensor) -> torch.Tensor:
    """Cell fractions u >= 0 -> x = ln(1 + u / delta) / ln(1 + 1 / delta) >= 0."""
    return torch.log1p(u.clamp_min(0) / DELTA) / _LOG_SCALE


def cells_from_log(x: torch.Tensor) -> torch.Tensor:
    """The inverse of ``log_cells``: x >= 0 -> u = delta (exp(x ln(1 + 1/delta)) - 1)."""
    return DELTA * torch.expm1(x.clamp(0, 2) * _LOG_SCALE)  # x <= 2: u <= 1e5, never inf


def flow_cells(u: torch.Tensor, *, dequantize: bool) -> torch.Tensor:
    """Cell fractions -> the flow's x = ln(u + delta U) / L + 1 (U ~ Uniform(0, 1) when
    ``dequantize``, else U = 1/2: the middle of an empty cell's interval)."""
    # 1 - rand: U in (0, 1], never 0 (an empty cell at exactly 0 would be ln 0 = -inf).
    noise = 1 - torch.rand_like(u) if dequantize else torch.full_like(u, 0.5)
    return torch.log(u.clamp_min(0) + DELTA * noise) / _FLOW_SCALE + 1.0


def cells_from_flow(x: torch.Tensor) -> torch.Tensor:
    """The flow's x -> u: x < 0 (below delta) an empty cell, else delta exp(L x)."""
    u = DELTA * torch.exp(x.clamp(max=1.5) * _FLOW_SCALE)  # x <= 1.5: u <= 316
    return torch.where(x < 0, torch.zeros_like(u), u)


class EnergyCondition(nn.Module):
    """Incident energy E (B, 1) GeV -> c = 2 (ln E - ln lo) / (ln hi - ln lo) - 1 (B, 1)."""

    def __init__(self, energy_range: Sequence[float]) -> None:
        super().__init__()
        lo, hi = _energy_range(energy_range)
        # Buffers: saved with the weights, so a loaded model conditions as it was trained.
        self.register_buffer("log_lo", torch.tensor(math.log(lo)))
        self.register_buffer("log_hi", torch.tensor(math.log(max(hi, lo * (1 + 1e-6)))))

    def forward(self, energy: torch.Tensor) -> torch.Tensor:
        log_e = torch.log(energy.clamp_min(1e-12))
        return 2 * (log_e - self.log_lo) / (self.log_hi - self.log_lo) - 1


def _energy_range(value: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"model.energy_range: expected [lowest, highest] incident energy in GeV, got {value!r}"
        ) from None
    if not (0 < lo <= hi and math.isfinite(hi)):
        raise ConfigError(f"model.energy_range: expected 0 < lowest <= highest, got {[lo, hi]}")
    return lo, hi


def check_layer_cells(layer_cells: Sequence[int]) -> list[int]:
    """The cells per layer, each a positive int (the head sizes of the generator)."""
    cells = list(layer_cells)
    if not cells or not all(isinstance(n, int) and n > 0 for n in cells):
        raise ConfigError(
            f"model.layer_cells: expected the number of cells of each layer (positive "
            f"integers, e.g. [288, 144, 72] for CaloGAN), got {layer_cells!r}"
        )
    return cells


def mlp(sizes: Sequence[int], *, slope: float = 0.2, final: bool = False) -> nn.Sequential:
    """Linear layers of ``sizes`` with LeakyReLU between (and after the last if ``final``)."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if final or i < len(sizes) - 2:
            layers.append(nn.LeakyReLU(slope))
    return nn.Sequential(*layers)


class ShowerGenerator(nn.Module):
    """A generative model of showers: incident energies in, cell energies out.

    Subclasses set ``self.cells`` (D), ``self.layer_cells`` and ``self.condition`` and
    define ``fractions(energy (B, 1)) -> u (B, D)``, one random shower per row."""

    consumes = ("incident_energy",)
    generative: ClassVar[bool] = True

    def _setup(self, layer_cells: Sequence[int], energy_range: Sequence[float]) -> None:
        self.layer_cells = check_layer_cells(layer_cells)
        self.cells = sum(self.layer_cells)
        self.energy_range = list(_energy_range(energy_range))
        self.condition = EnergyCondition(energy_range)

    def fractions(self, energy: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must define fractions")

    def sample_targets(self, incident_energy: torch.Tensor) -> torch.Tensor:
        """One random shower per row as the task's targets: u (B, D)."""
        return self.fractions(check_energy(incident_energy))

    def summary(self, u: torch.Tensor) -> torch.Tensor:
        """(B, 1 + L): the total energy fraction and each layer's share of the total."""
        layers = self.layer_sums(u)  # (B, L)
        total = layers.sum(1, keepdim=True)  # (B, 1)
        return torch.cat([total, layers / total.clamp_min(1e-12)], dim=1)

    def forward(self, incident_energy: torch.Tensor) -> torch.Tensor:
        """One random shower per row: incident energy (B, 1) GeV -> cells (B, D) GeV."""
        energy = check_energy(incident_energy)
        return self.fractions(energy) * energy

    def probabilities(self, cells: torch.Tensor) -> torch.Tensor:
        """The outputs are the showers themselves (no activation)."""
        return cells

    def layer_sums(self, u: torch.Tensor) -> torch.Tensor:
        """Per-layer sums (B, L) of cells (B, D)."""
        return torch.stack([part.sum(1) for part in u.split(self.layer_cells, dim=1)], dim=1)


def check_energy(energy: torch.Tensor) -> torch.Tensor:
    """Incident energies as (B, 1), refused unless that shape."""
    if energy.ndim == 1:
        energy = energy[:, None]
    if energy.ndim != 2 or energy.shape[1] != 1:
        raise DataError(
            f"a shower generator takes the incident energy as (batch, 1), got {tuple(energy.shape)}"
        )
    return energy
