"""Figures of training runs."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from ..train import History
from .style import color_for, smooth


def plot_loss_curves(
    histories: Mapping[str, History],
    title: str = "Training loss",
    window: int = 10,
    figsize: tuple[float, float] = (6.4, 4.0),
) -> Figure:
    """Training loss against step for each labelled history, on a log scale.

    The curves are moving averages over ``window`` steps; labels containing "plain",
    "residual" or "pre-act" get the course's colours.
    """
    if not histories:
        raise ValueError("histories is empty: pass {label: History}")
    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    for i, (label, history) in enumerate(histories.items()):
        if not isinstance(history, History):
            raise TypeError(f"histories[{label!r}] must be a History (from resnet_edu.train.train)")
        ax.plot(smooth(history.loss, window), label=label, color=color_for(label, i))
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(f"training loss (cross-entropy, {window}-step average)")
    ax.set_title(title)
    ax.legend()
    return fig
