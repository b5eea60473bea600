"""Convolutional blocks: plain, residual (He et al. 2015), pre-activation (He et al. 2016)
and bottleneck, with the shortcut options A, B and C of He et al. 2015 (section 4.1, Table 3).

The block protocol, shared with the MLP blocks of :mod:`resnet_edu.models.mlp`:

* ``shortcut``: the path around the branch (``nn.Identity()``, option A's padding or a
  projection). Plain blocks have ``shortcut = None``: they have no path around.
* ``act``: the activation module (a ReLU here).
* ``skip``: on residual blocks only, a course device, not part of ResNet: set it to False
  (or call :func:`resnet_edu.models.set_skips`) and the block computes its branch only, on
  the same weights, so a lesson can compare F(x) and F(x) + x without re-initialising.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import check_choice, check_int

SHORTCUT_OPTIONS = ("A", "B", "C")


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding 1 and no bias (the BatchNorm after it has one)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution with no bias: the projection of shortcut options B and C."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


class PadShortcut(nn.Module):
    """Option A: identity, subsampled by ``stride`` and zero-padded to ``out_channels``.

    No parameters: the extra channels are zeros (He et al. 2015, CIFAR-10 experiments).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                f"option A can only add channels (zero padding), not go from {in_channels} to {out_channels}"
            )
        self.extra_channels = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # keep every stride-th pixel: the branch's output size
        # F.pad reads its sizes from the LAST dimension backwards: (width left, right, height top,
        # bottom, channels before, after). So the zeros go after the input's channels.
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels))


def make_shortcut(in_channels: int, out_channels: int, stride: int = 1, option: str = "B") -> nn.Module:
    """The shortcut path of a block.

    Option A: identity, zero-padded where the shape changes (no parameters).
    Option B: identity, and a 1x1 projection + BatchNorm only where the shape changes.
    Option C: a 1x1 projection + BatchNorm on every block.
    """
    check_choice("shortcut option", option, SHORTCUT_OPTIONS)
    same_shape = stride == 1 and in_channels == out_channels
    if option == "C" or (option == "B" and not same_shape):
        return nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))
    if same_shape:
        return nn.Identity()
    return PadShortcut(in_channels, out_channels, stride)


def _check_block_args(in_channels: int, out_channels: int, stride: int, expansion: int = 1) -> None:
    """The argument checks of every conv block (kept out of the constructors, which read as the architecture)."""
    check_int("in_channels", in_channels, 1)
    check_int("out_channels", out_channels, 1)
    check_int("stride", stride, 1)
    check_int("expansion", expansion, 1)
    if out_channels % expansion:
        raise ValueError(f"out_channels ({out_channels}) must be divisible by expansion ({expansion})")


class PlainBlock(nn.Module):
    """Two 3x3 conv-BN layers with ReLUs and no shortcut: ``ReLU(BN2(conv2(ReLU(BN1(conv1(x))))))``.

    Its parameters have the same names as :class:`ResidualBlock`'s branch, so a plain
    block can load a residual block's weights (``load_state_dict(..., strict=False)``
    where the residual block has a projection shortcut).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        _check_block_args(in_channels, out_channels, stride)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        self.shortcut = None  # a plain block has no path around its layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        return self.act(self.bn2(self.conv2(out)))


class ResidualBlock(nn.Module):
    """The residual block of He et al. 2015 (Fig. 2; torchvision's ``BasicBlock``)::

        out = ReLU( BN2(conv2( ReLU(BN1(conv1(x))) )) + shortcut(x) )

    ``conv1`` is 3x3 with stride ``stride``, ``conv2`` is 3x3 with stride 1, both without
    bias. The shortcut is the identity when the shape is kept and, with the default
    option ``"B"``, a 1x1 projection + BatchNorm when it changes (see :func:`make_shortcut`).
    ``zero_init=True`` sets BN2's gamma to 0 (Goyal et al. 2017), so the block starts as
    ``ReLU(shortcut(x))``: the identity map on non-negative inputs when the shortcut is
    the identity.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shortcut: str = "B",
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        _check_block_args(in_channels, out_channels, stride)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        self.shortcut = make_shortcut(in_channels, out_channels, stride, shortcut)
        self.skip = True  # the course's switch (see set_skips), not part of ResNet
        if zero_init:
            self.zero_init_branch()

    def zero_init_branch(self) -> None:
        """Zero the last scale of the branch (BN2's gamma): F(x) = 0 at the start."""
        nn.init.zeros_(self.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.skip:  # a course device: False leaves the branch alone, on the same weights
            out = out + self.shortcut(x)
        return self.act(out)


class PreActBlock(nn.Module):
    """The pre-activation block of He et al. 2016 ("Identity Mappings in Deep Residual Networks")::

        out = conv2( ReLU(BN2( conv1( ReLU(BN1(x)) ) )) ) + shortcut(x)

    Nothing is applied after the addition, so the identity path from input to output is
    clean. ``zero_init=True`` zeroes ``conv2`` (there is no BatchNorm at the end of the branch).
    Where the shape changes, the projection shortcut (option B: 1x1 conv + BN) is applied to
    the raw input ``x``; the authors' code applies a plain 1x1 conv to the pre-activated
    input instead. Both keep the identity path clean on every other block.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shortcut: str = "B",
        zero_init: bool = False,
    ) -> None:
        super().__init__()
        _check_block_args(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.act = nn.ReLU()
        self.shortcut = make_shortcut(in_channels, out_channels, stride, shortcut)
        self.skip = True  # the course's switch (see set_skips), not part of ResNet
        if zero_init:
            self.zero_init_branch()

    def zero_init_branch(self) -> None:
        """Zero the branch's last layer (conv2): F(x) = 0 at the start."""
        nn.init.zeros_(self.conv2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv1(self.act(self.bn1(x)))
        out = self.conv2(self.act(self.bn2(out)))
        if self.skip:  # a course device: False leaves the branch alone, on the same weights
            out = out + self.shortcut(x)
        return out


class BottleneckBlock(nn.Module):
    """The bottleneck block of He et al. 2015 (Fig. 5, right) for deeper nets::

        out = ReLU( BN3(conv1x1( ReLU(BN2(conv3x3( ReLU(BN1(conv1x1(x))) ))) )) + shortcut(x) )

    The first 1x1 reduces to ``out_channels // expansion`` channels, the 3x3 (with the
    stride, as in torchvision) works at that width, the last 1x1 expands to ``out_channels``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        shortcut: str = "B",
        zero_init: bool = False,
        expansion: int = 4,
    ) -> None:
        super().__init__()
        _check_block_args(in_channels, out_channels, stride, expansion)
        width = out_channels // expansion
        self.conv1 = conv1x1(in_channels, width)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.act = nn.ReLU()
        self.shortcut = make_shortcut(in_channels, out_channels, stride, shortcut)
        self.skip = True  # the course's switch (see set_skips), not part of ResNet
        if zero_init:
            self.zero_init_branch()

    def zero_init_branch(self) -> None:
        """Zero the last scale of the branch (BN3's gamma): F(x) = 0 at the start."""
        nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.bn1(self.conv1(x)))
        out = self.act(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.skip:  # a course device: False leaves the branch alone, on the same weights
            out = out + self.shortcut(x)
        return self.act(out)
