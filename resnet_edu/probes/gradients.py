"""Per-layer gradient norms, and two summaries of such a profile."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import check_data, check_module
from .untouched import untouched

WEIGHT_LAYERS = (nn.Linear, nn.Conv2d)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The Linear and Conv2d layers of ``model`` with their names, in registration order.

    For the course's models that is input to output, except that a block's projection
    shortcut (``...shortcut.0``) comes right after the layers of its branch.
    """
    check_module("model", model)
    return [(name, m) for name, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)]


def gradient_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """L2 norm of the cross-entropy gradient with respect to each layer's weight.

    One forward and backward pass on the batch ``(x, y)`` in training mode (BatchNorm
    uses batch statistics, as during training); the model is left as it was (its ``.grad``
    fields, modes and BatchNorm running statistics: see :func:`untouched`). Returns
    ``{layer name: norm}`` in the order of :func:`weight_layers`; layers the loss does not
    depend on (a projection shortcut while the skips are off) are left out.

    Norms are computed in float64: a vanishing gradient's entries can be float32 subnormals
    (about 1e-43) whose float32 norm would underflow to exactly 0.0.
    """
    layers = weight_layers(model)
    check_data(x, y)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no Linear or Conv2d layer to probe")
    names = [name for name, _ in layers]
    weights = [layer.weight for _, layer in layers]
    with untouched(model):
        loss = F.cross_entropy(model.train()(x), y)
        grads = torch.autograd.grad(loss, weights, allow_unused=True)
    return {name: g.double().norm().item() for name, g in zip(names, grads) if g is not None}


def _values(norms: object) -> list[float]:
    if not isinstance(norms, Mapping) or len(norms) < 2:
        raise ValueError("norms must be a {layer name: gradient norm} mapping with at least two layers")
    return [float(v) for v in norms.values()]


def first_to_last(norms: Mapping[str, float]) -> float:
    """First layer's gradient norm divided by the last layer's (``norms`` from :func:`gradient_norms`).

    Below 1 the gradient shrinks toward the input (vanishing: 0.0 if it underflowed),
    above 1 it grows toward the input (exploding).
    """
    values = _values(norms)
    if values[-1] == 0:
        raise ValueError("the last layer's gradient norm is 0, so the ratio is undefined")
    return values[0] / values[-1]


def spread(norms: Mapping[str, float]) -> float:
    """Largest over smallest per-layer gradient norm (``inf`` if some layer's norm is 0)."""
    values = _values(norms)
    smallest = min(values)
    return float("inf") if smallest == 0 else max(values) / smallest
