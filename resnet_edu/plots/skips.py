"""Figures of one residual model with its skip connections on and off (same weights)."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from ..validate import check_bool
from .gradients import draw_gradient_norms
from .layout import new_figure
from .training import draw_chance_line, draw_loss_curves

SKIP_LABELS = {True: "skips on: F(x) + x (residual)", False: "skips off: F(x) only (plain)"}


def plot_skip_states(states: Mapping[bool, object], skips: bool = True, layout: str = "constrained") -> Figure:
    """Gradient norms (left) and training loss (right) of both states of
    :func:`resnet_edu.experiments.skip_states`; the state ``skips`` is drawn bold, the other
    faint for comparison."""
    if not isinstance(states, Mapping) or set(states) != {True, False}:
        raise ValueError("states must be {True: SkipState, False: SkipState} (from resnet_edu.experiments.skip_states)")
    check_bool("skips", skips)
    order = (not skips, skips)  # the current state last, on top
    styles = {
        SKIP_LABELS[s]: ({"linewidth": 2.2, "alpha": 1.0} if s == skips else {"linewidth": 1.2, "alpha": 0.45})
        for s in order
    }
    fig, (left, right) = new_figure((11.0, 4.3), 2, layout)
    draw_gradient_norms(left, {SKIP_LABELS[s]: states[s].gradient_norms for s in order}, styles=styles)
    left.set_title("Gradient norm per layer at initialisation")
    draw_loss_curves(right, {SKIP_LABELS[s]: states[s].history for s in order}, styles=styles)
    draw_chance_line(right)
    right.set_title("Training from the same initial weights")
    right.legend(fontsize=8)
    depth = len(states[True].gradient_norms)
    fig.suptitle(f"Skip connections {'ON' if skips else 'OFF'} ({depth} layers, same weights)", fontweight="bold")
    return fig
