"""Figures of lesson 07 (why residual networks work): block lesions (Veit et al. 2016),
shattered gradients (Balduzzi et al. 2017) and loss-surface slices (Li et al. 2018)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib import colors
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..probes.landscape import LossSurface
from ..probes.lesion import LesionResult
from ..validate import check_choice
from .layout import LAYOUTS, new_figure
from .style import color_for
from .training import draw_chance_line

#: Test accuracy of a uniform guess over the 10 digit classes.
CHANCE_ACCURACY = 0.1
CHANCE_TEXT = "chance (1 in 10)"


def _check_mapping(name: str, value: object, kind: type, what: str) -> Mapping:
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{name} must be a non-empty mapping {{label: {what}}}")
    for label, item in value.items():
        if not isinstance(item, kind):
            raise TypeError(f"{name}[{label!r}] must be a {what}, got {type(item).__name__}")
    return value


def _accuracy_axis(ax: Axes) -> None:
    """Accuracy from 0 to 1, with an empty band on top for the legend."""
    ax.set_ylim(0, 1.38)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=8, loc="upper center", ncol=2, framealpha=0.9)


def draw_accuracy_chance_line(ax: Axes) -> None:
    """The chance accuracy (10%) as :func:`draw_chance_line`, its text on a white patch so it
    stays readable over bars."""
    draw_chance_line(ax, CHANCE_ACCURACY, CHANCE_TEXT)
    ax.texts[-1].set_bbox({"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    ax.texts[-1].set_zorder(5)


def draw_lesions(ax: Axes, results: Mapping[str, LesionResult], deleted: Sequence[int] = ()) -> None:
    """Test accuracy after deleting each single block, as grouped bars, on ``ax``.

    Dashed lines: each model's accuracy with no block deleted; dotted: chance (10%).
    Downsampling blocks (if any) are marked "↓" under their number, and the x label says
    so; blocks in ``deleted`` get a black edge.
    """
    _check_mapping("results", results, LesionResult, "LesionResult (from lesion_study)")
    n = max(len(r.accuracies) for r in results.values())
    width = 0.8 / len(results)
    for k, (label, r) in enumerate(results.items()):
        color = color_for(label, k)
        xs = np.arange(len(r.accuracies)) + (k - (len(results) - 1) / 2) * width
        edges = ["black" if i in deleted else color for i in range(len(r.accuracies))]
        ax.bar(xs, r.accuracies, width, color=color, edgecolor=edges, linewidth=1.5, label=f"{label}: one block deleted")
        ax.axhline(r.baseline, color=color, linestyle="--", linewidth=1.2,
                   label=f"{label}: nothing deleted ({100 * r.baseline:.0f}%)")
    draw_accuracy_chance_line(ax)
    down = {i for r in results.values() for i, changes in enumerate(r.changes_shape) if changes}
    ticks = [f"{i + 1}\n↓" if i in down else str(i + 1) for i in range(n)]
    ax.set_xticks(range(n), ticks)
    _accuracy_axis(ax)
    ax.set_xlabel("deleted block (1 = next to the input" + ("; ↓ = downsampling block)" if down else ")"))


def plot_lesions(results: Mapping[str, LesionResult], title: str = "Deleting one block at a time",
                 figsize: tuple[float, float] = (7.5, 4.2)) -> Figure:
    """Bar chart of :func:`draw_lesions` in its own figure."""
    fig, (ax,) = new_figure(figsize, 1)
    draw_lesions(ax, results)
    ax.set_title(title)
    return fig


def draw_input_gradients(ax: Axes, x: torch.Tensor, gradient: torch.Tensor, label: str, index: int = 0) -> None:
    """dy/dx over the line of inputs for one network, scaled to unit maximum (the shape
    matters here, not the size), with its lag-1 autocorrelation in the legend."""
    from ..probes.shattered import autocorrelation

    if not isinstance(gradient, torch.Tensor) or gradient.dim() != 1 or len(gradient) != len(x):
        raise ValueError("gradient must be a 1-D tensor with one dy/dx per input point (from input_gradients)")
    xs = x.detach().flatten().numpy()
    g = gradient.detach().double().numpy()
    scale = np.abs(g).max() or 1.0
    ax.plot(xs, g / scale, color=color_for(label, index), linewidth=1,
            label=f"{label} (autocorrelation {autocorrelation(gradient):.2f})")
    ax.set_ylim(-1.15, 1.6)
    ax.set_yticks([-1, 0, 1])
    ax.set_ylabel("dy/dx (scaled)")
    ax.legend(fontsize=8, loc="upper left")


def draw_shattering(ax: Axes, curves: Mapping[str, Mapping[int, float]], depth: int | None = None) -> None:
    """Lag-1 autocorrelation of dy/dx against depth, one line per label; a grey line marks ``depth``."""
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty mapping {label: {depth: autocorrelation}}")
    for i, (label, curve) in enumerate(curves.items()):
        depths = sorted(curve)
        ax.plot(depths, [curve[d] for d in depths], "o-", color=color_for(label, i), label=label, markersize=4)
    if depth is not None:
        ax.axvline(depth, color="0.5", linewidth=1)
    ax.axhline(0, color="0.4", linestyle=":", linewidth=1)
    ax.set_ylim(-0.2, 1.05)
    ax.set_xlabel("depth (number of weight layers)")
    ax.set_ylabel("autocorrelation of dy/dx\n(neighbouring inputs; 0 = white noise)")
    ax.legend(fontsize=8)


def plot_shattered_gradients(
    x: torch.Tensor,
    gradients: Mapping[str, torch.Tensor],
    curves: Mapping[str, Mapping[int, float]],
    depth: int,
    title: str | None = None,
    layout: str = "constrained",
) -> Figure:
    """Left: dy/dx over the inputs at one depth, one panel per network. Right: how smooth
    dy/dx stays as depth grows (lag-1 autocorrelation against depth)."""
    _check_mapping("gradients", gradients, torch.Tensor, "tensor of dy/dx (from input_gradients)")
    check_choice("layout", layout, LAYOUTS)
    n = len(gradients)
    fig = Figure(figsize=(11.0, 4.4), layout="constrained" if layout == "constrained" else None)
    if layout == "fixed":
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.86, wspace=0.28, hspace=0.12)
    grid = fig.add_gridspec(n, 2)
    lefts = [fig.add_subplot(grid[i, 0]) for i in range(n)]
    for i, (ax, (label, g)) in enumerate(zip(lefts, gradients.items())):
        draw_input_gradients(ax, x, g, label, i)
        if i < n - 1:
            ax.tick_params(labelbottom=False)
    lefts[0].set_title(f"dy/dx of {depth}-layer networks at initialisation")
    lefts[-1].set_xlabel(f"input x ({len(x)} evenly spaced points)")
    right = fig.add_subplot(grid[:, 1])
    draw_shattering(right, curves, depth)
    right.set_title("Does dy/dx stay smooth as depth grows?")
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


def plot_loss_surfaces(
    surfaces: Mapping[str, LossSurface],
    title: str = "Loss around the trained weights (filter-normalised directions)",
    ncols: int | None = None,
) -> Figure:
    """Contour maps of loss surfaces on one shared logarithmic colour scale, the trained
    weights marked with a cross at the centre of each map."""
    _check_mapping("surfaces", surfaces, LossSurface, "LossSurface (from loss_surface)")
    n = len(surfaces)
    ncols = ncols or n
    nrows = -(-n // ncols)
    fig = Figure(figsize=(3.6 * ncols + 1.0, 3.4 * nrows + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    low = max(min(float(s.losses.min()) for s in surfaces.values()), 1e-4)
    high = max(float(s.losses.max()) for s in surfaces.values())
    high = min(max(high, low * 10), 1e4)  # beyond 10^4 it is all the same colour
    levels = np.logspace(np.log10(low), np.log10(high), 16)
    norm = colors.LogNorm(low, high)
    mappable = None
    for ax, (label, s) in zip(axes, surfaces.items()):
        clipped = np.clip(s.losses, low, high)
        mappable = ax.contourf(s.alphas, s.betas, clipped, levels=levels, norm=norm, cmap="viridis")
        ax.contour(s.alphas, s.betas, clipped, levels=levels, colors="white", linewidths=0.4, alpha=0.6)
        ax.plot([0], [0], "x", color="white", markersize=8, mew=2)
        ax.set_title(label, color=color_for(label))
        ax.set_xlabel("step along direction 1")
        ax.set_ylabel("step along direction 2")
        ax.set_aspect("equal")
        ax.grid(False)
    for ax in axes[n:]:
        ax.axis("off")
    decades = 10.0 ** np.arange(np.ceil(np.log10(low)), np.floor(np.log10(high)) + 1)
    cbar = fig.colorbar(mappable, ax=axes.tolist(), shrink=0.9, ticks=decades)
    cbar.ax.set_yticklabels([f"{t:g}" for t in decades])
    cbar.set_label("training loss (log scale; values above the top are clipped)")
    fig.suptitle(title)
    return fig
