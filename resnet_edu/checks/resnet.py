"""Exercise 4: the 6n+2 ResNet of He et al. 2015, section 4.2, assembled from blocks.

Reference: :class:`resnet_edu.models.CifarResNet` with option-A shortcuts. Its parameter
counts on 32x32x3 inputs are the paper's Table 6 (0.27M / 0.46M / 0.66M / 0.85M / 1.7M
for depths 20 / 32 / 44 / 56 / 110); the check computes them from the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from ..models import CifarResNet
from ._harness import close, construct, forward, require_class, require_signature, sandbox
from .failure import fail, passed

DEPTHS = (20, 32, 44, 56, 110)
TABLE_6 = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M"}
KINDS = (nn.Conv2d, nn.BatchNorm2d, nn.Linear)


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _diagnose_count(model: nn.Module, depth: int, channels: tuple[int, int, int], tried: str, got: int, want: int):
    weight_layers = [m for m in model.modules() if isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1))]
    n = (depth - 2) // 6
    if len(weight_layers) != depth:
        return fail("layer_count", tried, f"{depth} weight layers: 1 stem conv + 3 stages x {n} blocks x 2 convs + 1 Linear",
                    f"the model has {len(weight_layers)} weight layers (3x3 convolutions + Linear)",
                    "blocks per stage n = (depth - 2) // 6; each stage is nn.Sequential of n ResidualBlocks")
    if any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in model.modules()):
        return fail("option_b", tried, f"{want:,} parameters ({TABLE_6.get(depth, '')} in Table 6) with option A shortcuts",
                    f"{got:,} parameters: the 1x1 projection shortcuts (option B) add parameters; the paper's CIFAR nets "
                    "use parameter-free zero-padding shortcuts",
                    "build each block with ResidualBlock(in_ch, out_ch, stride, shortcut='A')")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if linears and linears[-1].in_features != channels[-1]:
        return fail("no_pooling", tried, f"a Linear({channels[-1]}, num_classes) after global average pooling",
                    f"the last Linear takes {linears[-1].in_features} features: the feature map is flattened without pooling",
                    "head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[2], num_classes))")
    return fail("param_count", tried, f"{want:,} parameters ({TABLE_6.get(depth, 'as the reference')})",
                f"{got:,} parameters: check the stage widths {channels}, the stem (3x3 conv, BN) and the head",
                "compare print(model) with the layout in the exercise")


def check_resnet(model_class: type) -> None:
    """Check a student's ``ResNet(depth, channels=(16, 32, 64), in_channels=3, num_classes=10)``."""
    require_class(model_class, "ResNet")
    sig = "ResNet(depth, channels=(16, 32, 64), in_channels=3, num_classes=10)"
    require_signature(model_class, sig, "ResNet(20)", 20)
    require_signature(model_class, sig, "ResNet(8, channels=(8, 16, 32), in_channels=1, num_classes=10)",
                      8, channels=(8, 16, 32), in_channels=1, num_classes=10)
    with sandbox(5) as g:
        for depth in DEPTHS:
            tried = f"ResNet({depth}) on 32x32 RGB images"
            model = construct(model_class, tried, depth)
            got, want = _count(model), _count(CifarResNet(depth, shortcut="A"))
            if got != want:
                raise _diagnose_count(model, depth, (16, 32, 64), tried, got, want)
        for depth, channels, cin, size in ((20, (16, 32, 64), 3, 32), (8, (8, 16, 32), 1, 8)):
            tried = f"ResNet({depth}, channels={channels}, in_channels={cin}) on x of shape (2, {cin}, {size}, {size})"
            model = construct(model_class, tried, depth, channels=channels, in_channels=cin, num_classes=10).to("cpu", torch.float64).train()
            missing = [n for n in ("stem", "stages", "head") if not isinstance(getattr(model, n, None), nn.Module)]
            if missing or len(list(model.stages)) != 3:
                raise fail("names", tried, "three parts named as in the exercise: stem, stages (3 stages), head",
                           f"missing: {', '.join(missing) or 'three stages in self.stages'}",
                           "self.stages = nn.Sequential(stage1, stage2, stage3)")
            shapes: list[tuple[str, tuple]] = []
            parts = [("stem", model.stem)] + [(f"stages[{i}]", s) for i, s in enumerate(model.stages)]
            handles = [m.register_forward_hook(lambda m, i, o, n=n: shapes.append((n, tuple(o.shape)))) for n, m in parts]
            x = torch.randn(2, cin, size, size, generator=g, dtype=torch.float64)
            try:
                out = forward(model, x, "ResNet", tried)
            finally:
                for h in handles:
                    h.remove()
            expected = [("stem", (2, channels[0], size, size))] + [
                (f"stages[{i}]", (2, c, size // 2**i, size // 2**i)) for i, c in enumerate(channels)
            ]
            for (name, shape), (_, want_shape) in zip(shapes, expected):
                if shape != want_shape:
                    raise fail("stage_shape", tried, f"{name} to output {want_shape}: stage 1 keeps the size, "
                               "stages 2 and 3 halve it and double the channels",
                               f"{name} outputs {shape}",
                               "stride = 2 only for the FIRST block of stages 2 and 3; every other block has stride 1")
            if tuple(out.shape) != (2, 10):
                raise fail("shape", tried, "logits of shape (2, 10)", f"the output has shape {tuple(out.shape)}",
                           "head: nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels[2], num_classes)")
            ref = CifarResNet(depth, channels=channels, in_channels=cin, shortcut="A").double().train()
            mine = [m for m in model.modules() if isinstance(m, KINDS)]
            theirs = [m for m in ref.modules() if isinstance(m, KINDS)]
            same = [type(a) for a in mine] == [type(b) for b in theirs] and all(
                a.weight.shape == b.weight.shape for a, b in zip(mine, theirs)
            )
            if same:
                with torch.no_grad():
                    for a, b in zip(mine, theirs):
                        b.weight.copy_(a.weight)
                        if b.bias is not None and a.bias is not None:
                            b.bias.copy_(a.bias)
            if not same or not close(out, ref(x)):
                raise fail("wrong_output", tried, "stem (3x3 conv, BN, ReLU) -> 3 stages of ResidualBlocks (option A) -> "
                           "global average pooling -> Linear, as resnet_edu.models.CifarResNet",
                           "the layers or their order differ from that layout (a missing ReLU in the stem? max instead "
                           "of average pooling? layers in another order?)",
                           "forward: return self.head(self.stages(self.stem(x)))")
    passed("ResNet: 6n+2 layers, feature maps 32 -> 16 -> 8 with 16 -> 32 -> 64 channels, and "
           "0.27M / 0.46M / 0.66M / 0.85M / 1.7M parameters for depths 20-110, as in the paper's Table 6.")
