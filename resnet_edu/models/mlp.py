"""Fully connected stacks for the digits: plain, residual (post-activation) and pre-activation.

Depth counts the weight layers, as in the papers: one stem layer, two layers per block,
one output layer. A depth-20 stack therefore has 9 blocks.
"""

from __future__ import annotations

import torch
from torch import nn

from ..validate import check_choice, check_input, check_int

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
INITS = ("default", "xavier", "kaiming")
MLP_BLOCKS = ("plain", "residual", "preact")


def make_activation(name: str) -> nn.Module:
    """``"relu"``, ``"tanh"`` or ``"sigmoid"`` as a module."""
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]()


def _norm(width: int, batchnorm: bool) -> nn.Module:
    return nn.BatchNorm1d(width) if batchnorm else nn.Identity()


class PlainMLPBlock(nn.Module):
    """Two fully connected layers, ``act(BN2(fc2(act(BN1(fc1(x))))))``, and no shortcut."""

    def __init__(self, width: int, activation: str = "relu", batchnorm: bool = True) -> None:
        super().__init__()
        check_int("width", width, 1)
        self.fc1 = nn.Linear(width, width)
        self.bn1 = _norm(width, batchnorm)
        self.fc2 = nn.Linear(width, width)
        self.bn2 = _norm(width, batchnorm)
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn2(self.fc2(self.act(self.bn1(self.fc1(x))))))


class ResidualMLPBlock(PlainMLPBlock):
    """Post-activation residual block (He et al. 2015): ``act(BN2(fc2(act(BN1(fc1(x))))) + x)``.

    With ``skip = False`` it computes exactly :class:`PlainMLPBlock` on the same weights.
    """

    def __init__(self, width: int, activation: str = "relu", batchnorm: bool = True) -> None:
        super().__init__(width, activation, batchnorm)
        self.skip = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.fc2(self.act(self.bn1(self.fc1(x)))))
        if self.skip:
            out = out + x
        return self.act(out)


class PreActMLPBlock(nn.Module):
    """Pre-activation residual block (He et al. 2016): ``x + fc2(act(BN2(fc1(act(BN1(x))))))``."""

    def __init__(self, width: int, activation: str = "relu", batchnorm: bool = True) -> None:
        super().__init__()
        check_int("width", width, 1)
        self.bn1 = _norm(width, batchnorm)
        self.fc1 = nn.Linear(width, width)
        self.bn2 = _norm(width, batchnorm)
        self.fc2 = nn.Linear(width, width)
        self.act = make_activation(activation)
        self.skip = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc2(self.act(self.bn2(self.fc1(self.act(self.bn1(x))))))
        return out + x if self.skip else out


_BLOCK_CLASSES = {"plain": PlainMLPBlock, "residual": ResidualMLPBlock, "preact": PreActMLPBlock}


def init_weights(model: nn.Module, init: str = "default", activation: str = "relu") -> None:
    """Re-initialise every Linear and Conv2d weight of ``model`` in place.

    ``"default"`` keeps PyTorch's init (for ``nn.Linear`` the "standard" uniform init of
    Glorot and Bengio 2010), ``"xavier"`` is their normalised init, ``"kaiming"`` is He et
    al. 2015's (for ReLU). Biases become zero except with ``"default"``.
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


def zero_init_branches(model: nn.Module) -> int:
    """Zero the last scale of each residual branch, so every block starts as (nearly) the identity.

    For post-activation blocks this is BN2's gamma (Goyal et al. 2017; torchvision's
    ``zero_init_residual``); for pre-activation blocks, the last layer's weight. Returns
    how many blocks were changed.
    """
    changed = 0
    for module in model.modules():
        if isinstance(module, ResidualMLPBlock):
            last = module.bn2 if isinstance(module.bn2, nn.BatchNorm1d) else module.fc2
        elif isinstance(module, PreActMLPBlock):
            last = module.fc2
        else:
            continue
        nn.init.zeros_(last.weight)
        if last is getattr(module, "fc2", None):
            nn.init.zeros_(last.bias)
        changed += 1
    return changed


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
        zero_init_residual: start every residual branch at zero (see :func:`zero_init_branches`).
    """

    def __init__(
        self,
        depth: int,
        width: int = 64,
        block: str = "plain",
        activation: str = "relu",
        batchnorm: bool = True,
        init: str = "default",
        zero_init_residual: bool = False,
        in_features: int = 64,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        check_int("depth", depth, 2)
        if depth % 2:
            raise ValueError(
                f"depth counts Linear layers (1 stem + 2 per block + 1 head), so it must be even; got {depth}"
            )
        check_int("width", width, 1)
        check_choice("block", block, MLP_BLOCKS)
        check_choice("activation", activation, ACTIVATIONS)
        check_choice("init", init, INITS)
        check_int("in_features", in_features, 1)
        check_int("num_classes", num_classes, 2)
        if zero_init_residual and block == "plain":
            raise ValueError("zero_init_residual needs residual blocks (block='residual' or 'preact')")
        self.depth, self.width, self.block_type, self.in_features = depth, width, block, in_features

        preact = block == "preact"
        stem: list[nn.Module] = [nn.Linear(in_features, width)]
        if not preact:
            stem += [_norm(width, batchnorm), make_activation(activation)]
        self.stem = nn.Sequential(*stem)
        block_class = _BLOCK_CLASSES[block]
        self.blocks = nn.Sequential(
            *(block_class(width, activation, batchnorm) for _ in range((depth - 2) // 2))
        )
        head: list[nn.Module] = []
        if preact:
            head += [_norm(width, batchnorm), make_activation(activation)]
        self.head = nn.Sequential(*head, nn.Linear(width, num_classes))

        init_weights(self, init, activation)
        if zero_init_residual:
            zero_init_branches(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(type(self).__name__, x, f"(batch, {self.in_features})", 2, self.in_features)
        return self.head(self.blocks(self.stem(x)))

    def extra_repr(self) -> str:
        return f"depth={self.depth}, width={self.width}, block={self.block_type!r}"
