from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from hepdl.config import load_config
from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.models._edgeconv import EdgeConvBlock, knn
from hepdl.models.particlenet import ParticleNet, _fusion_width

CONFIG = Path(__file__).parents[2] / "configs" / "top_tagging_particlenet.yaml"
SMALL = dict(k=3, edge_convs=[[8, 8], [12]], fc_sizes=[8], fusion_channels=6)
F = 4


def jets(n: int, width: int, *, seed: int = 0, fewest: int = 2) -> tuple[torch.Tensor, ...]:
    """Random jets with fewest..width valid particles first; padding holds garbage."""
    g = torch.Generator().manual_seed(seed)
    points = torch.randn(n, width, 2, generator=g)
    features = torch.randn(n, width, F, generator=g)
    counts = torch.randint(fewest, width + 1, (n,), generator=g)
    mask = torch.arange(width) < counts[:, None]  # (N, P)
    return points, features, mask


def build(**options) -> ParticleNet:
    torch.manual_seed(0)
    net = create_model("particlenet", in_features=F, **{**SMALL, **options})
    # non-trivial BatchNorm running statistics, so eval mode is not the identity
    with torch.no_grad():
        net.train()(*jets(32, 10, seed=9))
    return net.eval()


def test_shapes_probabilities_and_finite_gradients():
    net = build(out_features=3, output="softmax")
    assert isinstance(net, ParticleNet)
    logits = net.train()(*jets(5, 10))
    assert logits.shape == (5, 3)
    torch.testing.assert_close(net.probabilities(logits), torch.softmax(logits, dim=1))
    logits.square().sum().backward()
    for key, parameter in net.named_parameters():
        assert parameter.grad is not None, key
        assert torch.isfinite(parameter.grad).all(), key


def test_knn_against_sorting_each_particle():
    points, _, mask = jets(3, 9, seed=1)
    indices, valid = knn(points.transpose(1, 2), mask, 4)
    for b in range(3):
        for i in range(9):
            others = [j for j in range(9) if mask[b, j] and j != i]
            others.sort(key=lambda j: float((points[b, i] - points[b, j]).square().sum()))
            expected = others[:4]
            got = indices[b, i][valid[b, i]].tolist()
            assert got == expected, (b, i)


def test_edgeconv_against_a_loop_over_neighbours():
    """x_i' = ReLU(shortcut(x_i) + mean_j h(x_i, x_j - x_i)) over the valid neighbours."""
    torch.manual_seed(0)
    block = EdgeConvBlock(k=3, in_channels=F, widths=[5, 6]).eval()
    points, features, mask = jets(2, 6, seed=2)
    x = features.transpose(1, 2)  # (B, F, P)
    out = block(points.transpose(1, 2), x, mask)  # (B, 6, P)
    indices, valid = knn(points.transpose(1, 2), mask, 3)
    for b in range(2):
        for i in range(int(mask[b].sum())):
            neighbours = indices[b, i][valid[b, i]].tolist()
            edges = [torch.cat([x[b, :, i], x[b, :, j] - x[b, :, i]]) for j in neighbours]
            h = [block.edge_net(e.view(1, -1, 1, 1)).view(-1) for e in edges]
            shortcut = block.shortcut(x[b : b + 1, :, i : i + 1]).view(-1)
            expected = torch.relu(shortcut + sum(h) / len(h))
            torch.testing.assert_close(out[b, :, i], expected)


def test_permutation_and_padding_invariance():
    """Includes jets with fewer than k + 1 particles, whose kNN must not reach padding."""
    net = build()
    points, features, mask = jets(6, 16, seed=3)
    out = net(points, features, mask)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(
        net(points[:, order], features[:, order], mask[:, order]), out, atol=1e-5, rtol=1e-5
    )
    wide = [torch.cat([t, 5.0 + torch.randn_like(t)], dim=1) for t in (points, features)]
    padded = net(*wide, torch.cat([mask, torch.zeros_like(mask)], dim=1))  # P = 32
    torch.testing.assert_close(padded, out, atol=1e-5, rtol=1e-5)
    small = jets(4, 16, seed=5, fewest=2)
    small[2][:, 3:] = False  # 3 particles, k = 3: every particle has only 2 neighbours
    out = net(*small)
    wide = [torch.cat([t, torch.full_like(t, 1e3)], dim=1) for t in small[:2]]
    padded = net(*wide, torch.cat([small[2], torch.zeros_like(small[2])], dim=1))
    torch.testing.assert_close(padded, out, atol=1e-5, rtol=1e-5)


def test_adam_steps_lower_the_loss():
    """Signal jets are wider in angle and carry a shifted feature."""
    points, features, mask = jets(64, 8, seed=6)
    label = (torch.arange(64) % 2).float()
    points = points * (0.5 + label[:, None, None])
    features[..., 1] += 2 * label[:, None]
    net = build().train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    first = loss_fn(net(points, features, mask)[:, 0], label).item()
    for _ in range(25):
        opt.zero_grad()
        loss = loss_fn(net(points, features, mask)[:, 0], label)
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first


def test_fusion_width_follows_the_reference_rule():
    assert [_fusion_width(c) for c in (20, 448, 700, 5000)] == [128, 384, 640, 1024]
    net = create_model("particlenet", in_features=F, k=3, edge_convs=[[8], [12]])
    assert net.fusion is not None and net.fusion[0].out_channels == 128
    assert create_model("particlenet", in_features=F, fusion=False, k=3).fusion is None


def test_bad_inputs_and_options_name_the_problem():
    net = build()
    points, features, mask = jets(2, 5)
    with pytest.raises(
        DataError,
        match=r"^particlenet: points must have shape \(batch, particles, 2\) = \(2, 5, 2\), "
        r"got \(2, 5, 3\)$",
    ):
        net(torch.zeros(2, 5, 3), features, mask)
    with pytest.raises(
        DataError, match=r"^particlenet: features must have shape \(batch, particles, 4\)"
    ):
        net(points, features[..., :3], mask)
    with pytest.raises(ConfigError, match=r"^model.k: expected a positive integer, got 0$"):
        create_model("particlenet", in_features=F, k=0)
    with pytest.raises(
        ConfigError, match=r"^model.edge_convs: every width must be positive, got \[8, -1\]$"
    ):
        create_model("particlenet", in_features=F, edge_convs=[[8, -1]])
    with pytest.raises(
        ConfigError, match=r"^model.fc_dropout: expected a probability in \[0, 1\), got 1.0$"
    ):
        create_model("particlenet", in_features=F, fc_dropout=1.0)


def test_config_options_are_valid_and_defaults_match_the_paper():
    config = load_config(CONFIG)
    assert config.model.name == "particlenet"
    net = create_model("particlenet", in_features=13, **config.model.options())
    blocks = [
        [m.out_channels for m in b.edge_net if isinstance(m, nn.Conv2d)] for b in net.edge_convs
    ]
    assert blocks == [[64, 64, 64], [128, 128, 128], [256, 256, 256]]
    assert [b.k for b in net.edge_convs] == [16, 16, 16]
    assert net.fusion is not None and net.fusion[0].out_channels == 384
    assert [m.out_features for m in net.head if isinstance(m, nn.Linear)] == [256, 1]
    assert [m.p for m in net.head if isinstance(m, nn.Dropout)] == [0.1]


def test_padded_centres_feed_exact_zeros_to_the_edge_network():
    """A padded particle's edge input (x_i, x_j - x_i) is zero, whatever its slot holds."""
    torch.manual_seed(0)
    block = EdgeConvBlock(k=3, in_channels=F, widths=[5]).train()
    points, features, mask = jets(4, 10, seed=7, fewest=5)  # padding holds garbage
    seen = []
    block.edge_net[0].register_forward_hook(lambda _m, args, _out: seen.append(args[0]))
    block(points.transpose(1, 2), features.transpose(1, 2), mask)
    edge_input = seen[0]  # (B, 2F, P, k)
    assert edge_input.shape == (4, 2 * F, 10, 3)
    assert (~mask).any() and mask.any()
    assert torch.equal(
        edge_input.permute(0, 2, 1, 3)[~mask], torch.zeros(int((~mask).sum()), 2 * F, 3)
    )
    assert (edge_input.permute(0, 2, 1, 3)[mask].abs().sum(dim=(1, 2)) > 0).all()


def _weaver_twin(net: ParticleNet, *, k: int, edge_convs: list[list[int]]) -> nn.Module:
    """weaver-core's ParticleNet with the parameters and BatchNorm buffers of ``net``."""
    weaver = pytest.importorskip("weaver.nn.model.ParticleNet")
    twin = weaver.ParticleNet(
        input_dims=F,
        num_classes=2,
        conv_params=[(k, tuple(widths)) for widths in edge_convs],
        fc_params=[(8, 0.0)],
        trim=False,
    )
    ours = net.state_dict()
    names = {"bn_fts": "input_norm", "fusion_block": "fusion"}
    for index, widths in enumerate(edge_convs):
        block = f"edge_convs.{index}"
        for layer in range(len(widths)):
            names[f"{block}.convs.{layer}"] = f"{block}.edge_net.{3 * layer}"
            names[f"{block}.bns.{layer}"] = f"{block}.edge_net.{3 * layer + 1}"
        names[f"{block}.sc"] = f"{block}.shortcut.0"
        names[f"{block}.sc_bn"] = f"{block}.shortcut.1"
    names["fc.0.0"], names["fc.1"] = "head.0", "head.2"
    state = {}
    for key in twin.state_dict():
        prefix, _, leaf = key.rpartition(".")
        if prefix.startswith("fusion_block."):
            state[key] = ours["fusion." + key.removeprefix("fusion_block.")]
        else:
            state[key] = ours[f"{names[prefix]}.{leaf}"]
    twin.load_state_dict(state)
    return twin


def test_matches_weaver_particlenet_in_train_and_eval_mode():
    """Same weights, same jets: the same logits, also with BatchNorm's batch statistics.

    Every jet has at least k + 1 real and k + 1 padded slots, where both implementations
    choose the same neighbours (weaver moves padding 1e9 away instead of masking it).
    """
    k, edge_convs = 3, [[8, 8], [12]]
    torch.manual_seed(0)
    net = create_model(
        "particlenet",
        in_features=F,
        k=k,
        edge_convs=edge_convs,
        fc_sizes=[8],
        fc_dropout=0.0,
        out_features=2,
        output="softmax",
    )
    with torch.no_grad():  # non-trivial running statistics and affine parameters
        for parameter in net.parameters():
            parameter.add_(0.1 * torch.randn_like(parameter))
        net.train()(*jets(32, 12, seed=9))
    twin = _weaver_twin(net, k=k, edge_convs=edge_convs)
    points, features, mask = jets(16, 12, seed=8, fewest=k + 1)
    mask[:, 12 - (k + 1) :] = False
    zeroed = features * mask[..., None]  # weaver expects zero-padded features
    for mode in ("train", "eval"):
        ours = getattr(net, mode)()(points, features, mask)
        theirs = getattr(twin, mode)()(
            points.transpose(1, 2), zeroed.transpose(1, 2), mask[:, None, :].float()
        )
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-4, msg=mode)
