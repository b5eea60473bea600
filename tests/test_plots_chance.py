"""The chance level in the course's figures: named in the legend, never a label that curves cross."""

import pytest
from matplotlib.figure import Figure

from resnet_edu.plots import (
    CHANCE_LOSS,
    draw_chance_line,
    plot_accuracy_vs_depth,
    plot_depth_sweep,
    plot_loss_curves,
)
from resnet_edu.plots.layout import new_figure
from resnet_edu.train import History

CHANCE_LABEL = "chance (ln 10)"


def history(values):
    return History(loss=list(values), accuracy=[0.5] * len(values))


def legend_labels(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def test_draw_chance_line_is_a_legend_entry_not_a_text():
    fig, (ax,) = new_figure((4.0, 3.0))
    line = draw_chance_line(ax)
    assert list(line.get_ydata()) == [CHANCE_LOSS, CHANCE_LOSS]
    assert line.get_linestyle() == ":"
    assert len(ax.texts) == 0
    ax.legend()
    assert legend_labels(ax) == [CHANCE_LABEL]


@pytest.mark.parametrize("layout", ["constrained", "fixed"])
def test_depth_sweep_names_chance_in_both_legends(layout):
    losses = {"plain": {4: [0.01], 56: [2.3]}, "residual": {4: [0.02], 56: [0.003]}}
    curves = {"plain-4": history([2.3, 0.1]), "plain-56": history([2.3, 2.3])}
    fig = plot_depth_sweep(losses, curves, layout=layout)
    assert isinstance(fig, Figure)
    for ax in fig.axes:
        assert len(ax.texts) == 0  # no label on the line for a curve at chance to run over
        assert legend_labels(ax)[-1] == CHANCE_LABEL


def test_loss_curves_name_chance_in_the_legend_only_when_drawn():
    runs = {"plain": history([2.3, 2.2]), "residual": history([2.3, 0.5])}
    assert legend_labels(plot_loss_curves(runs).axes[0]) == ["plain", "residual", CHANCE_LABEL]
    assert legend_labels(plot_loss_curves(runs, chance=False).axes[0]) == ["plain", "residual"]
    assert len(plot_loss_curves(runs).axes[0].texts) == 0


def test_accuracy_chance_keeps_its_label_on_a_white_patch():
    (ax,) = plot_accuracy_vs_depth({"plain": {2: [0.9], 32: [0.1]}}).axes
    (text,) = ax.texts
    assert text.get_text() == "chance (1 in 10)" and text.get_bbox_patch() is not None
    assert "chance (1 in 10)" not in legend_labels(ax)
