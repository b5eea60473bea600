"""Block lesions (Veit et al. 2016): delete one block, keep its shortcut, measure accuracy."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from ..models.blocks import BottleneckBlock, PadShortcut, PlainBlock, PreActBlock, ResidualBlock
from ..models.mlp import PlainMLPBlock, PreActMLPBlock, ResidualMLPBlock
from ..train import evaluate
from ..validate import check_int, check_module

BLOCK_TYPES = (
    PlainBlock, ResidualBlock, PreActBlock, BottleneckBlock, PlainMLPBlock, ResidualMLPBlock, PreActMLPBlock
)
#: Blocks that apply a ReLU after the addition (post-activation); a lesion keeps it.
POST_ACTIVATION = (ResidualBlock, BottleneckBlock, ResidualMLPBlock)


def model_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The blocks of ``model`` (plain, residual, pre-activation, bottleneck; conv or MLP),
    with their names, from input to output."""
    check_module("model", model)
    return [(name, m) for name, m in model.named_modules() if isinstance(m, BLOCK_TYPES)]


def _changes_shape(block: nn.Module) -> tuple[int, int, int] | None:
    """``(in, out, stride)`` of a conv block whose output shape differs from its input, else None."""
    conv = getattr(block, "conv1", None)
    if not isinstance(conv, nn.Conv2d):
        return None
    last = getattr(block, "conv3", None) or block.conv2
    stride = max(m.stride[0] for m in (block.conv1, block.conv2))
    if conv.in_channels == last.out_channels and stride == 1:
        return None
    return conv.in_channels, last.out_channels, stride


class Lesioned(nn.Module):
    """What is left of a deleted block: its shortcut (and the ReLU after the addition, if it had one).

    A deleted plain block leaves the identity (or, where the shape changes, option A's
    subsample-and-zero-pad, which has no weights).
    """

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        shortcut = getattr(block, "shortcut", None)
        if isinstance(shortcut, nn.Module):
            self.path = shortcut
        else:
            shape = _changes_shape(block)
            self.path = nn.Identity() if shape is None else PadShortcut(*shape)
        if isinstance(block, POST_ACTIVATION):  # keep the activation applied after the sum
            self.relu = copy.deepcopy(block.act if isinstance(block, ResidualMLPBlock) else block.relu)
        else:
            self.relu = nn.Identity()
        self.was = type(block).__name__

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.path(x))

    def extra_repr(self) -> str:
        return f"was={self.was}"


def delete_blocks(model: nn.Module, indices: Iterable[int]) -> nn.Module:
    """A copy of ``model`` with the blocks at ``indices`` (positions in :func:`model_blocks`)
    replaced by :class:`Lesioned` (their shortcuts only). The model itself is left untouched."""
    blocks = model_blocks(model)
    indices = sorted(set(indices))
    for index in indices:
        check_int("each block index", index, 0)
        if index >= len(blocks):
            raise ValueError(f"block indices must be below the number of blocks ({len(blocks)}), got {index}")
    lesioned = copy.deepcopy(model)
    for index in indices:
        parent_name, _, child = blocks[index][0].rpartition(".")
        parent = lesioned.get_submodule(parent_name) if parent_name else lesioned
        setattr(parent, child, Lesioned(parent.get_submodule(child)))
    return lesioned


def delete_block(model: nn.Module, index: int) -> nn.Module:
    """A copy of ``model`` with its ``index``-th block deleted (see :func:`delete_blocks`)."""
    check_int("index", index, 0)
    return delete_blocks(model, [index])


@dataclass(frozen=True)
class LesionResult:
    """Test accuracy of the intact model and of each single-block lesion."""

    baseline: float
    accuracies: list[float]
    names: list[str]
    changes_shape: list[bool]  # True for downsampling blocks (stride 2 or more channels)

    def drops(self) -> list[float]:
        """Accuracy lost by deleting each block (baseline minus lesioned), in fractions."""
        return [self.baseline - a for a in self.accuracies]


def lesion_study(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> LesionResult:
    """Delete each block in turn (Veit et al. 2016, section 4) and evaluate on ``(x, y)``.

    Evaluation is in eval mode (BatchNorm uses its running statistics), nothing is
    retrained. Veit et al. found that deleting one block of a ResNet-110 barely changes its
    error, except at downsampling blocks, while deleting any layer of a VGG net drops it to
    chance.
    """
    blocks = model_blocks(model)
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no block to delete (plain, residual or bottleneck)")
    baseline = evaluate(model, x, y).accuracy
    accuracies = [evaluate(delete_block(model, i), x, y).accuracy for i in range(len(blocks))]
    return LesionResult(
        baseline=baseline,
        accuracies=accuracies,
        names=[name for name, _ in blocks],
        changes_shape=[_changes_shape(b) is not None for _, b in blocks],
    )
