"""ipywidgets dashboards built from the pure functions of probes and plots.

Pattern (course design, section 6): a pure function computes, a plot function draws a
``Figure``, and the observer sets the output widget's content directly with
:func:`show_figure`. No ``interact``, ``clear_output`` or ``with out:``: the result is
flicker-free in JupyterLab and stable under nbval.
"""

from .output import figure_to_png, show_figure
from .gradient_flow import GradientFlowExplorer, gradient_flow_figure
from .skip_toggle import SkipToggle, skip_toggle_figure
from .depth_explorer import DepthExplorer, depth_explorer_figure
from .lesion import LesionExplorer, lesion_explorer_figure
from .shattered import ShatteredExplorer, shattered_figure

__all__ = [
    "figure_to_png",
    "show_figure",
    "GradientFlowExplorer",
    "gradient_flow_figure",
    "SkipToggle",
    "skip_toggle_figure",
    "DepthExplorer",
    "depth_explorer_figure",
    "LesionExplorer",
    "lesion_explorer_figure",
    "ShatteredExplorer",
    "shattered_figure",
]
