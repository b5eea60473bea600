"""Exercise 5: the 6n+2 ResNet of He et al. 2015, section 4.2, assembled from blocks.

Reference: :class:`resnet_edu.models.CifarResNet` with option-A shortcuts. Its parameter
counts on 32x32x3 inputs are the paper's Table 6 (0.27M / 0.46M / 0.66M / 0.85M / 1.7M
for depths 20 / 32 / 44 / 56 / 110); the check computes them from the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import CifarResNet, find_blocks
from ._harness import (
    chained,
    close,
    construct,
    copy_in_running_order,
    fmt,
    forward,
    one_input,
    raise_first_match,
    recording,
    require_class,
    require_no_dropout,
    require_signature,
    sandbox,
    trace_layers,
)
from .failure import CheckFailed, fail, passed

DEPTHS = (20, 32, 44, 56, 110)
TABLE_6 = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M"}
KINDS = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)


def _copy_by_execution(model: nn.Module, ref: nn.Module, x: torch.Tensor, tried: str) -> bool:
    """Copy the student's layers into the reference's, paired in the order they run (any registration order)."""
    _, mine = trace_layers(model, x, "ResNet", tried)
    _, theirs = trace_layers(ref, x, "CifarResNet", tried)
    return copy_in_running_order(mine, theirs, KINDS)


def n_per_stage(depth: int) -> int:
    return max(2, (depth - 2) // 6)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _diagnose_count(model: nn.Module, depth: int, channels: tuple[int, int, int], tried: str, got: int, want: int):
    weight_layers = [
        m for m in model.modules() if isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1))
    ]
    n = (depth - 2) // 6
    if len(weight_layers) != depth:
        return fail(
            "layer_count",
            tried,
            f"{depth} weight layers: 1 stem conv + 3 stages x {n} blocks x 2 convs + 1 Linear",
            f"the model has {len(weight_layers)} weight layers (3x3 convolutions + Linear)",
            "blocks per stage n = (depth - 2) // 6; each stage is nn.Sequential of n ResidualBlocks",
        )
    if any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in model.modules()):
        return fail(
            "option_b",
            tried,
            f"{want:,} parameters ({TABLE_6.get(depth, '')} in Table 6) with option A shortcuts",
            f"{got:,} parameters: the 1x1 projection shortcuts (option B) add parameters; the paper's CIFAR nets "
            "use parameter-free zero-padding shortcuts",
            "build each block with ResidualBlock(in_ch, out_ch, stride, shortcut='A')",
        )
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if linears and linears[-1].in_features != channels[-1]:
        return fail(
            "no_pooling",
            tried,
            f"a Linear({channels[-1]}, num_classes) after global average pooling",
            f"the last Linear takes {linears[-1].in_features} features: the feature map is flattened without pooling",
            "head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[2], num_classes))",
        )
    return fail(
        "param_count",
        tried,
        f"{want:,} parameters ({TABLE_6.get(depth, 'as the reference')})",
        f"{got:,} parameters: check the stage widths {channels}, the stem (3x3 conv, BN) and the head",
        "compare print(model) with the layout in the exercise",
    )


def check_resnet(model_class: type) -> None:
    """Check a student's ``ResNet(depth, channels=(16, 32, 64), in_channels=3, num_classes=10)``."""
    require_class(model_class, "ResNet")
    sig = "ResNet(depth, channels=(16, 32, 64), in_channels=3, num_classes=10)"
    require_signature(model_class, sig, "ResNet(20)", 20)
    require_signature(
        model_class,
        sig,
        "ResNet(8, channels=(8, 16, 32), in_channels=1, num_classes=10)",
        8,
        channels=(8, 16, 32),
        in_channels=1,
        num_classes=10,
    )
    with sandbox(5) as g:
        for depth in DEPTHS:
            tried = f"ResNet({depth}) on 32x32 RGB images"
            model = construct(model_class, tried, depth)
            got, want = _count(model), _count(CifarResNet(depth, shortcut="A"))
            if got != want:
                raise _diagnose_count(model, depth, (16, 32, 64), tried, got, want)
        for depth, channels, cin, size, classes in (
            (20, (16, 32, 64), 3, 32, 10),
            (8, (8, 16, 32), 1, 8, 7),
            (14, (4, 6, 12), 2, 8, 3),
        ):
            tried = (
                f"ResNet({depth}, channels={channels}, in_channels={cin}, num_classes={classes}) "
                f"on x of shape (2, {cin}, {size}, {size})"
            )
            model = construct(model_class, tried, depth, channels=channels, in_channels=cin, num_classes=classes)
            model.to("cpu", torch.float64).train()
            missing = [n for n in ("stem", "stages", "head") if not isinstance(getattr(model, n, None), nn.Module)]
            if missing or len(list(model.stages)) != 3:
                raise fail(
                    "names",
                    tried,
                    "three parts named as in the exercise: stem, stages (3 stages), head",
                    f"missing: {', '.join(missing) or 'three stages in self.stages'}",
                    "self.stages is an nn.Sequential of the three stages",
                )
            require_no_dropout(
                model, tried, "the paper", ": He et al.'s CIFAR ResNets use none (BatchNorm regularises)"
            )
            firsts = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
            if firsts and firsts[0].in_channels != cin:
                raise fail(
                    "in_channels_ignored",
                    tried,
                    f"a stem convolution taking in_channels={cin} image channels",
                    f"the first convolution takes {firsts[0].in_channels} channels: in_channels is not used",
                    "the stem's conv is conv3x3(in_channels, channels[0])",
                )
            parts = [("stem", model.stem)] + [(f"stages[{i}]", st) for i, st in enumerate(model.stages)]
            part_names = {id(m): n for n, m in parts}
            x = torch.randn(2, cin, size, size, generator=g, dtype=torch.float64)
            with recording(m for _, m in parts) as part_calls, recording(b for _, b in find_blocks(model)) as io:
                try:
                    out = forward(model, x, "ResNet", tried)
                except CheckFailed as exc:
                    if exc.mistake == "error" and len(io) >= 2 and one_input(io[:2]):
                        raise fail(
                            "blocks_fed_stem",
                            tried,
                            "each block fed the previous block's output",
                            "the blocks all receive the same input (the stem's output): they are applied side "
                            "by side, not one after the other, and the first block that changes the shape fails",
                            "chain them: h = block(h), or nn.Sequential",
                        ) from None
                    raise
            shapes = [(part_names[id(c.module)], tuple(c.output.shape)) for c in part_calls]
            expected = [("stem", (2, channels[0], size, size))] + [
                (f"stages[{i}]", (2, c, size // 2**i, size // 2**i)) for i, c in enumerate(channels)
            ]
            for (name, shape), (_, want_shape) in zip(shapes, expected):
                if shape != want_shape:
                    if shape[1] != want_shape[1]:
                        default = {"stem": 16, "stages[0]": 16, "stages[1]": 32, "stages[2]": 64}[name]
                        cause = f"{name} outputs {shape[1]} channels instead of {want_shape[1]}" + (
                            ": the channels argument is ignored (the default widths are used)"
                            if shape[1] == default
                            else ""
                        )
                        raise fail(
                            "channels_ignored" if shape[1] == default else "stage_channels",
                            tried,
                            f"{name} to output {want_shape}: the stage widths come from channels={channels}",
                            cause,
                            "build each stage with the widths in channels, not with 16 / 32 / 64",
                        )
                    raise fail(
                        "stage_shape",
                        tried,
                        f"{name} to output {want_shape}: stage 1 keeps the size, stages 2 and 3 halve it",
                        f"{name} outputs {shape}: the feature map has the wrong size",
                        "stride 2 only for the FIRST block of stages 2 and 3; every other block has stride 1",
                    )
            if tuple(out.shape) != (2, classes):
                ignored = out.dim() == 2 and out.shape[1] == 10
                raise fail(
                    "num_classes_ignored" if ignored else "shape",
                    tried,
                    f"logits of shape (2, {classes})",
                    f"the output has shape {tuple(out.shape)}"
                    + (": num_classes is ignored (10 outputs)" if ignored else ""),
                    "head: global average pooling, flatten, Linear(channels[2], num_classes)",
                )
            if not chained(io):
                if len(io) > 2 and one_input(io[: n_per_stage(depth)]):
                    raise fail(
                        "blocks_fed_stem",
                        tried,
                        "each block fed the previous block's output",
                        "the blocks all receive the same input (the stem's output): they are applied side "
                        "by side, not one after the other",
                        "chain them: h = block(h), or nn.Sequential",
                    )
                raise fail(
                    "blocks_not_chained",
                    tried,
                    "each block fed the previous block's output",
                    "a block receives something other than the previous block's output",
                    "chain the blocks one after the other (nn.Sequential does it)",
                )
            ref = (
                CifarResNet(depth, channels=channels, in_channels=cin, num_classes=classes, shortcut="A")
                .double()
                .train()
            )
            same_layers = _copy_by_execution(model, ref, x, tried)
            if not same_layers or not close(out, ref(x)):
                candidates = []
                if same_layers:
                    with torch.no_grad():
                        stem_conv, stem_bn = ref.stem[0], ref.stem[1]
                        feats = ref.stages(stem_bn(stem_conv(x)))
                        pooled = feats.mean((2, 3))
                        candidates = [
                            (
                                "stem_no_relu",
                                ref.head(feats),
                                "the stem has no ReLU after its BatchNorm",
                                "stem = conv3x3, BatchNorm2d, ReLU",
                            ),
                            (
                                "max_pooling",
                                ref.head[-1](ref.stages(ref.stem(x)).amax((2, 3))),
                                "global MAX pooling instead of average pooling",
                                "nn.AdaptiveAvgPool2d(1)",
                            ),
                            (
                                "relu_after_head",
                                torch.relu(ref(x)),
                                "a ReLU after the last Linear layer",
                                "return the logits of the Linear layer as they are",
                            ),
                        ]
                        del pooled
                raise_first_match(
                    out, candidates, tried, "stem (3x3 conv, BN, ReLU) -> 3 stages -> average pooling -> Linear"
                )
                raise fail(
                    "wrong_output",
                    tried,
                    "stem (3x3 conv, BN, ReLU) -> 3 stages of ResidualBlocks (option A) -> "
                    "global average pooling -> Linear, as resnet_edu.models.CifarResNet",
                    (
                        "the layers, their order or their sizes differ from that layout"
                        if not same_layers
                        else "the output differs on the same weights (largest difference "
                        f"{fmt((out - ref(x)).abs().max().item())}); likely causes: a missing ReLU, another pooling, "
                        "or a layer applied twice"
                    ),
                    "forward: stem, stages, head, in that order",
                )
    passed(
        "ResNet: 6n+2 layers, feature maps 32 -> 16 -> 8 with 16 -> 32 -> 64 channels, and "
        "0.27M / 0.46M / 0.66M / 0.85M / 1.7M parameters for depths 20-110, as in the paper's Table 6."
    )
