"""U-Net: per-pixel predictions on calorimeter (or jet) images ``(B, C, H, W)``.

Ronneberger, Fischer, Brox, "U-Net: convolutional networks for biomedical image
segmentation", MICCAI 2015 (arXiv:1505.04597). An encoder of ``depth`` + 1 levels, each
a block of two 3x3 convolutions (BatchNorm, ReLU), the levels joined by 2x2 max-pools;
``width`` channels at the first level, doubled per level. The decoder climbs back with
2x2 transposed convolutions, concatenating the encoder's map of the same level (the skip
connection) before a block of two convolutions, so the fine cell-by-cell detail the
pooling lost reaches the output. The output is logits (B, out_channels, H, W).

An image whose H or W is not a multiple of 2**depth (a 35x35 ECAL window) is zero-padded
to the next multiple, split evenly on both sides so the central cell stays central, and
the output is cropped back to H x W: the network sees the same cells in the same places.

Backbone and head (``hepdl.models``), for a per-pixel model: ``forward_features`` is the
encoder and decoder, image -> the last decoder map (B, num_features, H, W), cropped to
the input's H x W, with num_features = ``width``; ``forward_head`` is the 1x1 convolution
``head``, (B, width, H, W) -> logits (B, out_channels, H, W), no activation;
``probabilities`` applies ``output`` to each pixel (sigmoid; softmax over the channel axis;
linear) and ``reset_head`` replaces the 1x1 convolution. ``out_channels`` plays the part
of the other models' ``out_features``.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from hepdl.errors import ConfigError, DataError
from hepdl.models._registry import register_model
from hepdl.models._set_common import check_dropout, check_output, check_positive

# The deepest level has width * 2**depth channels: a bound of the same order as MAX_WIDTH.
MAX_DEPTH = 8


def _block(in_channels: int, out_channels: int, *, batch_norm: bool, dropout: float) -> nn.Module:
    """Two "same" 3x3 convolutions, each followed by BatchNorm (optional) and ReLU."""
    layers: list[nn.Module] = []
    for c_in in (in_channels, out_channels):
        layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
    if dropout > 0:
        layers.append(nn.Dropout2d(dropout))
    return nn.Sequential(*layers)


def _check_head(out_channels: int, output: str) -> None:
    check_positive(out_channels, option="out_channels")
    if output == "softmax" and out_channels < 2:
        raise ConfigError("model.output: softmax needs out_channels >= 2 (one per class)")
    check_output(output, out_channels)


@register_model("unet")
class UNet(nn.Module):
    """U-Net of ``depth`` poolings and ``width`` first-level channels: image (B,
    in_channels, H, W) -> logits (B, out_channels, H, W), any H, W >= 1."""

    consumes = ("image",)
    per_pixel: ClassVar[bool] = True  # outputs (B, K, H, W), embeddings (B, D, H, W)

    def __init__(
        self,
        *,
        in_channels: int = 1,
        out_channels: int = 1,
        depth: int = 3,
        width: int = 16,
        batch_norm: bool = True,
        dropout: float = 0.0,
        output: str = "sigmoid",
    ) -> None:
        super().__init__()
        check_positive(in_channels, option="in_channels")
        check_positive(width, option="width")
        if not 1 <= depth <= MAX_DEPTH:
            raise ConfigError(f"model.depth: expected 1 to {MAX_DEPTH} poolings, got {depth}")
        check_dropout(dropout)
        _check_head(out_channels, output)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.depth = depth
        self.output = output
        widths = [width * 2**level for level in range(depth + 1)]  # channels per level
        options = {"batch_norm": batch_norm, "dropout": dropout}
        self.encoder = nn.ModuleList(
            [_block(in_channels, widths[0], **options)]
            + [_block(widths[i - 1], widths[i], **options) for i in range(1, depth + 1)]
        )
        # Level i + 1 -> i: upsample to widths[i], concatenate the skip, convolve.
        self.up = nn.ModuleList(
            [nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2) for i in range(depth)]
        )
        self.decoder = nn.ModuleList(
            [_block(2 * widths[i], widths[i], **options) for i in range(depth)]
        )
        self.num_features = widths[0]
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(image))  # (B, out_channels, H, W)

    def forward_features(self, image: torch.Tensor) -> torch.Tensor:
        """Encoder and decoder: image (B, C, H, W) -> (B, num_features, H, W)."""
        if image.ndim != 4 or image.shape[1] != self.in_channels:
            raise DataError(
                f"UNet: expected image of shape (batch, {self.in_channels}, height, width), "
                f"got {tuple(image.shape)}"
            )
        height, width = image.shape[-2:]
        multiple = 2**self.depth
        pad_h, pad_w = -height % multiple, -width % multiple
        # (left, right, top, bottom): split evenly so the central cell stays central.
        padding = (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2)
        x = F.pad(image, padding) if pad_h or pad_w else image  # (B, C, H', W')
        skips = []
        for level, block in enumerate(self.encoder):
            if level > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)  # (B, widths[level], H' / 2**level, W' / 2**level)
            skips.append(x)
        for i in reversed(range(self.depth)):
            x = self.up[i](x)  # (B, widths[i], H' / 2**i, W' / 2**i)
            x = self.decoder[i](torch.cat([skips[i], x], dim=1))
        top, left = padding[2], padding[0]
        return x[..., top : top + height, left : left + width]  # (B, width, H, W)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The 1x1 convolution, no activation: (B, num_features, H, W) -> logits."""
        if features.ndim != 4 or features.shape[1] != self.num_features:
            raise DataError(
                f"UNet.forward_head: expected a feature map of shape (batch, "
                f"{self.num_features}, height, width) as forward_features returns, got "
                f"{tuple(features.shape)}"
            )
        return self.head(features)

    def reset_head(self, out_channels: int, output: str = "linear") -> None:
        """A fresh 1x1 output convolution of ``out_channels`` and activation ``output``."""
        _check_head(out_channels, output)
        self.head = nn.Conv2d(self.num_features, out_channels, 1).to(self.head.weight)
        self.out_channels = out_channels
        self.output = output

    @property
    def out_features(self) -> int:
        """The output channels (the name the other models' heads use)."""
        return self.out_channels

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """The output activation of every pixel: (B, K, H, W) -> (B, K, H, W)."""
        if self.output == "sigmoid":
            return torch.sigmoid(logits)
        if self.output == "softmax":
            return torch.softmax(logits, dim=1)
        return logits
