"""Exercise 4: the residual block of the course (lesson 05, He et al. 2015)::

    out = ReLU( BN2(conv2( ReLU(BN1(conv1(x))) )) + shortcut(x) )

The check runs the student's block on four shapes (kept; channels only, stride only or both changed), finds
its convolutions and BatchNorms by watching the forward pass (so any attribute names and
any style work: modules, ``nn.Sequential``, ``F.relu``, in-place ReLU, ``out += identity``),
copies their weights into :class:`resnet_edu.models.ResidualBlock` and compares outputs and
input gradients in float64. When they differ it tries the usual mistakes one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import torch
import torch.nn.functional as F
from torch import nn

from ..models import ResidualBlock
from ._harness import (
    Call,
    close,
    construct,
    copy_roles,
    post_activation_mistakes,
    raise_first_match,
    randomise_batchnorm,
    reject_constant_offset,
    reject_shared_batchnorm,
    require_class,
    require_shape,
    require_signature,
    require_skip_gradient,
    same,
    sandbox,
    trace_layers,
    what_changes,
)
from .failure import fail, passed

# (in_channels, out_channels, stride): shape kept, channels only, stride only, both
CONFIGS = ((4, 4, 1), (4, 8, 1), (4, 4, 2), (4, 8, 2))
BATCH, SIZE = 4, 6


@dataclass
class Trace:
    """Which Conv2d / BatchNorm2d ran, in order, with their input and output tensors."""

    calls: list[Call]

    def convs(self, kernel: int) -> list[Call]:
        return [c for c in self.calls if isinstance(c.module, nn.Conv2d) and c.module.kernel_size == (kernel, kernel)]

    def bn_after(self, output: torch.Tensor) -> nn.Module | None:
        for module, inp, _ in self.calls:
            if isinstance(module, nn.BatchNorm2d) and inp is output:
                return module
        return None


def _traced_forward(
    block: nn.Module, x: torch.Tensor, tried: str, config: tuple[int, int, int]
) -> tuple[torch.Tensor, Trace]:
    try:
        out, calls = trace_layers(block, x, "ResidualBlock", tried, kinds=(nn.Conv2d, nn.BatchNorm2d))
    except Exception as exc:
        if "size of tensor" in str(exc) or "must match" in str(exc):
            raise _shape_mismatch(block, tried, *config) from None
        raise
    return out, Trace(calls)


def _shape_mismatch(block: nn.Module, tried: str, cin: int, cout: int, stride: int):
    threes = [m for m in block.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)]
    if stride != 1 and sum(m.stride != (1, 1) for m in threes) > 1:
        return fail(
            "stride_place",
            tried,
            f"the stride ({stride}) on conv1 only; conv2 has stride 1",
            f"{sum(m.stride != (1, 1) for m in threes)} of the 3x3 convolutions have a stride: the branch "
            "shrinks the feature map twice, the shortcut once",
            "pass stride=stride to conv1 and the projection only",
        )
    if any(m.padding != (1, 1) for m in threes):
        return fail(
            "padding",
            tried,
            "3x3 convolutions with padding=1, so that stride 1 keeps the feature map's size",
            "a 3x3 convolution has padding "
            + str(next(m.padding for m in threes if m.padding != (1, 1)))
            + ": the branch's output is smaller than x",
            "padding=1 in both 3x3 convolutions",
        )
    projections = [m for m in block.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)]
    size = (SIZE - 1) // stride + 1
    if not projections or all(p.in_channels != cin for p in projections):
        return fail(
            "no_projection",
            tried,
            "a 1x1 convolution (with the block's stride) + BatchNorm on the shortcut whenever the shape changes "
            "(option B)",
            f"your shortcut is the identity when {what_changes(cin, cout, stride)}: x has {cin} channels at "
            f"{SIZE}x{SIZE} but the branch gives {cout} channels at {size}x{size}, so they cannot be added",
            "if stride != 1 or in_channels != out_channels: self.shortcut = nn.Sequential(conv1x1(in, out, stride), "
            "nn.BatchNorm2d(out))",
        )
    if all(p.stride == (1, 1) for p in projections):
        return fail(
            "projection_stride",
            tried,
            "the 1x1 projection to use the block's stride, so that it halves the feature map like conv1",
            f"the projection has stride 1: its output is {SIZE}x{SIZE} while the branch's is {size}x{size}",
            "build it as nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)",
        )
    return fail(
        "shape_mismatch",
        tried,
        "branch and shortcut of the same shape, so that they can be added",
        "the two tensors added in forward have different shapes",
        "print the shapes of the two tensors just before the addition",
    )


def _structure(trace: Trace, x: torch.Tensor, cin: int, cout: int, stride: int, tried: str) -> dict:
    """Find conv1, bn1, conv2, bn2 and the projection (shortcut.0, shortcut.1) in the trace, keyed by their
    names in the course's block; report structural mistakes."""
    reject_shared_batchnorm(
        trace.calls,
        tried,
        "each BatchNorm layer used once: bn1 after conv1, bn2 after conv2 (and the projection's own)",
        "create every BatchNorm as its own nn.BatchNorm2d(out_channels): bn1, bn2 and the shortcut's",
    )
    convs3 = trace.convs(3)
    if len({id(c[0]) for c in convs3}) != 2 or len(convs3) != 2:
        kinds = ", ".join(
            f"{tuple(m.kernel_size)} {m.in_channels}->{m.out_channels}"
            for m, _, _ in trace.calls
            if isinstance(m, nn.Conv2d)
        )
        raise fail(
            "conv_count",
            tried,
            "two 3x3 convolutions in the branch: conv1 (in -> out channels, stride s) "
            "then conv2 (out -> out, stride 1)",
            f"forward ran these convolutions: {kinds or 'none'}",
            "conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False); conv2 likewise "
            "with out_channels, stride 1",
        )
    (conv1, in1, out1), (conv2, _, out2) = convs3
    if in1 is not x:
        raise fail(
            "conv1_input",
            tried,
            "conv1 to be applied to the block's input x",
            "the first 3x3 convolution receives something other than x",
            "start forward with out = self.conv1(x)",
        )
    if conv1.stride != (stride, stride) or conv2.stride != (1, 1):
        raise fail(
            "stride_place",
            tried,
            f"the stride ({stride}) on conv1 and stride 1 on conv2, as in the course's block (and torchvision's "
            "BasicBlock)",
            f"conv1 has stride {conv1.stride[0]}, conv2 has stride {conv2.stride[0]}",
            "pass stride=stride to conv1 only",
        )
    if conv1.padding != (1, 1) or conv2.padding != (1, 1):
        raise fail(
            "padding",
            tried,
            "3x3 convolutions with padding=1, so that stride 1 keeps the feature map's size",
            f"conv1 has padding {conv1.padding}, conv2 has padding {conv2.padding}",
            "add padding=1 to both 3x3 convolutions (or use resnet_edu.models.conv3x3)",
        )
    roles = {"conv1": conv1, "conv2": conv2}
    for name, out in (("bn1", out1), ("bn2", out2)):
        bn = trace.bn_after(out)
        if bn is None:
            conv = "conv1" if name == "bn1" else "conv2"
            bn_calls = [(m, i) for m, i, _ in trace.calls if isinstance(m, nn.BatchNorm2d)]
            others = [o for m, _, o in trace.calls if isinstance(m, nn.BatchNorm2d)] + [x]
            for _, inp in bn_calls:
                if name == "bn2" and any(
                    isinstance(t, torch.Tensor) and t.shape == out.shape and same(inp, out + t) for t in others
                ):
                    raise fail(
                        "bn_after_add",
                        tried,
                        "ReLU(BN2(conv2(h)) + shortcut(x)): BN2 right after conv2, before the addition",
                        "BN2 normalises the SUM conv2(...) + shortcut(x): it sits after the addition, so the "
                        "skip no longer carries x unchanged",
                        "normalise conv2's output first, then add the shortcut, then ReLU",
                    )
                if same(inp, F.relu(out)):
                    raise fail(
                        "bn_after_relu",
                        tried,
                        f"conv -> BN -> ReLU: {name} right after {conv}",
                        f"{name} comes after the ReLU instead of right after {conv}",
                        "the order is conv -> BN -> ReLU",
                    )
            raise fail(
                "bn_missing",
                tried,
                f"a BatchNorm right after {conv}: conv -> BN -> ReLU, twice",
                f"nothing normalises the output of {conv} ({name} missing, or applied after the ReLU)",
                f"self.{name} = nn.BatchNorm2d(out_channels) in __init__, and {name}({conv}(...)) in forward",
            )
        roles[name] = bn
    projections = [c for c in trace.convs(1) if c.input is x]
    changes = stride != 1 or cin != cout
    if changes and not projections:
        raise fail(
            "no_projection",
            tried,
            "a 1x1 convolution (with the block's stride) + BatchNorm on the shortcut whenever the shape changes "
            "(option B)",
            "no projection on the shortcut (zero padding is the paper's option A; this course's block uses option B)",
            "if stride != 1 or in_channels != out_channels: self.shortcut = nn.Sequential(conv1x1(in, out, stride), "
            "nn.BatchNorm2d(out))",
        )
    if not changes and projections:
        raise fail(
            "projection_on_identity",
            tried,
            "the identity shortcut when the shape is kept (stride 1, in_channels == out_channels)",
            "a 1x1 projection on every block: that is the paper's option C, legitimate but not the course's "
            "block, and it adds parameters and changes the function",
            "use nn.Identity() (or just x) as the shortcut when nothing changes",
        )
    if projections:
        proj, _, proj_out = projections[0]
        if proj.stride != (stride, stride):
            raise fail(
                "projection_stride",
                tried,
                "the 1x1 projection to use the block's stride",
                f"the projection has stride {proj.stride[0]} instead of {stride}",
                "nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)",
            )
        bn = trace.bn_after(proj_out)
        if bn is None:
            raise fail(
                "projection_no_bn",
                tried,
                "the projection shortcut to be a 1x1 convolution followed by BatchNorm",
                "the shortcut's 1x1 convolution has no BatchNorm after it, so its scale does not match the branch's",
                "self.shortcut = nn.Sequential(conv1x1(in_channels, out_channels, stride), "
                "nn.BatchNorm2d(out_channels))",
            )
        roles["shortcut.0"], roles["shortcut.1"] = proj, bn
    return roles


def _reference(roles: dict, cin: int, cout: int, stride: int) -> nn.Module:
    ref = ResidualBlock(cin, cout, stride, shortcut="B").double().train()
    copy_roles(roles, ref)
    return ref


def _diagnose(out: torch.Tensor, ref: nn.Module, x: torch.Tensor, tried: str) -> NoReturn:
    """Compare the student's output with the usual wrong formulas, computed on the same weights,
    and raise the failure that explains it best."""
    with torch.no_grad():
        pre = ref.conv1(x)
        h = F.relu(ref.bn1(pre))
        f = ref.bn2(ref.conv2(h))
        s = ref.shortcut(x)
    candidates = [
        (
            "relu_missing",
            F.relu(ref.bn2(ref.conv2(ref.bn1(pre))) + s),
            "the ReLU between BN1 and conv2 is missing",
            "conv -> BN -> ReLU, then conv -> BN, then + shortcut and ReLU",
        ),
        *post_activation_mistakes(f, s, "BN2"),
        (
            "relu_before_add",
            F.relu(f + F.relu(s)),
            "a ReLU is applied to the shortcut before the addition",
            "add x itself; the ReLU comes once, after the addition",
        ),
    ]
    if s.shape == h.shape:
        for carried, what in (
            (h, "the hidden activation ReLU(BN1(conv1(x)))"),
            (ref.bn1(pre).detach(), "BN1(conv1(x))"),
            (pre, "conv1(x)"),
        ):
            candidates.append(
                (
                    "wrong_skip_tensor",
                    F.relu(f + carried),
                    f"the skip adds {what}, a tensor of the branch, instead of the block's input x",
                    "keep a reference to the block's input x before the branch transforms it, and add that",
                )
            )
    if s.shape == x.shape:
        candidates.append(("skip_doubled", F.relu(f + 2 * x), "x is added twice", "add the shortcut once"))
    raise_first_match(out, candidates, tried, "ReLU(BN2(conv2(ReLU(BN1(conv1(x))))) + shortcut(x))")
    # A scaled skip: where the output is positive, out = f + alpha * s.
    positive = out > 1e-6
    if positive.sum() > 10:
        r, sp = (out - f)[positive], s[positive]
        alpha = (r * sp).sum() / (sp * sp).sum()
        if close(r, alpha * sp, tol=1e-6) and abs(alpha.item() - 1) > 1e-3:
            raise fail(
                "skip_scaled",
                tried,
                "the shortcut added with weight 1: out = ReLU(F(x) + x)",
                f"the skip is scaled by {alpha.item():.3g}; the identity must pass unchanged "
                "(He et al. 2016 show that scaling the shortcut hurts deep nets)",
                "add the shortcut's output itself, not a multiple of it",
            )
    if out.shape == f.shape:
        reject_constant_offset(
            out,
            ref(x),
            tried,
            "ReLU(BN2(conv2(ReLU(BN1(conv1(x))))) + shortcut(x))",
            "remove the extra term: nothing but the shortcut is added",
        )
    diff = (out - ref(x)).abs().max().item() if out.shape == f.shape else float("nan")
    raise fail(
        "wrong_output",
        tried,
        "ReLU(BN2(conv2(ReLU(BN1(conv1(x))))) + shortcut(x)) (lesson 05)",
        f"the output differs from the course's block on the same weights (largest difference {diff:.3g}); "
        "check the order conv -> BN -> ReLU, and that nothing else is added or multiplied",
        "compare your forward line by line with the formula above",
    )


def check_residual_block(block_class: type) -> None:
    """Check a student's ``ResidualBlock(in_channels, out_channels, stride=1)`` against the course's block."""
    require_class(block_class, "ResidualBlock")
    sig = "ResidualBlock(in_channels, out_channels, stride=1)"
    require_signature(block_class, sig, "ResidualBlock(4, 4)", 4, 4)
    require_signature(block_class, sig, "ResidualBlock(4, 8, stride=2)", 4, 8, stride=2)
    notes: set[str] = set()
    with sandbox(0) as g:
        for cin, cout, stride in CONFIGS:
            tried = f"ResidualBlock({cin}, {cout}, stride={stride}) on x of shape ({BATCH}, {cin}, {SIZE}, {SIZE})"
            block = construct(block_class, tried, cin, cout, stride=stride)
            block.to("cpu", torch.float64).train()
            randomise_batchnorm(block, g)
            x = torch.randn(BATCH, cin, SIZE, SIZE, generator=g, dtype=torch.float64)
            out, trace = _traced_forward(block, x, tried, (cin, cout, stride))
            size = (SIZE - 1) // stride + 1
            require_shape(
                out,
                (BATCH, cout, size, size),
                tried,
                "conv1 = 3x3, in -> out channels, stride=stride, padding=1; conv2 = 3x3, out -> out, stride 1, "
                "padding=1",
                why=": check out_channels, the stride of conv1 and padding=1",
            )
            roles = _structure(trace, x, cin, cout, stride, tried)
            if any(m.bias is not None for m in block.modules() if isinstance(m, nn.Conv2d)):
                notes.add(
                    "your convolutions have bias=True; this course expects bias=False, as the BatchNorm after "
                    "each one subtracts the mean and the bias cancels"
                )
            ref = _reference(roles, cin, cout, stride)
            if not close(out, ref(x)):
                _diagnose(out, ref, x, tried)
            # Gradients must flow through the skip, unscaled and attached to the graph.
            require_skip_gradient(
                block,
                ref,
                x,
                "ResidualBlock",
                tried,
                expected="d out / d x = (dF/dx + I) where the output is positive: the gradient flows through the skip",
                cause="the output is right but the gradient is not: the skip is cut from autograd "
                "(x.detach(), x.data, torch.no_grad() or a copy through numpy)",
                hint="add the tensor x itself: out = out + identity with identity = x",
                g=g,
            )
    note = f" Note: {sorted(notes)[0]}." if notes else ""
    passed(
        "ResidualBlock matches the course's block: identity shortcut when the shape is kept, "
        "1x1 projection + BN when it changes, and the gradient flows through the skip." + note
    )
