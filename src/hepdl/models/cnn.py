"""Convolutional networks on jet images ``(B, C, H, W)``.

- ``lenet``: [Conv 5x5 -> activation -> MaxPool 2] x 2 -> fully connected (LeCun et al. 1998).
- ``vgg``: blocks of 3x3 convolutions, each block closed by a 2x2 max-pool (Simonyan and
  Zisserman 2014).
- ``resnet``: residual stages of basic blocks, y = ReLU(F(x) + S(x)) with
  F = Conv3x3 -> BN -> ReLU -> Conv3x3 -> BN and S the identity, or a strided 1x1
  convolution where the shape changes; global average pooling (He et al. 2016).
- ``jet_cnn``: the jet-image tagger of de Oliveira, Kagan, Mackey, Nachman, Schwartzman
  (JHEP 07 (2016) 069): [Dropout -> Conv -> ReLU -> MaxPool] x 3 -> local response
  normalisation -> [Dropout -> FC -> ReLU] -> Dropout -> sigmoid output.

Convolutions use "same" padding, so only pooling (or a ResNet stride) shrinks the image.
Every model ends in the ``mlp`` head and, like it, ``forward`` returns logits
(B, out_features); ``probabilities`` applies the sigmoid or softmax output.

Backbone and head (``hepdl.models``): ``forward_features`` is the convolutional ``body``,
flatten and the hidden layers of the ``mlp`` (the submodule named ``head``, a name kept for
the state_dict): image -> (B, num_features), num_features = the last entry of ``hidden``
(the flattened body output without hidden layers, ResNet's default: its channel width).
``forward_head`` is only the output layer, ``head.layers[-1]``; ``reset_head`` replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hepdl.errors import ConfigError, DataError
from hepdl.models._head import MLPHeaded
from hepdl.models._registry import register_model
from hepdl.models.mlp import MLP

ACTIVATIONS = ("relu", "tanh", "sigmoid")


def _image_size(image_size: int | Sequence[int]) -> tuple[int, int]:
    size = [image_size] * 2 if isinstance(image_size, int) else list(image_size)
    if len(size) != 2 or any(int(s) < 1 for s in size):
        raise ConfigError(
            f"model.image_size: expected one positive size or [height, width], got {image_size}"
        )
    return int(size[0]), int(size[1])


def _positive(values: Sequence[int], *, option: str) -> list[int]:
    values = [int(v) for v in values]
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"model.{option}: expected a non-empty list of positive integers")
    return values


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ConfigError(
            f"model.activation: unknown activation '{name}'; choose from {', '.join(ACTIVATIONS)}"
        )
    return {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}[name]()


def _pooled(size: tuple[int, int], pools: Sequence[int], *, option: str) -> tuple[int, int]:
    """Image size after max-pools of the given sizes (floor division, as nn.MaxPool2d)."""
    height, width = size
    for pool in pools:
        height, width = height // pool, width // pool
    if height < 1 or width < 1:
        raise ConfigError(
            f"model.{option}: pooling by {list(pools)} shrinks a {size[0]}x{size[1]} image "
            "to nothing; use a larger model.image_size or fewer/smaller pools"
        )
    return height, width


class _ImageModel(MLPHeaded, nn.Module):
    """Shared checks and output of the image models: ``body`` then the ``mlp`` head."""

    consumes = ("image",)

    def _setup(self, *, in_channels: int, image_size: int | Sequence[int]) -> tuple[int, int]:
        if in_channels < 1:
            raise ConfigError(f"model.in_channels: expected >= 1, got {in_channels}")
        self.in_channels = in_channels
        self.image_size = _image_size(image_size)
        return self.image_size

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(image))  # (B, out_features)

    def forward_features(self, image: torch.Tensor) -> torch.Tensor:
        """Body, flatten and the hidden FC layers: image -> embedding (B, num_features)."""
        expected = (self.in_channels, *self.image_size)
        if image.ndim != 4 or tuple(image.shape[1:]) != expected:
            raise DataError(
                f"{type(self).__name__}: expected image of shape (batch, {expected[0]}, "
                f"{expected[1]}, {expected[2]}), got {tuple(image.shape)}"
            )
        return self.head.forward_features(self.body(image).flatten(1))  # (B, num_features)


@register_model("lenet")
class LeNet(_ImageModel):
    """LeNet-style CNN: per entry of ``channels``, Conv(kernel_size) -> activation -> MaxPool 2.

    Args:
        in_channels, image_size: the image shape C and H, W (``image_size`` one number or
            [H, W]).
        channels: output channels of each convolution (LeNet-5: 6, 16).
        hidden: widths of the fully connected layers after flattening (LeNet-5: 120, 84).
        out_features, output, dropout: as for ``mlp``.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        image_size: int | Sequence[int] = 40,
        channels: Sequence[int] = (6, 16),
        kernel_size: int = 5,
        activation: str = "relu",
        hidden: Sequence[int] = (120, 84),
        out_features: int = 1,
        output: str = "sigmoid",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        size = self._setup(in_channels=in_channels, image_size=image_size)
        channels = _positive(channels, option="channels")
        layers: list[nn.Module] = []
        width = in_channels
        for out in channels:
            layers += [
                nn.Conv2d(width, out, kernel_size, padding="same"),
                _activation(activation),
                nn.MaxPool2d(2),
            ]
            width = out
        self.body = nn.Sequential(*layers)
        height, breadth = _pooled(size, [2] * len(channels), option="channels")
        self.head = MLP(
            in_features=width * height * breadth,
            hidden=hidden,
            activation=activation,
            out_features=out_features,
            output=output,
            dropout=dropout,
        )


@register_model("vgg")
class VGG(_ImageModel):
    """VGG-style CNN: ``blocks`` of 3x3 convolutions, each followed by a 2x2 max-pool.

    ``blocks=[[32, 32], [64, 64]]`` is Conv(32) -> Conv(32) -> Pool -> Conv(64) -> Conv(64)
    -> Pool, every convolution followed by [BatchNorm] -> ReLU. Other arguments as ``lenet``.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        image_size: int | Sequence[int] = 40,
        blocks: Sequence[Sequence[int]] = ((32, 32), (64, 64), (128, 128)),
        batch_norm: bool = True,
        hidden: Sequence[int] = (256,),
        out_features: int = 1,
        output: str = "sigmoid",
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        size = self._setup(in_channels=in_channels, image_size=image_size)
        if not blocks:
            raise ConfigError("model.blocks: expected at least one block of convolutions")
        layers: list[nn.Module] = []
        width = in_channels
        for block in blocks:
            for out in _positive(block, option="blocks"):
                layers.append(nn.Conv2d(width, out, 3, padding=1, bias=not batch_norm))
                if batch_norm:
                    layers.append(nn.BatchNorm2d(out))
                layers.append(nn.ReLU())
                width = out
            layers.append(nn.MaxPool2d(2))
        self.body = nn.Sequential(*layers)
        height, breadth = _pooled(size, [2] * len(blocks), option="blocks")
        self.head = MLP(
            in_features=width * height * breadth,
            hidden=hidden,
            out_features=out_features,
            output=output,
            dropout=dropout,
        )


class BasicBlock(nn.Module):
    """y = ReLU(BN(Conv(ReLU(BN(Conv(x))))) + S(x)); (B, C_in, H, W) -> (B, C_out, H/s, W/s)."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        # The skip connection must match the residual's shape to be added to it.
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.residual(x) + self.shortcut(x))


@register_model("resnet")
class ResNet(_ImageModel):
    """ResNet: stem Conv3x3 -> BN -> ReLU, then one stage of ``blocks_per_stage`` basic
    blocks per entry of ``widths`` (every stage after the first starts with stride 2),
    global average pooling and the ``mlp`` head (``hidden`` empty: a single linear layer).
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        image_size: int | Sequence[int] = 40,
        widths: Sequence[int] = (16, 32, 64),
        blocks_per_stage: int = 2,
        hidden: Sequence[int] = (),
        out_features: int = 1,
        output: str = "sigmoid",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self._setup(in_channels=in_channels, image_size=image_size)
        widths = _positive(widths, option="widths")
        if blocks_per_stage < 1:
            raise ConfigError(f"model.blocks_per_stage: expected >= 1, got {blocks_per_stage}")
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(),
        ]
        width = widths[0]
        for stage, out in enumerate(widths):
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(width, out, stride=stride))
                width = out
        layers.append(nn.AdaptiveAvgPool2d(1))  # (B, C, 1, 1): any image size works
        self.body = nn.Sequential(*layers)
        self.head = MLP(
            in_features=width,
            hidden=hidden,
            out_features=out_features,
            output=output,
            dropout=dropout,
        )


@register_model("jet_cnn")
class JetCNN(_ImageModel):
    """The jet-image CNN of de Oliveira et al. (2016).

    Per entry of ``filters``: Dropout -> Conv(filters_i, kernel_sizes_i) -> ReLU ->
    MaxPool(pool_sizes_i); then LocalResponseNorm over ``lrn_size`` channels,
    b_c = a_c / (k + alpha/n sum_{c' near c} a_c'^2)^beta; then
    Dropout -> FC(hidden) -> ReLU -> Dropout -> output (sigmoid for out_features=1).
    The paper uses 25x25 images, 32 filters per layer, 11x11 then 3x3 kernels and 64
    hidden units.
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        image_size: int | Sequence[int] = 25,
        filters: Sequence[int] = (32, 32, 32),
        kernel_sizes: Sequence[int] = (11, 3, 3),
        pool_sizes: Sequence[int] = (2, 3, 3),
        lrn_size: int = 5,
        hidden: int = 64,
        dropout: float = 0.2,
        out_features: int = 1,
        output: str = "sigmoid",
    ) -> None:
        super().__init__()
        size = self._setup(in_channels=in_channels, image_size=image_size)
        filters = _positive(filters, option="filters")
        kernel_sizes = _positive(kernel_sizes, option="kernel_sizes")
        pool_sizes = _positive(pool_sizes, option="pool_sizes")
        if not len(filters) == len(kernel_sizes) == len(pool_sizes):
            raise ConfigError(
                "model.filters, model.kernel_sizes, model.pool_sizes: expected one entry per "
                f"convolution each, got {len(filters)}, {len(kernel_sizes)}, {len(pool_sizes)}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout: expected a probability in [0, 1), got {dropout}")
        if lrn_size < 1:
            raise ConfigError(f"model.lrn_size: expected >= 1, got {lrn_size}")
        layers: list[nn.Module] = []
        width = in_channels
        for out, kernel, pool in zip(filters, kernel_sizes, pool_sizes, strict=True):
            layers += [
                nn.Dropout(dropout),
                nn.Conv2d(width, out, kernel, padding="same"),
                nn.ReLU(),
                nn.MaxPool2d(pool),
            ]
            width = out
        layers += [nn.LocalResponseNorm(lrn_size), nn.Flatten(), nn.Dropout(dropout)]
        self.body = nn.Sequential(*layers)
        height, breadth = _pooled(size, pool_sizes, option="pool_sizes")
        # The mlp head is FC -> ReLU -> Dropout -> output layer: the paper's tail.
        self.head = MLP(
            in_features=width * height * breadth,
            hidden=[hidden],
            out_features=out_features,
            output=output,
            dropout=dropout,
        )
