"""Blocks and stacks: plain, residual, pre-activation and bottleneck (see the submodules)."""

from .blocks import (
    SHORTCUT_OPTIONS,
    BottleneckBlock,
    PadShortcut,
    PlainBlock,
    PreActBlock,
    ResidualBlock,
    conv1x1,
    conv3x3,
    make_shortcut,
)
from .cnn import CifarResNet
from .mlp import (
    MLPStack,
    PlainMLPBlock,
    PreActMLPBlock,
    ResidualMLPBlock,
    init_weights,
    make_activation,
)
from .skips import set_skips, skip_blocks, zero_init_branches

__all__ = [
    "SHORTCUT_OPTIONS",
    "BottleneckBlock",
    "CifarResNet",
    "MLPStack",
    "PadShortcut",
    "PlainBlock",
    "PlainMLPBlock",
    "PreActBlock",
    "PreActMLPBlock",
    "ResidualBlock",
    "ResidualMLPBlock",
    "conv1x1",
    "conv3x3",
    "init_weights",
    "make_activation",
    "make_shortcut",
    "set_skips",
    "skip_blocks",
    "zero_init_branches",
]
