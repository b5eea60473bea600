"""The residual-block check (exercise 4): right implementations pass, each mistake gets its message."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_residual_block
from resnet_edu.models import ResidualBlock as Reference


def conv3(cin, cout, stride=1, bias=False):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=bias)


def projection(cin, cout, stride):
    if stride != 1 or cin != cout:
        return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
    return nn.Identity()


class Seed(nn.Module):
    """The seed's own code (the course's reference layout)."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU()
        self.shortcut = projection(in_channels, out_channels, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class Torchvision(nn.Module):
    """torchvision's BasicBlock style: in-place ReLU, a `downsample` that may be None, out += identity."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = conv3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x):
        identity = x
        out = self.conv1(x)
        out = self.bn1(out)
        out = self.relu(out)
        out = self.conv2(out)
        out = self.bn2(out)
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        out = self.relu(out)
        return out


class Functional(Seed):
    """F.relu instead of ReLU modules, the shortcut written as an if in forward."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.project = stride != 1 or in_channels != out_channels

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.shortcut(x) if self.project else x))


class SequentialBody(nn.Module):
    """An nn.Sequential branch and an nn.Identity shortcut."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.branch = nn.Sequential(
            conv3(in_channels, out_channels, stride),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            conv3(out_channels, out_channels),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = projection(in_channels, out_channels, stride)

    def forward(self, x):
        return torch.relu(self.branch(x) + self.shortcut(x))


class WithBias(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = conv3(in_channels, out_channels, stride, bias=True)
        self.conv2 = conv3(out_channels, out_channels, bias=True)


class ExtraAttributes(Seed):
    """Harmless extras: stored arguments, an unused Dropout(p=0), a ModuleDict holding the BNs."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.norms = nn.ModuleDict({"a": self.bn1, "b": self.bn2})
        self.unused = nn.Dropout(0.0)

    def forward(self, x):
        identity = self.shortcut(x)
        out = F.relu(self.norms["a"](self.conv1(x)), inplace=True)
        out = self.norms["b"](self.conv2(out))
        out += identity
        return F.relu(out)


def passes(cls, capsys):
    check_residual_block(cls)
    out = capsys.readouterr().out
    assert out.startswith("\u2713 ") and out.count("\n") == 1, out
    return out


@pytest.mark.parametrize(
    "cls", [Seed, Torchvision, Functional, SequentialBody, Reference, ExtraAttributes], ids=lambda c: c.__name__
)
def test_correct_blocks_pass(cls, capsys):
    out = passes(cls, capsys)
    assert "Note" not in out


def test_bias_is_a_note_not_a_failure(capsys):
    out = passes(WithBias, capsys)
    assert "bias=True" in out


def test_check_leaves_random_state_and_dtype_alone(capsys):
    torch.manual_seed(123)
    random.seed(5)
    np.random.seed(7)
    expected = (torch.rand(3), random.random(), np.random.rand())
    torch.manual_seed(123)
    random.seed(5)
    np.random.seed(7)
    check_residual_block(Seed)
    got = (torch.rand(3), random.random(), np.random.rand())
    assert torch.equal(got[0], expected[0]) and got[1:] == expected[1:]
    assert torch.get_default_dtype() == torch.float32


# ----- the mistakes, one wrong block each -------------------------------------------------


class Stub(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        # YOUR CODE HERE
        raise NotImplementedError()

    def forward(self, x):
        # YOUR CODE HERE
        raise NotImplementedError()


class StubForward(Seed):
    def forward(self, x):
        raise NotImplementedError()


class NoSkip(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)))


class SkipAfterRelu(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out))) + self.shortcut(x)


class ReluBeforeAdd(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(out + self.shortcut(x))


class NoFinalRelu(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out)) + self.shortcut(x)


class NoProjection(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = nn.Identity()


class ProjectionWithoutStride(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
            )


class ProjectionWithoutBN(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class MissingBN(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.conv2(out) + self.shortcut(x))


class SharedBN(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn1(self.conv2(out)) + self.shortcut(x))


class InPlaceInput(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        x += out if x.shape == out.shape else 0
        return self.relu(x if x.shape == out.shape else out + self.shortcut(x))


class WrongSkipTensor(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        identity = out
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class DetachedSkip(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x).detach())


class ScaledSkip(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + 0.5 * self.shortcut(x))


class LayersInForward(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.cin, self.cout, self.stride = in_channels, out_channels, stride

    def forward(self, x):
        conv1 = conv3(self.cin, self.cout, self.stride)
        conv2 = conv3(self.cout, self.cout)
        out = F.relu(nn.BatchNorm2d(self.cout)(conv1(x)))
        return F.relu(nn.BatchNorm2d(self.cout)(conv2(out)) + x)


class ReturnsNothing(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out = self.relu(out + self.shortcut(x))


class NoSuper(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        self.conv1 = conv3(in_channels, out_channels, stride)

    def forward(self, x):
        return x


class WrongSignature(Seed):
    def __init__(self, channels):
        super().__init__(channels, channels, 1)


class NoStrideArgument(Seed):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels, 1)


class OptionC(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
        )


class StrideOnConv2(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = conv3(in_channels, out_channels, 1)
        self.conv2 = conv3(out_channels, out_channels, stride)


class ProjectOnlyWhenChannelsChange(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        if in_channels != out_channels:
            self.shortcut = projection(in_channels, out_channels, stride)
        else:
            self.shortcut = nn.Identity()


class ProjectOnlyWhenStrided(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.shortcut = projection(in_channels, out_channels, stride) if stride != 1 else nn.Identity()


class BNAfterAdd(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out) + self.shortcut(x)))


class BNAfterRelu(Seed):
    def forward(self, x):
        out = self.bn1(self.relu(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class SkipDoubled(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + 2 * self.shortcut(x))


class SkipAddsConv1Output(Seed):
    def forward(self, x):
        pre = self.conv1(x)
        out = self.bn2(self.conv2(self.relu(self.bn1(pre))))
        return self.relu(out + (pre if pre.shape == out.shape and x.shape == out.shape else self.shortcut(x)))


class ReluBetweenConv2AndBN2(Seed):
    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.relu(self.conv2(out))) + self.shortcut(x))


class ConstantAdded(Seed):
    def forward(self, x):
        return super().forward(x) + 0.1


class StrideOnBothConvs(Seed):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__(in_channels, out_channels, stride)
        self.conv2 = conv3(out_channels, out_channels, stride)


MISTAKES = [
    (ReluBetweenConv2AndBN2, "bn_after_relu", "bn2 comes after the ReLU"),
    (ConstantAdded, "constant_added", "plus a constant"),
    (StrideOnBothConvs, "stride_place", "2 of the 3x3 convolutions have a stride"),
    (Stub, "not_started", NOT_STARTED),
    (StubForward, "not_started", NOT_STARTED),
    (NoSkip, "skip_missing", "skip is missing"),
    (SkipAfterRelu, "skip_after_relu", "after the final ReLU"),
    (ReluBeforeAdd, "relu_before_add", "before the addition"),
    (NoFinalRelu, "final_relu_missing", "final ReLU is missing"),
    (NoProjection, "no_projection", "the identity when only the channels change"),
    (ProjectOnlyWhenChannelsChange, "no_projection", "the identity when only the stride changes"),
    (ProjectOnlyWhenStrided, "no_projection", "the identity when only the channels change"),
    (BNAfterAdd, "bn_after_add", "after the addition"),
    (BNAfterRelu, "bn_after_relu", "after the ReLU"),
    (SkipDoubled, "skip_doubled", "added twice"),
    (SkipAddsConv1Output, "wrong_skip_tensor", "conv1(x)"),
    (ProjectionWithoutStride, "projection_stride", "stride 1"),
    (ProjectionWithoutBN, "projection_no_bn", "no BatchNorm"),
    (MissingBN, "bn_missing", "conv2"),
    (SharedBN, "bn_shared", "called twice"),
    (InPlaceInput, "input_inplace", "in-place"),
    (WrongSkipTensor, "wrong_skip_tensor", "hidden activation"),
    (DetachedSkip, "skip_detached", "cut from autograd"),
    (ScaledSkip, "skip_scaled", "scaled by 0.5"),
    (LayersInForward, "layers_in_forward", "builds new layers"),
    (ReturnsNothing, "forward_none", "returned None"),
    (NoSuper, "super_missing", "super().__init__()"),
    (WrongSignature, "signature", "signature"),
    (NoStrideArgument, "signature", "signature"),
    (OptionC, "projection_on_identity", "option C"),
    (StrideOnConv2, "stride_place", "conv1 has stride 1"),
]


@pytest.mark.parametrize("cls, mistake, phrase", MISTAKES, ids=[m[0].__name__ for m in MISTAKES])
def test_mistake_is_caught_with_its_message(cls, mistake, phrase, capsys):
    with pytest.raises(CheckFailed) as info:
        check_residual_block(cls)
    err = info.value
    assert err.mistake == mistake, str(err)
    assert phrase in str(err), str(err)
    assert 2 <= len(str(err).splitlines()) <= 8, str(err)
    assert capsys.readouterr().out == ""  # no check mark on failure
    assert isinstance(err, AssertionError)


def test_passing_an_instance_is_explained():
    with pytest.raises(CheckFailed, match="the class ResidualBlock itself"):
        check_residual_block(Seed(4, 4))


def test_render_traceback_shows_only_the_message():
    with pytest.raises(CheckFailed) as info:
        check_residual_block(NoSkip)
    lines = info.value._render_traceback_()
    assert len(lines) == len(str(info.value).splitlines())
    assert "Traceback" not in "".join(lines) and "skip is missing" in "".join(lines)
