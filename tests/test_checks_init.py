"""Exercise 2's checks: the gradient profile (float64, repeatable) and the Kaiming / Xavier init."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_gradient_profile, check_init


def linears(model):
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


# ----- gradient_profile: right ----------------------------------------------------------------


def profile(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [m.weight.grad.double().norm().item() for m in linears(model)]


def profile_autograd(model, x, y):
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), [m.weight for m in linears(model)])
    return [g.to(torch.float64).pow(2).sum().sqrt().item() for g in grads]


def profile_float64_copy(model, x, y):
    wide = copy.deepcopy(model).double()
    wide.zero_grad(set_to_none=True)
    F.cross_entropy(wide(x.double()), y).backward()
    return [torch.linalg.vector_norm(m.weight.grad).item() for m in linears(wide)]


def profile_hooks(model, x, y):
    norms, handles = {}, []
    for i, layer in enumerate(linears(model)):
        handles.append(layer.weight.register_hook(lambda g, i=i: norms.__setitem__(i, g.double().norm().item())))
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return [norms[i] for i in range(len(handles))]


def profile_tuple(model, x, y):
    return tuple(profile(model, x, y))


@pytest.mark.parametrize("fn", [profile, profile_autograd, profile_float64_copy, profile_hooks, profile_tuple])
def test_right_profiles_pass(fn, capsys):
    check_gradient_profile(fn)
    assert capsys.readouterr().out.startswith("\u2713 ")


# ----- gradient_profile: wrong ----------------------------------------------------------------


def p_stub(model, x, y):
    raise NotImplementedError()


def p_float32(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [m.weight.grad.norm().item() for m in linears(model)]


def p_accumulates(model, x, y):
    F.cross_entropy(model(x), y).backward()
    return [m.weight.grad.double().norm().item() for m in linears(model)]


def p_reversed(model, x, y):
    return profile(model, x, y)[::-1]


def p_squared(model, x, y):
    return [v * v for v in profile(model, x, y)]


def p_with_bias(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [p.grad.double().norm().item() for m in linears(model) for p in (m.weight, m.bias)]


def p_all_parameters(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [p.grad.double().norm().item() for p in model.parameters() if p.dim() == 2 or p.dim() == 1]


def p_summed_loss(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y, reduction="sum").backward()
    return [m.weight.grad.double().norm().item() for m in linears(model)]


def p_max_entry(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [m.weight.grad.abs().max().double().item() for m in linears(model)]


def p_l1(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [m.weight.grad.double().abs().sum().item() for m in linears(model)]


def p_eval_mode(model, x, y):
    model.eval()
    return profile(model, x, y)


def p_optimiser_step(model, x, y):
    out = profile(model, x, y)
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    return out


def p_tensors(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [m.weight.grad.double().norm() for m in linears(model)]


def p_returns_nothing(model, x, y):
    profile(model, x, y)


def p_mse_loss(model, x, y):
    model.zero_grad()
    F.mse_loss(model(x), F.one_hot(y, 10).to(x.dtype)).backward()
    return [m.weight.grad.double().norm().item() for m in linears(model)]


def p_mean_abs(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [m.weight.grad.double().abs().mean().item() for m in linears(model)]


def p_tensor(model, x, y):
    return torch.tensor(profile(model, x, y))


def p_first_layer_only(model, x, y):
    return profile(model, x, y)[:1]


def p_weight_and_bias(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [torch.cat([m.weight.grad.flatten(), m.bias.grad.flatten()]).double().norm().item() for m in linears(model)]


def p_relative(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [(m.weight.grad.double().norm() / m.weight.double().norm()).item() for m in linears(model)]


def p_log10(model, x, y):
    return [math.log10(v) for v in profile(model, x, y)]


PROFILE_MISTAKES = [
    (p_weight_and_bias, "with_bias", "weight AND bias"),
    (p_relative, "relative", "||grad|| / ||weight||"),
    (p_log10, "log10", "log10"),
    (p_stub, "not_started", NOT_STARTED),
    (p_float32, "float32_norm", "float32 subnormals"),
    (p_accumulates, "grad_accumulates", "twice the first call"),
    (p_reversed, "reversed", "reverse order"),
    (p_squared, "squared", "squared norms"),
    (p_with_bias, "length", "biases"),
    (p_all_parameters, "length", "biases"),
    (p_summed_loss, "loss_sum", "summed over the batch"),
    (p_max_entry, "max_entry", "largest entry"),
    (p_l1, "l1_norm", "L1 norm"),
    (p_eval_mode, "eval_mode", "eval mode"),
    (p_optimiser_step, "model_changed", "weights changed"),
    (p_tensors, "not_floats", "Tensor"),
    (p_returns_nothing, "returns_none", "returned None"),
    (p_mse_loss, "wrong_values", "another loss"),
    (p_mean_abs, "mean_abs", "mean of |g|"),
    (p_tensor, "not_a_list", "tensor"),
    (p_first_layer_only, "length", "for 6 Linear layers"),
]


@pytest.mark.parametrize("fn, mistake, phrase", PROFILE_MISTAKES, ids=[m[0].__name__ for m in PROFILE_MISTAKES])
def test_profile_mistakes(fn, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_gradient_profile(fn)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)


# ----- init_for: right ------------------------------------------------------------------------


def init_normal(model, activation):
    for m in linears(model):
        if activation == "relu":
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        else:
            nn.init.xavier_normal_(m.weight)
        nn.init.zeros_(m.bias)


def init_uniform(model, activation):
    for m in model.modules():
        if isinstance(m, nn.Linear):
            (
                nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
                if activation == "relu"
                else nn.init.xavier_uniform_(m.weight)
            )
            m.bias.data.zero_()


def init_by_hand(model, activation):
    with torch.no_grad():
        for m in linears(model):
            fan_out, fan_in = m.weight.shape
            std = math.sqrt(2 / fan_in) if activation == "relu" else math.sqrt(2 / (fan_in + fan_out))
            m.weight.copy_(torch.randn_like(m.weight) * std)
            m.bias.fill_(0.0)


def init_by_hand_uniform_returns_model(model, activation):
    with torch.no_grad():
        for m in linears(model):
            fan_out, fan_in = m.weight.shape
            var = 2 / fan_in if activation == "relu" else 2 / (fan_in + fan_out)
            bound = math.sqrt(3 * var)
            m.weight.uniform_(-bound, bound)
            m.bias.zero_()
    return model


@pytest.mark.parametrize("fn", [init_normal, init_uniform, init_by_hand, init_by_hand_uniform_returns_model])
def test_right_inits_pass(fn, capsys):
    check_init(fn)
    assert capsys.readouterr().out.startswith("\u2713 ")


# ----- init_for: wrong ------------------------------------------------------------------------


def with_std(fn):
    """An init that sets each Linear weight to normal(0, fn(fan_in, fan_out, activation)), biases 0."""

    def init(model, activation):
        with torch.no_grad():
            for m in linears(model):
                fan_out, fan_in = m.weight.shape
                m.weight.normal_(0.0, fn(fan_in, fan_out, activation))
                m.bias.zero_()

    return init


def i_stub(model, activation):
    raise NotImplementedError()


i_fan_out = with_std(lambda i, o, a: math.sqrt(2 / o) if a == "relu" else math.sqrt(2 / (i + o)))
i_lecun = with_std(lambda i, o, a: math.sqrt(1 / i) if a == "relu" else math.sqrt(2 / (i + o)))
i_std_as_variance = with_std(lambda i, o, a: 2 / i if a == "relu" else 2 / (i + o))
i_xavier_for_relu = with_std(lambda i, o, a: math.sqrt(2 / (i + o)))
i_kaiming_for_tanh = with_std(lambda i, o, a: math.sqrt(2 / i))
i_tanh_gain = with_std(lambda i, o, a: math.sqrt(2 / i) if a == "relu" else 5 / 3 * math.sqrt(2 / (i + o)))
i_ignores_activation_tanh_as_relu = with_std(lambda i, o, a: math.sqrt(2 / i))


def i_uniform_bound_is_std(model, activation):
    with torch.no_grad():
        for m in linears(model):
            fan_out, fan_in = m.weight.shape
            s = math.sqrt(2 / fan_in) if activation == "relu" else math.sqrt(2 / (fan_in + fan_out))
            m.weight.uniform_(-s, s)
            m.bias.zero_()


def i_biases_kept(model, activation):
    for m in linears(model):
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu") if activation == "relu" else nn.init.xavier_normal_(
            m.weight
        )


def i_skips_last_layer(model, activation):
    for m in linears(model)[:-1]:
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu") if activation == "relu" else nn.init.xavier_normal_(
            m.weight
        )
        nn.init.zeros_(m.bias)


def i_touches_batchnorm(model, activation):
    init_normal(model, activation)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            nn.init.normal_(m.weight)


def i_new_model(model, activation):
    fresh = copy.deepcopy(model)
    init_normal(fresh, activation)
    return fresh


def i_numpy(model, activation):
    with torch.no_grad():
        for m in linears(model):
            fan_out, fan_in = m.weight.shape
            std = math.sqrt(2 / fan_in) if activation == "relu" else math.sqrt(2 / (fan_in + fan_out))
            m.weight.copy_(torch.from_numpy(np.random.default_rng().normal(0, std, tuple(m.weight.shape))))
            m.bias.zero_()


def i_positive_uniform(model, activation):
    with torch.no_grad():
        for m in linears(model):
            fan_out, fan_in = m.weight.shape
            var = 2 / fan_in if activation == "relu" else 2 / (fan_in + fan_out)
            m.weight.uniform_(0, math.sqrt(12 * var))
            m.bias.zero_()


def i_nothing(model, activation):
    return None


def i_std_one_over_fan_in(model, activation):
    with_std(lambda i, o, a: 1 / i)(model, activation)


def i_kaiming_fan_out_builtin(model, activation):
    for m in linears(model):
        nn.init.kaiming_normal_(
            m.weight, mode="fan_out", nonlinearity="relu"
        ) if activation == "relu" else nn.init.xavier_normal_(m.weight)
        nn.init.zeros_(m.bias)


def i_relu_only(model, activation):
    if activation == "relu":
        init_normal(model, "relu")


def i_orthogonal(model, activation):
    for m in linears(model):
        nn.init.orthogonal_(m.weight, gain=math.sqrt(2) if activation == "relu" else 1.0)
        nn.init.zeros_(m.bias)


def i_first_layer_only(model, activation):
    init_normal(nn.Sequential(linears(model)[0]), activation)
    for m in linears(model)[1:]:
        nn.init.zeros_(m.bias)


INIT_MISTAKES = [
    (i_relu_only, "nothing_changed", "activation='tanh'"),
    (i_orthogonal, "fan_out", "2 / fan_OUT"),
    (i_first_layer_only, "layer_skipped", "default init"),
    (i_stub, "not_started", NOT_STARTED),
    (i_fan_out, "fan_out", "fan_OUT"),
    (i_kaiming_fan_out_builtin, "fan_out", "mode='fan_out'"),
    (i_lecun, "lecun", "LeCun"),
    (i_std_as_variance, "std_as_variance", "STANDARD DEVIATION"),
    (i_xavier_for_relu, "xavier_for_relu", "asks for Kaiming"),
    (i_kaiming_for_tanh, "kaiming_for_tanh", "asks for Xavier"),
    (i_ignores_activation_tanh_as_relu, "kaiming_for_tanh", "asks for Xavier"),
    (i_tanh_gain, "tanh_gain", "gain 5/3"),
    (i_uniform_bound_is_std, "uniform_bound", "three times too small"),
    (i_biases_kept, "bias_not_zero", "not zero"),
    (i_skips_last_layer, "layer_skipped", "only some Linear layers"),
    (i_touches_batchnorm, "batchnorm_changed", "BatchNorm"),
    (i_new_model, "not_in_place", "returned a new model"),
    (i_numpy, "not_reproducible", "NumPy"),
    (i_positive_uniform, "mean_not_zero", "mean"),
    (i_nothing, "nothing_changed", "no weight changed"),
    (i_std_one_over_fan_in, "std_fan_in", "1 / fan_in"),
]


@pytest.mark.parametrize(
    "fn, mistake, phrase",
    INIT_MISTAKES,
    ids=[m[0].__name__ if hasattr(m[0], "__name__") else str(i) for i, m in enumerate(INIT_MISTAKES)],
)
def test_init_mistakes(fn, mistake, phrase):
    with pytest.raises(CheckFailed) as info:
        check_init(fn)
    assert info.value.mistake == mistake and phrase in str(info.value), str(info.value)
