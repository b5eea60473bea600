"""The course's small experiments: models built from a seed, trained or probed, cached.

This layer sits on top of the others (``data``, ``models``, ``train``, ``probes``): each
function builds its model from a seed (:func:`fresh_mlp`, leaving the caller's random state
alone), runs a probe or a training loop on it and returns numbers. Results are cached for
the life of the Python process (a notebook kernel) by :func:`cached`, the one caching
mechanism of the package: a lesson and its widget share one computation.
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from .data import Split, line_grid, load_digits
from .models import MLPStack, set_skips
from .models.mlp import MLP_BLOCKS, check_mlp_depth
from .probes import autocorrelation, gradient_norms, input_gradients
from .seeding import shifted
from .train import History, train
from .validate import check_bool, check_choice, check_int

#: Depths of the degradation sweep (lessons 03-04): 1 stem + 2 per block + 1 head.
SWEEP_DEPTHS = (4, 10, 20, 56)


def cached(function: Callable) -> Callable:
    """Remember ``function``'s results for the life of the process, keyed by its arguments
    (defaults filled in, so ``f(4)`` and ``f(depth=4)`` are one entry). Each call returns a
    deep copy: changing a result cannot corrupt the cache. ``function.is_cached(...)`` says
    whether a call with these arguments would be free."""
    signature = inspect.signature(function)
    results: dict = {}

    def key(args: tuple, kwargs: dict) -> tuple:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return tuple((name, type(value), value) for name, value in bound.arguments.items())  # True is not 1

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        k = key(args, kwargs)
        if k not in results:
            results[k] = function(*args, **kwargs)
        return copy.deepcopy(results[k])

    wrapper.is_cached = lambda *args, **kwargs: key(args, kwargs) in results  # type: ignore[attr-defined]
    return wrapper


@cached
def digits() -> Split:
    """The flat digits with the course's split (the data of every MLP experiment)."""
    return load_digits(shape="flat")


def fresh_mlp(seed: int = 0, **settings: object) -> MLPStack:
    """``MLPStack(**settings)`` initialised from ``seed``; the global random state is left alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(shifted(seed))
        return MLPStack(**settings)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- gradient flow


@cached
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

    What it does, in full::

        model = MLPStack(depth, width, block, activation, batchnorm, init)   # built from seed
        x, y = first batch_size training digits
        return gradient_norms(model, x, y)   # {layer name: norm of d loss / d weight}

    Returns ``{layer name: norm}`` from input to output. Takes 10-50 ms at depth 50.
    """
    check_int("batch_size", batch_size, 2)
    model = fresh_mlp(
        seed, depth=depth, width=width, block=block, activation=activation, batchnorm=batchnorm, init=init
    )
    data = digits()
    return gradient_norms(model, data.x_train[:batch_size], data.y_train[:batch_size])


# ----------------------------------------------------------------------------- training runs


@cached
def training_run(
    depth: int,
    block: str = "plain",
    seed: int = 0,
    steps: int = 200,
    zero_init: bool | None = None,
    width: int = 64,
    lr: float = 0.05,
) -> History:
    """Train one ReLU + BatchNorm MLP stack on the digits; return its :class:`History`.

    The settings of the degradation experiment of lessons 03-04: width 64, SGD with
    momentum 0.9, batch 128, learning rate 0.05, 200 steps. ``zero_init`` defaults to True
    for residual stacks (each block starts as the identity, Goyal et al. 2017) and must be
    False (or None) for plain ones. Cached: the second call is free.
    """
    if zero_init is None:
        zero_init = block != "plain"
    model = fresh_mlp(seed, depth=depth, width=width, block=block, zero_init=zero_init)
    data = digits()
    return train(model, data.x_train, data.y_train, steps=steps, lr=lr, seed=seed, progress=False)


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
    for depth in depths:  # all checked before the first (slow) run starts
        check_mlp_depth(depth)
    for block in blocks:
        check_choice("block", block, MLP_BLOCKS)
    from tqdm.auto import tqdm

    jobs = [(b, d, s) for b in blocks for d in depths for s in seeds]
    histories: dict[str, dict[int, list[History]]] = {b: {d: [] for d in depths} for b in blocks}
    for block, depth, seed in tqdm(jobs, desc="depth sweep", disable=not progress, leave=False):
        histories[block][depth].append(training_run(depth, block, seed=seed, steps=steps))
    return DepthSweep(histories)


# ----------------------------------------------------------------------------- skips on and off


@dataclass(frozen=True)
class SkipState:
    """What one state (skips on or off) of a residual model gives: gradients and training."""

    skips: bool
    gradient_norms: dict[str, float]
    history: History


def skip_state(model: nn.Module, skips: bool, data: Split, steps: int = 200, seed: int = 0) -> SkipState:
    """One state of lesson 04's experiment, on a copy of ``model``: switch its skips on or off,
    measure the per-layer gradient norms (first 256 training examples), then train it."""
    model = copy.deepcopy(model)  # the same initial weights in both states
    set_skips(model, skips)
    norms = gradient_norms(model, data.x_train[:256], data.y_train[:256])
    history = train(model, data.x_train, data.y_train, steps=steps, seed=seed, progress=False)
    return SkipState(skips, norms, history)


@cached
def skip_states(depth: int = 32, steps: int = 200, seed: int = 0) -> dict[bool, SkipState]:
    """One initialised residual MLP stack (ReLU, BatchNorm, PyTorch's default init) with its
    skip connections on and off: per-layer gradient norms at initialisation and a training run
    from the same initial weights. Returns ``{True: skips on, False: skips off}``; cached.
    """
    check_mlp_depth(depth)
    if depth < 4:
        raise ValueError(f"depth must be >= 4 so the stack has at least one block, got {depth}")
    model = fresh_mlp(seed, depth=depth, block="residual")
    return {skips: skip_state(model, skips, digits(), steps, seed) for skips in (True, False)}


# ----------------------------------------------------------------------------- shattered gradients

#: Depths of the autocorrelation curve of the shattered-gradients figure.
CURVE_DEPTHS = (2, 4, 8, 16, 24, 32, 50)
#: The curve averages these initialisations (one network's curve wobbles); lesson 07 uses the same.
CURVE_SEEDS = (0, 1, 2)
SHATTERED_BLOCKS = ("plain", "residual")


def line_network(depth: int, block: str = "plain", batchnorm: bool = True, width: int = 200, seed: int = 0) -> MLPStack:
    """A freshly initialised ReLU :class:`MLPStack` with one input, for the shattered-gradients
    study (width 200, as in Balduzzi et al.'s figures). Built from ``seed``; the global random
    state is left alone."""
    return fresh_mlp(seed, depth=depth, width=width, block=block, batchnorm=batchnorm, in_features=1, num_classes=2)


@cached
def _line_gradient(depth: int, block: str, batchnorm: bool, width: int, n_points: int, seed: int) -> torch.Tensor:
    """dy/dx of :func:`line_network` over :func:`line_grid` (the curves and the explorer share these)."""
    return input_gradients(line_network(depth, block, batchnorm, width, seed), line_grid(n_points))


@cached
def _autocorrelation_at(depth: int, block: str, batchnorm: bool, width: int, n_points: int, seeds: tuple) -> float:
    values = [autocorrelation(_line_gradient(depth, block, batchnorm, width, n_points, s)) for s in seeds]
    return sum(values) / len(values)


def shattering_curve(
    depths: Iterable[int],
    block: str = "plain",
    batchnorm: bool = True,
    width: int = 200,
    n_points: int = 256,
    seeds: Iterable[int] = (0,),
) -> dict[int, float]:
    """``{depth: lag-1 autocorrelation of dy/dx}`` at initialisation, averaged over ``seeds``.

    Cached for the life of the process (a lesson and its widget share the computation).
    """
    depths, seeds = tuple(depths), tuple(seeds)
    check_choice("block", block, MLP_BLOCKS)
    check_bool("batchnorm", batchnorm)
    if not depths or not seeds:
        raise ValueError("depths and seeds must hold at least one value each")
    return {d: _autocorrelation_at(d, block, batchnorm, width, n_points, seeds) for d in depths}


@cached
def shattered_state(depth: int, batchnorm: bool = True, width: int = 200, n_points: int = 256) -> dict:
    """What the shattered-gradients explorer shows: ``{"x", "gradients": {label: dy/dx},
    "curves": {label: {depth: autocorrelation}}}`` for plain and residual ReLU networks at
    initialisation (dy/dx of one network each; the curves average :data:`CURVE_SEEDS`)."""
    check_mlp_depth(depth)
    check_bool("batchnorm", batchnorm)
    x = line_grid(n_points)
    gradients = {
        f"{b}, {depth} layers": _line_gradient(depth, b, batchnorm, width, n_points, 0) for b in SHATTERED_BLOCKS
    }
    curves = {
        f"{b}{'' if batchnorm else ', no BN'}": shattering_curve(CURVE_DEPTHS, b, batchnorm, width, seeds=CURVE_SEEDS)
        for b in SHATTERED_BLOCKS
    }
    return {"x": x, "gradients": gradients, "curves": curves}
