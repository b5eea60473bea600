"""ipywidgets dashboards built from the pure functions of probes and plots.

Pattern (course design, section 6): a pure function computes, a plot function draws a
``Figure``, and the observer sets the output widget's content directly with
:func:`show_figure`. No ``interact``, ``clear_output`` or ``with out:``: the result is
flicker-free in JupyterLab and stable under nbval.
"""

from .output import figure_to_png, show_figure

__all__ = ["figure_to_png", "show_figure"]
