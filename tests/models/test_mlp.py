from __future__ import annotations

import pytest
import torch
from torch import nn

from hepdl.errors import ConfigError
from hepdl.models import create_model, list_models
from hepdl.models.mlp import ACTIVATIONS, MLP, Maxout


def test_registered_and_shapes():
    assert "mlp" in list_models()
    net = create_model("mlp", in_features=7, hidden=[16, 8], out_features=3, output="softmax")
    assert isinstance(net, MLP)
    logits = net(torch.randn(5, 7))
    assert logits.shape == (5, 3)
    prob = net.probabilities(logits)
    torch.testing.assert_close(prob.sum(dim=1), torch.ones(5))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_every_activation_trains(name):
    """Forward, backward and a few Adam steps lower the loss on a separable toy."""
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = (x[:, 0] + x[:, 1] > 0).float()
    net = create_model("mlp", in_features=4, hidden=[16, 16], activation=name)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    first = loss_fn(net(x)[:, 0], y).item()
    for _ in range(30):
        opt.zero_grad()
        loss = loss_fn(net(x)[:, 0], y)
        loss.backward()
        opt.step()
    assert loss.item() < 0.8 * first


def test_activation_per_layer_and_layer_order():
    net = create_model(
        "mlp",
        in_features=3,
        hidden=[4, 5],
        activation=["tanh", "leaky_relu"],
        batch_norm=True,
        dropout=0.2,
        leaky_relu_slope=0.1,
    )
    kinds = [type(m).__name__ for m in net.layers]
    assert kinds == [
        "Linear",
        "BatchNorm1d",
        "Tanh",
        "Dropout",
        "Linear",
        "BatchNorm1d",
        "LeakyReLU",
        "Dropout",
        "Linear",
    ]
    assert net.layers[6].negative_slope == 0.1


def test_maxout_is_max_of_affine_pieces():
    torch.manual_seed(1)
    unit = Maxout(3, 2, pieces=4)
    x = torch.randn(6, 3)
    z = x @ unit.linear.weight.T + unit.linear.bias  # (6, 8), pieces innermost
    naive = torch.stack([z[:, j * 4 : (j + 1) * 4].max(dim=1).values for j in range(2)], dim=1)
    torch.testing.assert_close(unit(x), naive)


def test_initialisations():
    torch.manual_seed(2)
    wide = dict(in_features=1000, hidden=[1000], activation="tanh")
    he = create_model("mlp", init="he", **wide).layers[0].weight
    xavier = create_model("mlp", init="xavier", **wide).layers[0].weight
    normal = create_model("mlp", init="normal", init_sigma_w=2.0, init_sigma_b=0.5, **wide)
    assert he.std().item() == pytest.approx((2 / 1000) ** 0.5, rel=0.02)
    assert xavier.std().item() == pytest.approx((2 / 2000) ** 0.5, rel=0.02)
    assert normal.layers[0].weight.std().item() == pytest.approx(2.0 / 1000**0.5, rel=0.02)
    assert normal.layers[0].bias.std().item() == pytest.approx(0.5, rel=0.1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"activation": "swish"}, "unknown activation 'swish'"),
        ({"activation": ["relu"]}, "got 1 activations for 2 hidden layers"),
        ({"output": "softmax"}, "softmax needs out_features >= 2"),
        ({"dropout": 1.5}, "model.dropout"),
        ({"init": "orthogonal"}, "model.init"),
        ({"hiden": [3]}, "did you mean 'hidden'?"),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_model("mlp", in_features=3, **{"hidden": [4, 4], **options})


def test_wrong_input_width_names_both_sides():
    net = create_model("mlp", in_features=3)
    with pytest.raises(ValueError, match=r"shape \(batch, 3\), got \(2, 5\)"):
        net(torch.randn(2, 5))
