"""The U-Net: per-pixel logits of the input's size whatever H and W, padding placed so the
centre stays central, the backbone/head split of a per-pixel model, and its option errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hepdl.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def unet():
    # Imported here, not at module level: registering "unet" while collecting would add
    # it to every test that lists the registered models (the lead adds it to the list).
    from hepdl.models.unet import UNet

    return UNet


@pytest.mark.parametrize(
    ("height", "width", "depth"), [(35, 35, 3), (7, 7, 1), (8, 16, 3), (5, 9, 2)]
)
def test_output_has_the_input_size(unet, height, width, depth):
    torch.manual_seed(0)
    net = unet(in_channels=2, out_channels=3, depth=depth, width=4, output="softmax")
    image = torch.randn(2, 2, height, width)
    logits = net(image)
    assert logits.shape == (2, 3, height, width)
    assert net.forward_features(image).shape == (2, net.num_features, height, width)
    torch.testing.assert_close(net.probabilities(logits).sum(1), torch.ones(2, height, width))


def test_a_padded_input_is_the_same_network_on_the_padded_image(unet):
    """35 -> 40 (depth 3): 2 zero rows/columns before, 3 after, then cropped back."""
    torch.manual_seed(1)
    net = unet(depth=3, width=4).eval()
    image = torch.rand(3, 1, 35, 35)
    padded = F.pad(image, (2, 3, 2, 3))
    with torch.no_grad():
        torch.testing.assert_close(net(image), net(padded)[..., 2:37, 2:37])


def test_forward_is_the_head_of_the_features(unet):
    torch.manual_seed(2)
    net = unet(in_channels=1, depth=2, width=6, dropout=0.2)
    image = torch.rand(4, 1, 12, 10)
    for mode in (True, False):
        net.train(mode)
        torch.manual_seed(3)
        whole = net(image)
        torch.manual_seed(3)
        parts = net.forward_head(net.forward_features(image))
        assert torch.equal(whole, parts)


def test_reset_head_keeps_the_backbone(unet):
    torch.manual_seed(4)
    net = unet(depth=2, width=4).eval()
    image = torch.rand(2, 1, 9, 9)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    features = net.forward_features(image)
    net.reset_head(3)
    after = net.state_dict()
    assert list(after) == list(before)
    changed = sorted(k for k in before if before[k].shape != after[k].shape)
    assert changed == ["head.bias", "head.weight"]
    assert (net.out_channels, net.out_features, net.output) == (3, 3, "linear")
    logits = net(image)
    assert logits.shape == (2, 3, 9, 9)
    assert torch.equal(net.probabilities(logits), logits)
    assert torch.equal(net.forward_features(image), features)


def test_the_skip_connections_carry_the_fine_detail(unet):
    """A U-Net learns to mark the pixels above a threshold of a noisy image, pixel by
    pixel, which pooling alone could not (a single pixel is below the pooled resolution)."""
    torch.manual_seed(5)
    net = unet(depth=2, width=8)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    image = torch.rand(32, 1, 12, 12)
    target = (image > 0.7).float()
    for _ in range(150):
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(net(image), target)
        loss.backward()
        optimizer.step()
    net.eval()
    accuracy = ((net(image) > 0) == target.bool()).float().mean()
    assert accuracy > 0.97


def test_it_is_registered_with_its_inputs(unet):
    from hepdl.models import create_model

    net = create_model("unet", in_channels=2, depth=1, width=2)
    assert isinstance(net, unet) and unet.consumes == ("image",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"depth": 0}, "model.depth: expected 1 to 8 poolings, got 0"),
        ({"width": 0}, "model.width: expected a positive integer, got 0"),
        ({"out_channels": 0}, "model.out_channels: expected a positive integer, got 0"),
        ({"output": "softmax"}, "model.output: softmax needs out_channels >= 2 (one per class)"),
        ({"output": "tanh"}, "model.output: expected one of sigmoid, softmax, linear, got 'tanh'"),
        ({"dropout": 1.0}, "model.dropout: expected a probability in [0, 1), got 1.0"),
    ],
)
def test_bad_options(unet, options, message):
    with pytest.raises(ConfigError) as err:
        unet(**options)
    assert str(err.value) == message


def test_an_image_of_other_channels_is_named(unet):
    with pytest.raises(DataError) as err:
        unet(in_channels=2, depth=1, width=2)(torch.zeros(1, 1, 8, 8))
    assert str(err.value) == (
        "UNet: expected image of shape (batch, 2, height, width), got (1, 1, 8, 8)"
    )
