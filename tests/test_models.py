"""Blocks and stacks: shapes, the skip switch, zero-init, the reference spec, Table 6."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.models import (
    BottleneckBlock,
    CifarResNet,
    MLPStack,
    PadShortcut,
    PlainBlock,
    PlainMLPBlock,
    PreActBlock,
    PreActMLPBlock,
    ResidualBlock,
    ResidualMLPBlock,
    set_skips,
    skip_blocks,
)

CONV_BLOCKS = [PlainBlock, ResidualBlock, PreActBlock, BottleneckBlock]


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


@pytest.mark.parametrize("block", CONV_BLOCKS)
@pytest.mark.parametrize("in_ch, out_ch, stride", [(8, 8, 1), (8, 16, 1), (8, 16, 2), (16, 16, 2)])
def test_conv_block_output_shapes(block, in_ch, out_ch, stride):
    x = torch.randn(2, in_ch, 8, 8)
    out = block(in_ch, out_ch, stride)(x)
    assert out.shape == (2, out_ch, 8 // stride, 8 // stride)


@pytest.mark.parametrize("option", ["A", "B", "C"])
@pytest.mark.parametrize("in_ch, out_ch, stride", [(4, 4, 1), (4, 8, 2)])
def test_shortcut_options_shapes(option, in_ch, out_ch, stride):
    block = ResidualBlock(in_ch, out_ch, stride, shortcut=option)
    assert block(torch.randn(3, in_ch, 8, 8)).shape == (3, out_ch, 8 // stride, 8 // stride)


def test_shortcut_option_parameters():
    def shortcut_params(option, in_ch, out_ch, stride):
        return sum(p.numel() for p in ResidualBlock(in_ch, out_ch, stride, shortcut=option).shortcut.parameters())

    # A: never parameters. B: a projection only where the shape changes. C: everywhere.
    assert shortcut_params("A", 4, 8, 2) == 0
    assert shortcut_params("B", 4, 4, 1) == 0
    assert shortcut_params("B", 4, 8, 2) == 4 * 8 + 2 * 8  # 1x1 conv + BN gamma/beta
    assert shortcut_params("C", 4, 4, 1) == 4 * 4 + 2 * 4


def test_option_a_pads_with_zeros_and_subsamples():
    x = torch.randn(2, 3, 8, 8)
    out = PadShortcut(3, 5, 2)(x)
    assert out.shape == (2, 5, 4, 4)
    assert torch.equal(out[:, :3], x[:, :, ::2, ::2])
    assert torch.count_nonzero(out[:, 3:]) == 0


def test_residual_block_is_the_reference_spec():
    block = ResidualBlock(4, 8, stride=2)
    assert (block.conv1.kernel_size, block.conv1.stride, block.conv1.padding) == ((3, 3), (2, 2), (1, 1))
    assert (block.conv2.kernel_size, block.conv2.stride, block.conv2.padding) == ((3, 3), (1, 1), (1, 1))
    assert block.conv1.bias is None and block.conv2.bias is None
    projection, norm = block.shortcut
    assert projection.kernel_size == (1, 1) and projection.stride == (2, 2) and projection.bias is None
    assert isinstance(norm, nn.BatchNorm2d)
    block.train()
    x = torch.randn(5, 4, 8, 8)
    branch = block.bn2(block.conv2(F.relu(block.bn1(block.conv1(x)))))
    expected = F.relu(branch + norm(projection(x)))
    assert torch.allclose(block(x), expected)
    assert isinstance(ResidualBlock(8, 8).shortcut, nn.Identity)


@pytest.mark.parametrize("block_class", [ResidualBlock, PreActBlock, BottleneckBlock])
def test_skip_switch_changes_the_computation(block_class):
    block = block_class(8, 8).eval()
    x = torch.randn(2, 8, 6, 6)
    with_skip = block(x)
    block.skip = False
    without = block(x)
    assert not torch.allclose(with_skip, without)
    block.skip = True
    assert torch.equal(block(x), with_skip)


def test_residual_block_without_skip_equals_plain_block_on_same_weights():
    residual = ResidualBlock(4, 8, stride=2).eval()
    plain = PlainBlock(4, 8, stride=2).eval()
    missing, unexpected = plain.load_state_dict(residual.state_dict(), strict=False)
    assert not missing and all(key.startswith("shortcut") for key in unexpected)
    set_skips(residual, False)
    x = torch.randn(3, 4, 8, 8)
    assert torch.equal(residual(x), plain(x))


def test_mlp_block_without_skip_equals_plain_mlp_block():
    residual, plain = ResidualMLPBlock(16).eval(), PlainMLPBlock(16).eval()
    plain.load_state_dict(residual.state_dict())
    x = torch.randn(5, 16)
    assert not torch.allclose(residual(x), plain(x))
    residual.skip = False
    assert torch.equal(residual(x), plain(x))


@pytest.mark.parametrize("stack", ["mlp", "cnn"])
def test_residual_stack_without_skips_equals_plain_stack(stack):
    if stack == "mlp":
        residual, plain = MLPStack(10, width=16, block="residual"), MLPStack(10, width=16, block="plain")
        x = torch.randn(8, 64)
    else:
        residual = CifarResNet(8, "residual", channels=(4, 8, 16), in_channels=1, shortcut="B")
        plain = CifarResNet(8, "plain", channels=(4, 8, 16), in_channels=1)
        x = torch.randn(8, 1, 8, 8)
    plain.load_state_dict(residual.state_dict(), strict=False)
    residual.eval(), plain.eval()
    assert not torch.allclose(residual(x), plain(x))
    switched = set_skips(residual, False)
    assert switched == len(skip_blocks(residual)) > 0
    assert torch.equal(residual(x), plain(x))
    set_skips(residual, True)
    assert not torch.allclose(residual(x), plain(x))


def test_zero_init_makes_residual_block_the_identity_on_relu_outputs():
    x = torch.relu(torch.randn(4, 8, 6, 6))
    for mode in ("train", "eval"):
        block = ResidualBlock(8, 8, zero_init=True)
        getattr(block, mode)()
        assert torch.allclose(block(x), x)
    assert not torch.allclose(ResidualBlock(8, 8).train()(x), x)


def test_zero_init_preact_and_bottleneck():
    x = torch.randn(4, 8, 6, 6)
    assert torch.allclose(PreActBlock(8, 8, zero_init=True)(x), x)
    relu_x = torch.relu(x)
    assert torch.allclose(BottleneckBlock(8, 8, zero_init=True)(relu_x), relu_x)


@pytest.mark.parametrize("block", ["residual", "preact"])
def test_zero_init_mlp_stack_blocks_start_as_identity(block):
    model = MLPStack(8, width=16, block=block, zero_init_residual=True).train()
    h = torch.relu(torch.randn(32, 16))
    for b in model.blocks:
        assert torch.allclose(b(h), h)


def test_mlp_block_kinds():
    assert isinstance(MLPStack(6, block="plain").blocks[0], PlainMLPBlock)
    assert isinstance(MLPStack(6, block="residual").blocks[0], ResidualMLPBlock)
    assert isinstance(MLPStack(6, block="preact").blocks[0], PreActMLPBlock)


@pytest.mark.parametrize("depth", [2, 4, 10, 56])
@pytest.mark.parametrize("block", ["plain", "residual", "preact"])
def test_mlp_stack_depth_counts_linear_layers(depth, block):
    model = MLPStack(depth, width=8, block=block, batchnorm=block != "preact")
    assert sum(isinstance(m, nn.Linear) for m in model.modules()) == depth
    assert model(torch.randn(3, 64)).shape == (3, 10)


@pytest.mark.parametrize("block", ["plain", "residual", "preact"])
def test_cifar_resnet_depth_and_output(block):
    model = CifarResNet(20, block, channels=(8, 16, 32), in_channels=1, shortcut="A")
    # depth counts the 3x3 convolutions and the final Linear layer (option A adds no 1x1 conv)
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert len(layers) == 20
    assert model(torch.randn(2, 1, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize(
    "depth, paper_millions, digits",
    [(20, 0.27, 2), (32, 0.46, 2), (44, 0.66, 2), (56, 0.85, 2), (110, 1.7, 1)],
)
def test_parameter_counts_match_table_6(depth, paper_millions, digits):
    """He et al. 2015, Table 6: option A shortcuts, 16/32/64 filters, 10 classes, 32x32 inputs."""
    model = CifarResNet(depth, "residual", channels=(16, 32, 64), in_channels=3, num_classes=10, shortcut="A")
    count = sum(p.numel() for p in model.parameters())
    assert round(count / 1e6, digits) == paper_millions
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


@pytest.mark.parametrize("block", ["residual", "preact"])
def test_zero_init_cnn_blocks_start_as_identity(block):
    model = CifarResNet(8, block, channels=(4, 4, 4), in_channels=1, shortcut="B", zero_init_residual=True)
    first = model.stages[0][0]  # identity shortcut: 4 -> 4 channels, stride 1
    h = torch.relu(torch.randn(2, 4, 8, 8))
    assert torch.allclose(first(h), h)
