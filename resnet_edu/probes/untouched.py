"""Probing a model in place, then putting it back as it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def untouched(model: nn.Module) -> Iterator[nn.Module]:
    """Inside ``with untouched(model):`` a probe may switch ``model`` between training and
    eval mode and run forward passes that update BatchNorm statistics (or set their
    ``momentum``); on leaving, every module's mode, every buffer and every BatchNorm
    momentum are put back. Faster than probing a deep copy of a deep network, and the
    parameters are never touched: probes take gradients with ``torch.autograd.grad``,
    which leaves ``.grad`` alone.
    """
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.clone()) for b in model.buffers()]
    momenta = [(m, m.momentum) for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training
        for buffer, saved in buffers:
            buffer.copy_(saved)
        for m, momentum in momenta:
            m.momentum = momentum
