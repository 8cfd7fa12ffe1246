from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.data.test_data_representations_tables import random_table
from torch import nn

from hepdl.config import load_config
from hepdl.data import create_representation
from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.models._attention import MultiHeadAttention
from hepdl.models.particle_transformer import ParticleTransformer
from hepdl.models.particlenet import ParticleNet

CONFIG = Path(__file__).parents[2] / "configs" / "top_tagging_part.yaml"
SMALL = dict(embed_dims=[12, 8], pair_embed_dims=[6], num_heads=2, num_layers=2, ffn_ratio=2)
F = 4


def jets(n: int, width: int, *, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random jets with 2..width valid particles first and symmetric pairwise features;
    padding holds garbage so a model that forgets the mask gives a different answer."""
    g = torch.Generator().manual_seed(seed)
    features = torch.randn(n, width, F, generator=g)
    pairwise = torch.randn(n, width, width, 4, generator=g)
    pairwise = pairwise + pairwise.transpose(1, 2)
    counts = torch.randint(2, width + 1, (n,), generator=g)
    mask = torch.arange(width) < counts[:, None]  # (N, P)
    return features, mask, pairwise


def build(**options) -> ParticleTransformer:
    torch.manual_seed(0)
    net = create_model("part", in_features=F, **{**SMALL, **options})
    with torch.no_grad():  # non-trivial BatchNorm running statistics for eval mode
        features, mask, pairwise = jets(16, 10, seed=9)
        net.train()(None, features, mask, pairwise if net.pair_embed is not None else None)
    return net.eval()


@pytest.mark.parametrize("with_pairwise", [True, False])
def test_shapes_probabilities_and_finite_gradients(with_pairwise):
    net = build(out_features=3, output="softmax", pair_input_dim=4 if with_pairwise else 0)
    features, mask, pairwise = jets(5, 10)
    mask[0] = False  # an empty jet must stay finite too
    logits = net.train()(None, features, mask, pairwise if with_pairwise else None)
    assert logits.shape == (5, 3)
    assert torch.isfinite(logits).all()
    torch.testing.assert_close(net.probabilities(logits), torch.softmax(logits, dim=1))
    logits.square().sum().backward()
    for key, parameter in net.named_parameters():
        assert parameter.grad is not None, key
        assert torch.isfinite(parameter.grad).all(), key


def test_attention_against_a_loop():
    """softmax_j(q_i.k_j / sqrt(d) + U_ij) v_j over the valid keys j, per head."""
    torch.manual_seed(0)
    attn = MultiHeadAttention(6, heads=2, dropout=0.0, scale_heads=True)
    with torch.no_grad():
        attn.head_scale.copy_(torch.tensor([0.5, 2.0]))
    x = torch.randn(2, 5, 6)
    bias = torch.randn(2, 2, 5, 5)
    mask = torch.tensor([[True] * 5, [True, True, False, True, False]])
    out = attn(x, x, key_mask=mask, bias=bias)
    q, k, v = attn.query(x), *attn.key_value(x).chunk(2, dim=-1)
    for b in range(2):
        for i in range(5):
            heads = []
            for h in range(2):
                part = slice(3 * h, 3 * h + 3)
                keys = [j for j in range(5) if mask[b, j]]
                scores = torch.stack(
                    [q[b, i, part] @ k[b, j, part] / math.sqrt(3) + bias[b, h, i, j] for j in keys]
                )
                weights = torch.softmax(scores, dim=0)
                value = sum(w * v[b, j, part] for w, j in zip(weights, keys, strict=True))
                heads.append(attn.head_scale[h] * value)
            torch.testing.assert_close(out[b, i], attn.project(torch.cat(heads)))


@pytest.mark.parametrize("with_pairwise", [True, False])
def test_permutation_and_padding_invariance(with_pairwise):
    net = build(pair_input_dim=4 if with_pairwise else 0)
    features, mask, pairwise = jets(6, 16, seed=3)
    pairwise = pairwise if with_pairwise else None
    out = net(None, features, mask, pairwise)
    order = torch.randperm(16, generator=torch.Generator().manual_seed(4))
    permuted_pairs = None if pairwise is None else pairwise[:, order][:, :, order]
    permuted = net(None, features[:, order], mask[:, order], permuted_pairs)
    torch.testing.assert_close(permuted, out, atol=1e-5, rtol=1e-5)
    wide_features = torch.cat([features, 3 + torch.randn_like(features)], dim=1)  # P = 32
    wide_mask = torch.cat([mask, torch.zeros_like(mask)], dim=1)
    wide_pairs = None
    if pairwise is not None:
        wide_pairs = 3 + torch.randn(6, 32, 32, 4)
        wide_pairs[:, :16, :16] = pairwise
    torch.testing.assert_close(
        net(None, wide_features, wide_mask, wide_pairs), out, atol=1e-5, rtol=1e-5
    )


def test_padding_invariance_holds_in_training_mode_too():
    """The embeddings' BatchNorm sees only valid particles and pairs."""
    net = build(dropout=0.0, attn_dropout=0.0, activation_dropout=0.0).train()
    features, mask, pairwise = jets(6, 16, seed=5)
    out = net(None, features, mask, pairwise)
    wide_pairs = torch.randn(6, 32, 32, 4)
    wide_pairs[:, :16, :16] = pairwise
    wide = net(
        None,
        torch.cat([features, torch.randn_like(features)], dim=1),
        torch.cat([mask, torch.zeros_like(mask)], dim=1),
        wide_pairs,
    )
    torch.testing.assert_close(wide, out, atol=1e-5, rtol=1e-5)


def test_point_cloud_representation_end_to_end():
    """The representation's arrays (13 features, pairwise from four-momenta) at P = 8 and
    P = 16 give the same output; ParticleNet takes the same arrays."""
    table = random_table(np.random.default_rng(0), n_jets=4, min_particles=1, max_particles=8)
    outputs = []
    for width in (8, 16):
        arrays = create_representation("point_cloud", max_particles=width, pairwise=True)(
            table, source="toy"
        )
        tensors = {key: torch.from_numpy(value) for key, value in arrays.items()}
        torch.manual_seed(0)
        part = create_model("part", in_features=13, **SMALL).eval()
        torch.manual_seed(0)
        particlenet = ParticleNet(in_features=13, k=4, edge_convs=[[8]]).eval()
        outputs.append(torch.cat([part(**tensors), particlenet(**tensors)], dim=1))
    assert torch.isfinite(outputs[0]).all()
    torch.testing.assert_close(outputs[1], outputs[0], atol=1e-5, rtol=1e-5)


def train(net: nn.Module, inputs: tuple, label: torch.Tensor, steps: int) -> tuple[float, float]:
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    first = loss_fn(net(None, *inputs)[:, 0], label).item()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(net(None, *inputs)[:, 0], label)
        loss.backward()
        opt.step()
    return first, loss.item()


@pytest.mark.parametrize("with_pairwise", [True, False])
def test_adam_steps_lower_the_loss(with_pairwise):
    features, mask, pairwise = jets(64, 8, seed=6)
    label = (torch.arange(64) % 2).float()
    features[..., 1] += 2 * label[:, None]
    net = build(pair_input_dim=4 if with_pairwise else 0, num_layers=1, dropout=0.0).train()
    first, last = train(net, (features, mask, pairwise if with_pairwise else None), label, 20)
    assert last < 0.7 * first


def test_the_interaction_bias_carries_information_the_features_lack():
    """Every jet has a marker particle 0; only the pairwise features say whether the
    particles should attend to it (signal) or away from it: ParT learns that, ParT-plain
    (same features, no bias) can only memorise."""
    features, mask, pairwise = jets(96, 6, seed=7)
    mask[:, :3] = True
    label = (torch.arange(96) % 2).float()
    features[:, 0, 1] = 3.0
    sign = (2 * label - 1)[:, None]  # (N, 1)
    pairwise[:, :, 0, 0] = 4 * sign
    pairwise[:, 0, :, 0] = 4 * sign
    small = dict(dropout=0.0)
    first, with_bias = train(build(**small).train(), (features, mask, pairwise), label, 25)
    _, without = train(build(**small).train(), (features, mask, None), label, 25)
    assert with_bias < 0.4 * first
    assert with_bias < 0.5 * without


def test_bad_inputs_and_options_name_the_problem():
    features, mask, pairwise = jets(2, 5)
    with pytest.raises(
        DataError,
        match=r"^part: pairwise must have shape \(batch, particles, particles, 4\) = "
        r"\(2, 5, 5, 4\), got \(2, 5, 5, 3\)$",
    ):
        build()(None, features, mask, pairwise[..., :3])
    with pytest.raises(ConfigError, match=r"^model.pair_input_dim: this 'part' model was built"):
        build(pair_input_dim=0)(None, features, mask, torch.zeros(2, 5, 5, 0))
    with pytest.raises(
        ConfigError, match=r"^model.num_heads: must divide the model width embed_dims\[-1\] = 8"
    ):
        create_model("part", in_features=F, embed_dims=[8], num_heads=3)
    with pytest.raises(ConfigError, match=r"^model.attn_dropout: expected a probability"):
        create_model("part", in_features=F, attn_dropout=-0.1)


def test_config_options_are_valid_and_defaults_match_the_paper():
    config = load_config(CONFIG)
    assert config.model.name == "part"
    assert config.data.representation.options()["pairwise"] is True
    net = create_model("part", in_features=13, **config.model.options())
    embed = [m.out_features for m in net.embed if isinstance(m, nn.Linear)]
    pair = [m.out_features for m in net.pair_embed if isinstance(m, nn.Linear)]
    assert (embed, pair) == ([128, 512, 128], [64, 64, 64, 8])
    assert (len(net.blocks), len(net.cls_blocks)) == (8, 2)
    assert net.blocks[0].fc1.out_features == 512
    # the paper's 2.14 M parameters (13 input features, one logit)
    assert sum(p.numel() for p in net.parameters()) == 2_141_797
