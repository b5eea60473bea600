"""Matplotlib figures from training histories and probe results.

Functions build and return a ``matplotlib.figure.Figure`` (no pyplot state), so a
notebook displays the returned figure and a widget can render it to PNG. One colour
meaning across the course (Okabe-Ito palette, colour-blind safe).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from .train import History

#: plain stacks in vermillion, residual in blue, pre-activation residual in green.
COLORS = {"plain": "#D55E00", "residual": "#0072B2", "preact": "#009E73"}
OTHER_COLORS = ("#E69F00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")


def color_for(label: str, index: int = 0) -> str:
    """The course colour of a curve, from the kind named in its label ("plain 56", ...)."""
    lowered = label.lower()
    for kind in ("preact", "pre-act", "plain", "residual"):
        if kind in lowered:
            return COLORS["preact" if kind.startswith("pre") else kind]
    return OTHER_COLORS[index % len(OTHER_COLORS)]


def smooth(values: Sequence[float], window: int) -> list[float]:
    """Trailing moving average (the first points average what exists so far)."""
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


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
