"""Delete-a-block explorer (lesson 07; Veit et al. 2016).

Toggle any set of blocks off in a trained plain and a trained residual network and see the
test accuracy that is left (:func:`resnet_edu.probes.lesioned_accuracies`: a deleted block
leaves its shortcut, see :func:`resnet_edu.models.delete_blocks`). Each click evaluates the
lesioned copies (tens of milliseconds on the digits); the single-block lesions are
computed once, or passed in by the lesson.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torch import nn

from ..models import find_blocks
from ..plots.lesions import plot_combined_lesions
from ..probes.lesion import LesionResult, lesion_study, lesioned_accuracies
from ..validate import check_mapping
from .output import Explorer


class LesionExplorer(Explorer):
    """One toggle button per block above an ``output`` with the figure.

    ``models`` maps labels ("plain", "residual") to trained models with the same number of
    blocks; ``(x, y)`` is the test set; ``results`` (optional) the lesson's
    ``{label: lesion_study(model, x, y)}``. ``buttons[i].value = True`` deletes block
    ``i + 1``. ``accuracies`` holds the numbers currently shown.
    """

    title = "Delete-a-block explorer"

    def __init__(
        self,
        models: Mapping[str, nn.Module],
        x: torch.Tensor,
        y: torch.Tensor,
        results: Mapping[str, LesionResult] | None = None,
    ) -> None:
        check_mapping("models", models, nn.Module, "trained model")
        counts = {len(find_blocks(m)) for m in models.values()}
        if len(counts) != 1 or 0 in counts:
            raise ValueError("every model must have the same, non-zero number of blocks")
        self.models, self.x, self.y = dict(models), x, y
        self.results = dict(results) if results else {label: lesion_study(m, x, y) for label, m in self.models.items()}
        self.buttons = [
            widgets.ToggleButton(
                value=False,
                description=str(i + 1),
                tooltip=f"delete block {i + 1}",
                layout=widgets.Layout(width="42px"),
            )
            for i in range(counts.pop())
        ]
        row = widgets.HBox([widgets.Label("Delete blocks (click to toggle):"), *self.buttons])
        super().__init__([row], self.buttons, self.figure())

    @property
    def deleted(self) -> list[int]:
        """Indices (from 0) of the blocks currently deleted."""
        return [i for i, b in enumerate(self.buttons) if b.value]

    def figure(self) -> Figure:
        self.accuracies = lesioned_accuracies(self.models, self.x, self.y, self.deleted)
        return plot_combined_lesions(self.results, self.accuracies, self.deleted, layout="fixed")
