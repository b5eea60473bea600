"""Exercise 7: the pre-activation block (He et al. 2016) and the bottleneck block (He et al. 2015).

The exercise fixes the attribute names, so the check loads the student's weights into the
references :class:`resnet_edu.models.PreActBlock` and :class:`resnet_edu.models.BottleneckBlock`
(shortcut option B, built with :func:`resnet_edu.models.make_shortcut`) and compares outputs
and input gradients in float64, on a block that keeps the shape and one that halves it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..models import BottleneckBlock, PreActBlock, copy_weights
from ._harness import (
    Candidate,
    close,
    construct,
    forward,
    post_activation_mistakes,
    raise_first_match,
    randomise_batchnorm,
    reject_constant_offset,
    require_class,
    require_shape,
    require_signature,
    require_skip_gradient,
    sandbox,
    what_changes,
)
from .failure import fail, passed

SIZE, BATCH = 6, 4


def _load(
    block: nn.Module, ref: nn.Module, name: str, tried: str, layout: str, shape_hint: Callable[[str], str]
) -> None:
    """Copy the student's parameters into the reference by name; explain missing names or wrong sizes."""
    mine = {k: v for k, v in block.state_dict().items() if not k.endswith("num_batches_tracked")}
    if not mine:  # no layers yet: perhaps only forward is written, or nothing at all
        probe = torch.zeros(2, ref.conv1.in_channels, SIZE, SIZE, dtype=torch.float64)
        forward(block, probe, name, tried)
        raise fail(
            "no_layers",
            tried,
            f"the layers of the exercise: {layout}",
            "the block registers no layer at all",
            "create the layers in __init__ as self.<name> = ...",
        )
    theirs = {k: v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing, extra = sorted(set(theirs) - set(mine)), sorted(set(mine) - set(theirs))
    if missing or extra:
        if (
            any(k.endswith(".bias") and k.startswith("conv") for k in extra)
            and not missing
            and all(k.endswith(".bias") for k in extra)
        ):
            # bias before BatchNorm is legitimate: load the rest, the reference gets zero biases
            pass
        else:
            cin, cout, stride = ref.conv1.in_channels, _out_channels(ref), _stride(ref)
            change = what_changes(cin, cout, stride)
            if (
                missing
                and all(k.startswith("shortcut.1") for k in missing)
                and any(k.startswith("shortcut.0") for k in mine)
            ):
                raise fail(
                    "projection_no_bn",
                    tried,
                    "the projection shortcut: a 1x1 convolution followed by BatchNorm",
                    "the shortcut's 1x1 convolution has no BatchNorm after it",
                    "make_shortcut(in_channels, out_channels, stride)",
                )
            if missing and all(k.startswith("shortcut.") for k in missing) and not extra:
                raise fail(
                    "shortcut_identity",
                    tried,
                    f"a projection shortcut (1x1 conv + BN) because {change}",
                    f"your shortcut has no weights when {change}: it is the identity, which cannot match the "
                    "branch's output shape",
                    "the shortcut needs the projection whenever stride != 1 OR "
                    "in_channels != out_channels: make_shortcut(in_channels, out_channels, stride) does this",
                )
            if extra and all(k.startswith("shortcut.") for k in extra) and not missing:
                raise fail(
                    "projection_on_identity",
                    tried,
                    "the identity shortcut: stride 1 and in_channels == out_channels",
                    "your shortcut has a projection although the shape is kept (the paper's option C, "
                    "not this course's block)",
                    "make_shortcut(in_channels, out_channels, stride) gives the identity when nothing changes",
                )
            raise fail(
                "names",
                tried,
                f"the layers of the exercise, with its names: {layout}",
                f"{'missing ' + ', '.join(missing[:4]) if missing else ''}"
                f"{'; ' if missing and extra else ''}{'unexpected ' + ', '.join(extra[:4]) if extra else ''}",
                "use exactly these attribute names, and make_shortcut(in_channels, out_channels, stride) for the "
                "shortcut",
            )
    for key, value in theirs.items():
        if key.startswith("shortcut.") and mine[key].shape != value.shape:
            raise fail(
                "shortcut_shapes",
                tried,
                f"{key} of shape {tuple(value.shape)}",
                f"{key} has shape {tuple(mine[key].shape)}: the projection maps in_channels to out_channels with the "
                "block's stride",
                "make_shortcut(in_channels, out_channels, stride)",
            )
        if mine[key].dim() == 4 and mine[key].shape[:2] == value.shape[:2] and mine[key].shape[2:] != value.shape[2:]:
            raise fail(
                "kernel_size",
                tried,
                f"{key[:-7]} with a {value.shape[2]}x{value.shape[3]} kernel",
                f"{key[:-7]} has a {mine[key].shape[2]}x{mine[key].shape[3]} kernel",
                f"the layout is {layout}",
            )
        if mine[key].shape != value.shape:
            raise fail(
                "layer_shapes",
                tried,
                f"{key} of shape {tuple(value.shape)}",
                f"{key} has shape {tuple(mine[key].shape)}: {shape_hint(key)}",
                f"the layout is {layout}",
            )
    for name, module in block.named_modules():
        if isinstance(module, nn.Conv2d) and name in dict(ref.named_modules()):
            want = ref.get_submodule(name)
            if module.padding != want.padding or module.kernel_size != want.kernel_size:
                raise fail(
                    "padding",
                    tried,
                    f"{name} with kernel {want.kernel_size[0]}x{want.kernel_size[1]} and padding {want.padding[0]}",
                    f"{name} has kernel {module.kernel_size[0]}x{module.kernel_size[1]} and padding "
                    f"{module.padding[0]}",
                    "use conv3x3 (padding 1) and conv1x1 (padding 0) from resnet_edu.models",
                )
    copy_weights(block, ref, match="name")  # conv biases, if any, are loaded by _load_conv_biases below
    _load_conv_biases(block, ref)
    for name, module in block.named_modules():
        if isinstance(module, nn.Conv2d) and name in dict(ref.named_modules()):
            theirs_conv = ref.get_submodule(name)
            if module.stride != theirs_conv.stride and name.startswith("shortcut"):
                raise fail(
                    "projection_stride",
                    tried,
                    f"the 1x1 projection with the block's stride ({theirs_conv.stride[0]})",
                    f"the projection has stride {module.stride[0]}",
                    "make_shortcut(in_channels, out_channels, stride)",
                )
            if module.stride != theirs_conv.stride:
                raise _stride_place(block, ref, tried)


def _out_channels(ref: nn.Module) -> int:
    return (ref.conv3 if hasattr(ref, "conv3") else ref.conv2).out_channels


def _stride(ref: nn.Module) -> int:
    return max(m.stride[0] for m in ref.modules() if isinstance(m, nn.Conv2d))


def _stride_place(block: nn.Module, ref: nn.Module, tried: str):
    strides = {
        name: m.stride[0]
        for name, m in block.named_modules()
        if isinstance(m, nn.Conv2d) and not name.startswith("shortcut")
    }
    want = {
        name: m.stride[0]
        for name, m in ref.named_modules()
        if isinstance(m, nn.Conv2d) and not name.startswith("shortcut")
    }
    mine = ", ".join(f"{n} stride {v}" for n, v in strides.items())
    where = next(n for n, v in want.items() if v != 1) if any(v != 1 for v in want.values()) else None
    if where is None:
        return fail(
            "stride_place",
            tried,
            "stride 1 on every convolution (the block keeps the feature-map size)",
            f"your block has {mine}",
            "pass the stride argument on, do not hard-code a stride",
        )
    kind = "3x3 " if ref.get_submodule(where).kernel_size == (3, 3) else ""
    return fail(
        "stride_place",
        tried,
        f"the stride on the {kind}{where} only, as in this course's block (and torchvision's)",
        f"your block has {mine}",
        f"pass stride=stride to {where} and to the shortcut, stride 1 elsewhere",
    )


def _load_conv_biases(block: nn.Module, ref: nn.Module) -> None:
    """A conv with bias before BatchNorm is a legitimate style: give the reference the same biases."""
    for name, module in block.named_modules():
        if isinstance(module, nn.Conv2d) and module.bias is not None:
            target = ref.get_submodule(name)
            if target.bias is None:
                target.bias = nn.Parameter(module.bias.detach().clone())


def _compare(
    block: nn.Module,
    ref: nn.Module,
    x: torch.Tensor,
    g: torch.Generator,
    name: str,
    tried: str,
    formula: str,
    candidates: list[Candidate],
) -> None:
    """Compare the student's block with the reference on x: the output (trying the usual mistakes when
    it differs), then the gradient through the shortcut."""
    out = forward(block, x, name, tried)
    expected = ref(x)
    require_shape(
        out,
        expected.shape,
        tried,
        "the stride goes on one convolution only, and the shortcut must match the branch's shape",
    )
    if not close(out, expected):
        raise_first_match(out, candidates, tried, formula)
        reject_constant_offset(out, expected, tried, formula, "nothing but the shortcut is added")
        raise fail(
            "wrong_output",
            tried,
            formula,
            "the output differs from the course's block on the same weights "
            f"(largest difference {(out - expected).abs().max().item():.3g})",
            "compare your forward line by line with the formula",
        )
    require_skip_gradient(
        block,
        ref,
        x,
        name,
        tried,
        expected="the gradient to flow through the shortcut",
        cause="the output is right but the gradient is not: the shortcut is cut from autograd (x.detach(), x.data)",
        hint="add self.shortcut(x) with x itself",
        g=g,
    )


PREACT_LAYOUT = "bn1 (in_channels), conv1 (3x3, stride), bn2, conv2 (3x3), shortcut"


def check_preact_block(block_class: type) -> None:
    """Check a student's ``PreActBlock(in_channels, out_channels, stride=1)`` (He et al. 2016)::

    out = conv2(ReLU(BN2(conv1(ReLU(BN1(x)))))) + shortcut(x)
    """
    require_class(block_class, "PreActBlock")
    sig = "PreActBlock(in_channels, out_channels, stride=1)"
    require_signature(block_class, sig, "PreActBlock(4, 4)", 4, 4)
    require_signature(block_class, sig, "PreActBlock(4, 8, stride=2)", 4, 8, stride=2)
    formula = "conv2(ReLU(BN2(conv1(ReLU(BN1(x)))))) + shortcut(x), nothing after the addition"

    def shape_hint(key: str) -> str:
        if key.startswith("bn1"):
            return "bn1 normalises the block's INPUT x (pre-activation: BN and ReLU come before conv1)"
        return "conv1 goes from in_channels to out_channels with the stride; conv2 keeps out_channels"

    with sandbox(6) as g:
        for cin, cout, stride in ((4, 4, 1), (4, 8, 1), (4, 4, 2), (4, 8, 2)):
            tried = f"PreActBlock({cin}, {cout}, stride={stride}) on x of shape ({BATCH}, {cin}, {SIZE}, {SIZE})"
            block = construct(block_class, tried, cin, cout, stride=stride).to("cpu", torch.float64).train()
            randomise_batchnorm(block, g)
            ref = PreActBlock(cin, cout, stride, shortcut="B").double().train()
            _load(block, ref, "PreActBlock", tried, PREACT_LAYOUT, shape_hint)
            x = torch.randn(BATCH, cin, SIZE, SIZE, generator=g, dtype=torch.float64)
            with torch.no_grad():
                a = F.relu(ref.bn1(x))
                f = ref.conv2(F.relu(ref.bn2(ref.conv1(a))))
                s = ref.shortcut(x)
                candidates = [
                    (
                        "relu_missing",
                        ref.conv2(ref.bn2(ref.conv1(a))) + s,
                        "no ReLU between BN2 and conv2",
                        "conv2(ReLU(BN2(...))): BN -> ReLU -> conv, twice",
                    ),
                    (
                        "relu_missing",
                        ref.conv2(F.relu(ref.bn2(ref.conv1(ref.bn1(x))))) + s,
                        "no ReLU between BN1 and conv1",
                        "conv1(ReLU(BN1(x))): BN -> ReLU -> conv, twice",
                    ),
                    (
                        "relu_after_add",
                        F.relu(f + s),
                        "a ReLU after the addition: that is the post-activation block; "
                        "the point of pre-activation is a clean identity path, with nothing after the addition",
                        "return out + self.shortcut(x), with no ReLU",
                    ),
                    ("skip_missing", f, "the shortcut is not added", "return out + self.shortcut(x)"),
                    (
                        "post_activation_order",
                        F.relu(ref.bn2(ref.conv2(F.relu(ref.bn1(ref.conv1(x)))))) + s if cin == cout else f,
                        "conv -> BN -> ReLU (post-activation order) inside the branch",
                        "pre-activation order: BN -> ReLU -> conv, twice: conv1(relu(bn1(x))), then "
                        "conv2(relu(bn2(out)))",
                    ),
                ]
                if s.shape != x.shape:
                    candidates.append(
                        (
                            "shortcut_preact",
                            f + ref.shortcut(a),
                            "the projection takes the pre-activated ReLU(BN1(x)); He et al.'s code does that, "
                            "but this course's block (resnet_edu.models.PreActBlock) projects the raw x",
                            "keep x for the shortcut: return out + self.shortcut(x)",
                        )
                    )
                else:
                    candidates.append(
                        (
                            "shortcut_preact",
                            f + a,
                            "the shortcut adds the pre-activated ReLU(BN1(x)) instead of the block's input x: "
                            "the identity path is no longer clean",
                            "add x itself: out + self.shortcut(x)",
                        )
                    )
                    candidates.append(("skip_doubled", f + 2 * x, "x is added twice", "add the shortcut once"))
                candidates.append(
                    (
                        "bn_relu_after_add",
                        F.relu(ref.bn1(f + s)) if cin == cout else f,
                        "BN and ReLU are applied after the addition",
                        "nothing comes after the addition",
                    )
                )
            _compare(block, ref, x, g, "PreActBlock", tried, formula, candidates)
    passed(
        "PreActBlock matches the course's pre-activation block: BN -> ReLU -> conv twice, and nothing after the "
        "addition."
    )


BOTTLENECK_LAYOUT = (
    "conv1 (1x1, in -> out // expansion), bn1, conv2 (3x3, stride), bn2, conv3 (1x1, -> out_channels), bn3, shortcut"
)


def check_bottleneck_block(block_class: type) -> None:
    """Check a student's ``BottleneckBlock(in_channels, out_channels, stride=1, expansion=4)``::

    out = ReLU(BN3(conv3(ReLU(BN2(conv2(ReLU(BN1(conv1(x)))))))) + shortcut(x))
    """
    require_class(block_class, "BottleneckBlock")
    sig = "BottleneckBlock(in_channels, out_channels, stride=1, expansion=4)"
    require_signature(block_class, sig, "BottleneckBlock(16, 16)", 16, 16)
    require_signature(block_class, sig, "BottleneckBlock(16, 32, stride=2, expansion=4)", 16, 32, stride=2, expansion=4)
    formula = "ReLU(BN3(conv3(ReLU(BN2(conv2(ReLU(BN1(conv1(x)))))))) + shortcut(x))"

    def shape_hint(key: str) -> str:
        return (
            "the bottleneck width is out_channels // expansion: conv1 reduces to it, conv2 keeps it, "
            "conv3 expands back to out_channels"
        )

    with sandbox(7) as g:
        # shape kept; ResNet-50's first bottleneck (channels only); stride only; both; another expansion
        for cin, cout, stride, expansion in (
            (16, 16, 1, 4),
            (16, 64, 1, 4),
            (16, 16, 2, 4),
            (16, 32, 2, 4),
            (8, 8, 1, 2),
        ):
            tried = (
                f"BottleneckBlock({cin}, {cout}, stride={stride}, expansion={expansion}) "
                f"on x of shape ({BATCH}, {cin}, {SIZE}, {SIZE})"
            )
            block = (
                construct(block_class, tried, cin, cout, stride=stride, expansion=expansion)
                .to("cpu", torch.float64)
                .train()
            )
            randomise_batchnorm(block, g)
            ref = BottleneckBlock(cin, cout, stride, shortcut="B", expansion=expansion).double().train()
            _load(block, ref, "BottleneckBlock", tried, BOTTLENECK_LAYOUT, shape_hint)
            x = torch.randn(BATCH, cin, SIZE, SIZE, generator=g, dtype=torch.float64)
            with torch.no_grad():
                h1 = ref.bn1(ref.conv1(x))
                h = F.relu(ref.bn2(ref.conv2(F.relu(h1))))
                f = ref.bn3(ref.conv3(h))
                s = ref.shortcut(x)
            candidates = [
                (
                    "relu_missing",
                    F.relu(ref.bn3(ref.conv3(ref.bn2(ref.conv2(F.relu(h1))))) + s),
                    "no ReLU after bn2",
                    "conv -> BN -> ReLU after conv1 and after conv2; after bn3 only the addition, then ReLU",
                ),
                (
                    "relu_missing",
                    F.relu(ref.bn3(ref.conv3(F.relu(ref.bn2(ref.conv2(h1))))) + s),
                    "no ReLU after bn1",
                    "conv -> BN -> ReLU after conv1 and after conv2; after bn3 only the addition, then ReLU",
                ),
                *post_activation_mistakes(f, s, "bn3"),
                (
                    "bn_after_add",
                    F.relu(ref.bn3(ref.conv3(h) + s)),
                    "bn3 normalises the SUM conv3(...) + shortcut(x): it sits after the addition",
                    "out = ReLU(bn3(conv3(h)) + shortcut(x))",
                ),
            ]
            if s.shape == x.shape:
                candidates.append(("skip_doubled", F.relu(f + 2 * x), "x is added twice", "add the shortcut once"))
            _compare(block, ref, x, g, "BottleneckBlock", tried, formula, candidates)
    passed(
        "BottleneckBlock matches the course's block: 1x1 reduce, 3x3 (with the stride), 1x1 expand, then + shortcut "
        "and ReLU."
    )
