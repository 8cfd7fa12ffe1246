"""The generative shower models (calo_gan, shower_vae, shower_flow) and the cell space they
share: transforms against their formulas, shapes, exact empties, conditions, and errors."""

from __future__ import annotations

import math

import pytest
import torch

from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.models._shower_space import (
    DELTA,
    EnergyCondition,
    cells_from_flow,
    cells_from_log,
    flow_cells,
    log_cells,
)

LAYERS = [6, 4, 2]  # a tiny three-layer calorimeter: D = 12
SMALL = {
    "calo_gan": {"latent": 4, "hidden": [8], "critic_hidden": [8]},
    "shower_vae": {"latent": 3, "hidden": [8]},
    "shower_flow": {"transforms": 2, "hidden": [8]},
}


def build(name: str, **options):
    torch.manual_seed(0)
    return create_model(name, layer_cells=LAYERS, energy_range=[1.0, 100.0],
                        **{**SMALL[name], **options})  # fmt: skip


def test_log_cells_follow_their_formula_and_invert() -> None:
    u = torch.tensor([0.0, 1e-6, 1e-3, 0.5, 1.0], dtype=torch.float64)
    x = log_cells(u)
    expected = [math.log1p(v / DELTA) / math.log1p(1 / DELTA) for v in u.tolist()]
    assert x.tolist() == pytest.approx(expected, rel=1e-12)
    assert x[0] == 0 and x[-1] == pytest.approx(1.0)
    torch.testing.assert_close(cells_from_log(x), u, rtol=1e-9, atol=1e-15)
    assert cells_from_log(torch.tensor([-0.3]))[0] == 0  # below 0: an empty cell


def test_flow_cells_send_empty_cells_below_zero_and_come_back() -> None:
    torch.manual_seed(0)
    u = torch.tensor([[0.0, 0.0, 2e-4, 0.3]], dtype=torch.float64).repeat(1000, 1)
    x = flow_cells(u, dequantize=True)  # (1000, 4)
    assert torch.isfinite(x).all()
    assert (x[:, :2] <= 0).all() and (x[:, 2:] > 0).all()
    back = cells_from_flow(x)
    assert (back[:, :2] == 0).all()
    # a filled cell comes back within the dequantisation noise (< delta)
    assert (back[:, 2:] - u[:, 2:]).abs().max() <= DELTA
    expected = math.log(0.3 + DELTA * 0.5) / -math.log(DELTA) + 1
    assert flow_cells(u[:1], dequantize=False)[0, 3].item() == pytest.approx(expected)


def test_energy_condition_maps_the_range_to_minus_one_one() -> None:
    condition = EnergyCondition([2.0, 50.0])
    c = condition(torch.tensor([[2.0], [10.0], [50.0]], dtype=torch.float64))
    middle = 2 * (math.log(10) - math.log(2)) / (math.log(50) - math.log(2)) - 1
    assert middle == pytest.approx(0.0, abs=1e-12)  # 10 GeV: the geometric middle
    assert c[:, 0].tolist() == pytest.approx([-1.0, middle, 1.0], abs=1e-6)


@pytest.mark.parametrize("name", list(SMALL))
def test_every_generator_draws_non_negative_showers_of_the_layout(name: str) -> None:
    net = build(name)
    assert net.generative and net.cells == 12 and net.consumes == ("incident_energy",)
    energy = torch.tensor([[1.0], [20.0], [100.0]])
    torch.manual_seed(3)
    cells = net(energy)  # (3, 12) GeV
    assert cells.shape == (3, 12) and (cells >= 0).all() and torch.isfinite(cells).all()
    torch.manual_seed(3)
    torch.testing.assert_close(net.fractions(energy) * energy, cells)  # E_cell = u E_inc
    sums = net.layer_sums(cells)
    torch.testing.assert_close(sums[:, 0], cells[:, :6].sum(1))
    torch.testing.assert_close(sums[:, 2], cells[:, 10:].sum(1))
    assert net.probabilities(cells) is cells
    with pytest.raises(DataError, match=r"incident energy as \(batch, 1\), got \(3, 2\)"):
        net(torch.ones(3, 2))


def test_gan_has_one_head_per_layer_and_a_critic_that_sees_the_energies() -> None:
    net = build("calo_gan")
    assert [head.out_features for head in net.heads] == LAYERS
    u = torch.rand(5, 12) * 0.01
    energy = torch.full((5, 1), 10.0)
    seen = net.critic_input(u, energy)
    assert seen.shape == (5, 12 + 3 + 2)
    torch.testing.assert_close(seen[:, :12], log_cells(u))
    torch.testing.assert_close(seen[:, 15], u.sum(1))  # E_total / E_inc
    assert net.critic_score(seen).shape == (5,)
    generator = {id(p) for p in net.generator_parameters()}
    assert generator.isdisjoint(id(p) for p in net.critic_parameters())
    assert len(generator) + len(net.critic_parameters()) == len(list(net.parameters()))


def test_vae_encodes_to_the_latent_and_decodes_to_cells() -> None:
    net = build("shower_vae")
    mu, log_var = net.encode(torch.rand(4, 12) * 0.1, torch.full((4, 1), 5.0))
    assert mu.shape == log_var.shape == (4, 3)
    x_hat = net.decode(torch.zeros(4, 3), torch.full((4, 1), 5.0))
    assert x_hat.shape == (4, 12) and (x_hat >= 0).all()


def test_flow_log_prob_is_the_change_of_variables_density() -> None:
    """ln p(x) = ln N(f(x)) + ln |det df/dx|, checked with the Jacobian by autograd."""
    net = build("shower_flow").double()
    torch.manual_seed(1)
    u = torch.rand(1, 12, dtype=torch.float64) * 0.1
    energy = torch.full((1, 1), 30.0, dtype=torch.float64)
    torch.manual_seed(2)
    log_p = net.log_prob(u, energy)
    torch.manual_seed(2)
    x = flow_cells(u, dequantize=True)[0]
    transform = net.flow(net.condition(energy)).transform
    z = transform(x[None])[0]
    jacobian = torch.autograd.functional.jacobian(lambda v: transform(v[None])[0], x)
    normal = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum()
    expected = normal + torch.linalg.slogdet(jacobian).logabsdet
    assert log_p.item() == pytest.approx(expected.item(), rel=1e-8)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"layer_cells": []}, "model.layer_cells: expected the number of cells of each layer"),
        ({"layer_cells": [4, 0]}, "model.layer_cells: expected the number of cells"),
        ({"energy_range": [10.0, 1.0]}, r"model.energy_range: expected 0 < lowest <= highest"),
        ({"energy_range": [5.0]}, r"model.energy_range: expected \[lowest, highest\]"),
        ({"latent": 0}, "model.latent: expected a positive integer, got 0"),
    ],
)
def test_bad_options_are_refused(options, message) -> None:
    base = {"layer_cells": LAYERS, "energy_range": [1.0, 100.0], **SMALL["calo_gan"]}
    with pytest.raises(ConfigError, match=message):
        create_model("calo_gan", **{**base, **options})
