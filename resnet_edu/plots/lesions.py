"""Figures of block lesions (Veit et al. 2016): test accuracy with blocks deleted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..probes.lesion import LesionResult
from ..validate import check_mapping
from .layout import new_figure
from .style import color_for
from .training import draw_accuracy_chance_line


def _accuracy_axis(ax: Axes, handles: list | None = None) -> None:
    """Accuracy from 0 to 1, with an empty band on top for the legend (of ``handles``, if given)."""
    ax.set_ylim(0, 1.38)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("test accuracy")
    ax.legend(handles=handles, fontsize=8, loc="upper center", ncol=2, framealpha=0.9)


def draw_lesions(ax: Axes, results: Mapping[str, LesionResult], deleted: Sequence[int] = ()) -> None:
    """Test accuracy after deleting each single block, as grouped bars, on ``ax``.

    Dashed lines: each model's accuracy with no block deleted; dotted: chance (10%).
    Downsampling blocks (if any) are marked "↓" under their number, and the x label says
    so; blocks in ``deleted`` get a black edge.
    """
    check_mapping("results", results, LesionResult, "LesionResult (from lesion_study)")
    n = max(len(r.accuracies) for r in results.values())
    width = 0.8 / len(results)
    for k, (label, r) in enumerate(results.items()):
        color = color_for(label, k)
        xs = np.arange(len(r.accuracies)) + (k - (len(results) - 1) / 2) * width
        edges = ["black" if i in deleted else color for i in range(len(r.accuracies))]
        ax.bar(
            xs, r.accuracies, width, color=color, edgecolor=edges, linewidth=1.5, label=f"{label}: one block deleted"
        )
        ax.axhline(
            r.baseline,
            color=color,
            linestyle="--",
            linewidth=1.2,
            label=f"{label}: nothing deleted ({100 * r.baseline:.0f}%)",
        )
    draw_accuracy_chance_line(ax)
    down = {i for r in results.values() for i, changes in enumerate(r.changes_shape) if changes}
    ticks = [f"{i + 1}\n↓" if i in down else str(i + 1) for i in range(n)]
    ax.set_xticks(range(n), ticks)
    _accuracy_axis(ax)
    ax.set_xlabel("deleted block (1 = next to the input" + ("; ↓ = downsampling block)" if down else ")"))


def plot_lesions(
    results: Mapping[str, LesionResult],
    title: str = "Deleting one block at a time",
    figsize: tuple[float, float] = (7.5, 4.2),
) -> Figure:
    """Bar chart of :func:`draw_lesions` in its own figure."""
    fig, (ax,) = new_figure(figsize, 1)
    draw_lesions(ax, results)
    ax.set_title(title)
    return fig


def plot_combined_lesions(
    results: Mapping[str, LesionResult],
    accuracies: Mapping[str, float],
    deleted: Sequence[int],
    layout: str = "constrained",
) -> Figure:
    """Left: each single-block lesion (blocks in ``deleted`` outlined). Right: accuracy with
    all of ``deleted`` removed together (hatched bars in each model's colour, from
    :func:`resnet_edu.probes.lesioned_accuracies`), beside the intact accuracy (grey)."""
    if set(accuracies) != set(results):
        raise ValueError("results and accuracies must have the same labels")
    fig, (left, right) = new_figure((11.0, 4.2), 2, layout)
    draw_lesions(left, results, deleted)
    left.set_title("One block deleted at a time")
    labels = list(results)
    xs = range(len(labels))
    right.bar([x - 0.2 for x in xs], [results[k].baseline for k in labels], 0.4, color="0.8")
    right.bar(
        [x + 0.2 for x in xs],
        [accuracies[k] for k in labels],
        0.4,
        hatch="//",
        edgecolor="white",
        color=[color_for(k, i) for i, k in enumerate(labels)],
    )
    for x, k in zip(xs, labels):
        right.annotate(f"{100 * accuracies[k]:.0f}%", (x + 0.2, accuracies[k]), ha="center", va="bottom", fontsize=9)
    draw_accuracy_chance_line(right)
    right.set_xticks(list(xs), labels)
    # Neutral legend swatches: the bars themselves carry each model's colour.
    _accuracy_axis(
        right,
        [
            Patch(facecolor="0.8", label="nothing deleted"),
            Patch(facecolor="white", edgecolor="0.3", hatch="//", label="selected blocks deleted"),
        ],
    )
    names = ", ".join(str(i + 1) for i in sorted(deleted))
    right.set_title(
        f"Deleted together: block{'s' if len(deleted) > 1 else ''} {names}"
        if deleted
        else "Nothing deleted (the widget's starting state)"
    )
    return fig
