"""Figures of per-layer gradient norms (from :func:`resnet_edu.probes.gradient_norms`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..probes.gradients import first_to_last
from .layout import new_figure
from .style import color_for, log_y

#: Marker of a gradient that is exactly zero (it cannot sit on a log axis).
ZERO_MARKER = "v"


def _check_profiles(profiles: object) -> Mapping[str, Mapping[str, float]]:
    if not isinstance(profiles, Mapping) or not profiles:
        raise ValueError("profiles must be a non-empty mapping {label: {layer name: gradient norm}}")
    for label, norms in profiles.items():
        if not isinstance(norms, Mapping) or not norms:
            raise ValueError(
                f"profiles[{label!r}] must be a non-empty {{layer name: norm}} mapping "
                "(from resnet_edu.probes.gradient_norms)"
            )
    return profiles


def draw_gradient_norms(
    ax: Axes,
    profiles: Mapping[str, Mapping[str, float]],
    styles: Mapping[str, Mapping[str, object]] | None = None,
) -> None:
    """Draw each profile's gradient norms against layer number (1 = input side) on ``ax``.

    The y-axis is logarithmic. A norm that is exactly 0 (underflowed) is drawn as a
    downward triangle on the bottom edge, labelled "= 0". ``styles`` may give extra
    ``plot`` keyword arguments per label (line width, alpha, ...).
    """
    _check_profiles(profiles)
    positive = [v for norms in profiles.values() for v in norms.values() if v > 0]
    floor = min(positive) / 10 if positive else 1e-30
    any_zero = False
    for i, (label, norms) in enumerate(profiles.items()):
        values = np.array(list(norms.values()), dtype=float)
        layers = np.arange(1, len(values) + 1)
        color = color_for(label, i)
        kwargs = {"color": color, "label": label, "marker": "o", "markersize": 2.5, **(styles or {}).get(label, {})}
        ax.plot(layers, np.where(values > 0, values, np.nan), **kwargs)
        zero = values == 0
        if zero.any():
            any_zero = True
            ax.plot(layers[zero], np.full(zero.sum(), floor), ZERO_MARKER, color=color, markersize=6, clip_on=False)
    log_y(ax)
    if any_zero:
        ax.set_ylim(bottom=floor)
        ax.plot([], [], ZERO_MARKER, color="0.3", label="norm = 0 exactly (underflow)")
    n_layers = max(len(norms) for norms in profiles.values())
    ax.set_xlabel(f"layer (1 = next to the input, {n_layers} = output)")
    ax.set_ylabel("gradient norm of the layer's weight")
    ax.legend(fontsize=8)


def plot_gradient_norms(
    profiles: Mapping[str, Mapping[str, float]],
    title: str = "Gradient norm per layer at initialisation",
    figsize: tuple[float, float] = (6.4, 4.0),
    layout: str = "constrained",
    colors: Mapping[str, str] | None = None,
    styles: Mapping[str, Mapping[str, object]] | None = None,
) -> Figure:
    """Per-layer gradient norms of one or more models, input on the left, on a log scale.

    ``profiles`` maps a label to ``{layer name: norm}`` ordered from input to output, as
    returned by :func:`resnet_edu.probes.gradient_norms`. Labels naming "plain",
    "residual" or "pre-act" get the course's colours; ``colors`` (``{word: colour}``)
    gives every label containing ``word`` (case-insensitive) that colour instead;
    ``styles`` adds ``plot`` options per label (e.g. ``{"tanh, Xavier": {"linestyle": "--"}}``).
    ``layout="fixed"`` draws faster (for widgets).
    """
    _check_profiles(profiles)
    if styles is not None and not isinstance(styles, Mapping):
        raise TypeError("styles must be a mapping {label: {plot option: value}}")
    merged: dict[str, dict[str, object]] = {}
    for label in profiles:
        merged[label] = {}
        for word, color in (colors or {}).items():
            if word.lower() in label.lower():
                merged[label]["color"] = color
        merged[label].update((styles or {}).get(label, {}))
    fig, (ax,) = new_figure(figsize, 1, layout)
    draw_gradient_norms(ax, profiles, styles=merged)
    ax.set_title(title)
    return fig


#: How the settings of :func:`resnet_edu.experiments.gradient_profile` are written in labels.
BLOCK_NAMES = {"plain": "plain", "residual": "residual", "preact": "pre-act. residual"}
INIT_NAMES = {"default": "PyTorch default", "xavier": "Xavier (Glorot)", "kaiming": "Kaiming (He)"}


def profile_label(depth: int, activation: str, init: str, batchnorm: bool, block: str) -> str:
    """A legend label for one setting of a freshly initialised MLP stack."""
    bn = "with" if batchnorm else "no"
    return f"{BLOCK_NAMES[block]}, {depth} layers, {activation}, {INIT_NAMES[init]} init, {bn} BatchNorm"


def plot_gradient_profile(
    norms: Mapping[str, float],
    depth: int = 50,
    activation: str = "relu",
    init: str = "default",
    batchnorm: bool = True,
    block: str = "plain",
    layout: str = "constrained",
) -> Figure:
    """One gradient profile (from :func:`resnet_edu.experiments.gradient_profile` with these
    settings), labelled with the settings and titled with the first-to-last ratio."""
    values = list(norms.values())
    if values[0] == 0:
        ratio = "the first layer's gradient underflowed to exactly 0"
    elif values[-1] > 0:
        ratio = f"first layer / last layer = {first_to_last(norms):.1e}"
    else:
        ratio = "the last layer's gradient is 0"
    return plot_gradient_norms(
        {profile_label(depth, activation, init, batchnorm, block): norms},
        title=f"Gradient norm per layer at initialisation\n{ratio}",
        layout=layout,
    )
