"""Putting a matplotlib figure into an ``ipywidgets.Output`` without flicker."""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
from matplotlib.figure import Figure


def figure_to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    if not isinstance(fig, Figure):
        raise TypeError(f"expected a matplotlib Figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def show_figure(output: widgets.Output, fig: Figure) -> None:
    """Replace the content of ``output`` with ``fig`` in one step (no clear, no flicker)."""
    if not isinstance(output, widgets.Output):
        raise TypeError(f"expected an ipywidgets.Output, got {type(output).__name__}")
    png = base64.b64encode(figure_to_png(fig)).decode("ascii")
    output.outputs = (
        {
            "output_type": "display_data",
            "data": {"image/png": png, "text/plain": "<Figure>"},
            "metadata": {},
        },
    )
