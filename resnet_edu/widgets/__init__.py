"""ipywidgets dashboards: controls and observers only.

Pattern (course design, section 6): :mod:`resnet_edu.experiments` or :mod:`resnet_edu.probes`
computes, :mod:`resnet_edu.plots` draws a ``Figure``, and the widget's observer sets its
output's content directly (:func:`show_figure`). No ``interact``, ``clear_output`` or
``with out:``: the result is flicker-free in JupyterLab and stable under nbval. Bad values
show a message in the widget (:class:`Explorer`).
"""

from .depth_explorer import DepthExplorer
from .gradient_flow import GradientFlowExplorer
from .lesion import LesionExplorer
from .output import ChangingFigure, Explorer, figure_to_png, show_figure
from .shattered import ShatteredExplorer
from .skip_toggle import SkipToggle

__all__ = [
    "ChangingFigure",
    "Explorer",
    "figure_to_png",
    "show_figure",
    "GradientFlowExplorer",
    "SkipToggle",
    "DepthExplorer",
    "LesionExplorer",
    "ShatteredExplorer",
]
