"""The gradient-flow explorer (lesson 02): per-layer gradient norms at initialisation, redrawn live.

Pick depth, activation, initialisation, BatchNorm and the block type; the figure shows
:func:`resnet_edu.experiments.gradient_profile` for that setting (one forward and backward
pass: 10-50 ms at depth 50, cached).
"""

from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..experiments import gradient_profile
from ..plots.gradients import INIT_NAMES, plot_gradient_profile
from .output import Explorer

ACTIVATION_OPTIONS = (("sigmoid", "sigmoid"), ("tanh", "tanh"), ("ReLU", "relu"))
INIT_OPTIONS = tuple((name, init) for init, name in INIT_NAMES.items())
BLOCK_OPTIONS = (("plain", "plain"), ("residual (post-act.)", "residual"), ("residual (pre-act.)", "preact"))


class GradientFlowExplorer(Explorer):
    """Controls (``depth``, ``activation``, ``init``, ``batchnorm``, ``block``) above an
    ``output`` showing the per-layer gradient norms; ``norms`` holds the plotted data."""

    title = "Gradient-flow explorer"

    def __init__(
        self,
        depth: int = 50,
        activation: str = "relu",
        init: str = "default",
        batchnorm: bool = True,
        block: str = "plain",
    ) -> None:
        settings = {"depth": depth, "activation": activation, "init": init, "batchnorm": batchnorm, "block": block}
        first = self.draw(settings)  # bad arguments raise here, before any control exists
        style = {"description_width": "80px"}
        self.depth = widgets.IntSlider(
            value=depth, min=4, max=100, step=2, description="depth", continuous_update=False, style=style
        )
        self.activation = widgets.ToggleButtons(
            options=ACTIVATION_OPTIONS, value=activation, description="activation", style=style
        )
        self.init = widgets.ToggleButtons(options=INIT_OPTIONS, value=init, description="init", style=style)
        self.batchnorm = widgets.Checkbox(value=batchnorm, description="BatchNorm", style=style)
        self.block = widgets.ToggleButtons(options=BLOCK_OPTIONS, value=block, description="block", style=style)
        controls = [self.depth, self.activation, self.init, self.batchnorm, self.block]
        super().__init__(controls, controls, first)

    def settings(self) -> dict[str, object]:
        """The current control values, as keyword arguments of :func:`gradient_profile`."""
        return {
            "depth": self.depth.value,
            "activation": self.activation.value,
            "init": self.init.value,
            "batchnorm": self.batchnorm.value,
            "block": self.block.value,
        }

    def draw(self, settings: dict[str, object]) -> Figure:
        self.norms = gradient_profile(**settings)
        return plot_gradient_profile(self.norms, **settings, layout="fixed")

    def figure(self) -> Figure:
        return self.draw(self.settings())
