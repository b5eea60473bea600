"""Matplotlib figures from training histories and probe results.

Every function builds and returns a ``matplotlib.figure.Figure`` (no pyplot state): a
notebook shows the returned figure, a widget renders it to PNG. Modules are named by what
they draw; ``draw_*`` functions draw on a given ``Axes``, ``plot_*`` functions make a whole
figure. Colours follow :mod:`resnet_edu.plots.style`.
"""

from .depth import draw_loss_vs_depth, plot_accuracy_vs_depth, plot_depth_sweep, plot_sweep
from .diagrams import (
    plot_block_comparison,
    plot_bottleneck,
    plot_post_vs_preact,
    plot_resnet_6n2,
    plot_unrolled,
)
from .gradients import draw_gradient_norms, plot_gradient_norms, plot_gradient_profile
from .landscape import plot_loss_surfaces
from .lesions import draw_lesions, plot_combined_lesions, plot_lesions
from .shattered import draw_input_gradients, draw_shattering, plot_shattered_gradients, plot_shattered_state, show_depth
from .skips import plot_skip_states
from .style import COLORS, color_for, smooth
from .training import (
    CHANCE_ACCURACY,
    CHANCE_LOSS,
    draw_accuracy_chance_line,
    draw_chance_line,
    draw_loss_curves,
    plot_loss_curves,
)

__all__ = [
    "COLORS",
    "color_for",
    "smooth",
    "CHANCE_ACCURACY",
    "CHANCE_LOSS",
    "draw_accuracy_chance_line",
    "draw_chance_line",
    "draw_loss_curves",
    "plot_loss_curves",
    "draw_gradient_norms",
    "plot_gradient_norms",
    "plot_gradient_profile",
    "draw_loss_vs_depth",
    "plot_accuracy_vs_depth",
    "plot_depth_sweep",
    "plot_sweep",
    "plot_skip_states",
    "draw_lesions",
    "plot_combined_lesions",
    "plot_lesions",
    "draw_input_gradients",
    "draw_shattering",
    "plot_shattered_gradients",
    "plot_shattered_state",
    "show_depth",
    "plot_loss_surfaces",
    "plot_block_comparison",
    "plot_bottleneck",
    "plot_post_vs_preact",
    "plot_resnet_6n2",
    "plot_unrolled",
]
