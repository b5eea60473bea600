"""Exercise 5's checks: the pre-activation block and the bottleneck block."""

from __future__ import annotations

import pytest
import torch.nn.functional as F
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_bottleneck_block, check_preact_block
from resnet_edu.models import BottleneckBlock as RefBottleneck
from resnet_edu.models import PreActBlock as RefPreAct
from resnet_edu.models import conv1x1, conv3x3, make_shortcut


class PreAct(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.shortcut = make_shortcut(in_channels, out_channels, stride)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return out + self.shortcut(x)


class PreActInPlace(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        identity = self.shortcut(x)
        out = self.relu(self.bn1(x))  # bn1(x) is a new tensor: in-place ReLU on it is fine
        out = self.conv1(out)
        out = self.relu(self.bn2(out))
        out = self.conv2(out)
        out += identity
        return out


class Bottleneck(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__()
        width = out_channels // expansion
        self.conv1, self.bn1 = conv1x1(in_channels, width), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width, stride), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = conv1x1(width, out_channels), nn.BatchNorm2d(out_channels)
        self.shortcut = make_shortcut(in_channels, out_channels, stride)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


def one_line(capsys):
    out = capsys.readouterr().out
    assert out.startswith("\u2713 ") and out.count("\n") == 1, out


@pytest.mark.parametrize("cls", [PreAct, PreActInPlace, RefPreAct])
def test_correct_preact_blocks_pass(cls, capsys):
    check_preact_block(cls)
    one_line(capsys)


@pytest.mark.parametrize("cls", [Bottleneck, RefBottleneck])
def test_correct_bottlenecks_pass(cls, capsys):
    check_bottleneck_block(cls)
    one_line(capsys)


class PreActStub(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        raise NotImplementedError()


class ReluAfterAdd(PreAct):
    def forward(self, x):
        return F.relu(super().forward(x))


class PreActNoSkip(PreAct):
    def forward(self, x):
        return self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))


class PostActOrder(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out))) + self.shortcut(x)


class BN1SizedForOutput(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)


class ShortcutOnPreactivated(PreAct):
    def forward(self, x):
        a = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(a))))
        return out + self.shortcut(a if self.conv1.stride != (1, 1) else x)


class OtherNames(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.norm1 = self.bn1
        del self.bn1

    def forward(self, x):
        return x


PREACT_MISTAKES = [
    (PreActStub, "not_started", NOT_STARTED),
    (ReluAfterAdd, "relu_after_add", "post-activation"),
    (PreActNoSkip, "skip_missing", "not added"),
    (PostActOrder, "post_activation_order", "post-activation order"),
    (BN1SizedForOutput, "layer_shapes", "bn1 normalises the block's INPUT"),
    (ShortcutOnPreactivated, "shortcut_preact", "projects the raw x"),
    (OtherNames, "names", "missing bn1"),
]


@pytest.mark.parametrize("cls, mistake, phrase", PREACT_MISTAKES, ids=[m[0].__name__ for m in PREACT_MISTAKES])
def test_preact_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_preact_block(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


class BottleneckStub(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__()

    def forward(self, x):
        raise NotImplementedError()


class StrideOnFirst(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        width = out_channels // expansion
        self.conv1, self.conv2 = conv1x1(in_channels, width, stride), conv3x3(width, width)


class WrongWidth(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        width = in_channels // expansion * 2
        self.conv1, self.bn1 = conv1x1(in_channels, width), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width, stride), nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)


class BottleneckNoFinalRelu(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out)) + self.shortcut(x)


class BottleneckReluBeforeAdd(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(F.relu(self.bn3(self.conv3(out))) + self.shortcut(x))


class BottleneckBias(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        self.conv3 = nn.Conv2d(out_channels // expansion, out_channels, 1, bias=True)


class NoExpansionArgument(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)


BOTTLENECK_MISTAKES = [
    (BottleneckStub, "not_started", NOT_STARTED),
    (StrideOnFirst, "stride_place", "conv1 has stride 2"),
    (WrongWidth, "layer_shapes", "out_channels // expansion"),
    (BottleneckNoFinalRelu, "final_relu_missing", "final ReLU"),
    (BottleneckReluBeforeAdd, "relu_before_add", "before the addition"),
    (BottleneckBias, "conv_bias", "conv3.bias"),
    (NoExpansionArgument, "signature", "signature"),
]


@pytest.mark.parametrize("cls, mistake, phrase", BOTTLENECK_MISTAKES, ids=[m[0].__name__ for m in BOTTLENECK_MISTAKES])
def test_bottleneck_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_bottleneck_block(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)
