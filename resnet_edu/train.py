"""One small, deterministic training loop on in-memory tensors, and an evaluation."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .seeding import seeded_generator
from .validate import check_data, check_int, check_module


@dataclass
class History:
    """What :func:`train` measured at every step, on that step's mini-batch."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)

    def final_loss(self, last: int = 10) -> float:
        """Mean training loss over the ``last`` steps (a less noisy end point than one batch)."""
        check_int("last", last, 1)
        if not self.loss:
            raise ValueError("the history is empty: train for at least one step")
        tail = self.loss[-last:]
        return sum(tail) / len(tail)


@dataclass(frozen=True)
class Evaluation:
    """Cross-entropy and accuracy of a model on a whole data set."""

    loss: float
    accuracy: float


def train(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    steps: int = 200,
    batch_size: int = 128,
    lr: float = 0.05,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    seed: int = 0,
    progress: bool = True,
    desc: str | None = None,
) -> History:
    """Train ``model`` in place with SGD (momentum) and cross-entropy; return its history.

    Mini-batches come from a reshuffle of the data every epoch, drawn from a generator
    seeded with ``seed``: the same model weights and the same seed give the same history.
    Every batch is full (the last, smaller batch of an epoch is skipped), so BatchNorm
    never sees a tiny batch. Shows a ``tqdm`` progress bar unless ``progress=False``.
    """
    check_module("model", model)
    check_data(x, y)
    check_int("steps", steps, 1)
    check_int("batch_size", batch_size, 2)  # BatchNorm needs two examples or more
    if batch_size > len(x):
        raise ValueError(f"batch_size ({batch_size}) is larger than the data ({len(x)} examples)")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    generator = seeded_generator(seed)
    history = History()
    order = torch.randperm(len(x), generator=generator)
    position = 0
    model.train()
    for _ in tqdm(range(steps), desc=desc, disable=not progress, leave=False):
        if position + batch_size > len(x):
            order = torch.randperm(len(x), generator=generator)
            position = 0
        batch = order[position : position + batch_size]
        position += batch_size
        logits = model(x[batch])
        loss = F.cross_entropy(logits, y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.loss.append(loss.item())
        history.accuracy.append((logits.argmax(1) == y[batch]).float().mean().item())
    return history


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Evaluation:
    """Cross-entropy and accuracy of ``model`` on all of ``(x, y)``, in eval mode.

    The model's train/eval mode is restored afterwards.
    """
    check_module("model", model)
    check_data(x, y)
    was_training = model.training
    model.eval()
    try:
        logits = model(x)
    finally:
        model.train(was_training)
    return Evaluation(
        loss=F.cross_entropy(logits, y).item(),
        accuracy=(logits.argmax(1) == y).float().mean().item(),
    )
