"""Taking models apart: finding the blocks, deleting blocks (a lesion), copying weights.

The blocks follow one protocol (see :mod:`resnet_edu.models.blocks`): a block is a module
with a ``shortcut`` attribute, the path around its layers (``None`` for a plain block).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn

from ..validate import check_choice, check_int, check_module
from .blocks import PadShortcut

#: The layers whose weights :func:`copy_weights` copies.
LAYERS_WITH_WEIGHTS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.modules.batchnorm._BatchNorm)
MATCHES = ("order", "name")


def find_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every block of ``model`` (a module with a ``shortcut`` attribute), with its name, input to output.

    For an :class:`~resnet_edu.models.MLPStack` these are ``model.blocks[0], model.blocks[1], ...``.
    """
    check_module("model", model)
    return [(name, m) for name, m in model.named_modules() if hasattr(m, "shortcut")]


def changes_shape(block: nn.Module) -> bool:
    """Whether a conv block's output has another shape than its input (stride 2 or more channels)."""
    return _shape_change(block) is not None


def _shape_change(block: nn.Module) -> tuple[int, int, int] | None:
    """``(in_channels, out_channels, stride)`` of a conv block that changes the shape, else None."""
    convs = [m for m in block.children() if isinstance(m, nn.Conv2d)]
    if not convs:
        return None
    stride = max(conv.stride[0] for conv in convs)
    if convs[0].in_channels == convs[-1].out_channels and stride == 1:
        return None
    return convs[0].in_channels, convs[-1].out_channels, stride


def _what_remains(block: nn.Module) -> nn.Module:
    """A deleted block leaves its shortcut and nothing else (no activation after it).

    A plain block has none: it leaves the identity, or option A's subsample-and-pad (no
    weights) where it changes the shape.
    """
    if block.shortcut is not None:
        return block.shortcut
    shape = _shape_change(block)
    return nn.Identity() if shape is None else PadShortcut(*shape)


def delete_blocks(model: nn.Module, indices: Iterable[int]) -> nn.Module:
    """A copy of ``model`` in which each block ``find_blocks(model)[i]``, for ``i`` in ``indices``,
    is replaced by its shortcut (a lesion, Veit et al. 2016). The model itself is left untouched.

    Only the shortcut remains: a post-activation block's ReLU after the addition goes with
    the block. In the course's ReLU networks with identity (or option A) shortcuts it would
    change nothing, as the block's input is already the output of a ReLU.
    """
    blocks = find_blocks(model)
    indices = sorted(set(indices))
    for index in indices:
        check_int("each block index", index, 0)
        if index >= len(blocks):
            raise ValueError(f"block indices must be below the number of blocks ({len(blocks)}), got {index}")
    lesioned = copy.deepcopy(model)
    for index in indices:
        parent_name, _, child = blocks[index][0].rpartition(".")
        parent = lesioned.get_submodule(parent_name)
        setattr(parent, child, _what_remains(getattr(parent, child)))
    return lesioned


def delete_block(model: nn.Module, index: int) -> nn.Module:
    """A copy of ``model`` with its ``index``-th block replaced by its shortcut (see :func:`delete_blocks`)."""
    check_int("index", index, 0)
    return delete_blocks(model, [index])


def _layers(model: nn.Module) -> dict[str, nn.Module]:
    return {name: m for name, m in model.named_modules() if isinstance(m, LAYERS_WITH_WEIGHTS)}


def _pairs(source: nn.Module, target: nn.Module, match: str) -> list[tuple[str, nn.Module, nn.Module]]:
    """The layers of ``source`` and ``target`` paired up, after checking that they fit."""
    theirs, ours = _layers(source), _layers(target)
    if match == "name":
        if set(theirs) != set(ours):
            raise ValueError(f"the layers have different names: {sorted(theirs)} and {sorted(ours)}")
        pairs = [(name, theirs[name], ours[name]) for name in ours]
    else:
        if len(theirs) != len(ours):
            raise ValueError(f"the source has {len(theirs)} layers with weights, the target {len(ours)}")
        pairs = [(name, a, b) for (name, a), b in zip(theirs.items(), ours.values())]
    for name, a, b in pairs:
        if type(a) is not type(b):
            raise ValueError(f"layer {name!r}: cannot copy a {type(a).__name__} into a {type(b).__name__}")
        for key, value in [*b.named_parameters(recurse=False), *b.named_buffers(recurse=False)]:
            given = getattr(a, key, None)
            if given is not None and given.shape != value.shape:
                raise ValueError(f"layer {name!r}: {key} has shape {tuple(given.shape)}, expected {tuple(value.shape)}")
    return pairs


def copy_weights(source: nn.Module, target: nn.Module, match: str = "order") -> None:
    """Copy the weights of ``source`` into ``target``, layer by layer (Linear, Conv, BatchNorm).

    ``match="order"`` pairs the i-th layer of each; ``match="name"`` pairs layers with the
    same name. Copied: weights, biases, BatchNorm's running statistics and ``eps``. A
    parameter the source does not have (``bias=False``, ``affine=False``) is set to what its
    absence means: weight (and running variance) 1, bias (and running mean) 0. Raises
    ``ValueError`` if the layers do not fit (then nothing is copied).
    """
    check_module("source", source)
    check_module("target", target)
    check_choice("match", match, MATCHES)
    with torch.no_grad():
        for _, a, b in _pairs(source, target, match):
            for key, value in [*b.named_parameters(recurse=False), *b.named_buffers(recurse=False)]:
                given = getattr(a, key, None)
                if given is not None:
                    value.copy_(given)
                else:
                    value.fill_(1.0 if key in ("weight", "running_var") else 0.0)
            if isinstance(b, nn.modules.batchnorm._BatchNorm):
                b.eps = a.eps
