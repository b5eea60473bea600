"""The architecture diagrams (resnet_edu.plots.diagrams): labels, no overlapping text, short errors."""

import itertools

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from resnet_edu.plots import (
    plot_block_comparison,
    plot_bottleneck,
    plot_post_vs_preact,
    plot_resnet_6n2,
    plot_unrolled,
)


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def assert_readable(fig):
    """Every text lies inside the figure and no two texts overlap."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.axes[0].texts if t.get_text()]
    width, height = fig.bbox.width, fig.bbox.height
    for text, box in boxes:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= width + 1 and box.y1 <= height + 1, text
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), (a, b)


CASES = [
    (plot_block_comparison, {}, ["plain block", "residual block", "3×3 conv", "BN", "ReLU", "+", "F(x) + x"]),
    (plot_block_comparison, {"shortcut": "projection"}, ["residual block"]),
    (plot_block_comparison, {"layer": "linear"}, ["Linear", "F(x) + x"]),
    (
        plot_block_comparison,
        {"shortcut": "projection", "layer": "linear"},
        ["projection\nshortcut\nLinear + BN\n(weights)"],
    ),
    (
        plot_resnet_6n2,
        {},
        [
            "ResNet-20: the 6n+2 network with n = 3",
            "stage 1: 8 ch, 8×8",
            "stage 3: 32 ch, 2×2",
            "block\n/2",
            "global\naverage\npool",
        ],
    ),
    (plot_resnet_6n2, {"n": 9}, ["ResNet-56: the 6n+2 network with n = 9", "⋯", "9 blocks"]),
    (plot_resnet_6n2, {"n": 1, "block": "plain"}, ["Plain-8: the 6n+2 network with n = 1", "1 block"]),
    (
        plot_resnet_6n2,
        {"n": 18, "channels": (16, 32, 64), "image_size": 32, "in_channels": 3},
        ["stage 1: 16 ch, 32×32", "stage 3: 64 ch, 8×8", "input\n3×32×32"],
    ),
    (
        plot_post_vs_preact,
        {},
        ["post-activation (He et al. 2015)", "pre-activation (He et al. 2016)", "output = x + F(x)"],
    ),
    (plot_unrolled, {}, ["3 residual blocks = 2³ = 8 paths (Veit et al. 2016)", "f₃(f₂(f₁(x)))", "Σ"]),
    (plot_unrolled, {"n_blocks": 1}, ["f₁(x)"]),
    (plot_unrolled, {"n_blocks": 4}, ["f₄(f₃(f₂(f₁(x))))"]),
    (
        plot_bottleneck,
        {},
        [
            "1×1 conv, 64\n(reduce)",
            "3×3 conv, 64",
            "1×1 conv, 256\n(expand)",
            "conv weights: 69,632",
            "conv weights: 73,728",
        ],
    ),
    (plot_bottleneck, {"channels": 64, "width": 16, "with_basic": False}, ["1×1 conv, 16\n(reduce)"]),
]


@pytest.mark.parametrize(("function", "kwargs", "labels"), CASES)
def test_diagram_labels_and_layout(function, kwargs, labels):
    fig = function(**kwargs)
    assert isinstance(fig, Figure)
    drawn = texts(fig)
    for label in labels:
        assert label in drawn
    assert_readable(fig)


def test_unrolled_lists_every_path():
    drawn = texts(plot_unrolled(3))
    paths = [t for t in drawn if t == "x" or t.endswith("(x)") or t.endswith("))")]
    assert "Number of paths through 0 blocks: 1, 1 block: 3, 2 blocks: 3, 3 blocks: 1." in drawn
    assert len(set(paths) - {"x"}) == 7


@pytest.mark.parametrize(
    ("function", "kwargs", "error", "match"),
    [
        (plot_block_comparison, {"shortcut": "zero"}, ValueError, "unknown shortcut"),
        (plot_block_comparison, {"layer": "dense"}, ValueError, "unknown layer"),
        (plot_resnet_6n2, {"n": 0}, ValueError, "n must be >= 1"),
        (plot_resnet_6n2, {"n": 2.5}, TypeError, "n must be an int"),
        (plot_resnet_6n2, {"block": "preact"}, ValueError, "unknown block"),
        (plot_resnet_6n2, {"channels": (8, 16)}, ValueError, "3 stage widths"),
        (plot_resnet_6n2, {"image_size": 10}, ValueError, "divisible by 4"),
        (plot_unrolled, {"n_blocks": 5}, ValueError, "at most 4"),
        (plot_unrolled, {"n_blocks": 0}, ValueError, ">= 1"),
        (plot_bottleneck, {"channels": 64, "width": 64}, ValueError, "smaller than channels"),
        (plot_bottleneck, {"with_basic": "yes"}, TypeError, "True or False"),
    ],
)
def test_diagram_errors(function, kwargs, error, match):
    with pytest.raises(error, match=match):
        function(**kwargs)
