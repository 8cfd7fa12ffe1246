from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import torch
from tests.data.test_data_representations_tables import random_table
from torch import nn

from hepdl.config import load_config
from hepdl.data import create_representation
from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.models.deepsets import EnergyFlowNetwork, ParticleFlowNetwork

CONFIG = Path(__file__).parents[2] / "configs" / "top_tagging_pfn.yaml"
SMALL = dict(phi_sizes=[8, 6], f_sizes=[7])
F = 3  # features: (ln z, a, b); EFN reads ln z from column 0


def jets(n: int, width: int, *, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random jets with 2..width valid particles first; padding holds garbage (not 0) so a
    model that forgets the mask gives a different answer."""
    g = torch.Generator().manual_seed(seed)
    points = torch.randn(n, width, 2, generator=g)
    features = torch.randn(n, width, F, generator=g)
    counts = torch.randint(2, width + 1, (n,), generator=g)
    mask = torch.arange(width) < counts[:, None]  # (N, P)
    return points, features, mask


def build(name: str, **options) -> nn.Module:
    torch.manual_seed(0)
    extra = {"z_feature": 0} if name == "efn" else {}
    return create_model(name, in_features=F, **SMALL, **extra, **options).eval()


@pytest.mark.parametrize(
    ("name", "cls"), [("pfn", ParticleFlowNetwork), ("efn", EnergyFlowNetwork)]
)
def test_shapes_probabilities_and_finite_gradients(name, cls):
    net = build(name, out_features=3, output="softmax")
    assert isinstance(net, cls)
    points, features, mask = jets(5, 6)
    logits = net(points, features, mask)
    assert logits.shape == (5, 3)
    torch.testing.assert_close(net.probabilities(logits), torch.softmax(logits, dim=1))
    logits.square().sum().backward()
    for key, parameter in net.named_parameters():
        assert parameter.grad is not None, key
        assert torch.isfinite(parameter.grad).all(), key


def test_values_against_a_loop_over_particles():
    """PFN: F(sum_i Phi(x_i)); EFN: F(sum_i z_i Phi(angles_i)), z = exp(ln z) / sum."""
    points, features, mask = jets(4, 5, seed=1)
    pfn, efn = build("pfn"), build("efn")
    for b in range(4):
        valid = [i for i in range(5) if mask[b, i]]
        latent = sum(pfn.phi(features[b, i]) for i in valid)
        expected = pfn.head(pfn.f(latent))
        torch.testing.assert_close(pfn(points, features, mask)[b], expected)
        total = sum(float(torch.exp(features[b, i, 0])) for i in valid)
        latent = sum(
            float(torch.exp(features[b, i, 0])) / total * efn.phi(points[b, i]) for i in valid
        )
        expected = efn.head(efn.f(latent))
        torch.testing.assert_close(efn(points, features, mask)[b], expected)


@pytest.mark.parametrize("name", ["pfn", "efn"])
def test_permutation_and_padding_invariance(name):
    net = build(name)
    points, features, mask = jets(6, 16, seed=2)
    out = net(points, features, mask)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(3))
    permuted = net(points[:, order], features[:, order], mask[:, order])
    torch.testing.assert_close(permuted, out, atol=1e-5, rtol=1e-5)
    wide = [torch.cat([t, 7.0 + torch.randn_like(t)], dim=1) for t in (points, features)]
    padded = net(*wide, torch.cat([mask, torch.zeros_like(mask)], dim=1))  # P = 32
    torch.testing.assert_close(padded, out, atol=1e-5, rtol=1e-5)


def test_efn_is_infrared_and_collinear_safe_and_pfn_is_not():
    """A particle with z -> 0 changes nothing; splitting one into two collinear halves
    (same angles, z/2 each) changes nothing."""
    points, features, mask = jets(3, 4, seed=4)
    mask[:] = True
    features[..., 0] = torch.rand(3, 4) + 0.1  # z itself
    efn = build("efn", z_transform="identity", normalize_z=False)
    out = efn(points, features, mask)
    soft = features[:, :1].clone()
    soft[..., 0] = 1e-9
    with_soft = [torch.cat([points, torch.randn(3, 1, 2)], 1), torch.cat([features, soft], 1)]
    torch.testing.assert_close(efn(*with_soft, torch.ones(3, 5, dtype=torch.bool)), out)
    halves = features[:, :1].clone()
    halves[..., 0] /= 2
    split_features = torch.cat([halves, halves, features[:, 1:]], 1)
    split_points = torch.cat([points[:, :1], points], 1)
    split_mask = torch.ones(3, 5, dtype=torch.bool)
    torch.testing.assert_close(efn(split_points, split_features, split_mask), out)
    pfn = build("pfn")
    assert not torch.allclose(
        pfn(split_points, split_features, split_mask), pfn(points, features, mask)
    )


def test_efn_defaults_read_z_from_the_point_cloud_representation():
    """z_feature=4, z_transform=exp on the default features gives z_i = pT_i / sum_j pT_j."""
    table = random_table(np.random.default_rng(1), n_jets=3, min_particles=1, max_particles=6)
    arrays = create_representation("point_cloud", max_particles=8)(table, source="toy")
    tensors = {key: torch.from_numpy(value) for key, value in arrays.items()}
    efn = create_model("efn", in_features=13, **SMALL)
    z = efn.energy_weights(tensors["features"], tensors["mask"])  # (3, 8)
    px, py = (ak.to_list(table[c]) for c in ("part_px", "part_py"))
    for row in range(3):
        pt = sorted((np.hypot(x, y) for x, y in zip(px[row], py[row], strict=True)), reverse=True)
        expected = [p / sum(pt) for p in pt] + [0.0] * (8 - len(pt))
        torch.testing.assert_close(z[row], torch.tensor(expected, dtype=torch.float32))
    assert efn(**tensors).shape == (3, 1)


@pytest.mark.parametrize("name", ["pfn", "efn"])
def test_adam_steps_lower_the_loss(name):
    """Signal jets are wider in angle and carry a shifted feature: separable for both."""
    points, features, mask = jets(64, 8, seed=5)
    label = (torch.arange(64) % 2).float()
    points = points * (0.5 + label[:, None, None])
    features[..., 1] += 2 * label[:, None]
    net = build(name).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    first = loss_fn(net(points, features, mask)[:, 0], label).item()
    for _ in range(40):
        opt.zero_grad()
        loss = loss_fn(net(points, features, mask)[:, 0], label)
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first


def test_bad_inputs_name_the_array_and_expected_shape():
    net = build("pfn")
    points, features, mask = jets(2, 4)
    with pytest.raises(
        DataError, match=r"^pfn: features must have shape \(batch, particles, 3\), got \(2, 4, 2\)$"
    ):
        net(points, features[..., :2], mask)
    with pytest.raises(
        DataError,
        match=r"^pfn: mask must have shape \(batch, particles\) = \(2, 4\), got \(2, 3\)$",
    ):
        net(points, features, mask[:, :3])
    with pytest.raises(DataError, match=r"^efn: points must have shape"):
        build("efn")(points[..., :1], features, mask)


def test_bad_options_name_the_key():
    with pytest.raises(
        ConfigError, match=r"^model.z_feature: expected a feature column in \[0, 3\), got 3$"
    ):
        create_model("efn", in_features=3, z_feature=3)
    with pytest.raises(
        ConfigError, match=r"^model.z_transform: expected one of identity, exp, got 'log'$"
    ):
        create_model("efn", in_features=3, z_feature=0, z_transform="log")
    with pytest.raises(ConfigError, match=r"^model.output: softmax needs out_features >= 2"):
        create_model("pfn", in_features=3, output="softmax")
    with pytest.raises(
        ConfigError, match=r"^model.phi_sizes: every width must be positive, got \[4, 0\]$"
    ):
        create_model("pfn", in_features=3, phi_sizes=[4, 0])


def test_config_options_are_valid_and_defaults_match_the_paper():
    config = load_config(CONFIG)
    assert config.model.name == "pfn"
    net = create_model("pfn", in_features=13, **config.model.options())
    widths = [m.out_features for m in net.modules() if isinstance(m, nn.Linear)]
    assert widths == [100, 100, 256, 100, 100, 100, 1]
