"""What every widget of the course shares: a figure shown without flicker, a message line
for bad values, and a text fallback that says what to do.

A widget (a subclass of :class:`Explorer`) holds controls and observers only: it computes
with :mod:`resnet_edu.experiments` or :mod:`resnet_edu.probes` and draws with
:mod:`resnet_edu.plots`.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

import ipywidgets as widgets
import matplotlib.image
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure

#: Resolution of widget figures: a third fewer pixels than 100 dpi, so they encode and travel faster.
WIDGET_DPI = 80


class _ReusedRendererCanvas(FigureCanvasAgg):
    """An Agg canvas that keeps one renderer per image size for all the figures it draws.

    matplotlib remembers the measured size of every text per renderer; a widget redraws
    the same tick labels and titles again and again, so a kept renderer skips measuring
    them and a redraw takes about a third less time. (Drawing happens one figure at a time.)
    """

    _renderers: dict[tuple[int, int, float], RendererAgg] = {}

    def get_renderer(self) -> RendererAgg:
        width, height = self.get_width_height(physical=True)
        key = (width, height, self.figure.dpi)
        if key not in self._renderers:
            self._renderers[key] = RendererAgg(width, height, self.figure.dpi)
        self.renderer = self._renderers[key]
        return self.renderer


def figure_to_png(fig: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (fast zlib level 1: a third less time, about the same size).

    The figure gets a canvas that shares its renderer with the other widget figures (see
    :class:`_ReusedRendererCanvas`); its pixels are exactly those of a fresh canvas."""
    if not isinstance(fig, Figure):
        raise TypeError(f"expected a matplotlib Figure, got {type(fig).__name__}")
    _ReusedRendererCanvas(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class ChangingFigure:
    """A widget figure of which only a few artists change between redraws (matplotlib's
    "blitting"). Everything else is drawn once and kept as pixels; :meth:`png` puts those
    pixels back and draws only the ``changing`` artists (which must belong to the figure's
    axes), in the order a full draw would.

    The image is exactly that of a full draw when no unchanging artist is drawn over a
    changing one: give a changing line a higher zorder than what it crosses. (The tests
    compare the pixels with those of a new figure.) The figure is drawn at ``dpi``; if its
    canvas, size or dpi is changed elsewhere, the next :meth:`png` draws the kept part again.
    """

    def __init__(self, fig: Figure, changing: Sequence[Artist], dpi: int = WIDGET_DPI) -> None:
        if not isinstance(fig, Figure):
            raise TypeError(f"expected a matplotlib Figure, got {type(fig).__name__}")
        if fig.get_layout_engine() is not None:
            raise ValueError("a changing figure needs a fixed layout (layout='fixed'): its axes must not move")
        axes = sorted(fig.axes, key=lambda ax: ax.get_zorder())  # the order a full draw takes
        if any(a.axes not in axes for a in changing):
            raise ValueError("every changing artist must belong to one of the figure's axes")
        self.figure, self.dpi = fig, dpi
        self.changing = sorted(changing, key=lambda a: (axes.index(a.axes), a.get_zorder()))
        for artist in self.changing:
            artist.set_animated(True)  # left out of the full draw of the kept part
        self._draw_kept_part()

    def _draw_kept_part(self) -> None:
        self.figure.set_dpi(self.dpi)
        self._canvas = FigureCanvasAgg(self.figure)
        self._canvas.draw()
        self._size = tuple(self.figure.get_size_inches())
        self._background = self._canvas.copy_from_bbox(self.figure.bbox)

    def png(self) -> bytes:
        """The figure as it is now, as PNG bytes (zlib level 1, as :func:`figure_to_png`)."""
        fig = self.figure
        if fig.canvas is not self._canvas or fig.dpi != self.dpi or tuple(fig.get_size_inches()) != self._size:
            self._draw_kept_part()
        self._canvas.restore_region(self._background)
        renderer = self._canvas.get_renderer()
        for artist in self.changing:
            artist.draw(renderer)
        buffer = io.BytesIO()
        pixels = np.asarray(self._canvas.buffer_rgba())
        matplotlib.image.imsave(buffer, pixels, format="png", dpi=self.dpi, pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


def show_figure(output: widgets.Output, fig: Figure | ChangingFigure, dpi: int = WIDGET_DPI) -> None:
    """Replace the content of ``output`` with ``fig`` in one step (no clear, no flicker).
    ``dpi`` applies to a ``Figure``; a :class:`ChangingFigure` keeps its own."""
    if not isinstance(output, widgets.Output):
        raise TypeError(f"expected an ipywidgets.Output, got {type(output).__name__}")
    image = fig.png() if isinstance(fig, ChangingFigure) else figure_to_png(fig, dpi)
    png = base64.b64encode(image).decode("ascii")
    output.outputs = (
        {"output_type": "display_data", "data": {"image/png": png, "text/plain": "<Figure>"}, "metadata": {}},
    )


class Explorer(widgets.VBox):
    """Controls, a ``message`` line and an ``output`` with the figure.

    A subclass draws its first figure from its arguments, builds its controls, passes both to
    ``__init__``, and defines :meth:`figure`, which computes and draws for the current control
    values. Every change of a control calls :meth:`redraw`; a bad value (a ``ValueError`` or
    ``TypeError``) is shown in the message line and the last good figure stays: the widget
    never freezes.
    """

    #: The widget's name in its text fallback (what JupyterLab shows before the cell runs).
    title = "Interactive figure"

    def __init__(
        self, rows: list[widgets.Widget], controls: list[widgets.Widget], first: Figure | ChangingFigure
    ) -> None:
        """``rows`` are shown above the figure, ``controls`` are watched; ``first`` is the first
        figure, drawn by the subclass's constructor from its arguments (so bad arguments raise there)."""
        self.message = widgets.HTML()
        self.output = widgets.Output()
        super().__init__(children=[*rows, self.message, self.output])
        show_figure(self.output, first)
        for control in controls:
            control.observe(self.redraw, names="value")

    def figure(self) -> Figure | ChangingFigure:
        raise NotImplementedError

    def redraw(self, change: object = None) -> None:
        """Draw the figure for the current control values, or show why it cannot be drawn."""
        try:
            fig = self.figure()
        except (ValueError, TypeError) as error:
            self.message.value = f'<span style="color:#D55E00">Cannot show this: {html.escape(str(error))}</span>'
            return
        self.message.value = ""
        show_figure(self.output, fig)

    def __repr__(self) -> str:
        # ipywidgets shows at most 110 characters of this as text/plain.
        return f"[{self.title}: run this cell to use it. Still text after running? README, Troubleshooting]"
