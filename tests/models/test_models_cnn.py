from __future__ import annotations

import pytest
import torch
from torch import nn

from hepdl.errors import ConfigError, DataError
from hepdl.models import create_model
from hepdl.models.cnn import VGG, BasicBlock, JetCNN, LeNet, ResNet

# Small, non-square images with two channels so H/W and C mix-ups show up as errors.
SMALL = {
    "lenet": dict(channels=[4, 6], hidden=[16]),
    "vgg": dict(blocks=[[4, 4], [8]], hidden=[16]),
    "resnet": dict(widths=[4, 8], blocks_per_stage=1),
    "jet_cnn": dict(filters=[4, 4, 4], kernel_sizes=[5, 3, 3], pool_sizes=[2, 2, 2], hidden=8),
}
CLASSES = {"lenet": LeNet, "vgg": VGG, "resnet": ResNet, "jet_cnn": JetCNN}


def small(name: str, **options) -> nn.Module:
    return create_model(name, in_channels=2, image_size=[12, 16], **SMALL[name], **options)


@pytest.mark.parametrize("name", list(SMALL))
def test_shapes_probabilities_and_finite_gradients(name):
    torch.manual_seed(0)
    net = small(name, out_features=3, output="softmax")
    assert isinstance(net, CLASSES[name])
    assert net.consumes == ("image",)
    logits = net(torch.rand(5, 2, 12, 16))
    assert logits.shape == (5, 3)
    torch.testing.assert_close(net.probabilities(logits), torch.softmax(logits, dim=1))
    logits.square().sum().backward()
    for key, parameter in net.named_parameters():
        assert parameter.grad is not None, key
        assert torch.isfinite(parameter.grad).all(), key


def toy_images(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 1 has its bright blob in the upper half, class 0 in the lower half."""
    generator = torch.Generator().manual_seed(3)
    labels = (torch.arange(n) % 2).float()
    images = 0.1 * torch.rand(n, 2, 12, 16, generator=generator)
    rows = torch.randint(0, 6, (n,), generator=generator) + 6 * (1 - labels.long())
    cols = torch.randint(0, 16, (n,), generator=generator)
    images[torch.arange(n), 0, rows, cols] += 1.0
    return images, labels


@pytest.mark.parametrize("name", list(SMALL))
def test_adam_steps_lower_the_loss(name):
    torch.manual_seed(1)
    images, labels = toy_images()
    net = small(name, dropout=0.0)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = nn.BCEWithLogitsLoss()
    first = loss_fn(net(images)[:, 0], labels).item()
    for _ in range(25):
        opt.zero_grad()
        loss = loss_fn(net(images)[:, 0], labels)
        loss.backward()
        opt.step()
    assert loss_fn(net(images)[:, 0], labels).item() < 0.8 * first


def test_jet_cnn_follows_de_oliveira_layer_order():
    net = create_model("jet_cnn", dropout=0.3)  # the paper's 25x25 default
    body = [type(m).__name__ for m in net.body]
    unit = ["Dropout", "Conv2d", "ReLU", "MaxPool2d"]
    assert body == unit * 3 + ["LocalResponseNorm", "Flatten", "Dropout"]
    assert [type(m).__name__ for m in net.head.layers] == ["Linear", "ReLU", "Dropout", "Linear"]
    assert [m.kernel_size for m in net.body if isinstance(m, nn.Conv2d)] == [
        (11, 11),
        (3, 3),
        (3, 3),
    ]
    assert all(m.p == 0.3 for m in net.modules() if isinstance(m, nn.Dropout))
    # 25 -> 12 -> 4 -> 1 after pools of 2, 3, 3: 32 filters x 1 x 1 into 64 hidden units.
    assert net.head.layers[0].in_features == 32 and net.head.layers[0].out_features == 64
    probabilities = net.eval().probabilities(net(torch.rand(3, 1, 25, 25)))
    assert probabilities.shape == (3, 1) and ((probabilities > 0) & (probabilities < 1)).all()


def test_lenet_and_vgg_structure():
    lenet = create_model("lenet", image_size=32, kernel_size=5, activation="tanh")
    kinds = [type(m).__name__ for m in lenet.body]
    assert kinds == ["Conv2d", "Tanh", "MaxPool2d"] * 2
    assert lenet.head.layers[0].in_features == 16 * 8 * 8  # "same" convolutions, two pools
    vgg = create_model("vgg", image_size=[8, 16], blocks=[[4, 4], [8]], batch_norm=False)
    convs = [m for m in vgg.body if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (1, 4, (3, 3)),
        (4, 4, (3, 3)),
        (4, 8, (3, 3)),
    ]
    assert vgg.head.layers[0].in_features == 8 * 2 * 4


def test_residual_block_adds_the_skip_connection():
    torch.manual_seed(2)
    block = BasicBlock(3, 3, stride=1).eval()
    last_norm = block.residual[-1]
    nn.init.zeros_(last_norm.weight)
    nn.init.zeros_(last_norm.bias)
    x = torch.randn(2, 3, 5, 5)
    torch.testing.assert_close(block(x), torch.relu(x))  # F(x) = 0 leaves ReLU(x + 0)
    assert isinstance(block.shortcut, nn.Identity)
    down = BasicBlock(3, 6, stride=2)
    assert down(x).shape == (2, 6, 3, 3)
    assert isinstance(down.shortcut[0], nn.Conv2d) and down.shortcut[0].stride == (2, 2)


def test_resnet_accepts_any_image_size():
    net = create_model("resnet", image_size=[9, 33], widths=[4, 8, 8], blocks_per_stage=2)
    stages = [m for m in net.body if isinstance(m, BasicBlock)]
    assert len(stages) == 6
    assert net(torch.rand(2, 1, 9, 33)).shape == (2, 1)


def test_wrong_image_shape_is_named():
    net = small("lenet")
    message = r"LeNet: expected image of shape \(batch, 2, 12, 16\), got \(4, 1, 12, 16\)"
    with pytest.raises(DataError, match=message):
        net(torch.rand(4, 1, 12, 16))


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError, match=r"model.pool_sizes: pooling by \[2, 3, 3\] shrinks"):
        create_model("jet_cnn", image_size=8)
    with pytest.raises(ConfigError, match=r"expected one entry per convolution each, got 3, 2, 3"):
        create_model("jet_cnn", kernel_sizes=[3, 3])
    with pytest.raises(ConfigError, match=r"model.image_size: expected one positive size"):
        create_model("vgg", image_size=[8, 8, 8])
    with pytest.raises(ConfigError, match=r"model\.activation: unknown activation 'gelu'"):
        create_model("lenet", activation="gelu")
    with pytest.raises(ConfigError, match=r"model\.widths: expected a non-empty list"):
        create_model("resnet", widths=[])
