"""Matplotlib figures from training histories and probe results.

Every function builds and returns a ``matplotlib.figure.Figure`` (no pyplot state): a
notebook shows the returned figure, a widget renders it to PNG. Colours follow
:mod:`resnet_edu.plots.style`.
"""

from .style import COLORS, color_for, smooth
from .training import CHANCE_LOSS, draw_chance_line, draw_loss_curves, plot_loss_curves
from .gradients import draw_gradient_norms, plot_gradient_norms
from .depth import draw_loss_vs_depth, plot_accuracy_vs_depth, plot_depth_sweep
from .why import draw_lesions, plot_lesions, plot_loss_surfaces, plot_shattered_gradients

__all__ = [
    "COLORS",
    "color_for",
    "plot_loss_curves",
    "smooth",
    "CHANCE_LOSS",
    "draw_chance_line",
    "draw_gradient_norms",
    "draw_loss_curves",
    "draw_loss_vs_depth",
    "plot_accuracy_vs_depth",
    "plot_depth_sweep",
    "plot_gradient_norms",
    "draw_lesions",
    "plot_lesions",
    "plot_loss_surfaces",
    "plot_shattered_gradients",
]
