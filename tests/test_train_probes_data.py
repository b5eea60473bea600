"""Training is deterministic and learns; probes are pure; the data are deterministic and standardised."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from resnet_edu.data import line_grid, load_digits
from resnet_edu.models import CifarResNet, MLPStack, set_skips
from resnet_edu.plots import CHANCE_LOSS, COLORS, plot_loss_curves
from resnet_edu.probes import gradient_norms
from resnet_edu.startup import environment, seed_everything, start
from resnet_edu.train import History, evaluate, train


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def _train_once(digits, seed=0, steps=30):
    torch.manual_seed(0)
    model = MLPStack(6, width=32, block="residual")
    return model, train(model, digits.x_train, digits.y_train, steps=steps, seed=seed, progress=False)


def test_training_is_deterministic(digits):
    _, first = _train_once(digits)
    _, second = _train_once(digits)
    assert first.loss == second.loss and first.accuracy == second.accuracy
    _, other_seed = _train_once(digits, seed=1)
    assert other_seed.loss != first.loss


def test_loss_goes_down_on_digits(digits):
    model, history = _train_once(digits, steps=60)
    assert len(history.loss) == 60
    assert history.final_loss() < 0.5 * np.mean(history.loss[:5])
    assert evaluate(model, digits.x_test, digits.y_test).accuracy > 0.85


def test_cnn_trains_on_digit_images():
    images = load_digits(shape="image")
    torch.manual_seed(0)
    model = CifarResNet(8, "residual", channels=(4, 8, 16), in_channels=1)
    history = train(model, images.x_train, images.y_train, steps=40, progress=False)
    assert history.final_loss(5) < 0.6 * np.mean(history.loss[:5])


def test_evaluate_restores_the_mode(digits):
    model = MLPStack(4).train()
    evaluate(model, digits.x_test, digits.y_test)
    assert model.training
    model.eval()
    evaluate(model, digits.x_test, digits.y_test)
    assert not model.training


def test_final_loss_of_empty_history():
    with pytest.raises(ValueError, match="empty"):
        History().final_loss()


def test_digits_split_is_deterministic_and_standardised(digits):
    again = load_digits()
    assert torch.equal(digits.x_train, again.x_train) and torch.equal(digits.y_test, again.y_test)
    assert digits.x_train.shape == (1200, 64) and digits.x_test.shape == (597, 64)
    assert digits.x_train.mean(0).abs().max() < 1e-5
    std = digits.x_train.std(0)
    assert torch.all(((std - 1).abs() < 1e-4) | (std < 1e-6))
    assert set(digits.y_train.tolist()) == set(range(10))
    other = load_digits(seed=1)
    assert not torch.equal(other.y_train, digits.y_train)


def test_digits_as_images():
    images = load_digits(shape="image", n_train=1000)
    flat = load_digits(shape="flat", n_train=1000)
    assert images.x_train.shape == (1000, 1, 8, 8)
    assert torch.equal(images.x_train.reshape(1000, 64), flat.x_train)


def test_line_grid():
    grid = line_grid(5, -1.0, 1.0)
    assert grid.shape == (5, 1)
    assert torch.allclose(grid.squeeze(1), torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0]))


def test_gradient_norms_in_order_and_equal_to_backward(digits):
    torch.manual_seed(0)
    model = MLPStack(6, width=16, block="residual")
    x, y = digits.x_train[:64], digits.y_train[:64]
    model.eval()
    running_mean = model.blocks[0].bn1.running_mean.clone()
    norms = gradient_norms(model, x, y)
    assert list(norms) == ["stem.0", "blocks.0.fc1", "blocks.0.fc2", "blocks.1.fc1", "blocks.1.fc2", "head.0"]
    # the probe left the model alone: no .grad, same BatchNorm statistics, same mode
    assert model.blocks[0].fc1.weight.grad is None and not model.training
    assert torch.equal(model.blocks[0].bn1.running_mean, running_mean)
    torch.nn.functional.cross_entropy(model.train()(x), y).backward()
    assert norms["blocks.1.fc2"] == pytest.approx(model.blocks[1].fc2.weight.grad.norm().item(), rel=1e-5)


def test_gradient_norms_see_the_skip_switch(digits):
    torch.manual_seed(0)
    model = MLPStack(20, width=16, block="residual")
    x, y = digits.x_train[:128], digits.y_train[:128]
    with_skip = gradient_norms(model, x, y)
    set_skips(model, False)
    without = gradient_norms(model, x, y)
    assert with_skip["stem.0"] != without["stem.0"]


def test_start_seeds_and_uses_one_thread():
    start(seed=3)
    a = torch.rand(3)
    start(seed=3)
    assert torch.equal(a, torch.rand(3)) and torch.get_num_threads() == 1
    seed_everything(4)
    b = np.random.rand()
    seed_everything(4)
    assert b == np.random.rand()
    report = str(environment())
    assert "torch" in report and "Graphviz" in report


def test_plot_loss_curves_draws_each_history_in_course_colours():
    plain, residual = History([2.0, 1.5, 1.2]), History([2.0, 0.5, 0.1])
    fig = plot_loss_curves({"plain 56": plain, "residual 56": residual}, title="t", window=1)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "t"
    *curves, chance = ax.get_lines()
    assert [line.get_color() for line in curves] == [COLORS["plain"], COLORS["residual"]]
    assert list(curves[1].get_ydata()) == [2.0, 0.5, 0.1]
    assert list(chance.get_ydata()) == [CHANCE_LOSS, CHANCE_LOSS]
    assert len(plot_loss_curves({"plain": plain}, chance=False).axes[0].get_lines()) == 1


def test_digits_are_read_from_scikit_learns_file_unchanged():
    from sklearn.datasets import load_digits as sklearn_digits

    from resnet_edu.data import _digits_file

    pixels, labels = _digits_file()
    reference = sklearn_digits()
    assert np.array_equal(pixels, reference.data) and np.array_equal(labels, reference.target)
