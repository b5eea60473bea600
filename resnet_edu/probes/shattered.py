"""Shattered gradients (Balduzzi et al. 2017): how the input gradient of a deep net looks
over a line of inputs.

A network with one input and one output is evaluated on an evenly spaced grid of inputs
(:func:`resnet_edu.data.line_grid`). In a deep plain network the gradient dy/dx jumps from
one grid point to the next like white noise; with skip connections neighbouring points keep
similar gradients. The lag-1 autocorrelation of dy/dx measures this: near 1 for a smooth
gradient, near 0 for white noise.
"""

from __future__ import annotations

import copy
from functools import lru_cache

import torch
from torch import nn

from ..models.mlp import MLP_BLOCKS, MLPStack
from ..seeding import shifted
from ..validate import check_choice, check_int, check_module


def line_network(depth: int, block: str = "plain", batchnorm: bool = True, width: int = 200, seed: int = 0) -> MLPStack:
    """A freshly initialised ReLU :class:`MLPStack` with one input, for the shattered-gradients
    study (width 200, as in Balduzzi et al.'s figures). Built from ``seed``; the global random
    state is left alone."""
    check_int("seed", seed, 0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(shifted(seed))
        return MLPStack(depth, width=width, block=block, batchnorm=batchnorm, in_features=1, num_classes=2)


def input_gradients(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """dy/dx at every point of ``x`` (shape ``(n, 1)``), where y is the model's first output.

    BatchNorm layers normalise with the statistics of the whole grid (one forward pass in
    training mode sets them), then act as fixed affine maps, so each point's gradient is its
    own. Works on a copy: the model is left untouched.
    """
    check_module("model", model)
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != 1:
        raise ValueError("x must be a tensor of shape (n_points, 1); see resnet_edu.data.line_grid")
    probe = copy.deepcopy(model)
    for m in probe.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch, its statistics (variance unbiased, n/(n-1))
    probe.train()
    with torch.no_grad():
        probe(x)
    probe.eval()
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(probe(x)[:, 0].sum(), x)
    return grad[:, 0].detach()


def autocorrelation(values: torch.Tensor, lag: int = 1) -> float:
    """Pearson correlation between ``values[:-lag]`` and ``values[lag:]`` (1: smooth, 0: white noise)."""
    check_int("lag", lag, 1)
    if not isinstance(values, torch.Tensor) or values.dim() != 1 or len(values) <= lag + 1:
        raise ValueError(f"values must be a 1-D tensor longer than lag + 1 = {lag + 1}")
    a, b = values[:-lag].double(), values[lag:].double()
    a, b = a - a.mean(), b - b.mean()
    denominator = (a.norm() * b.norm()).item()
    return 0.0 if denominator == 0 else (a @ b).item() / denominator


def shattering_curve(
    depths: list[int] | tuple[int, ...],
    block: str = "plain",
    batchnorm: bool = True,
    width: int = 200,
    n_points: int = 256,
    seeds: tuple[int, ...] = (0,),
) -> dict[int, float]:
    """``{depth: lag-1 autocorrelation of dy/dx}`` at initialisation, averaged over ``seeds``.

    Cached for the life of the process (a lesson and its widget share the computation).
    """
    check_choice("block", block, MLP_BLOCKS)
    if not depths or not seeds:
        raise ValueError("depths and seeds must hold at least one value each")
    if not isinstance(batchnorm, bool):
        raise TypeError(f"batchnorm must be True or False, got {batchnorm!r}")
    return {d: _autocorrelation_at(d, block, batchnorm, width, n_points, tuple(seeds)) for d in depths}


@lru_cache(maxsize=1024)
def _autocorrelation_at(depth: int, block: str, batchnorm: bool, width: int, n_points: int, seeds: tuple) -> float:
    from ..data import line_grid

    x = line_grid(n_points)
    values = [autocorrelation(input_gradients(line_network(depth, block, batchnorm, width, s), x)) for s in seeds]
    return sum(values) / len(values)
