"""The depth explorer: final training loss against depth, plain and/or residual (lesson 03, 04).

Pick depths and block types; every (type, depth) is trained once with the degradation
settings of :func:`resnet_edu.experiments.training_run` and cached, so the runs a lesson has
made already cost nothing and a new 56-layer run takes a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterable

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..experiments import DepthSweep, depth_sweep, is_cached
from ..plots.depth import plot_depth_sweep
from .output import show_figure

DEPTH_CHOICES = (4, 10, 20, 32, 44, 56)
KINDS = ("plain", "residual")


def depth_explorer_figure(sweep: DepthSweep, layout: str = "constrained") -> Figure:
    """Final loss against depth (left, one dot per seed) and the first seed's curves (right)."""
    if not isinstance(sweep, DepthSweep):
        raise TypeError("sweep must be a DepthSweep (from resnet_edu.experiments.depth_sweep)")
    curves = {
        f"{kind}-{depth}": runs[0]
        for kind, by_depth in sweep.histories.items()
        for depth, runs in by_depth.items()
    }
    return plot_depth_sweep(sweep.final_losses(), curves, title="Final training loss against depth", layout=layout)


class DepthExplorer(widgets.VBox):
    """Toggle buttons per depth (``depth_buttons``) and per kind (``kind_buttons``), a
    ``status`` line and an ``output``; ``sweep`` holds the plotted :class:`DepthSweep`."""

    def __init__(self, depths: Iterable[int] = (4, 10, 20, 56), kinds: Iterable[str] = KINDS, seed: int = 0) -> None:
        depths, kinds = tuple(depths), tuple(kinds)
        for d in depths:
            if d not in DEPTH_CHOICES:
                raise ValueError(f"depths must be among {DEPTH_CHOICES}, got {d!r}")
        for k in kinds:
            if k not in KINDS:
                raise ValueError(f"kinds must be among {KINDS}, got {k!r}")
        self.seed = seed
        button = widgets.Layout(width="60px")
        self.depth_buttons = {
            d: widgets.ToggleButton(value=d in depths, description=str(d), layout=button,
                                    tooltip=f"train {d}-layer stacks")
            for d in DEPTH_CHOICES
        }
        self.kind_buttons = {
            k: widgets.ToggleButton(value=k in kinds, description=k, layout=widgets.Layout(width="90px"))
            for k in KINDS
        }
        self.status = widgets.Label()
        self.output = widgets.Output()
        self.sweep: DepthSweep | None = None
        super().__init__(children=[
            widgets.HBox([widgets.Label("depths:"), *self.depth_buttons.values()]),
            widgets.HBox([widgets.Label("blocks:"), *self.kind_buttons.values()]),
            self.status,
            self.output,
        ])
        for control in (*self.depth_buttons.values(), *self.kind_buttons.values()):
            control.observe(self._redraw, names="value")
        self._redraw()

    def selection(self) -> tuple[tuple[int, ...], tuple[str, ...]]:
        """The selected depths and kinds."""
        depths = tuple(d for d, b in self.depth_buttons.items() if b.value)
        kinds = tuple(k for k, b in self.kind_buttons.items() if b.value)
        return depths, kinds

    def _redraw(self, change: object = None) -> None:
        depths, kinds = self.selection()
        if not depths or not kinds:
            self.status.value = "Select at least one depth and one block type."
            return
        missing = [f"{k}-{d}" for k in kinds for d in depths if not is_cached(d, k, self.seed)]
        if missing:
            self.status.value = f"Training {', '.join(missing)} (about 0.05 s per layer each) ..."
        self.sweep = depth_sweep(depths, kinds, seeds=(self.seed,), progress=False)
        show_figure(self.output, depth_explorer_figure(self.sweep, layout="fixed"))
        note = "Residual stacks start with each branch at zero (zero-init gamma). " if "residual" in kinds else ""
        self.status.value = note + "Click depths and block types to add or remove runs."
