"""Creating a figure with either matplotlib's constrained layout or fixed margins.

Constrained layout places titles and labels best, but it measures every text twice per
draw; a widget that redraws on every click uses ``layout="fixed"`` (margins in inches) and
renders about a third faster.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..validate import check_choice, check_int

LAYOUTS = ("constrained", "fixed")


def new_figure(
    figsize: tuple[float, float], ncols: int = 1, layout: str = "constrained", top: float = 0.75
) -> tuple[Figure, list[Axes]]:
    """A figure with ``ncols`` axes side by side; ``top`` is the room above the axes in
    inches with ``layout="fixed"`` (two title lines need about 0.75)."""
    check_choice("layout", layout, LAYOUTS)
    check_int("ncols", ncols, 1)
    width, height = figsize
    if layout == "constrained":
        fig = Figure(figsize=figsize, layout="constrained")
    else:
        fig = Figure(figsize=figsize)
        fig.subplots_adjust(
            left=0.85 / width,
            right=1 - 0.2 / width,
            bottom=0.6 / height,
            top=1 - top / height,
            wspace=0.3 if ncols > 1 else 0.2,
        )
    axes = np.atleast_1d(fig.subplots(1, ncols, squeeze=False)[0]).tolist()
    return fig, axes
