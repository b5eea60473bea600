"""Exercise 1: per-layer gradient norms collected with hooks (and the hooks removed).

The reference is :func:`resnet_edu.probes.gradient_norms`: ``{layer name: L2 norm of the
cross-entropy gradient w.r.t. that layer's weight}`` for every ``nn.Linear`` and ``nn.Conv2d``,
ordered from input to output.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..models import CifarResNet, MLPStack
from ..probes import gradient_norms, weight_layers
from ._harness import first_line, fmt, raise_first_match, raised_in, require_function, require_numbers, sandbox
from .failure import CheckFailed, fail, not_started, passed

NAME = "gradient_norms_with_hooks"


def _models(g: torch.Generator) -> list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]]:
    mlp = MLPStack(depth=6, width=16, block="residual", in_features=8).double()
    cnn = CifarResNet(depth=8, channels=(4, 8, 8), in_channels=1).double()
    x_mlp = torch.randn(16, 8, generator=g, dtype=torch.float64)
    x_cnn = torch.randn(8, 1, 8, 8, generator=g, dtype=torch.float64)
    y = torch.randint(0, 10, (16,), generator=g)
    return [
        ("MLPStack(depth=6, width=16, block='residual', in_features=8)", mlp, x_mlp, y),
        ("CifarResNet(depth=8, channels=(4, 8, 8), in_channels=1)", cnn, x_cnn, y[:8]),
    ]


def _output_grad_norms(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Norms of the gradient w.r.t. each layer's OUTPUT (what a module backward hook's grad_output holds)."""
    probe = copy.deepcopy(model).train()
    outputs = []
    handles = [m.register_forward_hook(lambda m, i, o: outputs.append(o)) for _, m in weight_layers(probe)]
    loss = F.cross_entropy(probe(x), y)
    for h in handles:
        h.remove()
    grads = torch.autograd.grad(loss, outputs, allow_unused=True)
    return [0.0 if gr is None else gr.norm().item() for gr in grads]


def _leftover_hooks(model: nn.Module) -> list[str]:
    left = []
    for name, module in model.named_modules():
        for kind in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            if getattr(module, kind, None):
                left.append(f"{name or 'model'} ({kind.strip('_').replace('_', ' ')})")
    for name, param in model.named_parameters():
        if getattr(param, "_backward_hooks", None):
            left.append(f"{name} (tensor hook)")
    return left


def _close_lists(a: list[float], b: list[float], tol: float = 1e-6) -> bool:
    return len(a) == len(b) and all(abs(u - v) <= tol * max(1e-12, abs(v)) + 1e-12 for u, v in zip(a, b))


def check_gradient_norms(function: Callable) -> None:
    """Check a student's ``gradient_norms_with_hooks(model, x, y) -> dict[str, float]``."""
    signature = f"{NAME}(model, x, y)"
    require_function(function, "check_gradient_norms", NAME, signature, signature, None, None, None)
    with sandbox(1) as g:
        for label, model, x, y in _models(g):
            tried = f"{NAME}(model, x, y) with model = {label}"
            names = [name for name, _ in weight_layers(model)]
            expected = gradient_norms(model, x, y)  # the reference works on a copy
            reference_model = copy.deepcopy(model)
            for attempt in (1, 2):
                preset = None
                if attempt == 2:  # leftover gradients, as after any earlier backward in the notebook
                    preset = {}
                    for name, layer in weight_layers(model):
                        preset[name] = torch.randn(layer.weight.shape, generator=g, dtype=layer.weight.dtype)
                        layer.weight.grad = preset[name].clone()
                _one_call(function, model, reference_model, x, y, names, expected, tried, attempt, preset)
    passed(
        f"{NAME} agrees with resnet_edu.probes.gradient_norms on an MLP and a CNN, called twice on the same model, "
        "and removes its hooks."
    )


def _one_call(function, model, reference_model, x, y, names, expected, tried, attempt, preset=None) -> None:
    if attempt == 2:
        tried = tried + ", a second time on the same model, whose .grad already holds gradients"
    try:
        result = function(model, x, y)
    except NotImplementedError as exc:
        raise not_started(raised_in(exc, NAME)) from None
    except CheckFailed:
        raise
    except Exception as exc:  # noqa: BLE001
        text = str(exc)
        if "hook" in text and ("returned" in text or "changed" in text):
            raise fail(
                "hook_returns",
                tried,
                "hooks that only record a number and return None",
                f"a hook returns a value ({first_line(exc)}); whatever a tensor hook returns REPLACES the gradient",
                "store the norm in your dict inside the hook and end the hook without 'return' "
                "(a lambda returns its expression: use a def, or dict.__setitem__ which returns None)",
            ) from None
        raise fail(
            "error",
            tried,
            "it to run without an error",
            f"it raised {first_line(exc)}",
            "run the same call in a cell of your own to see the full traceback",
        ) from None
    if result is None:
        raise fail(
            "returns_none",
            tried,
            "a dict {layer name: gradient norm}",
            "the function returned None (no 'return' at the end?)",
            "end the function by returning the dict",
        )
    if not isinstance(result, dict):
        raise fail(
            "not_a_dict",
            tried,
            "a dict {layer name: gradient norm}",
            f"the function returned a {type(result).__name__}",
            "collect the norms in a dict keyed by layer name",
        )
    tensors = [k for k, v in result.items() if isinstance(v, torch.Tensor)]
    if tensors:
        raise fail(
            "tensors_stored",
            tried,
            "plain Python floats as values",
            f"the value for {tensors[0]!r} is a tensor: stored tensors keep memory (and sometimes the graph) alive",
            "store g.norm().item(), not g.norm() or g",
        )
    last = result.get(names[-1])
    if (
        len(names) > 1
        and list(result) == [names[-1]]
        and isinstance(last, float)
        and not _close_lists([last], [expected[names[-1]]])
    ):
        raise fail(
            "late_binding",
            tried,
            f"{len(names)} entries, one per layer: {', '.join(names[:3])}, ...",
            f"only one key, {names[-1]!r}, the LAST layer: a lambda defined in a loop reads the loop "
            "variable when it runs (after the loop), not when it was defined",
            "bind the name at definition: lambda g, name=name: ..., or a def make_hook(name) that returns the hook",
        )
    missing = [n for n in names if n not in result]
    extra = [k for k in result if k not in names]
    if missing or extra:
        what = f"missing {missing[:3]}" if missing else f"unexpected keys {extra[:3]}"
        raise fail(
            "wrong_keys",
            tried,
            f"one entry per nn.Linear and nn.Conv2d weight, keyed by its name in "
            f"model.named_modules(): {', '.join(names[:3])}, ...",
            f"the dict has {what}",
            "loop over model.named_modules() and keep the modules that are nn.Linear or nn.Conv2d "
            "(only their .weight, not biases or BatchNorm)",
        )
    if list(result) != names:
        got = list(result)
        if got == names[::-1]:
            cause = (
                "the keys are in reverse order, output to input: hooks fire during backward, from the output "
                "back to the input, so a dict filled by the hooks is reversed"
            )
        elif got == sorted(names):
            cause = "the keys are sorted alphabetically (sorted() on the names), not in the model's layer order"
        else:
            cause = f"the keys are in another order: {', '.join(got[:3])}, ..."
        raise fail(
            "order",
            tried,
            f"keys ordered from input to output: {', '.join(names[:3])}, ...",
            cause,
            "create the dict with every key in layer order before backward (dict.fromkeys over the names from "
            "model.named_modules()), then let the hooks fill in the values",
        )
    values = [result[n] for n in names]
    require_numbers(values, tried, "plain Python floats as values", "store g.norm().item()", item="a value")
    reference = [expected[n] for n in names]
    if not _close_lists(values, reference):
        if attempt == 2 and preset is not None:
            weights = dict(weight_layers(reference_model))
            true = torch.autograd.grad(
                F.cross_entropy(reference_model.train()(x), y), [weights[n].weight for n in names]
            )
            if _close_lists(values, [(t + preset[n]).norm().item() for n, t in zip(names, true)]):
                raise fail(
                    "grad_accumulates",
                    tried,
                    "the norms of this backward pass's gradients only",
                    "the norms are read from .weight.grad, which ADDS each backward pass to what is already "
                    "there: the gradients left from before are counted too (a second call gives other numbers)",
                    "read the gradient in a hook (it sees only this backward's gradient), or zero the "
                    "gradients (model.zero_grad()) before loss.backward()",
                )
        if attempt == 2 and _close_lists(values, [2 * v for v in reference]):
            raise fail(
                "accumulates_between_calls",
                tried,
                "the same norms on every call",
                "the second call gives twice the first call's norms: the values add up between calls "
                "(a dict or a sum kept from the first call)",
                "start every call with a new, empty dict",
            )
        if attempt == 2:
            raise fail(
                "second_call",
                tried,
                "the same norms on every call",
                "the first call was right, the second is not: something left over from the first call "
                "(accumulated .grad, old hooks, a dict shared between calls) changes the result",
                "build everything inside the function: a new dict, new hooks, and no reliance on .grad",
            )
        if _close_lists(values, [v * v for v in reference]):
            raise fail(
                "squared",
                tried,
                "the L2 norm ||g|| of each weight gradient",
                "the values are the squared norms ||g||^2 (sum of squares without the square root)",
                "use g.norm() (or torch.linalg.vector_norm(g)), which takes the square root",
            )
        if _close_lists(values, _output_grad_norms(reference_model, x, y)):
            raise fail(
                "output_grads",
                tried,
                "norms of the gradient w.r.t. each layer's WEIGHT",
                "these are the norms of the gradient w.r.t. each layer's OUTPUT (a module backward hook's grad_output)",
                "register the hook on the parameter: layer.weight.register_hook(...)",
            )
        if _close_lists(values, [v * len(y) for v in reference]):
            raise fail(
                "loss_sum",
                tried,
                "the gradient of the MEAN cross-entropy over the batch",
                "the values are batch-size times too large: the loss is summed, not averaged",
                "use F.cross_entropy(model(x), y) with its default reduction='mean'",
            )
        probe = copy.deepcopy(reference_model)
        layers = dict(weight_layers(probe))
        probe.eval()
        eval_grads = torch.autograd.grad(F.cross_entropy(probe(x), y), [layers[n].weight for n in names])
        probe.train()
        logits = probe(x)
        biases = [layers[n].bias for n in names]
        others = []
        if all(b is not None for b in biases):
            others.append(
                (
                    "bias_grads",
                    [g.norm().item() for g in torch.autograd.grad(F.cross_entropy(logits, y), biases)],
                    "these are the norms of the BIAS gradients",
                    "register the hook on layer.weight",
                )
            )
        nll = torch.autograd.grad(F.nll_loss(probe(x), y), [layers[n].weight for n in names])
        others += [
            (
                "eval_mode",
                [g.norm().item() for g in eval_grads],
                "the gradients were measured in eval mode (model.eval()): BatchNorm then uses its running statistics",
                "measure the model in the mode it was given; do not call model.eval()",
            ),
            (
                "nll_on_logits",
                [g.norm().item() for g in nll],
                "the loss is F.nll_loss on the logits, without log_softmax",
                "F.cross_entropy(model(x), y) (it applies log_softmax itself)",
            ),
        ]
        raise_first_match(
            values,
            others,
            tried,
            "the gradient of F.cross_entropy(model(x), y) w.r.t. each layer's weight, in the model's own mode",
            near=_close_lists,
        )
        worst = max(range(len(names)), key=lambda i: abs(values[i] - reference[i]))
        raise fail(
            "wrong_values",
            tried,
            f"{names[worst]!r}: {fmt(reference[worst])} (the gradient of "
            "F.cross_entropy(model(x), y) w.r.t. that layer's weight)",
            f"your value is {fmt(values[worst])}; likely causes: another loss, a second backward, or a hook on the "
            "wrong tensor",
            "one forward, one loss = F.cross_entropy(model(x), y), one loss.backward(), and in each hook "
            "g.norm().item()",
        )
    left = _leftover_hooks(model)
    if left:
        raise fail(
            "hooks_not_removed",
            tried,
            "no hooks left on the model when the function returns",
            f"hooks are still registered: {', '.join(left[:3])}; they would fire on every later "
            "backward pass and keep filling your dict",
            "keep the handle that register_hook returns and call handle.remove() for each one at the end",
        )
    grads = [p.grad for p in model.parameters()]
    if attempt == 1 and all(gr is not None for gr in grads):
        true = torch.autograd.grad(F.cross_entropy(reference_model.train()(x), y), list(reference_model.parameters()))
        if any(not torch.allclose(a, b, rtol=1e-6, atol=1e-12) for a, b in zip(grads, true)):
            raise fail(
                "hook_returns",
                tried,
                "the model's .grad fields equal to the true gradients",
                "a hook returns a value: whatever a tensor hook returns REPLACES the gradient, so the "
                "norms look right but the model's .grad is wrong",
                "end each hook without 'return' (use a def, not a lambda that returns an expression)",
            )
