"""Block lesions (Veit et al. 2016): delete each block in turn, keep its shortcut, measure accuracy.

Deleting is :func:`resnet_edu.models.delete_blocks`; this module measures what is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..models.surgery import changes_shape, delete_block, delete_blocks, find_blocks
from ..train import evaluate


@dataclass(frozen=True)
class LesionResult:
    """Test accuracy of the intact model and of each single-block lesion.

    ``accuracies`` is what exercise 6's ``lesion_study`` returns: one accuracy per block.
    """

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
    blocks = find_blocks(model)
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no block to delete (plain, residual or bottleneck)")
    return LesionResult(
        baseline=evaluate(model, x, y).accuracy,
        accuracies=[evaluate(delete_block(model, i), x, y).accuracy for i in range(len(blocks))],
        names=[name for name, _ in blocks],
        changes_shape=[changes_shape(block) for _, block in blocks],
    )


def lesioned_accuracies(
    models: Mapping[str, nn.Module], x: torch.Tensor, y: torch.Tensor, deleted: Sequence[int]
) -> dict[str, float]:
    """Test accuracy of each model with all the blocks in ``deleted`` removed at once."""
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping {label: trained model}")
    return {label: evaluate(delete_blocks(m, deleted), x, y).accuracy for label, m in models.items()}
