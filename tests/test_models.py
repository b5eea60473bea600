"""Blocks and stacks: shapes, the skip switch, zero-init, the reference spec, Table 6; the block
protocol and model surgery (finding blocks, deleting blocks, copying weights)."""

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
    copy_weights,
    delete_block,
    delete_blocks,
    find_blocks,
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
    model = MLPStack(8, width=16, block=block, zero_init=True).train()
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
    model = CifarResNet(8, block, channels=(4, 4, 4), in_channels=1, shortcut="B", zero_init=True)
    first = model.stages[0][0]  # identity shortcut: 4 -> 4 channels, stride 1
    h = torch.relu(torch.randn(2, 4, 8, 8))
    assert torch.allclose(first(h), h)


# ---------------------------------------------------------------- the block protocol and model surgery


def all_blocks():
    return [
        PlainBlock(4, 4),
        ResidualBlock(4, 4),
        PreActBlock(4, 4),
        BottleneckBlock(4, 8, 2),
        PlainMLPBlock(4),
        ResidualMLPBlock(4, "tanh"),
        PreActMLPBlock(4),
    ]


def test_every_block_has_shortcut_and_act():
    for block in all_blocks():
        assert isinstance(block.act, nn.Module)
        plain = type(block).__name__.startswith("Plain")
        assert (block.shortcut is None) == plain
        assert hasattr(block, "skip") != plain


def test_find_blocks_finds_every_block_in_order():
    assert len(find_blocks(CifarResNet(depth=20, channels=(4, 8, 16), in_channels=1))) == 9
    for block in ("plain", "residual", "preact"):
        model = MLPStack(depth=10, block=block)
        assert find_blocks(model) == list(zip([f"blocks.{i}" for i in range(4)], model.blocks))
    block = ResidualBlock(4, 4)
    assert find_blocks(block) == [("", block)]


def test_deleted_block_leaves_its_shortcut_only():
    x = torch.randn(2, 4, 6, 6)
    for block in (ResidualBlock(4, 4), PreActBlock(4, 4), PlainBlock(4, 4)):
        assert torch.equal(delete_block(nn.Sequential(block), 0)(x), x)  # no ReLU after the shortcut
    projection = ResidualBlock(4, 8, 2, shortcut="B")
    lesioned = delete_block(nn.Sequential(projection), 0)
    assert torch.equal(lesioned(x), projection.shortcut(x))  # the shortcut's output, negatives included


@pytest.mark.parametrize("option", ["plain", "A", "B"])
def test_deleted_downsampling_block_keeps_the_shape(option):
    block = PlainBlock(4, 8, 2) if option == "plain" else ResidualBlock(4, 8, 2, shortcut=option)
    x = torch.randn(2, 4, 6, 6)
    assert delete_block(nn.Sequential(block), 0)(x).shape == block(x).shape


def test_delete_blocks_works_on_a_copy():
    model = MLPStack(depth=8, block="residual")
    lesioned = delete_block(model, 1)
    assert isinstance(lesioned.blocks[1], nn.Identity)
    assert isinstance(model.blocks[1], ResidualMLPBlock)
    assert [type(b) for b in delete_blocks(model, [0, 2]).blocks] == [nn.Identity, ResidualMLPBlock, nn.Identity]
    with pytest.raises(ValueError, match="below the number of blocks"):
        delete_block(model, 3)
    with pytest.raises(TypeError):
        delete_block(model, 1.0)


def test_copy_weights_makes_two_models_compute_the_same():
    a, b = MLPStack(8, width=6, block="residual"), MLPStack(8, width=6, block="residual")
    x = torch.randn(5, 64)
    a.train()(x)  # running statistics that differ from b's
    copy_weights(a, b)
    assert torch.equal(a.eval()(x), b.eval()(x))


def test_copy_weights_by_name_ignores_registration_order():
    class Swapped(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc2, self.fc1 = nn.Linear(3, 3), nn.Linear(3, 3)

    class Ordered(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(3, 3), nn.Linear(3, 3)

    a, b = Swapped(), Ordered()
    copy_weights(a, b, match="name")
    assert torch.equal(a.fc1.weight, b.fc1.weight) and torch.equal(a.fc2.bias, b.fc2.bias)


def test_copy_weights_fills_missing_bias_and_affine_and_refuses_mismatches():
    conv, with_bias = nn.Conv2d(2, 3, 3, bias=False), nn.Conv2d(2, 3, 3)
    copy_weights(conv, with_bias)
    assert torch.equal(with_bias.weight, conv.weight) and torch.count_nonzero(with_bias.bias) == 0
    plain_bn, bn = nn.BatchNorm2d(3, affine=False, eps=1e-3), nn.BatchNorm2d(3)
    nn.init.uniform_(bn.weight)
    copy_weights(plain_bn, bn)
    assert torch.equal(bn.weight, torch.ones(3)) and bn.eps == 1e-3
    target = nn.Linear(3, 4)
    before = target.weight.clone()
    with pytest.raises(ValueError, match="shape"):
        copy_weights(nn.Linear(3, 5), target)
    with pytest.raises(ValueError, match="Conv2d into a Linear"):
        copy_weights(nn.Conv2d(3, 4, 1), target)
    with pytest.raises(ValueError, match="1 layers with weights, the target 2"):
        copy_weights(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3)))
    assert torch.equal(target.weight, before)
