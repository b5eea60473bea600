"""The skip-connection toggle: one initialised residual model, skips on or off.

Both states start from the same weights. For each, the figure shows the per-layer gradient
norms at initialisation and a short training run (lesson 04). Both states are computed once
(about 2 s for 56 layers and 100 steps) and cached, so flipping the switch only redraws.
"""

from __future__ import annotations

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..experiments import SkipState, skip_states
from ..plots.training import draw_chance_line, draw_loss_curves
from ..plots.gradients import draw_gradient_norms
from ..plots.layout import new_figure
from .output import show_figure

LABELS = {True: "skips on: F(x) + x (residual)", False: "skips off: F(x) only (plain)"}


def skip_toggle_figure(states: dict[bool, SkipState], skips: bool, layout: str = "constrained") -> Figure:
    """Gradient norms (left) and training loss (right) of both states; the state ``skips``
    is drawn bold, the other faint for comparison."""
    if set(states) != {True, False}:
        raise ValueError("states must be {True: SkipState, False: SkipState} (from resnet_edu.experiments.skip_states)")
    if not isinstance(skips, bool):
        raise TypeError(f"skips must be True or False, got {skips!r}")
    order = (not skips, skips)  # the current state last, on top
    styles = {
        LABELS[s]: ({"linewidth": 2.2, "alpha": 1.0} if s == skips else {"linewidth": 1.2, "alpha": 0.45})
        for s in order
    }
    fig, (left, right) = new_figure((11.0, 4.3), 2, layout)
    draw_gradient_norms(left, {LABELS[s]: states[s].gradient_norms for s in order}, styles=styles)
    left.set_title("Gradient norm per layer at initialisation")
    draw_loss_curves(right, {LABELS[s]: states[s].history for s in order}, styles=styles)
    draw_chance_line(right)
    right.set_title("Training from the same initial weights")
    right.legend(fontsize=8)
    depth = len(states[True].gradient_norms)
    fig.suptitle(f"Skip connections {'ON' if skips else 'OFF'} ({depth} layers, same weights)", fontweight="bold")
    return fig


class SkipToggle(widgets.VBox):
    """A ``skip`` checkbox ("skip connection: ...") above an ``output`` with the figure.

    ``states`` holds both states' data (``{True: SkipState, False: SkipState}``);
    ``current`` is the state shown.
    """

    def __init__(self, depth: int = 56, steps: int = 100, seed: int = 0) -> None:
        self.states = skip_states(depth, steps, seed)
        self.skip = widgets.Checkbox(
            value=True, description="skip connection: out = F(x) + x", indent=False,
            layout=widgets.Layout(width="auto"),
        )
        self.output = widgets.Output()
        super().__init__(children=[self.skip, self.output])
        self.skip.observe(self._redraw, names="value")
        self._redraw()

    @property
    def current(self) -> SkipState:
        return self.states[self.skip.value]

    def _redraw(self, change: object = None) -> None:
        show_figure(self.output, skip_toggle_figure(self.states, self.skip.value, layout="fixed"))
