"""Exercise 8's checks: the block with a scaled shortcut, and the gradient ratio through a stack."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_gradient_ratio, check_scaled_block

# ----- the block: right -----------------------------------------------------------------------


class Scaled(nn.Module):
    def __init__(self, width, scale=1.0):
        super().__init__()
        self.bn1, self.fc1 = nn.BatchNorm1d(width), nn.Linear(width, width)
        self.bn2, self.fc2 = nn.BatchNorm1d(width), nn.Linear(width, width)
        self.scale = scale

    def forward(self, x):
        return self.scale * x + self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class ScaledSequential(nn.Module):
    """nn.Sequential branch, nn.ReLU modules, Linear without bias, a harmless extra attribute."""

    def __init__(self, width, scale=1.0):
        super().__init__()
        self.branch = nn.Sequential(
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Linear(width, width, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(),
            nn.Linear(width, width),
        )
        self.scale = scale
        self.width = width

    def forward(self, x):
        return self.branch(x) + x * self.scale


class ScaledBuffer(Scaled):
    """The scale kept as a buffer, the branch computed first, out += ..."""

    def __init__(self, width, scale=1.0):
        super().__init__(width)
        del self.scale
        self.register_buffer("scale", torch.tensor(float(scale)))

    def forward(self, x):
        out = self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))
        out += self.scale * x
        return out


class ScaledParameter(Scaled):
    """A learnable scale, initialised to the given value (same function at the start)."""

    def __init__(self, width, scale=1.0):
        super().__init__(width)
        del self.scale
        self.scale = nn.Parameter(torch.tensor(float(scale)))


@pytest.mark.parametrize("cls", [Scaled, ScaledSequential, ScaledBuffer, ScaledParameter])
def test_right_blocks_pass(cls, capsys):
    check_scaled_block(cls)
    assert capsys.readouterr().out.startswith("\u2713 ")


# ----- the block: wrong -----------------------------------------------------------------------


class Stub(nn.Module):
    def __init__(self, width, scale=1.0):
        super().__init__()
        raise NotImplementedError()


class ScaleIgnored(Scaled):
    def forward(self, x):
        return x + self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class ScaleOnBranch(Scaled):
    def forward(self, x):
        return x + self.scale * self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class ScaleOnBoth(Scaled):
    def forward(self, x):
        return self.scale * (x + self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x)))))))


class ReluAfterAdd(Scaled):
    def forward(self, x):
        return F.relu(super().forward(x))


class NoShortcut(Scaled):
    def forward(self, x):
        return self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class ScaleSquared(Scaled):
    def forward(self, x):
        return self.scale * self.scale * x + self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class Gate(Scaled):
    def forward(self, x):
        return (1 - self.scale) * x + self.scale * self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class ScaledInput(Scaled):
    def forward(self, x):
        x = self.scale * x
        return x + self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class PostActivation(Scaled):
    def forward(self, x):
        return self.scale * x + self.bn2(self.fc2(F.relu(self.bn1(self.fc1(x)))))


class DetachedShortcut(Scaled):
    def forward(self, x):
        return self.scale * x.detach() + self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class SharedBN(Scaled):
    def forward(self, x):
        return self.scale * x + self.fc2(F.relu(self.bn1(self.fc1(F.relu(self.bn1(x))))))


class NoReluFirst(Scaled):
    def forward(self, x):
        return self.scale * x + self.fc2(F.relu(self.bn2(self.fc1(self.bn1(x)))))


class ShortcutPreactivated(Scaled):
    def forward(self, x):
        a = F.relu(self.bn1(x))
        return self.scale * a + self.fc2(F.relu(self.bn2(self.fc1(a))))


class NoScaleArgument(nn.Module):
    def __init__(self, width):
        super().__init__()


class InPlaceInput(Scaled):
    def forward(self, x):
        out = self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))
        x.mul_(self.scale)
        return x + out


class LayersInForward(Scaled):
    def forward(self, x):
        extra = nn.Linear(x.shape[1], x.shape[1]).to(x.dtype)
        return self.scale * x + extra(self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x)))))))


class OneLinear(Scaled):
    def forward(self, x):
        return self.scale * x + self.fc1(F.relu(self.bn1(x)))


class DefaultHalf(Scaled):
    def __init__(self, width, scale=0.5):
        super().__init__(width, scale)


class Divides(Scaled):
    def forward(self, x):
        return x / self.scale + self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


class ReluOnShortcut(Scaled):
    def forward(self, x):
        return self.scale * F.relu(x) + self.fc2(F.relu(self.bn2(self.fc1(F.relu(self.bn1(x))))))


BLOCK_MISTAKES = [
    (DefaultHalf, "wrong_scale", "the default scale must be 1.0"),
    (Divides, "wrong_scale", "instead of 0.3"),
    (ReluOnShortcut, "wrong_output", "largest difference"),
    (Stub, "not_started", NOT_STARTED),
    (ScaleIgnored, "scale_ignored", "is ignored"),
    (ScaleOnBranch, "scale_on_branch", "BRANCH"),
    (ScaleOnBoth, "scale_on_both", "both"),
    (ReluAfterAdd, "relu_after_add", "ReLU after the addition"),
    (NoShortcut, "skip_missing", "not added"),
    (ScaleSquared, "scale_squared", "twice"),
    (Gate, "convex", "gate"),
    (ScaledInput, "scaled_input", "F(scale * x)"),
    (PostActivation, "post_activation_order", "post-activation order"),
    (DetachedShortcut, "skip_detached", "cut from autograd"),
    (SharedBN, "bn_shared", "called twice"),
    (NoReluFirst, "relu_missing", "no ReLU between BN1 and fc1"),
    (ShortcutPreactivated, "shortcut_preact", "ReLU(BN1(x))"),
    (NoScaleArgument, "signature", "signature"),
    (InPlaceInput, "input_inplace", "in-place"),
    (LayersInForward, "layers_in_forward", "builds new layers"),
    (OneLinear, "layers", "forward ran"),
]


@pytest.mark.parametrize("cls, mistake, phrase", BLOCK_MISTAKES, ids=[m[0].__name__ for m in BLOCK_MISTAKES])
def test_block_mistakes(cls, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_scaled_block(cls)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


# ----- the ratio: right -----------------------------------------------------------------------


def ratio(model, x):
    wide = copy.deepcopy(model).double()
    x64 = x.detach().double().requires_grad_(True)
    out = wide(x64)
    (g,) = torch.autograd.grad(out.sum(), x64)
    return g.norm().item() / math.sqrt(out.numel())


def ratio_backward(model, x):
    wide = copy.deepcopy(model).to(torch.float64)
    x64 = x.clone().to(torch.float64).requires_grad_()
    out = wide(x64)
    out.backward(torch.ones_like(out))
    return float(x64.grad.norm() / torch.ones_like(out).norm())


def ratio_mean(model, x):
    """out.mean() instead of out.sum(): both gradients scale by 1 / numel, the ratio does not."""
    wide = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    out = wide(x64)
    g_out = torch.ones_like(out) / out.numel()
    (g,) = torch.autograd.grad(out.mean(), x64)
    return (g.norm() / g_out.norm()).item()


def ratio_vjp(model, x):
    wide = copy.deepcopy(model).double()
    out, vjp = torch.func.vjp(wide, x.double())
    (g,) = vjp(torch.ones_like(out))
    return torch.linalg.vector_norm(g).item() / out.numel() ** 0.5


@pytest.mark.parametrize("fn", [ratio, ratio_backward, ratio_mean, ratio_vjp])
def test_right_ratios_pass(fn, capsys):
    check_gradient_ratio(fn)
    assert capsys.readouterr().out.startswith("\u2713 ")


# ----- the ratio: wrong -----------------------------------------------------------------------


def r_stub(model, x):
    raise NotImplementedError()


def r_float32(model, x):
    x = x.clone().requires_grad_(True)
    out = model(x)
    (g,) = torch.autograd.grad(out.sum(), x)
    return g.norm().item() / math.sqrt(out.numel())


def r_in_place_double(model, x):
    model.double()
    x64 = x.double().requires_grad_(True)
    out = model(x64)
    (g,) = torch.autograd.grad(out.sum(), x64)
    return g.norm().item() / math.sqrt(out.numel())


def r_train_mode(model, x):
    wide = copy.deepcopy(model).double().train()
    x64 = x.double().requires_grad_(True)
    out = wide(x64)
    (g,) = torch.autograd.grad(out.sum(), x64)
    return g.norm().item() / math.sqrt(out.numel())


def r_switches_mode(model, x):
    model.train()
    return ratio(model, x)


def r_inverse(model, x):
    return 1 / ratio(model, x)


def r_not_normalised(model, x):
    wide = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    (g,) = torch.autograd.grad(wide(x64).sum(), x64)
    return g.norm().item()


def r_squared(model, x):
    return ratio(model, x) ** 2


def r_tensor(model, x):
    return torch.tensor(ratio(model, x))


def r_returns_none(model, x):
    ratio(model, x)


def r_parameter_gradients(model, x):
    wide = copy.deepcopy(model).double()
    out = wide(x.double())
    grads = torch.autograd.grad(out.sum(), [p for p in wide.parameters()])
    return torch.cat([g.flatten() for g in grads]).norm().item() / math.sqrt(out.numel())


def r_changes_x(model, x):
    value = ratio(model, x)
    x.mul_(2)
    return value


def r_squared_loss(model, x):
    wide = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    out = wide(x64)
    (g,) = torch.autograd.grad((out**2).sum(), x64)
    return g.norm().item() / math.sqrt(out.numel())


def r_wrong_signature(model):
    return 1.0


def r_trains_bn_stats(model, x):
    model.train()
    with torch.no_grad():
        model(x)
    model.eval()
    return ratio(model, x)


def r_l1(model, x):
    wide = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    out = wide(x64)
    (g,) = torch.autograd.grad(out.sum(), x64)
    return g.abs().sum().item() / out.numel()


def r_divided_by_numel(model, x):
    return ratio(model, x) / math.sqrt(x.numel())


def r_per_example(model, x):
    wide = copy.deepcopy(model).double()
    x64 = x.double().requires_grad_(True)
    out = wide(x64)
    (g,) = torch.autograd.grad(out.sum(), x64)
    return (g.norm(dim=1) / math.sqrt(out.shape[1])).mean().item()


RATIO_MISTAKES = [
    (r_divided_by_numel, "divided_by_numel", "divided by out.numel()"),
    (r_per_example, "wrong_value", "your value is"),
    (r_stub, "not_started", NOT_STARTED),
    (r_float32, "float32_underflow", "underflows to 0"),
    (r_in_place_double, "model_changed", "in place"),
    (r_train_mode, "train_mode", "training mode"),
    (r_switches_mode, "mode_changed", "training mode"),
    (r_inverse, "inverse", "upside down"),
    (r_not_normalised, "not_normalised", "alone"),
    (r_squared, "squared", "squared ratio"),
    (r_tensor, "not_a_float", "tensor"),
    (r_returns_none, "not_a_float", "NoneType"),
    (r_parameter_gradients, "wrong_value", "parameters"),
    (r_changes_x, "input_changed", "x in place"),
    (r_squared_loss, "wrong_value", "another loss"),
    (r_wrong_signature, "signature", "signature"),
    (r_trains_bn_stats, "model_changed", "statistics changed"),
    (r_l1, "wrong_value", "your value is"),
]


@pytest.mark.parametrize("fn, mistake, phrase", RATIO_MISTAKES, ids=[m[0].__name__ for m in RATIO_MISTAKES])
def test_ratio_mistakes(fn, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_gradient_ratio(fn)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)
