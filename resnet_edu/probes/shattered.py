"""Shattered gradients (Balduzzi et al. 2017): how the input gradient of a deep net looks
over a line of inputs.

A network with one input and one output is evaluated on an evenly spaced grid of inputs
(:func:`resnet_edu.data.line_grid`). In a deep plain network the gradient dy/dx jumps from
one grid point to the next like white noise; with skip connections neighbouring points keep
similar gradients. The lag-1 autocorrelation of dy/dx measures this: near 1 for a smooth
gradient, near 0 for white noise. The experiment itself (networks built from seeds, the
curve over depths) is in :mod:`resnet_edu.experiments`.
"""

from __future__ import annotations

import torch
from torch import nn

from ..validate import check_int, check_module
from .untouched import untouched


def input_gradients(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """dy/dx at every point of ``x`` (shape ``(n, 1)``), where y is the model's first output.

    BatchNorm layers normalise with the statistics of the whole grid (one forward pass in
    training mode sets them), then act as fixed affine maps, so each point's gradient is its
    own. The model is left as it was (see :func:`untouched`).
    """
    check_module("model", model)
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != 1:
        raise ValueError("x must be a tensor of shape (n_points, 1); see resnet_edu.data.line_grid")
    with untouched(model):
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.reset_running_stats()
                m.momentum = None  # cumulative average: after one batch, its statistics (variance unbiased, n/(n-1))
        model.train()
        with torch.no_grad():
            model(x)
        model.eval()
        x = x.detach().clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x)[:, 0].sum(), x)
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
