"""Shattered-gradients explorer (lesson 07; Balduzzi et al. 2017): a depth slider and a
BatchNorm switch, showing dy/dx over a line of inputs for a plain and a residual network at
initialisation. Each move builds two fresh networks (tens of milliseconds at depth 50)."""

from __future__ import annotations

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure

from ..data import line_grid
from ..models.mlp import check_mlp_depth
from ..plots.why import plot_shattered_gradients
from ..probes.shattered import input_gradients, line_network, shattering_curve
from .output import show_figure

#: Depths of the autocorrelation curve on the right of the figure.
CURVE_DEPTHS = (2, 4, 8, 16, 24, 32, 50)
#: The curve averages these initialisations (one network's curve wobbles); lesson 07 uses the same.
CURVE_SEEDS = (0, 1, 2)
BLOCKS = ("plain", "residual")


def shattered_state(depth: int, batchnorm: bool = True, width: int = 200, n_points: int = 256) -> dict:
    """What the explorer shows: ``{"x", "gradients": {label: dy/dx}, "curves": {label:
    {depth: autocorrelation}}}`` for plain and residual ReLU networks at initialisation
    (dy/dx of one network each; the curves average :data:`CURVE_SEEDS`)."""
    check_mlp_depth(depth)
    if not isinstance(batchnorm, bool):
        raise TypeError(f"batchnorm must be True or False, got {batchnorm!r}")
    x = line_grid(n_points)
    gradients = {f"{b}, {depth} layers": input_gradients(line_network(depth, b, batchnorm, width), x) for b in BLOCKS}
    curves = {
        f"{b}{'' if batchnorm else ', no BN'}": shattering_curve(CURVE_DEPTHS, b, batchnorm, width, seeds=CURVE_SEEDS)
        for b in BLOCKS
    }
    return {"x": x, "gradients": gradients, "curves": curves}


def shattered_figure(state: dict, depth: int, batchnorm: bool, layout: str = "constrained") -> Figure:
    """The figure of :func:`shattered_state`."""
    bn = "with BatchNorm" if batchnorm else "without BatchNorm"
    return plot_shattered_gradients(state["x"], state["gradients"], state["curves"], depth,
                                    title=f"Shattered gradients, {bn}", layout=layout)


class ShatteredExplorer(widgets.VBox):
    """``depth`` slider and ``batchnorm`` checkbox above an ``output`` with the figure;
    ``state`` holds the data currently shown."""

    def __init__(self, depth: int = 16, batchnorm: bool = True) -> None:
        self.depth = widgets.IntSlider(value=depth, min=2, max=50, step=2, description="depth",
                                       continuous_update=False)
        self.batchnorm = widgets.Checkbox(value=batchnorm, description="BatchNorm", indent=False)
        self.output = widgets.Output()
        super().__init__(children=[widgets.HBox([self.depth, self.batchnorm]), self.output])
        self.depth.observe(self._redraw, names="value")
        self.batchnorm.observe(self._redraw, names="value")
        self._redraw()

    def _redraw(self, change: object = None) -> None:
        self.state = shattered_state(self.depth.value, self.batchnorm.value)
        show_figure(self.output, shattered_figure(self.state, self.depth.value, self.batchnorm.value, layout="fixed"))
