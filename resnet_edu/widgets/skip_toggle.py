"""The skip-connection toggle (lesson 04): one initialised residual model, skips on or off.

The lesson computes both states (:func:`resnet_edu.experiments.skip_states`: gradient norms
at initialisation and a training run, from the same weights) and passes them in; flipping
the switch only redraws.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
from matplotlib.figure import Figure

from ..experiments import SkipState
from ..plots.skips import plot_skip_states
from .output import Explorer


class SkipToggle(Explorer):
    """A ``skip`` checkbox ("skip connection: ...") above an ``output`` with the figure.

    ``SkipToggle(states)`` shows ``states = skip_states(...)`` (``{True: SkipState, False:
    SkipState}``); ``current`` is the state shown.
    """

    title = "Skip-connection toggle"

    def __init__(self, states: Mapping[bool, SkipState]) -> None:
        if not isinstance(states, Mapping) or set(states) != {True, False}:
            raise ValueError(
                "states must be {True: SkipState, False: SkipState} (from resnet_edu.experiments.skip_states)"
            )
        self.states = dict(states)
        self.skip = widgets.Checkbox(
            value=True, description="skip connection: out = F(x) + x", indent=False, layout=widgets.Layout(width="auto")
        )
        super().__init__([self.skip], [self.skip], self.figure())

    @property
    def current(self) -> SkipState:
        return self.states[self.skip.value]

    def figure(self) -> Figure:
        return plot_skip_states(self.states, self.skip.value, layout="fixed")
