"""The gradient-flow explorer: per-layer gradient norms at initialisation, redrawn live.

Pick depth, activation, initialisation, BatchNorm and the block type; the figure shows the
gradient norm of every layer's weight for a freshly initialised MLP stack on a batch of
digits (lesson 02). One redraw costs one forward and backward pass: 10-50 ms at depth 50.
"""

from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..experiments import gradient_profile
from ..plots.gradients import plot_gradient_norms
from ..probes.flow import first_to_last
from .output import show_figure

ACTIVATION_OPTIONS = (("sigmoid", "sigmoid"), ("tanh", "tanh"), ("ReLU", "relu"))
INIT_OPTIONS = (("PyTorch default", "default"), ("Xavier (Glorot)", "xavier"), ("Kaiming (He)", "kaiming"))
BLOCK_OPTIONS = (("plain", "plain"), ("residual (post-act.)", "residual"), ("residual (pre-act.)", "preact"))
BLOCK_LABELS = {"plain": "plain", "residual": "residual", "preact": "pre-act. residual"}


def _label(depth: int, activation: str, init: str, batchnorm: bool, block: str) -> str:
    return (
        f"{BLOCK_LABELS[block]}, {depth} layers, {activation}, {dict((v, k) for k, v in INIT_OPTIONS)[init]} init, "
        f"{'with' if batchnorm else 'no'} BatchNorm"
    )


def gradient_flow_figure(
    depth: int = 50, activation: str = "relu", init: str = "default", batchnorm: bool = True, block: str = "plain",
    layout: str = "constrained",
) -> Figure:
    """The explorer's figure for one setting (a static figure for notebooks and exports)."""
    norms = gradient_profile(depth, activation, init, batchnorm, block)
    values = list(norms.values())
    if values[0] == 0:
        ratio = "the first layer's gradient underflowed to exactly 0"
    elif values[-1] > 0:
        ratio = f"first layer / last layer = {first_to_last(norms):.1e}"
    else:
        ratio = "the last layer's gradient is 0"
    return plot_gradient_norms(
        {_label(depth, activation, init, batchnorm, block): norms},
        title=f"Gradient norm per layer at initialisation\n{ratio}",
        layout=layout,
    )


class GradientFlowExplorer(widgets.VBox):
    """Controls (``depth``, ``activation``, ``init``, ``batchnorm``, ``block``) above an
    ``output`` showing the per-layer gradient norms; ``norms`` holds the plotted data."""

    def __init__(
        self, depth: int = 50, activation: str = "relu", init: str = "default", batchnorm: bool = True,
        block: str = "plain",
    ) -> None:
        gradient_profile(depth, activation, init, batchnorm, block)  # checks the arguments
        style = {"description_width": "80px"}
        self.depth = widgets.IntSlider(
            value=depth, min=4, max=100, step=2, description="depth", continuous_update=False, style=style
        )
        self.activation = widgets.ToggleButtons(options=ACTIVATION_OPTIONS, value=activation,
                                                description="activation", style=style)
        self.init = widgets.ToggleButtons(options=INIT_OPTIONS, value=init, description="init", style=style)
        self.batchnorm = widgets.Checkbox(value=batchnorm, description="BatchNorm", style=style)
        self.block = widgets.ToggleButtons(options=BLOCK_OPTIONS, value=block, description="block", style=style)
        self.output = widgets.Output()
        self.norms: dict[str, float] = {}
        super().__init__(
            children=[self.depth, self.activation, self.init, self.batchnorm, self.block, self.output]
        )
        for control in (self.depth, self.activation, self.init, self.batchnorm, self.block):
            control.observe(self._redraw, names="value")
        self._redraw()

    def settings(self) -> dict[str, object]:
        """The current control values, as keyword arguments of :func:`gradient_flow_figure`."""
        return {
            "depth": self.depth.value, "activation": self.activation.value, "init": self.init.value,
            "batchnorm": self.batchnorm.value, "block": self.block.value,
        }

    def _redraw(self, change: object = None) -> None:
        settings = self.settings()
        self.norms = gradient_profile(**settings)
        show_figure(self.output, gradient_flow_figure(**settings, layout="fixed"))
