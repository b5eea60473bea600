"""The course's small experiments as pure, cached functions.

Each function builds its model from a seed inside :func:`torch.random.fork_rng`, so it
leaves the caller's random state alone and returns the same numbers every time. Results
are cached for the life of the Python process (a notebook kernel): a lesson that runs a
depth sweep and a widget that shows it share one computation. The functions return fresh
copies, so changing a result cannot corrupt the cache.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import torch

from .data import Split, load_digits
from .models import MLPStack, set_skips
from .models.mlp import ACTIVATIONS, INITS, MLP_BLOCKS, check_mlp_depth
from .probes import gradient_norms
from .train import History, train
from .seeding import shifted
from .validate import check_choice, check_int

#: Depths of the degradation sweep (design section 5): 1 stem + 2 per block + 1 head.
SWEEP_DEPTHS = (4, 10, 20, 56)


@lru_cache(maxsize=2)
def _digits(n_train: int = 1200) -> Split:
    return load_digits(shape="flat", n_train=n_train)



# ----------------------------------------------------------------------------- gradient flow


@lru_cache(maxsize=512)
def _gradient_profile(
    depth: int, activation: str, init: str, batchnorm: bool, block: str, width: int, batch_size: int, seed: int
) -> tuple[tuple[str, float], ...]:
    digits = _digits()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(shifted(seed))
        model = MLPStack(depth, width=width, block=block, activation=activation, batchnorm=batchnorm, init=init)
    norms = gradient_norms(model, digits.x_train[:batch_size], digits.y_train[:batch_size])
    return tuple(norms.items())


def gradient_profile(
    depth: int = 50,
    activation: str = "relu",
    init: str = "default",
    batchnorm: bool = True,
    block: str = "plain",
    width: int = 64,
    batch_size: int = 256,
    seed: int = 0,
) -> dict[str, float]:
    """Per-layer gradient norms of a freshly initialised :class:`~resnet_edu.models.MLPStack`.

    The model is built from ``seed``; the gradient of the cross-entropy is taken on the
    first ``batch_size`` training digits (see :func:`resnet_edu.probes.gradient_norms`).
    Returns ``{layer name: norm}`` from input to output. Takes 10-50 ms at depth 50.
    """
    check_mlp_depth(depth)
    check_choice("activation", activation, ACTIVATIONS)
    check_choice("init", init, INITS)
    check_choice("block", block, MLP_BLOCKS)
    if not isinstance(batchnorm, bool):
        raise TypeError(f"batchnorm must be True or False, got {batchnorm!r}")
    check_int("width", width, 1)
    check_int("batch_size", batch_size, 2)
    check_int("seed", seed, 0)
    return dict(_gradient_profile(depth, activation, init, batchnorm, block, width, batch_size, seed))


# ----------------------------------------------------------------------------- training runs


#: Training runs of this process, keyed by their arguments (a plain dict, so a widget can
#: ask whether a run is ready before it starts a slow one).
_RUNS: dict[tuple, History] = {}


def _run_key(depth: int, block: str, seed: int, steps: int, zero_init_residual: bool | None, width: int, lr: float) -> tuple:
    if zero_init_residual is None:
        zero_init_residual = block != "plain"
    return (depth, block, seed, steps, zero_init_residual, width, float(lr))


def training_run(
    depth: int,
    block: str = "plain",
    seed: int = 0,
    steps: int = 200,
    zero_init_residual: bool | None = None,
    width: int = 64,
    lr: float = 0.05,
) -> History:
    """Train one ReLU + BatchNorm MLP stack on the digits; return its :class:`History`.

    The settings of the degradation experiment (design section 5): width 64, SGD with
    momentum 0.9, batch 128, learning rate 0.05, 200 steps. ``zero_init_residual``
    defaults to True for residual stacks (each block starts as the identity, Goyal et al.
    2017) and must be False (or None) for plain ones. Cached: the second call is free.
    """
    check_mlp_depth(depth)
    check_choice("block", block, MLP_BLOCKS)
    check_int("seed", seed, 0)
    check_int("steps", steps, 1)
    check_int("width", width, 1)
    if zero_init_residual is not None and not isinstance(zero_init_residual, bool):
        raise TypeError(f"zero_init_residual must be True, False or None, got {zero_init_residual!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    key = _run_key(depth, block, seed, steps, zero_init_residual, width, lr)
    if key not in _RUNS:
        digits = _digits()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(shifted(seed))
            model = MLPStack(depth, width=width, block=block, zero_init_residual=key[4])
        _RUNS[key] = train(model, digits.x_train, digits.y_train, steps=steps, lr=lr, seed=seed, progress=False)
    return copy.deepcopy(_RUNS[key])


def is_cached(
    depth: int, block: str = "plain", seed: int = 0, steps: int = 200,
    zero_init_residual: bool | None = None, width: int = 64, lr: float = 0.05,
) -> bool:
    """Whether :func:`training_run` with these arguments has run in this process already."""
    return _run_key(depth, block, seed, steps, zero_init_residual, width, lr) in _RUNS


@dataclass(frozen=True)
class DepthSweep:
    """Training histories of a depth sweep: ``histories[block][depth]`` is a list over seeds."""

    histories: dict[str, dict[int, list[History]]]

    def final_losses(self) -> dict[str, dict[int, list[float]]]:
        """``{block: {depth: [final training loss per seed]}}`` (mean of the last 10 steps)."""
        return {
            block: {depth: [h.final_loss() for h in runs] for depth, runs in by_depth.items()}
            for block, by_depth in self.histories.items()
        }

    def mean_final_loss(self, block: str, depth: int) -> float:
        """The final training loss of ``block`` stacks of ``depth`` layers, averaged over seeds."""
        losses = self.final_losses()[block][depth]
        return sum(losses) / len(losses)


def depth_sweep(
    depths: Iterable[int] = SWEEP_DEPTHS,
    blocks: Iterable[str] = ("plain", "residual"),
    seeds: Iterable[int] = (0,),
    steps: int = 200,
    progress: bool = True,
) -> DepthSweep:
    """Train every (block, depth, seed) with :func:`training_run`; cached runs cost nothing.

    A full sweep over 4 depths, 2 block types and one seed takes about 10 s on one CPU
    thread (a 56-layer run about 2.5 s). Shows one progress bar over the runs.
    """
    depths, blocks, seeds = tuple(depths), tuple(blocks), tuple(seeds)
    if not depths or not blocks or not seeds:
        raise ValueError("depths, blocks and seeds must each hold at least one value")
    for depth in depths:
        check_mlp_depth(depth)
    for block in blocks:
        check_choice("block", block, MLP_BLOCKS)
    from tqdm.auto import tqdm

    jobs = [(b, d, s) for b in blocks for d in depths for s in seeds]
    histories: dict[str, dict[int, list[History]]] = {b: {d: [] for d in depths} for b in blocks}
    for block, depth, seed in tqdm(jobs, desc="depth sweep", disable=not progress, leave=False):
        histories[block][depth].append(training_run(depth, block, seed=seed, steps=steps))
    return DepthSweep(histories)


# ----------------------------------------------------------------------------- skip toggle


@dataclass(frozen=True)
class SkipState:
    """What one state (skips on or off) of a residual model gives: gradients and training."""

    skips: bool
    gradient_norms: dict[str, float]
    history: History


@lru_cache(maxsize=16)
def _skip_states(depth: int, steps: int, seed: int) -> tuple[SkipState, SkipState]:
    digits = _digits()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(shifted(seed))
        model = MLPStack(depth, block="residual")
    states = []
    for skips in (True, False):
        copy_ = copy.deepcopy(model)  # the same initial weights in both states
        set_skips(copy_, skips)
        norms = gradient_norms(copy_, digits.x_train[:256], digits.y_train[:256])
        history = train(copy_, digits.x_train, digits.y_train, steps=steps, seed=seed, progress=False)
        states.append(SkipState(skips, norms, history))
    return states[0], states[1]


def skip_states(depth: int = 32, steps: int = 200, seed: int = 0) -> dict[bool, SkipState]:
    """One initialised residual MLP stack (ReLU, BatchNorm, PyTorch's default init) with its
    skip connections on and off: per-layer gradient norms at initialisation and a training run
    from the same initial weights. Returns ``{True: skips on, False: skips off}``; cached.
    """
    check_mlp_depth(depth)
    if depth < 4:
        raise ValueError(f"depth must be >= 4 so the stack has at least one block, got {depth}")
    check_int("steps", steps, 1)
    check_int("seed", seed, 0)
    on, off = _skip_states(depth, steps, seed)
    return {True: copy.deepcopy(on), False: copy.deepcopy(off)}
