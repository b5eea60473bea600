"""What ``resnet_edu.train.train`` costs over a bare PyTorch loop (used by run.py).

Both loops train the same model (MLPStack, depth 20, width 64, fresh copies of one
initialisation) on the same digits mini-batches with the same SGD settings, one thread,
progress bar off. The bare loop is the four lines every tutorial writes (forward, loss,
zero_grad, backward, step) over a precomputed list of batches; ``train`` adds its argument
checks, the reshuffling and the per-step history (``loss.item()`` and the accuracy).
Runs alternate (bare, course, bare, course, ...) so machine noise hits both alike.

    python benchmarks/training_overhead.py
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Overhead:
    bare: float  # median seconds, bare PyTorch loop
    course: float  # median seconds, resnet_edu.train.train
    steps: int
    same_result: bool  # both loops end on the same loss: they did the same work

    @property
    def percent(self) -> float:
        return 100.0 * (self.course / self.bare - 1.0)


def _batches(n: int, steps: int, batch_size: int, seed: int) -> list[torch.Tensor]:
    """The mini-batch indices ``train`` draws (the same generator, reshuffled every epoch)."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=generator)
    position, batches = 0, []
    for _ in range(steps):
        if position + batch_size > n:
            order = torch.randperm(n, generator=generator)
            position = 0
        batches.append(order[position : position + batch_size])
        position += batch_size
    return batches


def _bare_loop(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batches: list[torch.Tensor], lr: float, momentum: float
) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    model.train()
    for batch in batches:
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return loss.item()


def training_overhead(repeats: int = 5, steps: int = 200, depth: int = 20, batch_size: int = 128) -> Overhead:
    """Median wall time of both loops over ``repeats`` alternating runs (one torch thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as every lesson (resnet_edu.startup.start)
    try:
        return _measure(repeats, steps, depth, batch_size)
    finally:
        torch.set_num_threads(threads)


def _measure(repeats: int, steps: int, depth: int, batch_size: int) -> Overhead:
    from resnet_edu.data import load_digits
    from resnet_edu.models import MLPStack
    from resnet_edu.train import train

    digits = load_digits(shape="flat")
    x, y = digits.x_train, digits.y_train
    torch.manual_seed(0)
    template = MLPStack(depth=depth, width=64, block="residual")
    lr, momentum, seed = 0.05, 0.9, 0
    batches = _batches(len(x), steps, batch_size, seed)
    bare_times, course_times, same = [], [], True
    for _ in range(repeats):
        model = copy.deepcopy(template)
        t0 = time.perf_counter()
        bare_loss = _bare_loop(model, x, y, batches, lr, momentum)
        bare_times.append(time.perf_counter() - t0)

        model = copy.deepcopy(template)
        t0 = time.perf_counter()
        history = train(
            model, x, y, steps=steps, batch_size=batch_size, lr=lr, momentum=momentum, seed=seed, progress=False
        )
        course_times.append(time.perf_counter() - t0)
        same = same and history.loss[-1] == bare_loss
    return Overhead(statistics.median(bare_times), statistics.median(course_times), steps, same)


if __name__ == "__main__":
    result = training_overhead()
    print(
        f"bare PyTorch loop {result.bare:.2f} s, resnet_edu.train {result.course:.2f} s "
        f"({result.steps} steps): overhead {result.percent:+.1f}%; same final loss: {result.same_result}"
    )
