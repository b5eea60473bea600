"""The CIFAR-style 6n+2 network of He et al. 2015, section 4.2.

Three stages of n blocks each, with (16, 32, 64) filters on CIFAR-10's 32x32 images or
(8, 16, 32) on the course's 8x8 digits; the first block of stages 2 and 3 halves the
feature map with stride 2. A 3x3 stem convolution before the stages, global average
pooling and one fully connected layer after them: 2 + 6n weight layers in all.
"""

from __future__ import annotations

import torch
from torch import nn

from ..validate import check_choice, check_input, check_int
from .blocks import PlainBlock, PreActBlock, ResidualBlock, conv3x3
from .skips import check_zero_init, zero_init_branches

CNN_BLOCKS = ("plain", "residual", "preact")


class CifarResNet(nn.Module):
    """The 6n+2 network: ``depth`` in {8, 14, 20, 26, 32, 44, 56, 110, ...}.

    Args:
        depth: 6n + 2 weight layers (20 for ResNet-20, 56 for ResNet-56).
        block: ``"plain"``, ``"residual"`` (He et al. 2015) or ``"preact"`` (He et al. 2016).
        channels: filters of the three stages.
        in_channels: channels of the input images (3 for CIFAR, 1 for the digits).
        num_classes: size of the output.
        shortcut: ``"A"`` (zero padding, the paper's choice on CIFAR-10), ``"B"`` or ``"C"``.
        zero_init: start every residual branch at zero.
    """

    def __init__(
        self,
        depth: int = 20,
        block: str = "residual",
        channels: tuple[int, int, int] = (16, 32, 64),
        in_channels: int = 3,
        num_classes: int = 10,
        shortcut: str = "A",
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        _check_cifar_args(depth, block, channels, in_channels, num_classes, zero_init)
        self.depth, self.block, self.in_channels = depth, block, in_channels

        blocks_per_stage = (depth - 2) // 6
        preact = block == "preact"
        stem: list[nn.Module] = [conv3x3(in_channels, channels[0])]
        if not preact:
            stem += [nn.BatchNorm2d(channels[0]), nn.ReLU()]
        self.stem = nn.Sequential(*stem)

        stages = []
        width = channels[0]
        for stage, out_width in enumerate(channels):
            layers = []
            for i in range(blocks_per_stage):
                stride = 2 if stage > 0 and i == 0 else 1  # the first block of stages 2 and 3 halves the map
                if block == "plain":
                    layers.append(PlainBlock(width, out_width, stride))
                else:
                    block_class = ResidualBlock if block == "residual" else PreActBlock
                    layers.append(block_class(width, out_width, stride, shortcut))
                width = out_width
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)

        head: list[nn.Module] = [nn.BatchNorm2d(width), nn.ReLU()] if preact else []
        self.head = nn.Sequential(*head, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

        # He et al. 2015 ("Delving Deep into Rectifiers") init, fan-out mode as in torchvision.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        if zero_init:
            zero_init_branches(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(type(self).__name__, x, f"(batch, {self.in_channels}, height, width)", 4, self.in_channels)
        return self.head(self.stages(self.stem(x)))

    def extra_repr(self) -> str:
        return f"depth={self.depth}, block={self.block!r}"


def _check_cifar_args(
    depth: int,
    block: str,
    channels: tuple[int, int, int],
    in_channels: int,
    num_classes: int,
    zero_init: bool,
) -> None:
    """The checks of :class:`CifarResNet`'s arguments (the blocks check the shortcut option)."""
    check_int("depth", depth, 8)
    if (depth - 2) % 6:
        raise ValueError(f"depth must be 6n+2 (8, 14, 20, 26, 32, 44, 56, 110, ...), got {depth}")
    check_choice("block", block, CNN_BLOCKS)
    if len(channels) != 3:
        raise ValueError(f"channels must hold 3 stage widths, got {channels!r}")
    for width in channels:
        check_int("each entry of channels", width, 1)
    check_int("in_channels", in_channels, 1)
    check_int("num_classes", num_classes, 2)
    check_zero_init(zero_init, block)
