"""Every random seed of the course goes through here.

A lesson's claims must hold on any machine, not only for the seeds stored in the notebooks.
The robustness harness (``make robustness``) stands in for another machine by shifting every
seed by ``k``: it sets the environment variable ``RESNET_EDU_SEED_SHIFT=k`` before the kernel
starts, and :func:`shifted` adds it to each seed the package or a lesson uses. Unset, seeds
are used as given.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .validate import check_int

#: Environment variable read by :func:`seed_shift` (set by ``benchmarks/robustness.py``).
SEED_SHIFT_VARIABLE = "RESNET_EDU_SEED_SHIFT"


def seed_shift() -> int:
    """The shift added to every seed: ``$RESNET_EDU_SEED_SHIFT``, or 0 when it is unset."""
    value = os.environ.get(SEED_SHIFT_VARIABLE, "0").strip() or "0"
    try:
        shift = int(value)
    except ValueError:
        raise ValueError(f"{SEED_SHIFT_VARIABLE} must be a whole number >= 0, got {value!r}") from None
    return check_int(SEED_SHIFT_VARIABLE, shift, 0)


def shifted(seed: int) -> int:
    """``seed`` plus :func:`seed_shift` (``seed`` must be an int >= 0)."""
    return check_int("seed", seed, 0) + seed_shift()


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and torch's global random generators (with the shift)."""
    seed = shifted(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def seeded_generator(seed: int) -> torch.Generator:
    """A private torch generator seeded with ``seed`` (with the shift); the global state is untouched."""
    return torch.Generator().manual_seed(shifted(seed))
