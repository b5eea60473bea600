"""Diagrams of the course's architectures, drawn with matplotlib.

Every function returns a ``matplotlib.figure.Figure`` (no pyplot state). The drawing uses
one data unit per inch, so box sizes and font sizes stay in proportion at any size. Colours
follow :mod:`resnet_edu.plots.style`: plain in vermillion, residual in blue, pre-activation
in green (Okabe-Ito, colour-blind safe); text is always black on a light fill.

- :func:`plot_block_comparison`: plain block vs residual block (He et al. 2015, Fig. 2).
- :func:`plot_resnet_6n2`: the 6n+2 network of He et al. 2015, section 4.2.
- :func:`plot_post_vs_preact`: post-activation (He et al. 2015) vs pre-activation (He et al. 2016).
- :func:`plot_unrolled`: the unrolled view of residual blocks as a sum of paths (Veit et al. 2016).
- :func:`plot_bottleneck`: basic vs bottleneck block with channel counts (He et al. 2015, Fig. 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import NamedTuple

from matplotlib import colors as mcolors
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from ..validate import check_bool, check_choice, check_int
from .style import COLORS, OTHER_COLORS

GREY = "#555555"
LIGHT_GREY = "#DDDDDD"
FONT = 10
SMALL = 9
#: fills of the layer kinds (edges use the block's colour).
_FILL = {"bn": "#EEEEEE", "relu": "#FBE7B8", "pool": "#EEEEEE", "linear": "#EEEEEE"}


def _tint(color: str, amount: float = 0.2) -> tuple[float, float, float]:
    """``color`` mixed with white: ``amount`` of the colour (a light fill for black text)."""
    r, g, b = mcolors.to_rgb(color)
    return (1 - amount + amount * r, 1 - amount + amount * g, 1 - amount + amount * b)


class _Canvas:
    """A figure whose single axes spans it, one data unit per inch, axis hidden."""

    def __init__(self, width: float, height: float) -> None:
        self.fig = Figure(figsize=(width, height))
        self.ax: Axes = self.fig.add_axes((0, 0, 1, 1))
        self.ax.set_xlim(0, width)
        self.ax.set_ylim(0, height)
        self.ax.set_axis_off()
        self.width, self.height = width, height

    def text(self, x: float, y: float, s: str, size: float = FONT, **kwargs) -> None:
        kwargs.setdefault("ha", "center")
        kwargs.setdefault("va", "center")
        self.ax.text(x, y, s, fontsize=size, color=kwargs.pop("color", "black"), **kwargs)

    def box(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        label: str,
        edge: str,
        fill=None,
        size: float = FONT,
        lw: float = 1.5,
        hatch: str | None = None,
        **text_kwargs,
    ) -> None:
        """A rounded box centred on (x, y) with ``label`` inside."""
        patch = FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.06",
            facecolor=fill if fill is not None else _tint(edge),
            edgecolor=edge,
            linewidth=lw,
            hatch=hatch,
            zorder=3,
        )
        self.ax.add_patch(patch)
        if label:
            self.text(x, y, label, size=size, zorder=4, **text_kwargs)

    def add_node(self, x: float, y: float, color: str, r: float = 0.15) -> None:
        """The addition node: a circle with a plus sign."""
        self.ax.add_patch(Circle((x, y), r, facecolor="white", edgecolor=color, linewidth=1.8, zorder=3))
        self.text(x, y, "+", size=13, fontweight="bold", zorder=4)

    def arrow(self, start, end, color: str = "black", lw: float = 1.4, **kwargs) -> None:
        self.ax.add_patch(
            FancyArrowPatch(
                start,
                end,
                arrowstyle="-|>",
                mutation_scale=11,
                color=color,
                linewidth=lw,
                shrinkA=0,
                shrinkB=0,
                zorder=2,
                **kwargs,
            )
        )

    def line(self, xs, ys, color: str = "black", lw: float = 1.4, **kwargs) -> None:
        self.ax.plot(xs, ys, color=color, linewidth=lw, solid_capstyle="butt", zorder=2, **kwargs)


# --------------------------------------------------------------------- vertical block columns

#: Layer kinds: (box height, fill key). "conv" boxes are tinted with the block's colour.
_HEIGHTS = {"io": 0.26, "conv": 0.36, "bn": 0.32, "relu": 0.32, "add": 0.30}


class _Slot(NamedTuple):
    """Where a node of a column sits: its top, centre and bottom y."""

    top: float
    mid: float
    bottom: float


def _column(
    c: _Canvas,
    x: float,
    y_top: float,
    nodes: Sequence[tuple[str, str]],
    color: str,
    width: float = 1.7,
    gap: float = 0.2,
    conv_height: float | None = None,
) -> list[_Slot]:
    """Draw ``nodes`` (kind, label) top to bottom at ``x`` with arrows between them;
    return where each node sits."""
    slots, y = [], y_top
    for i, (kind, label) in enumerate(nodes):
        h = conv_height if kind == "conv" and conv_height else _HEIGHTS[kind]
        slots.append(_Slot(y, y - h / 2, y - h))
        y -= h / 2
        if kind == "io":
            c.text(x, y, label, size=FONT, style="italic")
        elif kind == "add":
            c.add_node(x, y, color)
        elif kind == "conv":
            c.box(x, y, width, h, label, color)
        else:
            c.box(x, y, width, h, label, GREY, fill=_FILL[kind], lw=1.0)
        y -= h / 2
        if i < len(nodes) - 1:
            c.arrow((x, y), (x, y - gap))
            y -= gap
    return slots


def _shortcut(
    c: _Canvas,
    x: float,
    y_split: float,
    y_add: float,
    offset: float,
    label: str,
    color: str,
    lw: float = 1.8,
    r: float = 0.15,
) -> None:
    """The bypass: from a dot at (x, y_split) right by ``offset``, down, and into the
    addition node at (x, y_add); ``label`` is written right of the vertical segment."""
    c.ax.add_patch(Circle((x, y_split), 0.04, color=color, zorder=4))
    c.line([x, x + offset, x + offset], [y_split, y_split, y_add], color=color, lw=lw)
    c.arrow((x + offset, y_add), (x + r, y_add), color=color, lw=lw)
    c.text(x + offset + 0.1, (y_split + y_add) / 2, label, size=SMALL, ha="left", color="black")


def _bracket(c: _Canvas, x: float, y0: float, y1: float, label: str) -> None:
    """A bracket left of a column from y0 (top) to y1 (bottom), ``label`` left of it."""
    c.line([x + 0.08, x, x, x + 0.08], [y0, y0, y1, y1], color=GREY, lw=1.0)
    c.text(x - 0.08, (y0 + y1) / 2, label, size=FONT, ha="right")


_SHORTCUT_LABELS = {
    "identity": "identity\nshortcut\n(x itself,\nno weights)",
    "projection": "projection\nshortcut\n{projection} + BN\n(weights)",
}
#: The weight layers of a block: 3x3 convolutions (the CNN blocks) or Linear (the MLP blocks).
_LAYERS = {"conv": ("3×3 conv", "1×1 conv"), "linear": ("Linear", "Linear")}


def plot_block_comparison(shortcut: str = "identity", layer: str = "conv") -> Figure:
    """Plain block vs residual block, side by side (He et al. 2015, Fig. 2, in the course's
    conv-BN form): conv-BN-ReLU-conv-BN, then (residual only) the shortcut added, then ReLU.

    Args:
        shortcut: ``"identity"`` (x itself) or ``"projection"`` (1x1 conv + BN, used where the
            shape changes: options B and C of He et al. 2015).
        layer: ``"conv"`` (3x3 convolutions, the CNN block) or ``"linear"`` (Linear layers,
            the MLP block of lessons 03-04).
    """
    check_choice("shortcut", shortcut, tuple(_SHORTCUT_LABELS))
    check_choice("layer", layer, tuple(_LAYERS))
    weight, projection = _LAYERS[layer]
    branch = [("conv", weight), ("bn", "BN"), ("relu", "ReLU"), ("conv", weight), ("bn", "BN")]
    c = _Canvas(7.6, 5.25)
    y_top = 4.6
    panels = (
        (1.95, "plain block", COLORS["plain"], [("io", "x"), *branch, ("relu", "ReLU"), ("io", "H(x)")]),
        (
            5.2,
            "residual block",
            COLORS["residual"],
            [("io", "x"), *branch, ("add", ""), ("relu", "ReLU"), ("io", "ReLU(F(x) + x)")],
        ),
    )
    for x, title, color, nodes in panels:
        c.text(x + 0.35, 5.0, title, size=12, fontweight="bold", color=color)
        s = _column(c, x, y_top, nodes, color, width=1.5)
        if title.startswith("plain"):
            _bracket(c, x - 0.95, s[1].top, s[6].bottom, "H(x)\nlearned\ndirectly")
        else:
            _bracket(c, x - 0.95, s[1].top, s[5].bottom, "F(x)\nresidual\nbranch")
            c.text(x - 0.25, s[6].mid, "F(x) + x", size=SMALL, ha="right")
            label = _SHORTCUT_LABELS[shortcut].format(projection=projection)
            _shortcut(c, x, s[0].bottom - 0.06, s[6].mid, 1.05, label, color)
    c.text(3.8, 0.12, "Arrows run top to bottom. BN: batch normalisation.", size=SMALL, color=GREY)
    return c.fig


# --------------------------------------------------------------------- the 6n+2 network


def plot_resnet_6n2(
    n: int = 3,
    block: str = "residual",
    channels: tuple[int, int, int] = (8, 16, 32),
    image_size: int = 8,
    in_channels: int = 1,
    num_classes: int = 10,
) -> Figure:
    """The 6n+2 network of He et al. 2015, section 4.2 (ResNet-20 for n = 3, -56 for n = 9).

    Stem conv, three stages of ``n`` blocks (``channels`` filters; the first block of
    stages 2 and 3 has stride 2, marked "/2"), global average pooling, a linear layer.
    The defaults are the course's digits (8x8 -> 4x4 -> 2x2); the paper uses
    ``channels=(16, 32, 64), image_size=32, in_channels=3`` on CIFAR-10.
    Stages with more than 3 blocks are drawn as first block, dots, last block.
    """
    check_int("n", n, 1)
    check_choice("block", block, ("residual", "plain"))
    if len(channels) != 3:
        raise ValueError(f"channels must hold 3 stage widths, got {channels!r}")
    for width in channels:
        check_int("each entry of channels", width, 1)
    check_int("image_size", image_size, 4)
    if image_size % 4:
        raise ValueError(f"image_size must be divisible by 4 (two halvings), got {image_size}")
    check_int("in_channels", in_channels, 1)
    check_int("num_classes", num_classes, 2)
    color = COLORS[block]
    depth = 6 * n + 2
    shown = list(range(n)) if n <= 3 else [0, None, n - 1]  # None: the dots
    bw, bh, step, arrow = 0.62, 0.62, 0.86, 0.34
    inner = sum(bw if i is not None else 0.3 for i in shown) + (len(shown) - 1) * (step - bw)
    stage_w = max(inner + 0.3, 1.8)  # room for the stage's header
    width = 0.2 + 0.85 + 0.95 + 0.95 + 0.95 + 0.8 + 0.15 + 7 * arrow + 3 * stage_w
    c = _Canvas(width, 3.55)
    y = 1.55
    name = "ResNet" if block == "residual" else "Plain"
    c.text(width / 2, 3.3, f"{name}-{depth}: the 6n+2 network with n = {n}", size=12, fontweight="bold")
    blocks = f"{n} block{'s' if n > 1 else ''}"
    c.text(
        width / 2, 3.02, f"1 stem conv + 3 stages × {blocks} × 2 convs + 1 linear = {depth} weight layers", size=SMALL
    )

    x = 0.2 + 0.85 / 2
    c.text(x, y, f"input\n{in_channels}×{image_size}×{image_size}", size=SMALL, style="italic")
    x += 0.85 / 2
    c.arrow((x, y), (x + arrow, y))
    x += arrow + 0.95 / 2
    c.box(x, y, 0.95, 0.7, f"stem\n3×3 conv\n{channels[0]} ch", color, size=SMALL)
    x += 0.95 / 2
    size = image_size
    for stage, ch in enumerate(channels):
        if stage:
            size //= 2
        c.arrow((x, y), (x + arrow, y))
        x += arrow
        c.ax.add_patch(
            Rectangle(
                (x, y - 0.62),
                stage_w,
                1.24,
                facecolor="#F4F4F4",
                edgecolor=GREY,
                linewidth=0.8,
                linestyle="--",
                zorder=1,
            )
        )
        c.text(x + stage_w / 2, y + 0.85, f"stage {stage + 1}: {ch} ch, {size}×{size}", size=SMALL, fontweight="bold")
        c.text(x + stage_w / 2, y - 0.82, f"{n} block{'s' if n > 1 else ''}", size=SMALL)
        bx = x + (stage_w - inner) / 2
        prev_right = None
        for i in shown:
            if i is None:
                c.text(bx + 0.15, y, "⋯", size=14)
                bx += 0.3 + (step - bw)
                continue
            if prev_right is not None:
                c.arrow((prev_right, y), (bx, y))
            down = stage > 0 and i == 0
            c.box(bx + bw / 2, y, bw, bh, "block\n/2" if down else "block", color, size=SMALL, lw=2.6 if down else 1.5)
            if block == "residual":  # the shortcut: over the block, from its input to its output
                top = y + bh / 2 + 0.14
                c.line([bx - 0.08, bx - 0.08, bx + bw + 0.08], [y, top, top], color=color, lw=1.2)
                c.arrow((bx + bw + 0.08, top), (bx + bw + 0.08, y + 0.02), color=color, lw=1.2)
            prev_right = bx + bw
            bx += step
        x += stage_w
    c.arrow((x, y), (x + arrow, y))
    x += arrow + 0.95 / 2
    c.box(x, y, 0.95, 0.7, "global\naverage\npool", GREY, fill=_FILL["pool"], lw=1.0, size=SMALL)
    x += 0.95 / 2
    c.arrow((x, y), (x + arrow, y))
    x += arrow + 0.95 / 2
    c.box(x, y, 0.95, 0.7, f"linear\n{channels[2]} → {num_classes}", GREY, fill=_FILL["linear"], lw=1.0, size=SMALL)
    x += 0.95 / 2
    c.arrow((x, y), (x + arrow, y))
    c.text(x + arrow + 0.4, y, f"{num_classes}\nclass\nscores", size=SMALL, style="italic")

    key = "/2 (thick edge): first block of stages 2 and 3, stride 2: the map halves, the channels double."
    if block == "residual":
        key += "  Blue line over a block: its shortcut."
    c.text(width / 2, 0.3, key, size=SMALL, color="black")
    return c.fig


# --------------------------------------------------------------------- post- vs pre-activation


def plot_post_vs_preact() -> Figure:
    """Post-activation block (He et al. 2015) vs pre-activation block (He et al. 2016).

    In the post-activation block a ReLU sits after the addition, on the shortcut's path;
    in the pre-activation block BN and ReLU move into the branch and the identity path
    from input to output is clean: x_out = x + F(x).
    """
    c = _Canvas(7.8, 5.6)
    y_top = 4.85
    post = [
        ("io", "x"),
        ("conv", "3×3 conv"),
        ("bn", "BN"),
        ("relu", "ReLU"),
        ("conv", "3×3 conv"),
        ("bn", "BN"),
        ("add", ""),
        ("relu", "ReLU"),
        ("io", "output"),
    ]
    pre = [
        ("io", "x"),
        ("bn", "BN"),
        ("relu", "ReLU"),
        ("conv", "3×3 conv"),
        ("bn", "BN"),
        ("relu", "ReLU"),
        ("conv", "3×3 conv"),
        ("add", ""),
        ("io", "output = x + F(x)"),
    ]
    blue, green = COLORS["residual"], COLORS["preact"]

    x = 1.75
    c.text(x + 0.35, 5.38, "post-activation (He et al. 2015)", size=11, fontweight="bold", color=blue)
    s = _column(c, x, y_top, post, blue, width=1.5)
    _shortcut(c, x, s[0].bottom - 0.06, s[6].mid, 1.0, "identity\nshortcut", blue)
    c.box(x, s[7].mid, 1.5, _HEIGHTS["relu"], "", OTHER_COLORS[2], fill="none", lw=2.6)
    c.text(x + 0.9, s[7].mid, "ReLU on the\nidentity path", size=SMALL, ha="left")
    _bracket(c, x - 0.9, s[1].top, s[5].bottom, "F(x)")

    x = 5.45
    c.text(x + 0.35, 5.38, "pre-activation (He et al. 2016)", size=11, fontweight="bold", color=green)
    s = _column(c, x, y_top, pre, green, width=1.5)
    _shortcut(c, x, s[0].bottom - 0.06, s[7].mid, 1.0, "clean\nidentity\npath:\nnothing\nafter the +", green, lw=3.0)
    _bracket(c, x - 0.9, s[1].top, s[6].bottom, "F(x)")
    c.text(
        3.9,
        0.14,
        "Pre-activation: BN and ReLU move into the branch, so x reaches the output unchanged.",
        size=SMALL,
        color=GREY,
    )
    return c.fig


# --------------------------------------------------------------------- unrolled view


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def _f(k: int) -> str:
    return f"f{k}".translate(_SUB)


def _path_label(bits: Sequence[int]) -> str:
    """The path through the blocks whose bit is 1: 'x', 'f₁(x)', 'f₃(f₁(x))'."""
    expr = "x"
    for k, bit in enumerate(bits, start=1):
        if bit:
            expr = f"{_f(k)}({expr})"
    return expr


def plot_unrolled(n_blocks: int = 3) -> Figure:
    """The unrolled view of ``n_blocks`` residual blocks (Veit et al. 2016): 2**n paths.

    Top: the stack x_k = x_{k-1} + f_k(x_{k-1}). Below: the same stack unrolled, each
    block either skipped (grey) or passed through (blue box), one output per path, the
    2**n outputs summed. The expansion is exact for linear blocks; with ReLU and BN in
    the blocks it is a way to look at the network, not an identity.
    """
    check_int("n_blocks", n_blocks, 1)
    if n_blocks > 4:
        raise ValueError(f"n_blocks must be at most 4 (2**4 = 16 paths fit on a figure), got {n_blocks}")
    blue = COLORS["residual"]
    n_paths = 2**n_blocks
    dx, leaf_gap = 1.55, 0.42
    x0 = 0.6
    xs = [x0 + k * dx for k in range(n_blocks + 1)]
    tree_h = (n_paths - 1) * leaf_gap
    width = xs[-1] + 1.95 + 0.9 + 0.6
    height = tree_h + 3.15
    c = _Canvas(width, height)
    c.text(
        width / 2,
        height - 0.25,
        f"{n_blocks} residual block{'s' if n_blocks > 1 else ''} = "
        f"2{str(n_blocks).translate(_SUP)} = {n_paths} paths (Veit et al. 2016)",
        size=12,
        fontweight="bold",
    )

    # the stack, on top
    ys = height - 1.0
    c.text(xs[0] - 0.3, ys, "x", size=FONT, style="italic")
    c.line([xs[0] - 0.15, xs[-1]], [ys, ys], color=GREY, lw=1.6)
    for k in range(1, n_blocks + 1):
        mid = (xs[k - 1] + xs[k]) / 2
        c.line([xs[k - 1] + 0.18, xs[k - 1] + 0.18, mid - 0.3], [ys, ys + 0.38, ys + 0.38], color=blue)
        c.box(mid, ys + 0.38, 0.6, 0.3, _f(k), blue, size=FONT)
        c.line([mid + 0.3, xs[k]], [ys + 0.38, ys + 0.38], color=blue)
        c.arrow((xs[k], ys + 0.38), (xs[k], ys + 0.15), color=blue)
        c.add_node(xs[k], ys, blue)
    c.arrow((xs[-1] + 0.15, ys), (xs[-1] + 0.55, ys))
    c.text(xs[-1] + 0.62, ys, "output", size=FONT, ha="left", style="italic")
    c.text(xs[0] - 0.45, ys + 0.38, "stack:", size=SMALL, ha="left", color=GREY)

    # the unrolled tree
    top = height - 1.75
    leaf_y = [top - i * leaf_gap for i in range(n_paths)]
    c.text(xs[0] - 0.45, top + 0.3, "unrolled:", size=SMALL, ha="left", color=GREY)
    leaves = list(product((0, 1), repeat=n_blocks))  # leaf i: bits b1..bn
    node_y = {(): sum(leaf_y) / n_paths}
    for level in range(1, n_blocks + 1):
        for prefix in product((0, 1), repeat=level):
            ids = [i for i, bits in enumerate(leaves) if bits[:level] == prefix]
            node_y[prefix] = sum(leaf_y[i] for i in ids) / len(ids)
    c.text(xs[0] - 0.3, node_y[()], "x", size=FONT, style="italic")
    for level in range(1, n_blocks + 1):
        for prefix in product((0, 1), repeat=level):
            y_parent, y_child = node_y[prefix[:-1]], node_y[prefix]
            x_elbow = xs[level - 1] + 0.12
            color = blue if prefix[-1] else GREY
            c.line(
                [xs[level - 1], x_elbow, x_elbow, xs[level]],
                [y_parent, y_parent, y_child, y_child],
                color=color,
                lw=1.4 if prefix[-1] else 1.2,
            )
            if prefix[-1]:
                c.box((xs[level - 1] + xs[level]) / 2 + 0.06, y_child, 0.5, 0.28, _f(level), blue, size=SMALL)
    x_sum = xs[-1] + 1.95
    y_sum = node_y[()]
    for bits, y in zip(leaves, leaf_y):
        c.text(
            xs[-1] + 0.08,
            y,
            _path_label(bits),
            size=SMALL,
            ha="left",
            va="center",
            bbox=dict(facecolor="white", edgecolor="none", pad=0.5),
        )
        c.line([xs[-1] + 1.4, x_sum - 0.22], [y, y_sum + (y - y_sum) * 0.15], color=LIGHT_GREY, lw=1.0)
    c.ax.add_patch(Circle((x_sum, y_sum), 0.2, facecolor="white", edgecolor="black", linewidth=1.5, zorder=3))
    c.text(x_sum, y_sum, "Σ", size=13, zorder=4)
    c.arrow((x_sum + 0.2, y_sum), (x_sum + 0.5, y_sum))
    c.text(x_sum + 0.55, y_sum, "output", size=FONT, ha="left", style="italic")

    counts = [sum(1 for bits in leaves if sum(bits) == m) for m in range(n_blocks + 1)]
    lengths = ", ".join(f"{m} block{'s' if m != 1 else ''}: {count}" for m, count in enumerate(counts))
    c.text(width / 2, 0.62, f"Number of paths through {lengths}.", size=SMALL)
    c.text(
        width / 2,
        0.28,
        f"Exact only for linear blocks: with ReLU and BN, {_f(2)}(x + {_f(1)}(x)) ≠ {_f(2)}(x) + {_f(2)}({_f(1)}(x)).",
        size=SMALL,
        color="black",
    )
    return c.fig


# --------------------------------------------------------------------- bottleneck


def _conv_weights(kernel: int, cin: int, cout: int) -> int:
    return kernel * kernel * cin * cout


def plot_bottleneck(channels: int = 256, width: int = 64, with_basic: bool = True) -> Figure:
    """The bottleneck block with channel counts (He et al. 2015, Fig. 5): 1x1 conv reduces
    ``channels`` to ``width``, 3x3 conv at ``width``, 1x1 conv expands back to ``channels``.

    With ``with_basic`` the basic block (two 3x3 convs at ``width``) is drawn on the left,
    as in the paper's figure; the conv weights of each block are printed under it.
    """
    check_int("channels", channels, 1)
    check_int("width", width, 1)
    if width >= channels:
        raise ValueError(f"width ({width}) must be smaller than channels ({channels}): a bottleneck reduces")
    check_bool("with_basic", with_basic)
    blue = COLORS["residual"]
    panel = 3.9
    c = _Canvas(panel * (2 if with_basic else 1) + 0.2, 6.1)
    y_top = 5.4
    x = 0.2 + panel * 0.46
    if with_basic:
        nodes = [
            ("io", f"x: {width}-d"),
            ("conv", f"3×3 conv, {width}"),
            ("bn", "BN, ReLU"),
            ("conv", f"3×3 conv, {width}"),
            ("bn", "BN"),
            ("add", ""),
            ("relu", "ReLU"),
            ("io", f"{width}-d out"),
        ]
        c.text(x + 0.3, 5.85, "basic block (ResNet-18/34)", size=11, fontweight="bold", color=blue)
        s = _column(c, x, y_top, nodes, blue, width=1.55)
        _shortcut(c, x, s[0].bottom - 0.06, s[5].mid, 1.05, "identity", blue)
        basic = 2 * _conv_weights(3, width, width)
        c.text(x, 0.2, f"conv weights: {basic:,}", size=SMALL)
        x += panel
    nodes = [
        ("io", f"x: {channels}-d"),
        ("conv", f"1×1 conv, {width}\n(reduce)"),
        ("bn", "BN, ReLU"),
        ("conv", f"3×3 conv, {width}"),
        ("bn", "BN, ReLU"),
        ("conv", f"1×1 conv, {channels}\n(expand)"),
        ("bn", "BN"),
        ("add", ""),
        ("relu", "ReLU"),
        ("io", f"{channels}-d out"),
    ]
    c.text(x + 0.3, 5.85, "bottleneck block (ResNet-50/101/152)", size=11, fontweight="bold", color=blue)
    s = _column(c, x, y_top, nodes, blue, width=1.7, gap=0.16, conv_height=0.5)
    _shortcut(c, x, s[0].bottom - 0.05, s[7].mid, 1.1, "identity", blue)
    bottleneck = _conv_weights(1, channels, width) + _conv_weights(3, width, width) + _conv_weights(1, width, channels)
    c.text(x, 0.2, f"conv weights: {bottleneck:,}", size=SMALL)
    return c.fig


__all__ = [
    "plot_block_comparison",
    "plot_bottleneck",
    "plot_post_vs_preact",
    "plot_resnet_6n2",
    "plot_unrolled",
]
