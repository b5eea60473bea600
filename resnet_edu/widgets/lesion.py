"""Delete-a-block explorer (lesson 07; Veit et al. 2016).

Toggle any set of blocks off in a trained plain and a trained residual network and see the
test accuracy that is left. A deleted residual block leaves its shortcut; a deleted plain
block leaves nothing but the identity. Each click evaluates the lesioned copies (tens of
milliseconds on the digits); the single-block lesion bars are computed once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from torch import nn

from ..plots.layout import new_figure
from ..plots.style import color_for
from ..plots.why import draw_accuracy_chance_line, draw_lesions
from ..probes.lesion import LesionResult, delete_blocks, lesion_study, model_blocks
from ..train import evaluate
from ..validate import check_module
from .output import show_figure


def lesioned_accuracies(
    models: Mapping[str, nn.Module], x: torch.Tensor, y: torch.Tensor, deleted: Sequence[int]
) -> dict[str, float]:
    """Test accuracy of each model with all the blocks in ``deleted`` removed at once."""
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty mapping {label: trained model}")
    return {label: evaluate(delete_blocks(m, deleted), x, y).accuracy for label, m in models.items()}


def lesion_explorer_figure(
    results: Mapping[str, LesionResult],
    accuracies: Mapping[str, float],
    deleted: Sequence[int],
    layout: str = "constrained",
) -> Figure:
    """Left: each single-block lesion (blocks in ``deleted`` outlined). Right: accuracy with
    all of ``deleted`` removed together (hatched bars in each model's colour), beside the
    intact accuracy (grey)."""
    if set(accuracies) != set(results):
        raise ValueError("results and accuracies must have the same labels")
    fig, (left, right) = new_figure((11.0, 4.2), 2, layout)
    draw_lesions(left, results, deleted)
    left.set_title("One block deleted at a time")
    labels = list(results)
    xs = range(len(labels))
    right.bar([x - 0.2 for x in xs], [results[k].baseline for k in labels], 0.4, color="0.8")
    right.bar([x + 0.2 for x in xs], [accuracies[k] for k in labels], 0.4, hatch="//", edgecolor="white",
              color=[color_for(k, i) for i, k in enumerate(labels)])
    for x, k in zip(xs, labels):
        right.annotate(f"{100 * accuracies[k]:.0f}%", (x + 0.2, accuracies[k]), ha="center", va="bottom", fontsize=9)
    draw_accuracy_chance_line(right)
    right.set_xticks(list(xs), labels)
    # Neutral legend swatches: the bars themselves carry each model's colour.
    right.legend(handles=[Patch(facecolor="0.8", label="nothing deleted"),
                          Patch(facecolor="white", edgecolor="0.3", hatch="//", label="selected blocks deleted")],
                 fontsize=8, loc="upper center", ncol=2, framealpha=0.9)
    right.set_ylim(0, 1.38)
    right.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    right.set_ylabel("test accuracy")
    names = ", ".join(str(i + 1) for i in sorted(deleted))
    right.set_title(f"Deleted together: block{'s' if len(deleted) > 1 else ''} {names}" if deleted
                    else "Nothing deleted (the widget's starting state)")
    return fig


class LesionExplorer(widgets.VBox):
    """One toggle button per block above an ``output`` with the figure.

    ``models`` maps labels ("plain", "residual") to trained models with the same number of
    blocks; ``(x, y)`` is the test set. ``buttons[i].value = True`` deletes block ``i + 1``.
    ``accuracies`` holds the numbers currently shown.
    """

    def __init__(self, models: Mapping[str, nn.Module], x: torch.Tensor, y: torch.Tensor) -> None:
        if not isinstance(models, Mapping) or not models:
            raise ValueError("models must be a non-empty mapping {label: trained model}")
        counts = {len(model_blocks(check_module(f"models[{k!r}]", m))) for k, m in models.items()}
        if len(counts) != 1 or 0 in counts:
            raise ValueError("every model must have the same, non-zero number of blocks")
        self.models, self.x, self.y = dict(models), x, y
        self.results = {label: lesion_study(m, x, y) for label, m in self.models.items()}
        n = counts.pop()
        self.buttons = [
            widgets.ToggleButton(value=False, description=str(i + 1), tooltip=f"delete block {i + 1}",
                                 layout=widgets.Layout(width="42px"))
            for i in range(n)
        ]
        self.output = widgets.Output()
        label = widgets.Label("Delete blocks (click to toggle):")
        super().__init__(children=[widgets.HBox([label, *self.buttons]), self.output])
        for b in self.buttons:
            b.observe(self._redraw, names="value")
        self._redraw()

    @property
    def deleted(self) -> list[int]:
        """Indices (from 0) of the blocks currently deleted."""
        return [i for i, b in enumerate(self.buttons) if b.value]

    def _redraw(self, change: object = None) -> None:
        self.accuracies = lesioned_accuracies(self.models, self.x, self.y, self.deleted)
        show_figure(self.output, lesion_explorer_figure(self.results, self.accuracies, self.deleted, layout="fixed"))
