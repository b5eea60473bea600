"""Probes of block lesions, shattered gradients and loss-surface slices, and their plots."""

import math

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from resnet_edu.data import line_grid
from resnet_edu.experiments import line_network, shattering_curve
from resnet_edu.models import CifarResNet, MLPStack
from resnet_edu.plots import plot_lesions, plot_loss_surfaces, plot_shattered_gradients
from resnet_edu.probes import (
    LesionResult,
    autocorrelation,
    filter_normalized_direction,
    input_gradients,
    lesion_study,
    loss_surface,
)
from resnet_edu.train import evaluate


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


@pytest.fixture
def data():
    x = torch.randn(64, 64)
    y = torch.randint(0, 10, (64,))
    return x, y


# ---------------------------------------------------------------- lesions


def test_deleting_a_zero_branch_changes_nothing(data):
    # zero-initialised residual blocks compute act(0 + x) = x on the non-negative inputs they get
    model = MLPStack(depth=8, block="residual", zero_init=True)
    model.train()
    model(data[0])  # give BatchNorm some running statistics
    result = lesion_study(model, *data)
    assert result.baseline == pytest.approx(evaluate(model, *data).accuracy)
    assert result.accuracies == pytest.approx([result.baseline] * 3)
    assert result.drops() == pytest.approx([0.0] * 3)
    assert result.changes_shape == [False] * 3


def test_lesion_study_marks_downsampling_blocks():
    model = CifarResNet(depth=20, channels=(4, 8, 16), in_channels=1)
    x, y = torch.randn(16, 1, 8, 8), torch.randint(0, 10, (16,))
    result = lesion_study(model, x, y)
    assert [i for i, c in enumerate(result.changes_shape) if c] == [3, 6]
    assert len(result.accuracies) == len(result.names) == 9
    with pytest.raises(ValueError, match="no block"):
        lesion_study(nn.Linear(64, 10), *(torch.randn(4, 64), torch.zeros(4, dtype=torch.long)))


# ---------------------------------------------------------------- shattered gradients


def test_autocorrelation_of_known_signals():
    t = torch.linspace(0, 2 * math.pi, 256)
    assert autocorrelation(torch.sin(t)) > 0.99
    assert autocorrelation(torch.tensor([1.0, -1.0] * 50)) == pytest.approx(-1.0)
    noise = torch.randn(4096, generator=torch.Generator().manual_seed(1))
    assert abs(autocorrelation(noise)) < 0.05
    assert autocorrelation(torch.ones(10)) == 0.0
    with pytest.raises(ValueError):
        autocorrelation(torch.ones(2, 3))


def test_input_gradients_of_a_linear_model_are_its_weight():
    model = nn.Linear(1, 2)
    grads = input_gradients(model, line_grid(16))
    assert torch.allclose(grads, torch.full((16,), model.weight[0, 0].item()))


def test_input_gradients_match_finite_differences_with_frozen_batchnorm():
    model = line_network(6, "residual", width=16)
    x = line_grid(32)
    grads = input_gradients(model, x)
    # BatchNorm with the grid's statistics, as input_gradients documents
    probe = MLPStack(6, width=16, block="residual", in_features=1, num_classes=2)
    probe.load_state_dict(model.state_dict())
    for m in probe.modules():
        if isinstance(m, nn.BatchNorm1d):
            m.reset_running_stats()
            m.momentum = None
    probe.train()
    with torch.no_grad():
        probe(x)
    probe.eval().double()
    eps = 1e-6
    with torch.no_grad():
        fd = (probe(x.double() + eps)[:, 0] - probe(x.double() - eps)[:, 0]) / (2 * eps)
    assert torch.allclose(grads.double(), fd, atol=1e-4, rtol=1e-3)


def test_input_gradients_leave_the_model_alone():
    model = line_network(6, "plain", width=16)
    model(line_grid(8))  # running statistics that differ from a fresh BatchNorm's
    model.eval()
    model.blocks[0].train()  # mixed modes must come back as they were
    modes = [m.training for m in model.modules()]
    momenta = [m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert momenta, "the test needs a model with BatchNorm"
    before = {k: v.clone() for k, v in model.state_dict().items()}
    input_gradients(model, line_grid(32))
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert [m.training for m in model.modules()] == modes
    assert [m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)] == momenta
    with pytest.raises(ValueError, match="n_points, 1"):
        input_gradients(model, torch.zeros(4, 2))


def test_line_network_is_seeded_and_keeps_the_global_random_state():
    state = torch.random.get_rng_state()
    a, b = line_network(4, seed=3), line_network(4, seed=3)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_plain_nets_shatter_and_residual_nets_much_less():
    plain = shattering_curve([2, 32], "plain", width=64)
    residual = shattering_curve([32], "residual", width=64)
    assert plain[2] > 0.9
    assert plain[32] < 0.3
    assert residual[32] > plain[32] + 0.15
    with pytest.raises(ValueError):
        shattering_curve([], "plain")


# ---------------------------------------------------------------- loss surfaces


def test_filter_normalised_direction_matches_filter_norms():
    model = CifarResNet(depth=8, channels=(4, 8, 16), in_channels=1)
    direction = filter_normalized_direction(model, seed=1)
    for p, d in zip(model.parameters(), direction):
        assert d.shape == p.shape
        if p.dim() <= 1:
            assert torch.count_nonzero(d) == 0
        else:
            assert torch.allclose(d.flatten(1).norm(dim=1), p.detach().flatten(1).norm(dim=1), rtol=1e-5)
    again = filter_normalized_direction(model, seed=1)
    other = filter_normalized_direction(model, seed=2)
    assert all(torch.equal(a, b) for a, b in zip(direction, again))
    assert not all(torch.equal(a, b) for a, b in zip(direction, other))


def test_loss_surface_centre_is_the_model_loss(data):
    model = MLPStack(depth=4, width=16, block="residual")
    before = [p.clone() for p in model.parameters()]
    surface = loss_surface(model, *data, steps=5, span=0.5)
    assert surface.losses.shape == (5, 5)
    assert surface.center_loss == pytest.approx(evaluate(model, *data).loss, rel=1e-5)
    np.testing.assert_allclose(surface.alphas, np.linspace(-0.5, 0.5, 5))
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))
    assert len(np.unique(surface.losses.round(6))) > 1
    with pytest.raises(ValueError, match="odd"):
        loss_surface(model, *data, steps=4)
    with pytest.raises(ValueError, match="span"):
        loss_surface(model, *data, steps=3, span=0)


# ---------------------------------------------------------------- plots


def test_plots_build_labelled_figures(data):
    r = LesionResult(0.9, [0.5, 0.8], ["a", "b"], [False, True])
    fig = plot_lesions({"residual": r})
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_ylabel() == "test accuracy"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2\n↓"]
    assert "↓ = downsampling block" in ax.get_xlabel()
    assert any(t.get_text() == "chance (1 in 10)" for t in ax.texts)
    # no block changes shape (an MLP): the x label does not mention downsampling
    mlp_ax = plot_lesions({"residual": LesionResult(0.9, [0.5, 0.8], ["a", "b"], [False, False])}).axes[0]
    assert "downsampling" not in mlp_ax.get_xlabel()
    assert [t.get_text() for t in mlp_ax.get_xticklabels()] == ["1", "2"]
    x = line_grid(16)
    fig = plot_shattered_gradients(
        x, {"plain": torch.randn(16), "residual": torch.randn(16)}, {"plain": {2: 0.9, 8: 0.1}}, depth=8
    )
    assert len(fig.axes) == 3 and fig.axes[-1].get_xlabel().startswith("depth")
    surface = loss_surface(MLPStack(depth=4, width=16), *data, steps=3)
    fig = plot_loss_surfaces({"plain": surface, "residual": surface}, ncols=2)
    assert fig.axes[0].get_xlabel() == "step along direction 1"
    with pytest.raises(TypeError):
        plot_lesions({"plain": [0.1]})
    with pytest.raises(ValueError):
        plot_shattered_gradients(x, {"plain": torch.randn(15)}, {"plain": {2: 1.0}}, depth=2)
