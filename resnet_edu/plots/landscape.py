"""Figures of loss-surface slices (Li et al. 2018): contour maps around the trained weights."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib import colors
from matplotlib.figure import Figure

from ..probes.landscape import LossSurface
from ..validate import check_mapping
from .style import color_for


def plot_loss_surfaces(
    surfaces: Mapping[str, LossSurface],
    title: str = "Loss around the trained weights (filter-normalised directions)",
    ncols: int | None = None,
) -> Figure:
    """Contour maps of loss surfaces on one shared logarithmic colour scale, the trained
    weights marked with a cross at the centre of each map."""
    check_mapping("surfaces", surfaces, LossSurface, "LossSurface (from loss_surface)")
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
