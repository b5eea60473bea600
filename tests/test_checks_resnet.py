"""Exercise 4's check: the 6n+2 ResNet (shapes and the paper's Table 6 parameter counts)."""

from __future__ import annotations

import pytest
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_resnet
from resnet_edu.models import CifarResNet, ResidualBlock, conv3x3


class ResNet(nn.Module):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10, shortcut="A", stride_all=False):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = nn.Sequential(conv3x3(in_channels, channels[0]), nn.BatchNorm2d(channels[0]), nn.ReLU())
        stages, width = [], channels[0]
        for i, out in enumerate(channels):
            blocks = []
            for j in range(n):
                stride = 2 if (i > 0 and (j == 0 or stride_all)) else 1
                blocks.append(ResidualBlock(width, out, stride, shortcut=shortcut))
                width = out
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


class ResNetLoop(ResNet):
    """Same net, forward written as an explicit loop over a ModuleList of stages."""

    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.stages = nn.ModuleList(self.stages)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(x)


@pytest.mark.parametrize("cls", [ResNet, ResNetLoop])
def test_correct_resnets_pass(cls, capsys):
    check_resnet(cls)
    out = capsys.readouterr().out
    assert out.startswith("\u2713 ") and out.count("\n") == 1


def test_reference_counts_match_table_6():
    # The paper's Table 6, rounded as printed there.
    for depth, millions in zip((20, 32, 44, 56, 110), (0.27, 0.46, 0.66, 0.85, 1.7)):
        count = sum(p.numel() for p in CifarResNet(depth, shortcut="A").parameters())
        assert round(count / 1e6, 2 if depth < 110 else 1) == millions


class Stub(nn.Module):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__()
        raise NotImplementedError()


class WrongN(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(2 * depth - 2, channels, in_channels, num_classes)  # n = (depth - 2) // 3: one layer per block


class OptionB(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes, shortcut="B")


class NoPooling(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(channels[2] * 64, num_classes))


class StrideEverywhere(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes, stride_all=True)


class NoStemRelu(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.stem = nn.Sequential(*list(self.stem)[:2])


class NoChannelsArgument(ResNet):
    def __init__(self, depth):
        super().__init__(depth)


MISTAKES = [
    (Stub, "not_started", NOT_STARTED),
    (WrongN, "layer_count", "(depth - 2) // 6"),
    (OptionB, "option_b", "option B"),
    (NoPooling, "no_pooling", "without pooling"),
    (StrideEverywhere, "stage_shape", "FIRST block"),
    (NoStemRelu, "wrong_output", "missing ReLU in the stem"),
    (NoChannelsArgument, "signature", "signature"),
]


@pytest.mark.parametrize("cls, mistake, phrase", MISTAKES, ids=[m[0].__name__ for m in MISTAKES])
def test_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_resnet(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)
