"""Shattered-gradients explorer (lesson 07; Balduzzi et al. 2017): a depth slider and a
BatchNorm switch, showing dy/dx over a line of inputs for a plain and a residual network at
initialisation (:func:`resnet_edu.experiments.shattered_state`, cached)."""

from __future__ import annotations

import ipywidgets as widgets

from ..experiments import shattered_state
from ..plots.shattered import depth_artists, plot_shattered_state, show_depth
from .output import ChangingFigure, Explorer


class ShatteredExplorer(Explorer):
    """``depth`` slider and ``batchnorm`` checkbox above an ``output`` with the figure;
    ``state`` holds the data currently shown."""

    title = "Shattered-gradients explorer"

    def __init__(self, depth: int = 16, batchnorm: bool = True) -> None:
        self._shown: tuple[ChangingFigure, bool] | None = None  # the figure on screen and its BatchNorm setting
        first = self.draw(depth, batchnorm)  # bad arguments raise here, before any control exists
        self.depth = widgets.IntSlider(value=depth, min=2, max=50, step=2, description="depth", continuous_update=False)
        self.batchnorm = widgets.Checkbox(value=batchnorm, description="BatchNorm", indent=False)
        super().__init__([widgets.HBox([self.depth, self.batchnorm])], [self.depth, self.batchnorm], first)

    def draw(self, depth: int, batchnorm: bool) -> ChangingFigure:
        """The figure for ``depth`` and ``batchnorm``. When only the depth changed, the shown
        figure is updated and only what changed is redrawn (about a quarter of the time)."""
        self.state = shattered_state(depth, batchnorm)
        if self._shown is not None and self._shown[1] == batchnorm:
            show_depth(self._shown[0].figure, self.state["gradients"], depth)
            return self._shown[0]
        fig = plot_shattered_state(self.state, depth, batchnorm, layout="fixed")
        self._shown = (ChangingFigure(fig, depth_artists(fig)), batchnorm)
        return self._shown[0]

    def figure(self) -> ChangingFigure:
        return self.draw(self.depth.value, self.batchnorm.value)
