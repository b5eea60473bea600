"""Loss-landscape slices with filter-normalised directions (Li et al. 2018).

A trained network's loss is evaluated on a plane through its weights:
``L(theta + a * d1 + b * d2)`` over a grid of ``(a, b)``. The random directions d1, d2 are
*filter normalised*: each filter (an output channel of a conv, an output row of a Linear)
of a direction is rescaled to the norm of the same filter in the weights, so that the
picture does not depend on how the weights happen to be scaled (BatchNorm makes many
scalings equivalent). Biases and BatchNorm parameters are left out of the directions, as
in Li et al.'s code.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..seeding import seeded_generator
from ..validate import check_data, check_int, check_module


def filter_normalized_direction(model: nn.Module, seed: int = 0) -> list[torch.Tensor]:
    """A random direction in weight space, one tensor per parameter of ``model``.

    Weights of dimension >= 2 get Gaussian noise with each filter rescaled to the norm of
    the weight's filter; 1-D parameters (biases, BatchNorm scales and shifts) get zeros.
    Drawn from its own generator seeded with ``seed``.
    """
    check_module("model", model)
    check_int("seed", seed, 0)
    generator = seeded_generator(seed)
    direction = []
    for p in model.parameters():
        if p.dim() <= 1:
            direction.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype)
        d_norms = d.flatten(1).norm(dim=1).clamp_min(1e-12)
        p_norms = p.detach().flatten(1).norm(dim=1)
        direction.append(d * (p_norms / d_norms).view(-1, *[1] * (p.dim() - 1)))
    return direction


@dataclass(frozen=True)
class LossSurface:
    """Loss on a grid: ``losses[i, j]`` at ``theta + alphas[j] * d1 + betas[i] * d2``."""

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray

    @property
    def center_loss(self) -> float:
        """The loss at the trained weights (the grid's centre; the grid has an odd size)."""
        i = len(self.betas) // 2
        return float(self.losses[i, len(self.alphas) // 2])


@torch.no_grad()
def loss_surface(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int = 21,
    span: float = 1.0,
    seed: int = 0,
) -> LossSurface:
    """Cross-entropy on a ``steps x steps`` grid over ``[-span, span]^2`` around the weights.

    The two directions come from :func:`filter_normalized_direction` with seeds ``seed``
    and ``seed + 1``. The model is evaluated in eval mode (BatchNorm with its running
    statistics), on a copy: the model is left untouched. ``steps`` must be odd, so the
    trained weights sit on the centre of the grid. Cost: ``steps**2`` forward passes.
    """
    check_module("model", model)
    check_data(x, y)
    check_int("steps", steps, 3)
    if steps % 2 == 0:
        raise ValueError(f"steps must be odd (the trained weights are the grid's centre), got {steps}")
    if not span > 0:
        raise ValueError(f"span must be > 0, got {span}")
    probe = copy.deepcopy(model).eval()
    params = list(probe.parameters())
    origin = [p.detach().clone() for p in params]
    d1 = filter_normalized_direction(probe, seed)
    d2 = filter_normalized_direction(probe, seed + 1)
    alphas = np.linspace(-span, span, steps)
    losses = np.zeros((steps, steps))
    for i, b in enumerate(alphas):
        for j, a in enumerate(alphas):
            for p, p0, u, v in zip(params, origin, d1, d2):
                p.copy_(p0 + float(a) * u + float(b) * v)
            losses[i, j] = F.cross_entropy(probe(x), y).item()
    return LossSurface(alphas, alphas.copy(), losses)
