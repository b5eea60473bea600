"""The course's plotting conventions: one colour meaning everywhere (Okabe-Ito, colour-blind safe)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.ticker import NullLocator

#: plain stacks in vermillion, residual in blue, pre-activation residual in green.
COLORS = {"plain": "#D55E00", "residual": "#0072B2", "preact": "#009E73"}
OTHER_COLORS = ("#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")


def color_for(label: str, index: int = 0) -> str:
    """The course colour of a curve, from the block type named in its label ("plain 56", ...)."""
    lowered = label.lower()
    for block in ("preact", "pre-act", "plain", "residual"):
        if block in lowered:
            return COLORS["preact" if block.startswith("pre") else block]
    return OTHER_COLORS[index % len(OTHER_COLORS)]


def smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average (the first points average what exists so far)."""
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    return [sum(values[max(0, i - window + 1) : i + 1]) / min(i + 1, window) for i in range(len(values))]


def log_y(ax: Axes) -> None:
    """A logarithmic y-axis with ticks at the powers of ten only: the minor ticks between them
    add little to a plot spanning decades and take half of its drawing time (each is a text)."""
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())
