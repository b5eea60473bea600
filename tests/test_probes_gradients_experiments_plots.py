"""Probes of gradients, the cached experiments (gradient profiles, training runs, skips on and off) and their plots."""

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from resnet_edu import experiments
from resnet_edu.data import load_digits
from resnet_edu.models import MLPStack
from resnet_edu.plots import (
    CHANCE_LOSS,
    plot_accuracy_vs_depth,
    plot_depth_sweep,
    plot_gradient_norms,
)
from resnet_edu.plots.layout import new_figure
from resnet_edu.probes import first_to_last, gradient_norms, spread
from resnet_edu.train import History, train


def history(values):
    return History(loss=list(values), accuracy=[0.5] * len(values))


# --------------------------------------------------------------------- probes


def test_first_to_last_and_spread():
    norms = {"a": 8.0, "b": 1.0, "c": 2.0}
    assert first_to_last(norms) == 4.0
    assert spread(norms) == 8.0
    assert first_to_last({"a": 0.0, "b": 3.0}) == 0.0
    assert spread({"a": 0.0, "b": 3.0}) == math.inf


def test_first_to_last_rejects_bad_input():
    with pytest.raises(ValueError, match="undefined"):
        first_to_last({"a": 1.0, "b": 0.0})
    with pytest.raises(ValueError, match="at least two"):
        first_to_last({"a": 1.0})
    with pytest.raises(ValueError, match="mapping"):
        spread([1.0, 2.0])


# --------------------------------------------------------------------- plots


def test_plot_gradient_norms_draws_each_profile_on_a_log_axis():
    profiles = {"plain": {"l1": 1e-3, "l2": 1e-1, "l3": 1.0}, "residual": {"l1": 0.5, "l2": 0.7, "l3": 1.0}}
    fig = plot_gradient_norms(profiles, title="T")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_yscale() == "log" and ax.get_title() == "T"
    assert ax.get_xlabel() and ax.get_ylabel()
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["plain"].get_xdata()) == [1, 2, 3]
    np.testing.assert_allclose(lines["residual"].get_ydata(), [0.5, 0.7, 1.0])
    assert lines["plain"].get_color() == "#D55E00" and lines["residual"].get_color() == "#0072B2"


def test_plot_gradient_norms_marks_exact_zeros_and_takes_colours():
    fig = plot_gradient_norms({"sigmoid": {"l1": 0.0, "l2": 0.0, "l3": 1e-5, "l4": 1.0}}, colors={"SIGMOID": "#123456"})
    (ax,) = fig.axes
    labels = [line.get_label() for line in ax.get_lines()]
    assert any("= 0" in label for label in labels)
    main = next(line for line in ax.get_lines() if line.get_label() == "sigmoid")
    assert main.get_color() == "#123456"
    assert np.isnan(main.get_ydata()[:2]).all()  # zeros cannot sit on the log axis...
    zeros = [line for line in ax.get_lines() if line.get_marker() == "v" and len(line.get_xdata())]
    assert list(zeros[0].get_xdata()) == [1, 2]  # ...they are marked instead
    assert ax.get_ylim()[0] <= zeros[0].get_ydata()[0] < 1e-5


def test_plot_gradient_norms_names_the_last_layer_and_takes_styles():
    profiles = {"tanh, Xavier": {f"l{i}": 1.0 for i in range(7)}, "tanh, default": {f"l{i}": 2.0 for i in range(7)}}
    fig = plot_gradient_norms(profiles, colors={"tanh": "#CC79A7"}, styles={"tanh, Xavier": {"linestyle": "--"}})
    (ax,) = fig.axes
    assert "7 = output" in ax.get_xlabel()
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["tanh, Xavier"].get_linestyle() == "--" and lines["tanh, default"].get_linestyle() == "-"
    assert lines["tanh, Xavier"].get_color() == lines["tanh, default"].get_color() == "#CC79A7"
    with pytest.raises(TypeError, match="styles"):
        plot_gradient_norms(profiles, styles=["--"])


def test_plot_gradient_norms_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        plot_gradient_norms({})
    with pytest.raises(ValueError, match="layer name"):
        plot_gradient_norms({"plain": [1.0, 2.0]})


def test_plot_depth_sweep_with_and_without_curves():
    losses = {"plain": {4: [0.01, 0.02], 56: [2.0, 2.2]}, "residual": {4: [0.02], 56: [0.003]}}
    fig = plot_depth_sweep(losses)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    plain = next(line for line in ax.get_lines() if line.get_label() == "plain")
    np.testing.assert_allclose(plain.get_ydata(), [0.015, 2.1])  # the seed means
    assert any(np.allclose(line.get_ydata(), CHANCE_LOSS) for line in ax.get_lines())

    curves = {"plain-4": history([2.0, 1.0]), "plain-56": history([2.3, 2.3])}
    fig = plot_depth_sweep(losses, curves, colors={"plain": "#000000"})
    assert len(fig.axes) == 2
    widths = {line.get_label(): line.get_linewidth() for line in fig.axes[1].get_lines()}
    assert widths["plain-56"] > widths["plain-4"]  # deeper is thicker
    dashes = {line.get_label(): line.get_linestyle() for line in fig.axes[1].get_lines()}
    assert dashes["plain-56"] == "-" and dashes["plain-4"] != "-"  # and more solid
    assert all(
        line.get_color() == "#000000" for line in fig.axes[1].get_lines() if line.get_label().startswith("plain")
    )


def test_plot_depth_sweep_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        plot_depth_sweep({})
    with pytest.raises(ValueError, match="list of losses"):
        plot_depth_sweep({"plain": {4: 0.1}})
    with pytest.raises(TypeError, match="History"):
        plot_depth_sweep({"plain": {4: [0.1]}}, {"plain-4": [0.1, 0.2]})


def test_plot_accuracy_vs_depth():
    fig = plot_accuracy_vs_depth({"plain": {2: [0.9], 32: [0.1]}}, title="acc")
    (ax,) = fig.axes
    assert ax.get_yscale() == "linear" and ax.get_title() == "acc"
    assert ax.get_ylim()[0] == 0


def test_new_figure_layouts():
    fig, axes = new_figure((8, 3), 2, "fixed")
    assert len(axes) == 2 and fig.get_layout_engine() is None
    fig, axes = new_figure((8, 3), 1, "constrained")
    assert len(axes) == 1 and fig.get_layout_engine() is not None
    with pytest.raises(ValueError, match="layout"):
        new_figure((8, 3), 1, "tight")


# --------------------------------------------------------------------- experiments


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_gradient_profile_matches_the_probe_and_leaves_the_random_state_alone(digits):
    torch.manual_seed(123)
    state = torch.get_rng_state()
    profile = experiments.gradient_profile(depth=6, activation="tanh", batchnorm=False, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    torch.manual_seed(3)
    model = MLPStack(6, activation="tanh", batchnorm=False)
    assert profile == pytest.approx(gradient_norms(model, digits.x_train[:256], digits.y_train[:256]))


def test_gradient_profile_returns_a_copy():
    first = experiments.gradient_profile(depth=4)
    first["stem.0"] = -1.0
    assert experiments.gradient_profile(depth=4)["stem.0"] > 0


def test_gradient_profile_rejects_bad_arguments():
    with pytest.raises(ValueError, match="even"):
        experiments.gradient_profile(depth=5)
    with pytest.raises(ValueError, match="init"):
        experiments.gradient_profile(init="orthogonal")
    with pytest.raises(TypeError, match="batchnorm"):
        experiments.gradient_profile(batchnorm=1)


def test_training_run_is_cached_copied_and_equals_a_direct_run(digits):
    assert not experiments.training_run.is_cached(6, "plain", seed=5, steps=7)
    run = experiments.training_run(6, "plain", seed=5, steps=7)
    assert experiments.training_run.is_cached(6, "plain", seed=5, steps=7)
    torch.manual_seed(5)
    direct = train(MLPStack(6), digits.x_train, digits.y_train, steps=7, seed=5, progress=False)
    assert run.loss == pytest.approx(direct.loss)
    run.loss.clear()
    assert len(experiments.training_run(6, "plain", seed=5, steps=7).loss) == 7


def test_training_run_zero_inits_residual_stacks_by_default(digits):
    run = experiments.training_run(4, "residual", seed=0, steps=3)
    torch.manual_seed(0)
    direct = train(
        MLPStack(4, block="residual", zero_init=True), digits.x_train, digits.y_train, steps=3, seed=0, progress=False
    )
    assert run.loss == pytest.approx(direct.loss)
    with pytest.raises(ValueError, match="zero_init"):
        experiments.training_run(4, "plain", steps=3, zero_init=True)


def test_depth_sweep_structure_and_final_losses():
    sweep = experiments.depth_sweep((4, 6), ("plain", "residual"), seeds=(0, 1), steps=3, progress=False)
    assert set(sweep.histories) == {"plain", "residual"}
    assert all(len(sweep.histories[b][d]) == 2 for b in ("plain", "residual") for d in (4, 6))
    finals = sweep.final_losses()
    assert finals["plain"][6][1] == pytest.approx(sweep.histories["plain"][6][1].final_loss())
    assert sweep.mean_final_loss("plain", 4) == pytest.approx(np.mean(finals["plain"][4]))
    with pytest.raises(ValueError, match="block"):
        experiments.depth_sweep((4,), ("dense",), progress=False)
    with pytest.raises(ValueError, match="at least one"):
        experiments.depth_sweep((), progress=False)


def test_skip_states_share_initial_weights_and_differ_in_skips():
    states = experiments.skip_states(depth=6, steps=3)
    assert set(states) == {True, False}
    assert states[True].skips and not states[False].skips
    assert list(states[True].gradient_norms) == list(states[False].gradient_norms)
    # the head sees the same initial weights; the whole profile differs because the skips do
    assert states[True].gradient_norms != states[False].gradient_norms
    assert len(states[False].history.loss) == 3
    with pytest.raises(ValueError, match="at least one block"):
        experiments.skip_states(depth=2)
