"""Exercise 5's check: the 6n+2 ResNet (shapes and the paper's Table 6 parameter counts)."""

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


class ResNetFlat(nn.Module):
    """One flat nn.Sequential of blocks split into stages by index, a mean instead of AdaptiveAvgPool2d,
    an extra attribute, Linear registered first."""

    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__()
        self.fc = nn.Linear(channels[2], num_classes)
        self.depth = depth
        n = (depth - 2) // 6
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=False),
            nn.BatchNorm2d(channels[0]),
            nn.ReLU(inplace=True),
        )
        widths = [channels[0]] + [c for c in channels for _ in range(n)]
        blocks = [
            ResidualBlock(widths[k], widths[k + 1], 2 if k in (n, 2 * n) else 1, shortcut="A") for k in range(3 * n)
        ]
        self.stages = nn.Sequential(*[nn.Sequential(*blocks[i * n : (i + 1) * n]) for i in range(3)])
        self.head = nn.Sequential(self.fc)

    def forward(self, x):
        return self.head(self.stages(self.stem(x)).mean(dim=(2, 3)))


class ResNetFromReference(nn.Module):
    """Built by taking the parts of the course's CifarResNet (a right answer, if a lazy one)."""

    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__()
        ref = CifarResNet(depth, channels=channels, in_channels=in_channels, num_classes=num_classes, shortcut="A")
        self.stem, self.stages, self.head = ref.stem, ref.stages, ref.head

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


@pytest.mark.parametrize("cls", [ResNet, ResNetLoop, ResNetFlat, ResNetFromReference])
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


class ClassesIgnored(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, 10)


class ChannelsIgnored(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, (16, 32, 64), in_channels, num_classes)


class InChannelsIgnored(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, 3, num_classes)


class BlocksFedStem(ResNet):
    def forward(self, x):
        h = self.stem(x)
        out = h
        for stage in self.stages:
            for block in stage:
                out = block(h)
            h = out
        return self.head(out)


class MaxPooling(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.head[0] = nn.AdaptiveMaxPool2d(1)


class ReluAfterHead(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.head.append(nn.ReLU())


class NoStrides(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        n = (depth - 2) // 6
        widths = [channels[0]] + [c for c in channels for _ in range(n)]
        self.stages = nn.Sequential(
            *[
                nn.Sequential(
                    *[ResidualBlock(widths[i * n + j], widths[i * n + j + 1], 1, shortcut="A") for j in range(n)]
                )
                for i in range(3)
            ]
        )


class StagesMissing(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.body = self.stages
        del self.stages

    def forward(self, x):
        return self.head(self.body(self.stem(x)))


class StemTwice(ResNet):
    def forward(self, x):
        return self.head(self.stages(self.stem(x)) * 2)


class NoStemBN(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.stem = nn.Sequential(self.stem[0], nn.ReLU())


class StemWithBias(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.stem[0] = nn.Conv2d(in_channels, channels[0], 3, padding=1, bias=True)


class StrideInFirstStage(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.stages[0][0] = ResidualBlock(channels[0], channels[0], 2, shortcut="A")


class DropoutHead(ResNet):
    def __init__(self, depth, channels=(16, 32, 64), in_channels=3, num_classes=10):
        super().__init__(depth, channels, in_channels, num_classes)
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.5), nn.Linear(channels[2], num_classes)
        )


MISTAKES = [
    (StrideInFirstStage, "stage_shape", "stages[0] outputs"),
    (DropoutHead, "dropout", "Dropout(p=0.5)"),
    (Stub, "not_started", NOT_STARTED),
    (ClassesIgnored, "num_classes_ignored", "num_classes is ignored"),
    (ChannelsIgnored, "channels_ignored", "channels argument is ignored"),
    (InChannelsIgnored, "in_channels_ignored", "in_channels is not used"),
    (BlocksFedStem, "blocks_fed_stem", "side by side"),
    (MaxPooling, "max_pooling", "MAX pooling"),
    (ReluAfterHead, "relu_after_head", "ReLU after the last Linear"),
    (NoStrides, "stage_shape", "wrong size"),
    (StagesMissing, "names", "missing: stages"),
    (StemTwice, "wrong_output", "largest difference"),
    (NoStemBN, "param_count", "parameters"),
    (StemWithBias, "param_count", "parameters"),
    (WrongN, "layer_count", "(depth - 2) // 6"),
    (OptionB, "option_b", "option B"),
    (NoPooling, "no_pooling", "without pooling"),
    (StrideEverywhere, "stage_shape", "FIRST block"),
    (NoStemRelu, "stem_no_relu", "no ReLU after its BatchNorm"),
    (NoChannelsArgument, "signature", "signature"),
]


@pytest.mark.parametrize("cls, mistake, phrase", MISTAKES, ids=[m[0].__name__ for m in MISTAKES])
def test_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_resnet(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)
