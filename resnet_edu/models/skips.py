"""The residual parts of a model: switching skip connections, zero-initialising branches."""

from __future__ import annotations

from torch import nn

from ..validate import check_bool, check_module


def skip_blocks(model: nn.Module) -> list[nn.Module]:
    """The blocks of ``model`` whose skip connection can be switched: those with a bool ``skip``.

    (Any module with ``skip = True/False`` counts, so a student's own block works too.)
    """
    check_module("model", model)
    return [m for m in model.modules() if isinstance(getattr(m, "skip", None), bool)]


def set_skips(model: nn.Module, enabled: bool) -> int:
    """Turn every skip connection of ``model`` on (``True``) or off; returns how many.

    Off, a residual block computes only its branch F(x) with the same weights: the
    plain network that the residual one was built from. (A course device: ResNet itself
    has no such switch.)
    """
    check_bool("enabled", enabled)
    blocks = skip_blocks(model)
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no switchable skip connection; build it with residual blocks")
    for block in blocks:
        block.skip = enabled
    return len(blocks)


def zero_init_branches(model: nn.Module) -> int:
    """Zero the last scale of every residual branch, so each block starts as (nearly) the identity.

    Calls each residual block's ``zero_init_branch()`` (for post-activation blocks BN's last
    gamma: Goyal et al. 2017, torchvision's ``zero_init_residual``). Returns how many blocks.
    This is what ``zero_init=True`` does in the blocks and stacks of :mod:`resnet_edu.models`.
    """
    blocks = [m for m in skip_blocks(model) if hasattr(m, "zero_init_branch")]
    if not blocks:
        raise ValueError(f"{type(model).__name__} has no residual branch to zero-initialise")
    for block in blocks:
        block.zero_init_branch()
    return len(blocks)


def check_zero_init(zero_init: object, block: str) -> None:
    """Check the ``zero_init`` argument of a stack of ``block`` blocks."""
    check_bool("zero_init", zero_init)
    if zero_init and block == "plain":
        raise ValueError("zero_init needs residual blocks (block='residual' or 'preact')")
