"""Exercise 7's checks: the pre-activation block and the bottleneck block."""

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


class PreActBias(PreAct):
    """bias=True convolutions (legitimate; the BN after conv1 cancels it, conv2's bias is a shift), nn.ReLU modules,
    the shortcut built by hand with its own condition, an extra attribute."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=True)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        else:
            self.shortcut = nn.Identity()
        self.act = nn.ReLU()
        self.stride = stride

    def forward(self, x):
        return self.conv2(self.act(self.bn2(self.conv1(self.act(self.bn1(x)))))) + self.shortcut(x)


@pytest.mark.parametrize("cls", [PreAct, PreActInPlace, RefPreAct, PreActBias])
def test_correct_preact_blocks_pass(cls, capsys):
    check_preact_block(cls)
    one_line(capsys)


class BottleneckBias(Bottleneck):
    """bias=True on conv3 (legitimate before BatchNorm)."""

    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        self.conv3 = nn.Conv2d(out_channels // expansion, out_channels, 1, bias=True)


class BottleneckModules(Bottleneck):
    """nn.ReLU(inplace=True) modules, identity computed first, out += identity."""

    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        self.relu = nn.ReLU(inplace=True)
        self.expansion = expansion

    def forward(self, x):
        identity = self.shortcut(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += identity
        return self.relu(out)


@pytest.mark.parametrize("cls", [Bottleneck, RefBottleneck, BottleneckBias, BottleneckModules])
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


class ProjectOnlyWhenChannelsChange(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = (
            make_shortcut(in_channels, out_channels, stride) if in_channels != out_channels else nn.Identity()
        )


class ProjectOnlyWhenStrided(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = make_shortcut(in_channels, out_channels, stride) if stride != 1 else nn.Identity()


class ProjectAlways(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class ProjectionNoStride(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = (
            make_shortcut(in_channels, out_channels, 1)
            if stride == 1
            else nn.Sequential(conv1x1(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        )


class PreActStrideOnConv2(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1, self.conv2 = conv3x3(in_channels, out_channels), conv3x3(out_channels, out_channels, stride)


class PreActShortcutAddsPreactivation(PreAct):
    def forward(self, x):
        a = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(a))))
        return out + self.shortcut(a)


class PreActSkipDoubled(PreAct):
    def forward(self, x):
        return super().forward(x) + self.shortcut(x)


class PreActBNReluAfterAdd(PreAct):
    def forward(self, x):
        out = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        return F.relu(self.bn1(out + self.shortcut(x))) if out.shape == x.shape else out + self.shortcut(x)


class PreActDetached(PreAct):
    def forward(self, x):
        out = self.conv2(F.relu(self.bn2(self.conv1(F.relu(self.bn1(x))))))
        return out + self.shortcut(x).detach()


class PreActNoSuper(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        self.bn1 = nn.BatchNorm2d(in_channels)


class PreActLayersInForward(PreAct):
    def forward(self, x):
        return super().forward(x) + nn.Conv2d(x.shape[1], x.shape[1], 1).to(x.dtype)(x)[:, :0].sum()


class PreActNoReluBeforeConv2(PreAct):
    def forward(self, x):
        return self.conv2(self.bn2(self.conv1(F.relu(self.bn1(x))))) + self.shortcut(x)


class PreActConv2NoPadding(PreAct):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=0, bias=False)


PREACT_MISTAKES = [
    (PreActNoReluBeforeConv2, "relu_missing", "no ReLU between BN2 and conv2"),
    (PreActConv2NoPadding, "padding", "padding 0"),
    (ProjectOnlyWhenChannelsChange, "shortcut_identity", "when only the stride changes"),
    (ProjectOnlyWhenStrided, "shortcut_identity", "when only the channels change"),
    (ProjectAlways, "projection_on_identity", "option C"),
    (ProjectionNoStride, "projection_stride", "the projection has stride 1"),
    (PreActStrideOnConv2, "stride_place", "conv2 stride 2"),
    (PreActShortcutAddsPreactivation, "shortcut_preact", "ReLU(BN1(x))"),
    (PreActSkipDoubled, "skip_doubled", "added twice"),
    (PreActBNReluAfterAdd, "bn_relu_after_add", "after the addition"),
    (PreActDetached, "skip_detached", "cut from autograd"),
    (PreActNoSuper, "super_missing", "super().__init__()"),
    (PreActLayersInForward, "layers_in_forward", "builds new layers"),
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


class BottleneckOnlyWhenChannels(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        self.shortcut = (
            make_shortcut(in_channels, out_channels, stride) if in_channels != out_channels else nn.Identity()
        )


class BottleneckOnlyWhenStrided(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        self.shortcut = make_shortcut(in_channels, out_channels, stride) if stride != 1 else nn.Identity()


class BottleneckProjectAlways(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        self.shortcut = nn.Sequential(conv1x1(in_channels, out_channels, stride), nn.BatchNorm2d(out_channels))


class StrideOnLast(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        width = out_channels // expansion
        self.conv2, self.conv3 = conv3x3(width, width), conv1x1(width, out_channels, stride)


class BottleneckBNAfterAdd(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(self.bn3(self.conv3(out) + self.shortcut(x)))


class BottleneckNoSkip(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(self.bn3(self.conv3(out)))


class BottleneckSkipAfterRelu(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(self.bn3(self.conv3(out))) + self.shortcut(x)


class BottleneckSkipDoubled(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(self.bn3(self.conv3(out)) + 2 * self.shortcut(x))


class BottleneckDetached(Bottleneck):
    def forward(self, x):
        out = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x.detach()))


class WidthFromInput(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        width = in_channels // expansion
        self.conv1, self.bn1 = conv1x1(in_channels, width), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width, stride), nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)


class ExpansionIgnored(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, 4)


class BottleneckProjectionNoBN(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(conv1x1(in_channels, out_channels, stride))


class NoExpansionArgument(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)


class Conv2OneByOne(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        width = out_channels // expansion
        self.conv2 = nn.Conv2d(width, width, 1, stride, bias=False)


class NoReluAfterBN2(Bottleneck):
    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


class WidthTimesExpansion(Bottleneck):
    def __init__(self, in_channels, out_channels, stride=1, expansion=4):
        super().__init__(in_channels, out_channels, stride, expansion)
        width = out_channels * expansion
        self.conv1, self.bn1 = conv1x1(in_channels, width), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = conv3x3(width, width, stride), nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)


BOTTLENECK_MISTAKES = [
    (Conv2OneByOne, "kernel_size", "1x1 kernel"),
    (NoReluAfterBN2, "relu_missing", "no ReLU after bn2"),
    (WidthTimesExpansion, "layer_shapes", "out_channels // expansion"),
    (BottleneckStub, "not_started", NOT_STARTED),
    (StrideOnFirst, "stride_place", "conv1 stride 2"),
    (WrongWidth, "layer_shapes", "out_channels // expansion"),
    (BottleneckNoFinalRelu, "final_relu_missing", "final ReLU"),
    (BottleneckReluBeforeAdd, "relu_before_add", "before the addition"),
    (BottleneckOnlyWhenChannels, "shortcut_identity", "when only the stride changes"),
    (BottleneckOnlyWhenStrided, "shortcut_identity", "only the channels change (16 -> 64, stride 1)"),
    (BottleneckProjectAlways, "projection_on_identity", "option C"),
    (StrideOnLast, "stride_place", "conv3 stride 2"),
    (BottleneckBNAfterAdd, "bn_after_add", "after the addition"),
    (BottleneckNoSkip, "skip_missing", "skip is missing"),
    (BottleneckSkipAfterRelu, "skip_after_relu", "after the final ReLU"),
    (BottleneckSkipDoubled, "skip_doubled", "added twice"),
    (BottleneckDetached, "skip_detached", "cut from autograd"),
    (WidthFromInput, "layer_shapes", "out_channels // expansion"),
    (ExpansionIgnored, "layer_shapes", "out_channels // expansion"),
    (BottleneckProjectionNoBN, "projection_no_bn", "no BatchNorm"),
    (NoExpansionArgument, "signature", "signature"),
]


@pytest.mark.parametrize("cls, mistake, phrase", BOTTLENECK_MISTAKES, ids=[m[0].__name__ for m in BOTTLENECK_MISTAKES])
def test_bottleneck_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_bottleneck_block(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)
