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


def with_post_accumulate_hooks_zeroed(model, x, y):
    """Post-accumulate hooks read .grad, so the gradients are zeroed first."""
    model.zero_grad(set_to_none=True)
    return with_post_accumulate_hooks(model, x, y)


def with_autograd_grad(model, x, y):
    """No hooks at all: torch.autograd.grad returns the weight gradients (nothing accumulates)."""
    named = [(name, m.weight) for name, m in layers(model)]
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), [w for _, w in named])
    return {name: float(g.norm()) for (name, _), g in zip(named, grads)}


def with_grad_after_zero(model, x, y):
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return {name: m.weight.grad.norm().item() for name, m in layers(model)}


@pytest.mark.parametrize(
    "fn",
    [
        with_default_argument,
        with_closure_factory,
        with_post_accumulate_hooks_zeroed,
        with_autograd_grad,
        with_grad_after_zero,
    ],
)
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
        # The late-binding closure is the mistake this stub makes on purpose: every hook writes the last name.
        handles.append(layer.weight.register_hook(lambda g: norms.__setitem__(name, g.norm().item())))  # noqa: B023
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def hook_returns_value(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [layer.weight.register_hook(lambda g, n=n: g.norm()) for n, layer in layers(model)]
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

    handles = [layer.weight.register_hook(make(n)) for n, layer in layers(model)]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def squared(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [
        layer.weight.register_hook(lambda g, n=n: norms.__setitem__(n, (g**2).sum().item()))
        for n, layer in layers(model)
    ]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def tensors(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [layer.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm())) for n, layer in layers(model)]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def never_removed(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    for n, layer in layers(model):
        layer.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm().item()))
    F.cross_entropy(model(x), y).backward()
    return norms


def module_hooks_never_removed(model, x, y):
    for _, layer in layers(model):
        layer.register_forward_hook(lambda m, i, o: None)
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
        layer.register_full_backward_hook(lambda m, gi, go, n=n: norms.__setitem__(n, go[0].norm().item()))
        for n, layer in layers(model)
    ]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def summed_loss(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [
        layer.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm().item())) for n, layer in layers(model)
    ]
    F.cross_entropy(model(x), y, reduction="sum").backward()
    for h in handles:
        h.remove()
    return norms


def linear_only(model, x, y):
    norms, handles = {}, []
    named = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    norms = dict.fromkeys(n for n, _ in named)
    handles = [layer.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm().item())) for n, layer in named]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


def returns_nothing(model, x, y):
    with_default_argument(model, x, y)


def sorted_keys(model, x, y):
    norms = with_default_argument(model, x, y)
    return {k: norms[k] for k in sorted(norms)}


def grad_without_zeroing(model, x, y):
    F.cross_entropy(model(x), y).backward()
    return {name: m.weight.grad.norm().item() for name, m in layers(model)}


def with_bias_keys(model, x, y):
    norms = with_default_argument(model, x, y)
    norms.update({f"{name}.bias": 0.0 for name, m in layers(model) if m.bias is not None})
    return norms


def shared_dict(model, x, y, _store={}):  # noqa: B006 - the mistake: a dict shared between calls
    for n, _ in layers(model):
        _store.setdefault(n, 0.0)
    handles = [
        m.weight.register_hook(lambda g, n=n: _store.__setitem__(n, _store.get(n, 0.0) + g.norm().item()))
        for n, m in layers(model)
    ]
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return dict(_store)


def in_eval_mode(model, x, y):
    model.eval()
    return with_default_argument(model, x, y)


def bias_hooks(model, x, y):
    norms, handles = {}, []
    for name, layer in layers(model):
        handles.append(layer.bias.register_hook(lambda g, name=name: norms.__setitem__(name, g.norm().item())))
    F.cross_entropy(model(x), y).backward()
    for h in handles:
        h.remove()
    return {name: norms[name] for name, _ in layers(model)}


def nll_on_logits(model, x, y):
    norms = dict.fromkeys(n for n, _ in layers(model))
    handles = [m.weight.register_hook(lambda g, n=n: norms.__setitem__(n, g.norm().item())) for n, m in layers(model)]
    F.nll_loss(model(x), y).backward()
    for h in handles:
        h.remove()
    return norms


MISTAKES = [
    (in_eval_mode, "eval_mode", "eval mode"),
    (bias_hooks, "bias_grads", "BIAS gradients"),
    (nll_on_logits, "nll_on_logits", "nll_loss"),
    (with_post_accumulate_hooks, "grad_accumulates", "gradients left from before"),
    (sorted_keys, "order", "sorted alphabetically"),
    (grad_without_zeroing, "grad_accumulates", ".grad"),
    (with_bias_keys, "wrong_keys", "unexpected keys"),
    (shared_dict, "accumulates_between_calls", "add up between calls"),
    (stub, "not_started", NOT_STARTED),
    (late_binding, "late_binding", "lambda defined in a loop"),
    (hook_returns_value, "hook_returns", "REPLACES the gradient"),
    (hook_returns_same_shape, "hook_returns", "REPLACES the gradient"),
    (squared, "squared", "squared norms"),
    (tensors, "tensors_stored", "is a tensor"),
    (never_removed, "hooks_not_removed", "tensor hook"),
    (module_hooks_never_removed, "hooks_not_removed", "forward hooks"),
    (reversed_order, "order", "reverse order, output to input"),
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
