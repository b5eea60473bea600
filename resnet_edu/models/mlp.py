"""Fully connected stacks for the digits: plain, residual (post-activation) and pre-activation.

Depth counts the weight layers, as in the papers: one stem layer, two layers per block,
one output layer. A depth-20 stack therefore has 9 blocks.
"""

from __future__ import annotations

import torch
from torch import nn

from ..validate import check_bool, check_choice, check_input, check_int
from .skips import check_zero_init, zero_init_branches

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
INITS = ("default", "xavier", "kaiming")
MLP_BLOCKS = ("plain", "residual", "preact")


def make_activation(name: str) -> nn.Module:
    """``"relu"``, ``"tanh"`` or ``"sigmoid"`` as a module."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]()


class PlainMLPBlock(nn.Module):
    """Two fully connected layers and no shortcut: ``act(BN2(fc2(act(BN1(fc1(x))))))``.

    The Linear layers keep PyTorch's default bias even before BatchNorm (redundant there,
    but harmless), so that ``batchnorm=False`` stacks are ordinary MLPs.
    """

    def __init__(self, width: int, activation: str = "relu", batchnorm: bool = True) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.bn1 = nn.BatchNorm1d(width) if batchnorm else nn.Identity()
        self.fc2 = nn.Linear(width, width)
        self.bn2 = nn.BatchNorm1d(width) if batchnorm else nn.Identity()
        self.act = make_activation(activation)
        self.shortcut = None  # a plain block has no path around its layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn2(self.fc2(self.act(self.bn1(self.fc1(x))))))


class ResidualMLPBlock(nn.Module):
    """Post-activation residual block (He et al. 2015): ``act(BN2(fc2(act(BN1(fc1(x))))) + x)``.

    The same layers, in the same order, as :class:`PlainMLPBlock`, plus the identity
    shortcut. With ``skip = False`` it computes exactly :class:`PlainMLPBlock` on the same weights.
    """

    def __init__(self, width: int, activation: str = "relu", batchnorm: bool = True) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, width)
        self.bn1 = nn.BatchNorm1d(width) if batchnorm else nn.Identity()
        self.fc2 = nn.Linear(width, width)
        self.bn2 = nn.BatchNorm1d(width) if batchnorm else nn.Identity()
        self.act = make_activation(activation)
        self.shortcut = nn.Identity()  # the width never changes, so x is added as it is
        self.skip = True  # the course's switch (see set_skips), not part of ResNet

    def zero_init_branch(self) -> None:
        """Zero the branch's last scale (BN2's gamma, or fc2 without BatchNorm): F(x) = 0."""
        if isinstance(self.bn2, nn.BatchNorm1d):
            nn.init.zeros_(self.bn2.weight)
        else:
            nn.init.zeros_(self.fc2.weight)
            nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.fc2(self.act(self.bn1(self.fc1(x)))))
        if self.skip:  # a course device: False leaves the branch alone, on the same weights
            out = out + self.shortcut(x)
        return self.act(out)


class PreActMLPBlock(nn.Module):
    """Pre-activation residual block (He et al. 2016): ``x + fc2(act(BN2(fc1(act(BN1(x))))))``."""

    def __init__(self, width: int, activation: str = "relu", batchnorm: bool = True) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm1d(width) if batchnorm else nn.Identity()
        self.fc1 = nn.Linear(width, width)
        self.bn2 = nn.BatchNorm1d(width) if batchnorm else nn.Identity()
        self.fc2 = nn.Linear(width, width)
        self.act = make_activation(activation)
        self.shortcut = nn.Identity()
        self.skip = True  # the course's switch (see set_skips), not part of ResNet

    def zero_init_branch(self) -> None:
        """Zero the branch's last layer (fc2's weight and bias): F(x) = 0 at the start."""
        nn.init.zeros_(self.fc2.weight)
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc2(self.act(self.bn2(self.fc1(self.act(self.bn1(x))))))
        if self.skip:  # a course device: False leaves the branch alone, on the same weights
            out = out + self.shortcut(x)
        return out


def check_mlp_depth(depth: object) -> int:
    """Return ``depth`` if an :class:`MLPStack` can have it: an even int >= 2."""
    check_int("depth", depth, 2)
    if depth % 2:  # type: ignore[operator]
        raise ValueError(f"depth counts Linear layers (1 stem + 2 per block + 1 head), so it must be even; got {depth}")
    return depth  # type: ignore[return-value]


def init_weights(model: nn.Module, init: str = "default", activation: str = "relu") -> None:
    """Re-initialise every Linear and Conv2d weight of ``model`` in place.

    ``"default"`` keeps PyTorch's init (for ``nn.Linear`` the "standard" uniform init of
    Glorot and Bengio 2010), ``"xavier"`` is their normalised init, ``"kaiming"`` is the
    init of He et al. 2015, "Delving Deep into Rectifiers" (variance 2 / fan-in for ReLU).
    Biases become zero except with ``"default"``.
    """
    check_choice("init", init, INITS)
    check_choice("activation", activation, ACTIVATIONS)
    if init == "default":
        return
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            if init == "xavier":
                nn.init.xavier_uniform_(module.weight)
            else:
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu" if activation == "relu" else activation)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


MLP_BLOCK_CLASSES = {"plain": PlainMLPBlock, "residual": ResidualMLPBlock, "preact": PreActMLPBlock}


class MLPStack(nn.Module):
    """A stack of fully connected blocks for flat inputs.

    Layout: ``stem`` (Linear, then BN and activation except for pre-activation stacks),
    ``blocks`` ((depth - 2) / 2 blocks of two layers), ``head`` (final BN and activation
    for pre-activation stacks, then Linear to the classes).

    Args:
        depth: number of Linear layers, an even number >= 2.
        width: features of every hidden layer.
        block: ``"plain"``, ``"residual"`` (post-activation) or ``"preact"``.
        activation: ``"relu"``, ``"tanh"`` or ``"sigmoid"``.
        batchnorm: BatchNorm after (before, for pre-activation) each hidden Linear.
        init: ``"default"``, ``"xavier"`` or ``"kaiming"`` (see :func:`init_weights`).
        zero_init: start every residual branch at zero
            (see :func:`resnet_edu.models.zero_init_branches`).
    """

    def __init__(
        self,
        depth: int,
        width: int = 64,
        block: str = "plain",
        activation: str = "relu",
        batchnorm: bool = True,
        init: str = "default",
        zero_init: bool = False,
        in_features: int = 64,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        _check_stack_args(depth, width, block, batchnorm, zero_init, in_features, num_classes)
        self.depth, self.width, self.block, self.in_features = depth, width, block, in_features

        preact = block == "preact"
        stem: list[nn.Module] = [nn.Linear(in_features, width)]
        if not preact:
            stem += [nn.BatchNorm1d(width) if batchnorm else nn.Identity(), make_activation(activation)]
        self.stem = nn.Sequential(*stem)
        block_class = MLP_BLOCK_CLASSES[block]
        self.blocks = nn.Sequential(*(block_class(width, activation, batchnorm) for _ in range((depth - 2) // 2)))
        head: list[nn.Module] = []
        if preact:
            head += [nn.BatchNorm1d(width) if batchnorm else nn.Identity(), make_activation(activation)]
        self.head = nn.Sequential(*head, nn.Linear(width, num_classes))

        init_weights(self, init, activation)
        if zero_init:
            zero_init_branches(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(type(self).__name__, x, f"(batch, {self.in_features})", 2, self.in_features)
        return self.head(self.blocks(self.stem(x)))

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}, block={self.block!r}"


def _check_stack_args(
    depth: int,
    width: int,
    block: str,
    batchnorm: bool,
    zero_init: bool,
    in_features: int,
    num_classes: int,
) -> None:
    """The checks of :class:`MLPStack`'s arguments (activation and init are checked where they are used)."""
    check_mlp_depth(depth)
    check_int("width", width, 1)
    check_choice("block", block, MLP_BLOCKS)
    check_bool("batchnorm", batchnorm)
    check_int("in_features", in_features, 1)
    check_int("num_classes", num_classes, 2)
    check_zero_init(zero_init, block)
