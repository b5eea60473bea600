"""Figures of training runs: loss curves, with the chance level for reference."""

from __future__ import annotations

import math
from collections.abc import Mapping

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..train import History
from .layout import new_figure
from .style import color_for, log_y, smooth

#: The loss of a uniform guess over the 10 digit classes, ln 10.
CHANCE_LOSS = math.log(10)
#: The test accuracy of a uniform guess over the 10 digit classes.
CHANCE_ACCURACY = 0.1


def draw_chance_line(ax: Axes, level: float = CHANCE_LOSS, text: str = "chance (ln 10)") -> None:
    """A dotted grey horizontal line at ``level``, labelled with ``text`` at its left end."""
    ax.axhline(level, color="0.4", linestyle=":", linewidth=1)
    ax.annotate(text, (0.02, level), xycoords=("axes fraction", "data"), va="bottom", fontsize=8, color="0.3")


def draw_accuracy_chance_line(ax: Axes) -> None:
    """The chance accuracy (10%) as :func:`draw_chance_line`, its text on a white patch so it
    stays readable over bars."""
    draw_chance_line(ax, CHANCE_ACCURACY, "chance (1 in 10)")
    ax.texts[-1].set_bbox({"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1})
    ax.texts[-1].set_zorder(5)


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
    marks the loss of a uniform guess over 10 classes (ln 10). ``styles`` adds matplotlib
    options per label, e.g. ``{"plain, 20 layers": {"linestyle": "--"}}``.
    """
    fig, (ax,) = new_figure(figsize)
    draw_loss_curves(ax, histories, window, styles)
    if chance:
        draw_chance_line(ax)
    ax.set_title(title)
    ax.legend()
    return fig
