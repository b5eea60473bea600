"""Blocks and stacks: plain, residual, pre-activation and bottleneck (see the submodules).

Every block follows one protocol: ``shortcut`` (the path around the layers; ``None`` for a
plain block), ``act`` (its activation) and, on residual blocks, the course's switch ``skip``.
:mod:`~resnet_edu.models.surgery` finds blocks, deletes them and copies weights.
"""

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
from .surgery import copy_weights, delete_block, delete_blocks, find_blocks

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
    "copy_weights",
    "delete_block",
    "delete_blocks",
    "find_blocks",
    "init_weights",
    "make_activation",
    "make_shortcut",
    "set_skips",
    "skip_blocks",
    "zero_init_branches",
]
