"""Figures of depth sweeps: final training loss against depth, and the curves behind it
(in the spirit of He et al. 2015, Figure 1; here deeper nets get thicker, more solid lines)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..train import History
from .layout import new_figure
from .style import color_for, log_y
from .training import draw_accuracy_chance_line, draw_chance_line, draw_loss_curves

#: Dash patterns of the training curves, for the deepest net first (solid) and then ever
#: shallower ones, so that curves of one colour stay apart even at similar line widths.
DEPTH_DASHES = ("-", (0, (6, 2)), (0, (3, 1.5)), (0, (4, 1.5, 1, 1.5)), (0, (1, 1.5)), (0, (1, 3)))


def _check_losses(final_losses: object) -> Mapping[str, Mapping[int, Sequence[float]]]:
    if not isinstance(final_losses, Mapping) or not final_losses:
        raise ValueError("final_losses must be a non-empty mapping {block: {depth: [loss per seed]}}")
    for block, by_depth in final_losses.items():
        if not isinstance(by_depth, Mapping) or not by_depth:
            raise ValueError(f"final_losses[{block!r}] must be a non-empty {{depth: [loss per seed]}} mapping")
        for depth, losses in by_depth.items():
            if isinstance(losses, (int, float)) or not len(losses):
                raise ValueError(
                    f"final_losses[{block!r}][{depth!r}] must be a non-empty list of losses (one per seed)"
                )
    return final_losses


def _draw_vs_depth(
    ax: Axes, values: Mapping[str, Mapping[int, Sequence[float]]], colors: Mapping[str, str] | None
) -> None:
    _check_losses(values)
    for i, (block, by_depth) in enumerate(values.items()):
        depths = sorted(by_depth)
        color = (colors or {}).get(block) or color_for(block, i)
        means = [float(np.mean(by_depth[d])) for d in depths]
        ax.plot(depths, means, "-", color=color, label=block, linewidth=2)
        for d in depths:
            ax.plot([d] * len(by_depth[d]), by_depth[d], "o", color=color, markersize=4, alpha=0.6)
    ax.set_xlabel("depth (number of weight layers)")


def draw_loss_vs_depth(
    ax: Axes, final_losses: Mapping[str, Mapping[int, Sequence[float]]], colors: Mapping[str, str] | None = None
) -> None:
    """Final training loss against depth on ``ax``: one line per block type through the seed means,
    a dot per seed, and a dotted line at chance (ln 10), named in the legend. ``colors`` overrides the course's
    colour of a block type (``{block: colour}``)."""
    _draw_vs_depth(ax, final_losses, colors)
    draw_chance_line(ax)
    log_y(ax)
    ax.set_ylabel("final training loss (last 10 steps)")
    ax.legend(fontsize=8)


def plot_accuracy_vs_depth(
    accuracies: Mapping[str, Mapping[int, Sequence[float]]],
    title: str = "Test accuracy against depth",
    colors: Mapping[str, str] | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
    layout: str = "constrained",
) -> Figure:
    """Accuracy (a fraction, one value per seed) against depth, with chance (1/10) dotted."""
    fig, (ax,) = new_figure(figsize, 1, layout, top=0.45)
    _draw_vs_depth(ax, accuracies, colors)
    draw_accuracy_chance_line(ax)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("accuracy")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_depth_sweep(
    final_losses: Mapping[str, Mapping[int, Sequence[float]]],
    curves: Mapping[str, History] | None = None,
    title: str = "Final training loss against depth",
    figsize: tuple[float, float] | None = None,
    layout: str = "constrained",
    colors: Mapping[str, str] | None = None,
) -> Figure:
    """Final training loss against depth (left) and, if ``curves`` is given, the training
    curves behind it (right).

    ``final_losses`` is ``{block: {depth: [loss per seed]}}`` as returned by
    :meth:`resnet_edu.experiments.DepthSweep.final_losses`; ``curves`` is
    ``{label: History}`` with labels such as ``"plain-56"``: deeper nets (the number in the
    label) are drawn with thicker, more solid lines (shallower ones dashed, then dotted).
    ``colors`` overrides
    the colour of a block type, and of each curve whose label starts with it; ``layout="fixed"``
    draws faster (for widgets).
    """
    _check_losses(final_losses)
    size = figsize or ((11.0, 4.0) if curves else (6.4, 4.0))
    fig, axes = new_figure(size, 2 if curves else 1, layout, top=0.45)
    draw_loss_vs_depth(axes[0], final_losses, colors)
    axes[0].set_title(title)
    if curves:
        depths = {label: _depth_in(label) for label in curves}
        deepest = max(depths.values()) or 1
        ranks = sorted(set(depths.values()), reverse=True)  # deepest first
        styles = {
            label: {
                "linewidth": 0.8 + 2.2 * depth / deepest,
                "linestyle": DEPTH_DASHES[min(ranks.index(depth), len(DEPTH_DASHES) - 1)],
            }
            for label, depth in depths.items()
        }
        for label in styles:
            for block, color in (colors or {}).items():
                if label.startswith(block):
                    styles[label]["color"] = color
        draw_loss_curves(axes[1], curves, styles=styles)
        draw_chance_line(axes[1])
        axes[1].set_title("Training curves (thicker, more solid = deeper)")
        # Many entries (the curves and chance): short labels go in three columns, and the rows are
        # packed tighter than matplotlib's default, so the legend covers as little of the curves as it can.
        short = max(len(label) for label in curves) <= 14
        axes[1].legend(fontsize=8, ncol=3 if short and len(curves) >= 8 else 2, labelspacing=0.3, columnspacing=1.2)
    return fig


def _depth_in(label: str) -> int:
    digits = "".join(ch if ch.isdigit() else " " for ch in label).split()
    return int(digits[-1]) if digits else 0


def plot_sweep(sweep: object, layout: str = "constrained") -> Figure:
    """A :class:`~resnet_edu.experiments.DepthSweep`: final loss against depth (left, one dot
    per seed) and the first seed's training curves (right)."""
    if not hasattr(sweep, "histories") or not hasattr(sweep, "final_losses"):
        raise TypeError("sweep must be a DepthSweep (from resnet_edu.experiments.depth_sweep)")
    curves = {
        f"{block}-{depth}": runs[0] for block, by_depth in sweep.histories.items() for depth, runs in by_depth.items()
    }
    return plot_depth_sweep(sweep.final_losses(), curves, title="Final training loss against depth", layout=layout)
