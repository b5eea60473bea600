"""The gradient-norm check (exercise 1): correct hook code passes, each mistake gets its message."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from resnet_edu.checks import NOT_STARTED, CheckFailed, check_gradient_norms


def layers(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def with_default_argument(model, x, y):
    norms, handles = {}, []
    for name, layer in layers(model):
        handles.append(layer.weight.register_hook(lambda g, name=name: norms.__setitem__(name, g.norm().item())))
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return {name: norms[name] for name, _ in layers(model)}


def with_closure_factory(model, x, y):
    names = [name for name, _ in layers(model)]
    norms = dict.fromkeys(names)

    def make_hook(name):
        def hook(grad):
            norms[name] = torch.linalg.vector_norm(grad).item()

        return hook

    handles = [layer.weight.register_hook(make_hook(name)) for name, layer in layers(model)]
    try:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
    finally:
        for h in handles:
            h.remove()
    return norms


def with_post_accumulate_hooks(model, x, y):
    norms = {name: None for name, _ in layers(model)}
    handles = []
    for name, layer in layers(model):
        handles.append(
            layer.weight.register_post_accumulate_grad_hook(
                lambda p, name=name: norms.__setitem__(name, p.grad.norm().item())
            )
        )
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


@pytest.mark.parametrize("fn", [with_default_argument, with_closure_factory, with_post_accumulate_hooks])
def test_correct_versions_pass(fn, capsys):
    check_gradient_norms(fn)
    out = capsys.readouterr().out
    assert out.startswith("\u2713 ") and out.count("\n") == 1


# ----- mistakes -----------------------------------------------------------------------------


def stub(model, x, y):
    # YOUR CODE HERE
    raise NotImplementedError()


def late_binding(model, x, y):
    norms, handles = {}, []
    for name, layer in layers(model):
        handles.append(layer.weight.register_hook(lambda g: norms.__setitem__(name, g.norm().item())))
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def hook_returns_value(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [l.weight.register_hook(lambda g, n=n: g.norm()) for n, l in layers(model)]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def hook_returns_same_shape(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))

    def make(name):
        def hook(g):
            norms[name] = g.norm().item()
            return g * 0.5  # replaces the gradient that .grad receives

        return hook

    handles = [l.weight.register_hook(make(n)) for n, l in layers(model)]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def squared(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [l.weight.register_hook(lambda g, n=n: norms.__setitem__(n, (g**2).sum().item())) for n, l in layers(model)]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def tensors(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [l.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm())) for n, l in layers(model)]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def never_removed(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    for n, l in layers(model):
        l.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm().item()))
    F.cross_entropy(model(x), y).backward()
    return norms


def module_hooks_never_removed(model, x, y):
    for _, l in layers(model):
        l.register_forward_hook(lambda m, i, o: None)
    return with_default_argument(model, x, y)


def reversed_order(model, x, y):
    norms, handles = {}, []
    for name, layer in layers(model):
        handles.append(layer.weight.register_hook(lambda g, name=name: norms.__setitem__(name, g.norm().item())))
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms  # filled by the hooks, output to input


def output_gradients(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [
        l.register_full_backward_hook(lambda m, gi, go, n=n: norms.__setitem__(n, go[0].norm().item()))
        for n, l in layers(model)
    ]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def summed_loss(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [l.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm().item())) for n, l in layers(model)]
    F.cross_entropy(model(x), y, reduction="sum").backward()
    for h in handles:
        h.remove()
    return norms


def linear_only(model, x, y):
    norms, handles = {}, []
    named = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    norms = dict.fromkeys(n for n, _ in named)
    handles = [l.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm().item())) for n, l in named]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def returns_nothing(model, x, y):
    with_default_argument(model, x, y)


MISTAKES = [
    (stub, "not_started", NOT_STARTED),
    (late_binding, "late_binding", "lambda defined in a loop"),
    (hook_returns_value, "hook_returns", "REPLACES the gradient"),
    (hook_returns_same_shape, "hook_returns", "REPLACES the gradient"),
    (squared, "squared", "squared norms"),
    (tensors, "tensors_stored", "is a tensor"),
    (never_removed, "hooks_not_removed", "tensor hook"),
    (module_hooks_never_removed, "hooks_not_removed", "forward hooks"),
    (reversed_order, "order", "from output to input"),
    (output_gradients, "output_grads", "OUTPUT"),
    (summed_loss, "loss_sum", "summed"),
    (linear_only, "wrong_keys", "missing"),
    (returns_nothing, "returns_none", "returned None"),
]


@pytest.mark.filterwarnings("ignore:Full backward hook")
@pytest.mark.parametrize("fn, mistake, phrase", MISTAKES, ids=[m[0].__name__ for m in MISTAKES])
def test_mistake_is_caught(fn, mistake, phrase, capsys):
    with pytest.raises(CheckFailed) as info:
        check_gradient_norms(fn)
    assert info.value.mistake == mistake, str(info.value)
    assert phrase in str(info.value), str(info.value)
    assert 2 <= len(str(info.value).splitlines()) <= 8
    assert capsys.readouterr().out == ""


def test_wrong_signature_is_explained():
    with pytest.raises(CheckFailed) as info:
        check_gradient_norms(lambda model: {})
    assert info.value.mistake == "signature"
