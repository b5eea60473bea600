"""Figures of shattered gradients (Balduzzi et al. 2017): dy/dx over a line of inputs, and how
smooth it stays as depth grows."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..probes.shattered import autocorrelation
from ..validate import check_choice, check_mapping
from .layout import LAYOUTS
from .style import color_for

#: Artist ids, so that :func:`show_depth` finds what it changes.
DYDX, DEPTH_MARKER = "dy/dx", "depth marker"


def _scaled(gradient: torch.Tensor) -> np.ndarray:
    g = gradient.detach().double().numpy()
    return g / (np.abs(g).max() or 1.0)


def _gradient_label(label: str, gradient: torch.Tensor) -> str:
    return f"{label} (autocorrelation {autocorrelation(gradient):.2f})"


def _left_title(depth: int) -> str:
    return f"dy/dx of {depth}-layer networks at initialisation"


def draw_input_gradients(ax: Axes, x: torch.Tensor, gradient: torch.Tensor, label: str, index: int = 0) -> None:
    """dy/dx over the line of inputs for one network, scaled to unit maximum (the shape
    matters here, not the size), with its lag-1 autocorrelation in the legend."""
    if not isinstance(gradient, torch.Tensor) or gradient.dim() != 1 or len(gradient) != len(x):
        raise ValueError("gradient must be a 1-D tensor with one dy/dx per input point (from input_gradients)")
    ax.plot(
        x.detach().flatten().numpy(),
        _scaled(gradient),
        color=color_for(label, index),
        linewidth=1,
        label=_gradient_label(label, gradient),
        gid=DYDX,
    )
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
        # zorder 3: drawn over the curves, the zero line and the frame, as the explorer's partial redraw draws it
        ax.axvline(depth, color="0.5", linewidth=1, gid=DEPTH_MARKER, zorder=3)
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
    check_mapping("gradients", gradients, torch.Tensor, "tensor of dy/dx (from input_gradients)")
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
    lefts[0].set_title(_left_title(depth))
    lefts[-1].set_xlabel(f"input x ({len(x)} evenly spaced points)")
    right = fig.add_subplot(grid[:, 1])
    draw_shattering(right, curves, depth)
    right.set_title("Does dy/dx stay smooth as depth grows?")
    if title:
        fig.suptitle(title, fontweight="bold")
    return fig


def plot_shattered_state(state: Mapping, depth: int, batchnorm: bool, layout: str = "constrained") -> Figure:
    """The figure of :func:`resnet_edu.experiments.shattered_state` at ``depth``."""
    bn = "with BatchNorm" if batchnorm else "without BatchNorm"
    return plot_shattered_gradients(
        state["x"], state["gradients"], state["curves"], depth, title=f"Shattered gradients, {bn}", layout=layout
    )


def _dydx_axes(fig: Figure) -> list[Axes]:
    return [ax for ax in fig.axes if any(line.get_gid() == DYDX for line in ax.lines)]


def show_depth(fig: Figure, gradients: Mapping[str, torch.Tensor], depth: int) -> None:
    """Change a figure of :func:`plot_shattered_gradients` to show ``gradients`` (same labels,
    same inputs) at ``depth``: the dy/dx lines, their legends, the title and the grey depth
    marker. The result looks exactly like a new figure."""
    lefts = _dydx_axes(fig)
    if len(lefts) != len(gradients):
        raise ValueError(f"the figure shows {len(lefts)} networks' dy/dx, got {len(gradients)}")
    for ax, (label, gradient) in zip(lefts, gradients.items()):
        (line,) = [line for line in ax.lines if line.get_gid() == DYDX]
        line.set_ydata(_scaled(gradient))
        line.set_label(_gradient_label(label, gradient))
        ax.get_legend().texts[0].set_text(line.get_label())
    lefts[0].set_title(_left_title(depth))
    for ax in fig.axes:
        for line in ax.lines:
            if line.get_gid() == DEPTH_MARKER:
                line.set_xdata([depth, depth])


def depth_artists(fig: Figure) -> list[Artist]:
    """What :func:`show_depth` changes in a figure of :func:`plot_shattered_gradients`, and
    what it moves: the dy/dx lines, their legends and title, the depth marker and the legend
    next to it (its "best" place depends on the marker). The rest of the figure stays the same."""
    lefts = _dydx_axes(fig)
    artists: list[Artist] = [lefts[0].title]
    for ax in fig.axes:
        marked = [line for line in ax.lines if line.get_gid() in (DYDX, DEPTH_MARKER)]
        artists += marked + ([ax.get_legend()] if marked and ax.get_legend() else [])
    return artists
