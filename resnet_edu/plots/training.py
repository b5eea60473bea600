"""Figures of training runs: loss curves, with the chance level for reference."""

from __future__ import annotations

import math
from collections.abc import Mapping

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..train import History
from .layout import new_figure
from .style import color_for, log_y, smooth

#: The loss of a uniform guess over the 10 digit classes, ln 10.
CHANCE_LOSS = math.log(10)
#: The test accuracy of a uniform guess over the 10 digit classes.
CHANCE_ACCURACY = 0.1


def draw_chance_line(ax: Axes, level: float = CHANCE_LOSS, text: str = "chance (ln 10)") -> Line2D:
    """A dotted grey horizontal line at ``level``, named ``text`` in the axes' legend.

    The name goes in the legend (call ``ax.legend()`` after this) rather than next to the line:
    curves that end at chance run along the line, and would cross any text placed beside it.
    """
    return ax.axhline(level, color="0.4", linestyle=":", linewidth=1.2, label=text)


def draw_accuracy_chance_line(ax: Axes) -> None:
    """The chance accuracy (10%) as a dotted grey line, labelled at its left end on a white patch
    so the text stays readable over bars (it is not added to the legend)."""
    ax.axhline(CHANCE_ACCURACY, color="0.4", linestyle=":", linewidth=1)
    ax.annotate(
        "chance (1 in 10)",
        (0.02, CHANCE_ACCURACY),
        xycoords=("axes fraction", "data"),
        va="bottom",
        fontsize=8,
        color="0.3",
        bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
        zorder=5,
    )


def draw_loss_curves(
    ax: Axes,
    histories: Mapping[str, History],
    window: int = 10,
    styles: Mapping[str, Mapping[str, object]] | None = None,
) -> None:
    """Smoothed training-loss curves on ``ax`` (log scale), coloured by the kind in each label
    ("plain", "residual", "pre-act"); ``styles`` adds matplotlib options per label."""
    if not histories:
        raise ValueError("histories is empty: pass {label: History}")
    for i, (label, history) in enumerate(histories.items()):
        if not isinstance(history, History):
            raise TypeError(f"histories[{label!r}] must be a History (from resnet_edu.train.train)")
        kwargs = {"color": color_for(label, i), "label": label, **(styles or {}).get(label, {})}
        ax.plot(smooth(history.loss, window), **kwargs)
    log_y(ax)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"training loss ({window}-step average)")


def plot_loss_curves(
    histories: Mapping[str, History],
    title: str = "Training loss",
    window: int = 10,
    figsize: tuple[float, float] = (6.4, 4.0),
    chance: bool = True,
    styles: Mapping[str, Mapping[str, object]] | None = None,
) -> Figure:
    """Training loss (cross-entropy) against step for each labelled history, on a log scale.

    The curves are moving averages over ``window`` steps; with ``chance`` a dotted line
    marks the loss of a uniform guess over 10 classes (ln 10), named in the legend. ``styles`` adds matplotlib
    options per label, e.g. ``{"plain, 20 layers": {"linestyle": "--"}}``.
    """
    fig, (ax,) = new_figure(figsize)
    draw_loss_curves(ax, histories, window, styles)
    if chance:
        draw_chance_line(ax)
    ax.set_title(title)
    ax.legend()
    return fig
