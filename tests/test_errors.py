"""Bad input to a public function raises a short error that says what was expected."""

import pytest
import torch

from resnet_edu.data import line_grid, load_digits
from resnet_edu.models import (
    BottleneckBlock,
    CifarResNet,
    MLPStack,
    ResidualBlock,
    make_activation,
    make_shortcut,
    set_skips,
    zero_init_branches,
)
from resnet_edu.plots import plot_loss_curves
from resnet_edu.probes import gradient_norms
from resnet_edu.startup import seed_everything, start
from resnet_edu.train import History, evaluate, train

X, Y = torch.randn(16, 64), torch.randint(0, 10, (16,))

CASES = [
    (lambda: MLPStack(5), ValueError, "even"),
    (lambda: MLPStack(0), ValueError, ">= 2"),
    (lambda: MLPStack(4.0), TypeError, "int"),
    (lambda: MLPStack(4, activation="gelu"), ValueError, "unknown activation 'gelu'"),
    (lambda: MLPStack(4, init="orthogonal"), ValueError, "unknown init"),
    (lambda: MLPStack(4, block="dense"), ValueError, "unknown block"),
    (lambda: MLPStack(4, width=0), ValueError, "width must be >= 1"),
    (lambda: MLPStack(4, zero_init=True), ValueError, "needs residual blocks"),
    (lambda: MLPStack(4)(torch.randn(2, 1, 8, 8)), ValueError, r"expects input of shape \(batch, 64\)"),
    (lambda: MLPStack(4)([1, 2]), TypeError, "expects a tensor"),
    (lambda: CifarResNet(21), ValueError, "6n\\+2"),
    (lambda: CifarResNet(2), ValueError, ">= 8"),
    (lambda: CifarResNet(20, shortcut="D"), ValueError, "unknown shortcut option 'D'"),
    (lambda: CifarResNet(20, channels=(8, 16)), ValueError, "3 stage widths"),
    (lambda: CifarResNet(8, in_channels=1)(torch.randn(2, 3, 8, 8)), ValueError, r"\(batch, 1, height, width\)"),
    (lambda: ResidualBlock(4, 8, stride=0), ValueError, "stride must be >= 1"),
    (lambda: ResidualBlock(0, 8), ValueError, "in_channels must be >= 1"),
    (lambda: ResidualBlock(8, 4, stride=2, shortcut="A"), ValueError, "option A can only add channels"),
    (lambda: make_shortcut(4, 8, 1, "Z"), ValueError, "unknown shortcut option"),
    (lambda: BottleneckBlock(8, 10), ValueError, "divisible by expansion"),
    (lambda: make_activation("swish"), ValueError, "expected one of 'relu', 'tanh', 'sigmoid'"),
    (lambda: set_skips(MLPStack(4), False), ValueError, "no switchable skip"),
    (lambda: set_skips(MLPStack(4, block="residual"), 1), TypeError, "True or False"),
    (lambda: set_skips("model", True), TypeError, "must be a torch.nn.Module"),
    (lambda: train("model", X, Y), TypeError, "must be a torch.nn.Module"),
    (lambda: train(MLPStack(4), X, Y, steps=0), ValueError, "steps must be >= 1"),
    (lambda: train(MLPStack(4), X, Y, batch_size=1), ValueError, "batch_size must be >= 2"),
    (lambda: train(MLPStack(4), X, Y, batch_size=17), ValueError, "larger than the data"),
    (lambda: zero_init_branches(MLPStack(4)), ValueError, "no residual branch"),
    (lambda: train(MLPStack(4), X, Y, batch_size=8, lr=0), ValueError, "lr must be > 0"),
    (lambda: train(MLPStack(4), X, Y.float(), batch_size=8), ValueError, "class indices"),
    (lambda: train(MLPStack(4), X, Y[:8]), ValueError, "same, non-zero number"),
    (lambda: train(MLPStack(4), X.numpy(), Y), TypeError, "must be tensors"),
    (lambda: evaluate(MLPStack(4), X, Y[:3]), ValueError, "same, non-zero number"),
    (lambda: gradient_norms(torch.nn.ReLU(), X, Y), ValueError, "no Linear or Conv2d"),
    (lambda: gradient_norms(None, X, Y), TypeError, "must be a torch.nn.Module"),
    (lambda: load_digits(shape="square"), ValueError, "'flat' or 'image'"),
    (lambda: load_digits(n_train=5000), ValueError, "n_train must be an int between 2 and 1796"),
    (lambda: load_digits(n_train=1), ValueError, "n_train must be an int between 2"),
    (lambda: History([1.0]).final_loss(0), ValueError, "last must be >= 1"),
    (lambda: gradient_norms(MLPStack(4), X, Y.float()), ValueError, "class indices"),
    (lambda: gradient_norms(MLPStack(4), X, Y[:3]), ValueError, "same, non-zero number"),
    (lambda: line_grid(1), ValueError, "n_points must be an int >= 2"),
    (lambda: line_grid(10, 1.0, -1.0), ValueError, "low must be below high"),
    (lambda: start(threads=0), ValueError, "threads must be >= 1"),
    (lambda: start(threads=True), TypeError, "threads must be an int"),
    (lambda: seed_everything(-1), ValueError, "seed must be >= 0"),
    (lambda: plot_loss_curves({}), ValueError, "histories is empty"),
    (lambda: plot_loss_curves({"a": [1.0, 0.5]}), TypeError, "must be a History"),
]


@pytest.mark.parametrize("call, error, message", CASES)
def test_bad_input_raises_a_short_clear_error(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    text = str(info.value)
    assert len(text) < 200 and "\n" not in text
