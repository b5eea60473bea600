"""Matplotlib figures from training histories and probe results.

Every function builds and returns a ``matplotlib.figure.Figure`` (no pyplot state): a
notebook shows the returned figure, a widget renders it to PNG. Colours follow
:mod:`resnet_edu.plots.style`.
"""

from .style import COLORS, color_for, smooth
from .training import plot_loss_curves

__all__ = ["COLORS", "color_for", "plot_loss_curves", "smooth"]
