"""Switching the skip connections of a model off and on, on the same weights."""

from __future__ import annotations

from torch import nn

from ..validate import check_module


def skip_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks of ``model`` that have a switchable skip connection (a bool ``skip``)."""
    check_module("model", model)
    return [m for m in model.modules() if isinstance(getattr(m, "skip", None), bool)]


def set_skips(model: nn.Module, enabled: bool) -> int:
    """Turn every skip connection of ``model`` on (``True``) or off; returns how many.

    Off, a residual block computes only its branch F(x) with the same weights: the
    plain network that the residual one was built from.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be True or False, got {enabled!r}")
    blocks = skip_blocks(model)
    if not blocks:
        raise ValueError(
            f"{type(model).__name__} has no switchable skip connection; build it with residual blocks"
        )
    for block in blocks:
        block.skip = enabled
    return len(blocks)
