"""Exercise 8: a scaled shortcut (He et al. 2016, "Identity Mappings in Deep Residual Networks",
section 3) and what it does to the gradient through a deep stack.

``ScaledShortcutBlock(width, scale=1.0)`` is the course's pre-activation MLP block
(:class:`resnet_edu.models.PreActMLPBlock`) with the shortcut multiplied by a constant::

    out = scale * x + fc2(ReLU(BN2(fc1(ReLU(BN1(x))))))

``input_gradient_ratio(model, x)`` is ``||d out.sum() / d x|| / ||d out.sum() / d out||``: how much
the gradient grows or shrinks from a stack's output back to its input. With zero branches it is
``scale ** depth`` exactly (He et al.'s eq. 7): 0.5 ** 160 = 6.8e-49 is below float32's smallest
subnormal, so the ratio must be computed in float64. The check finds the student's layers by
watching the forward pass (any names, ``nn.Sequential`` or attributes, bias or not, functional or
module ReLU, a learnable scale initialised to the given value).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..models import PreActMLPBlock
from ._harness import (
    call,
    close,
    construct,
    copy_roles,
    fmt,
    is_number,
    raise_first_match,
    randomise_batchnorm,
    reject_shared_batchnorm,
    require_class,
    require_function,
    require_shape,
    require_signature,
    require_skip_gradient,
    same,
    sandbox,
    trace_layers,
)
from .failure import fail, passed

BLOCK, RATIO = "ScaledShortcutBlock", "input_gradient_ratio"
BATCH = 8
FORMULA = "scale * x + fc2(ReLU(BN2(fc1(ReLU(BN1(x))))))"


class Scaled(nn.Module):
    """The reference: :class:`resnet_edu.models.PreActMLPBlock` with its shortcut scaled."""

    def __init__(self, width: int, scale: float = 1.0) -> None:
        super().__init__()
        self.block = PreActMLPBlock(width)
        self.scale = scale

    def branch(self, x: torch.Tensor) -> torch.Tensor:
        b = self.block
        return b.fc2(F.relu(b.bn2(b.fc1(F.relu(b.bn1(x))))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x + self.branch(x)


def _roles(calls, x: torch.Tensor, tried: str, scale: float) -> dict:
    reject_shared_batchnorm(calls, tried, "two BatchNorm1d layers", "create two separate nn.BatchNorm1d(width)")
    bns = [c for c in calls if isinstance(c.module, nn.BatchNorm1d)]
    fcs = [c for c in calls if isinstance(c.module, nn.Linear)]
    if len(bns) != 2 or len(fcs) != 2:
        ran = ", ".join(type(c.module).__name__ for c in calls) or "no Linear or BatchNorm1d"
        raise fail(
            "layers",
            tried,
            "BN1 -> ReLU -> fc1 -> BN2 -> ReLU -> fc2 in the branch, each layer run once",
            f"forward ran: {ran}",
            "two nn.BatchNorm1d(width) and two nn.Linear(width, width)",
        )
    order = [type(c.module).__name__ for c in calls]
    if order[0] == "BatchNorm1d" and scale != 1 and same(bns[0].input, scale * x):
        raise fail(
            "scaled_input",
            tried,
            FORMULA,
            "the branch gets the scaled x: F(scale * x); only the shortcut is scaled",
            "the branch gets x itself: keep x and compute scale * x separately for the shortcut",
        )
    if order[0] != "BatchNorm1d" or not same(bns[0].input, x):
        post = order[0] == "Linear" and same(fcs[0].input, x)
        raise fail(
            "post_activation_order" if post else "bn1_input",
            tried,
            FORMULA,
            "the branch starts with fc1(x): that is the post-activation order (Linear -> BN -> ReLU); "
            "pre-activation puts BN and ReLU BEFORE each Linear"
            if post
            else "the first BatchNorm does not receive the block's input x",
            "BN1 -> ReLU -> fc1 -> BN2 -> ReLU -> fc2",
        )
    if same(fcs[0].input, bns[0].output):
        raise fail("relu_missing", tried, FORMULA, "no ReLU between BN1 and fc1", "fc1(ReLU(BN1(x)))")
    return {"bn1": bns[0].module, "fc1": fcs[0].module, "bn2": bns[1].module, "fc2": fcs[1].module}


def check_scaled_block(block_class: type) -> None:
    """Check a student's ``ScaledShortcutBlock(width, scale=1.0)``."""
    require_class(block_class, BLOCK)
    require_signature(block_class, f"{BLOCK}(width, scale=1.0)", f"{BLOCK}(6, scale=0.5)", 6, scale=0.5)
    require_signature(block_class, f"{BLOCK}(width, scale=1.0)", f"{BLOCK}(6)", 6)
    with sandbox(13) as g:
        for width, scale in ((6, 0.3), (6, None), (5, 2.0), (5, 0.0)):
            args = {} if scale is None else {"scale": scale}
            value = 1.0 if scale is None else scale
            tried = f"{BLOCK}({width}{'' if scale is None else f', scale={scale}'}) on x of shape ({BATCH}, {width})"
            block = construct(block_class, tried, width, **args).to("cpu", torch.float64).train()
            randomise_batchnorm(block, g)
            x = torch.randn(BATCH, width, generator=g, dtype=torch.float64)
            out, calls = trace_layers(block, x, BLOCK, tried)
            require_shape(out, (BATCH, width), tried, "both Linear layers map width -> width")
            roles = _roles(calls, x, tried, value)
            ref = Scaled(width, value).double().train()
            try:
                copy_roles(roles, ref.block)
            except ValueError as exc:
                raise fail(
                    "layer_shapes",
                    tried,
                    "BatchNorm1d(width) and Linear(width, width) layers",
                    str(exc),
                    "every layer keeps the width",
                ) from None
            with torch.no_grad():
                f = ref.branch(x)
                expected = ref(x)
            if not close(out, expected):
                s = value
                candidates = [
                    (
                        "scale_ignored",
                        x + f,
                        f"the output is x + F(x): scale={s:g} is ignored",
                        "multiply x by the scale before adding",
                    ),
                    (
                        "scale_on_branch",
                        x + s * f,
                        "the scale multiplies the BRANCH F(x), not the shortcut",
                        "scale * x + F(x): the scale sits on the shortcut",
                    ),
                    (
                        "scale_on_both",
                        s * (x + f),
                        "the scale multiplies both the shortcut and the branch (He et al.'s "
                        "'constant scaling' variant scales both; this exercise scales the shortcut only)",
                        "scale * x + F(x)",
                    ),
                    (
                        "relu_after_add",
                        F.relu(s * x + f),
                        "a ReLU after the addition: pre-activation leaves nothing after it",
                        "return the sum as it is",
                    ),
                    ("skip_missing", f, "the shortcut is not added", "scale * x + F(x)"),
                    ("scale_squared", s * s * x + f, f"x is multiplied by scale twice ({s:g}^2)", "multiply once"),
                    ("convex", (1 - s) * x + s * f, "a gate: (1 - scale) * x + scale * F(x)", "scale * x + F(x)"),
                    (
                        "scaled_input",
                        s * x + ref.branch(s * x),
                        "the branch gets the scaled x: F(scale * x)",
                        "the branch gets x itself; only the shortcut is scaled",
                    ),
                    (
                        "shortcut_preact",
                        s * F.relu(ref.block.bn1(x)) + f,
                        "the shortcut carries ReLU(BN1(x)) instead of x",
                        "scale the block's input x itself",
                    ),
                ]
                raise_first_match(out, candidates, tried, FORMULA + f" with scale = {s:g}")
                r = out - f
                alpha = ((r * x).sum() / (x * x).sum()).item()
                if close(r, alpha * x, tol=1e-6):
                    default = " (the default scale must be 1.0)" if scale is None else ""
                    raise fail(
                        "wrong_scale",
                        tried,
                        FORMULA + f" with scale = {s:g}",
                        f"x is multiplied by {fmt(alpha)} instead of {s:g}{default}",
                        "multiply x by the scale argument itself, once",
                    )
                raise fail(
                    "wrong_output",
                    tried,
                    FORMULA + f" with scale = {s:g}",
                    f"the output differs from that formula on the same weights (largest difference "
                    f"{fmt((out - expected).abs().max().item())}); likely: the order BN -> ReLU -> Linear, or "
                    "something else added or scaled",
                    "compare forward line by line with the formula",
                )
            require_skip_gradient(
                block,
                ref,
                x,
                BLOCK,
                tried,
                expected="the gradient to flow through the scaled shortcut",
                cause="the output is right but the gradient is not: the shortcut is cut from autograd "
                "(x.detach(), x.data or torch.no_grad())",
                hint="multiply x itself by the scale",
            )
    passed(f"{BLOCK} computes scale * x + F(x) with a pre-activation branch, for any width and scale.")


def _stack(depth: int, width: int, scale: float, zero: bool, g: torch.Generator) -> nn.Sequential:
    model = nn.Sequential(*[Scaled(width, scale) for _ in range(depth)])
    randomise_batchnorm(model, g, running_stats=True)
    if zero:
        for m in model:
            nn.init.zeros_(m.block.fc2.weight)
            nn.init.zeros_(m.block.fc2.bias)
    return model.eval()


def _near(value: float, candidate: float) -> bool:
    return abs(value - candidate) <= 1e-5 * abs(candidate)


def _reference_ratio(model: nn.Module, x: torch.Tensor) -> float:
    wide = copy.deepcopy(model).double()
    xd = x.detach().double().requires_grad_(True)
    out = wide(xd)
    (gx,) = torch.autograd.grad(out.sum(), xd)
    return gx.norm().item() / math.sqrt(out.numel())


def check_gradient_ratio(function: Callable) -> None:
    """Check a student's ``input_gradient_ratio(model, x) -> float``."""
    require_function(function, "check_gradient_ratio", RATIO, f"{RATIO}(model, x)", f"{RATIO}(model, x)", None, None)
    with sandbox(14) as g:
        cases = [(3, 6, 1.0, False), (4, 5, 0.5, False), (6, 4, 2.0, False), (160, 4, 0.5, True)]
        for depth, width, scale, zero in cases:
            model = _stack(depth, width, scale, zero, g).float()
            x = torch.randn(BATCH, width, generator=g).float()
            label = (
                f"a float32 stack of {depth} blocks of width {width}, scale={scale:g}"
                + (", branches zero (the ratio is exactly scale ** depth)" if zero else "")
                + ", in eval mode"
            )
            tried = f"{RATIO}(model, x) with {label}"
            want = _reference_ratio(model, x)
            dtype, training, state = model[0].block.fc1.weight.dtype, model.training, copy.deepcopy(model.state_dict())
            x_before = x.clone()
            result = call(RATIO, tried, function, model, x)
            if model[0].block.fc1.weight.dtype != dtype:
                raise fail(
                    "model_changed",
                    tried,
                    "the model left as it was given (float32)",
                    f"the model is now {model[0].block.fc1.weight.dtype}: model.double() converts the model in place",
                    "convert a copy: copy.deepcopy(model).double()",
                )
            if model.training != training or any(m.training != training for m in model.modules()):
                raise fail(
                    "mode_changed",
                    tried,
                    "the model left in eval mode, as it was given",
                    "the function switched the model to training mode",
                    "do not call model.train()",
                )
            now = model.state_dict()
            if any(not torch.equal(now[k], state[k]) for k in state):
                raise fail(
                    "model_changed",
                    tried,
                    "the model's weights and statistics left unchanged",
                    "the model's weights or BatchNorm statistics changed",
                    "work on a copy, in the model's mode",
                )
            if not torch.equal(x, x_before):
                raise fail(
                    "input_changed", tried, "x left unchanged", "the function changed x in place", "work on a copy of x"
                )
            if isinstance(result, torch.Tensor):
                raise fail(
                    "not_a_float", tried, "a Python float", "it returned a tensor", "return ratio.item(), or a float"
                )
            if not is_number(result):
                raise fail(
                    "not_a_float", tried, "a Python float", f"it returned a {type(result).__name__}", "return a float"
                )
            value = float(result)
            if abs(value - want) <= 1e-6 * want:
                continue
            if zero and value == 0.0:
                raise fail(
                    "float32_underflow",
                    tried,
                    f"{fmt(want)} (= {scale:g} ** {depth})",
                    "0.0: the gradient was computed in float32, where anything below about 1.4e-45 underflows to 0",
                    "compute on a float64 copy: copy.deepcopy(model).double() and x.double()",
                )
            n = BATCH * width
            candidates = [
                (
                    "inverse",
                    1 / want if want else math.nan,
                    "the ratio is upside down: ||d/d out|| / ||d/d x||",
                    "the gradient at the INPUT divided by the gradient at the output",
                ),
                (
                    "not_normalised",
                    want * math.sqrt(n),
                    "the value is ||d out.sum() / d x|| alone, not divided by "
                    "||d out.sum() / d out|| = sqrt(out.numel())",
                    "divide by the norm of the output's gradient",
                ),
                ("squared", want * want, "the value is the squared ratio", "take norms, not sums of squares"),
                (
                    "divided_by_numel",
                    want / math.sqrt(n),
                    "the value is divided by out.numel(), not by sqrt(out.numel()), the norm of the output's gradient",
                    "divide by math.sqrt(out.numel())",
                ),
            ]
            raise_first_match(value, candidates, tried, fmt(want), near=_near)
            train_model = copy.deepcopy(model).train()
            if abs(value - _reference_ratio(train_model, x)) <= 1e-5 * want:
                raise fail(
                    "train_mode",
                    tried,
                    f"{fmt(want)}, measured in the model's eval mode",
                    "the value is measured in training mode (BatchNorm with the batch's statistics)",
                    "keep the model's mode: a copy keeps it too",
                )
            raise fail(
                "wrong_value",
                tried,
                fmt(want),
                f"your value is {fmt(value)}; likely causes: another loss "
                "than out.sum(), gradients of the parameters instead of the input, or float32 round-off",
                "x64 = x.double().requires_grad_(); out = model64(x64); gradient of out.sum() w.r.t. x64",
            )
    passed(f"{RATIO} measures the gradient's gain through a stack in float64: 0.5 ** 160 = 6.8e-49, not 0.")
