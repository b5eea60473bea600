"""Shared machinery of the checks, one implementation of each idea they share:

- a sandbox for randomness and dtype, and safe calls into the student's code that turn common
  errors into short messages (``construct``, ``call``, ``forward``);
- watching a forward pass (``recording``, ``trace_layers``): which layers and blocks ran, on what;
- what the student's code gave (``require_list``, ``require_numbers``, ``require_shape``, ...);
- comparing a block with the course's reference: copying the student's weights into it
  (``copy_roles``, ``copy_in_running_order``), trying the usual mistakes one by one
  (``raise_first_match``, ``post_activation_mistakes``) and checking the gradient through the skip
  (``require_skip_gradient``).
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as _module

from ..models import copy_weights
from ..seeding import seed_everything, seeded_generator
from .failure import CheckFailed, fail, not_started


@contextmanager
def sandbox(seed: int = 0) -> Iterator[torch.Generator]:
    """Run a check with its own randomness, in float64, on one thread, with gradients on.

    Python's, NumPy's and torch's random states, the default dtype, the thread count and
    the grad mode are restored on exit, so a check never changes what the student's next
    cell computes. Yields a private generator seeded with ``seed`` for the check's own
    random numbers. (One thread: the checks' tiny models run several times faster.)
    """
    py_state, np_state = random.getstate(), np.random.get_state()
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    with torch.random.fork_rng(devices=[]):
        seed_everything(seed)
        torch.set_default_dtype(torch.float64)
        torch.set_num_threads(1)
        try:
            with torch.enable_grad():
                yield seeded_generator(seed)
        finally:
            torch.set_default_dtype(dtype)
            torch.set_num_threads(threads)
            random.setstate(py_state)
            np.random.set_state(np_state)


def raised_in(exc: BaseException, default: str) -> str:
    """The function whose body raised ``exc`` (for "not started": which stub is still a stub)."""
    tb = exc.__traceback__
    if tb is None:
        return default
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    name = getattr(code, "co_qualname", code.co_name)
    return default if name.startswith("<") else name


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else ""
    return f"{type(exc).__name__}: {line[:160]}"


def require_class(obj: object, name: str, base: type = nn.Module) -> None:
    """The check was given a class deriving from ``base`` (not an instance, not None)."""
    if not isinstance(obj, type):
        raise fail(
            "not_a_class",
            f"check with {type(obj).__name__} {obj!r:.60}",
            f"the class {name} itself, e.g. check(...)({name}), not an instance",
            "an instance or another object was passed to the check",
            f"pass the class: write the name {name} without parentheses",
        )
    if not issubclass(obj, base):
        raise fail(
            "not_a_module",
            f"class {obj.__name__}",
            f"a subclass of {base.__module__.replace('torch.nn.modules.module', 'torch.nn')}.{base.__name__}",
            f"the class does not derive from {base.__name__}",
            f"write class {obj.__name__}(nn.Module): and call super().__init__() first in __init__",
        )


def require_function(
    function: object, check: str, name: str, signature: str, tried: str, *args: Any, **kwargs: Any
) -> None:
    """The check ``check`` was given a function (not a class, not the result of a call) that can be
    called as ``function(*args, **kwargs)``, the exercise's ``signature`` (``tried`` shows that call)."""
    if not callable(function) or isinstance(function, type):
        raise fail(
            "not_a_function",
            f"{check}({function!r:.40})",
            f"the function {name}",
            "something else was passed",
            f"pass {name} without parentheses",
        )
    try:
        inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        raise fail(
            "signature",
            tried,
            f"the signature {signature}",
            f"the signature is {name}{inspect.signature(function)}",
            "keep the exercise's signature",
        ) from None


def require_signature(cls: type, expected: str, tried: str, *args: Any, **kwargs: Any) -> None:
    """``cls(*args, **kwargs)`` must bind to the constructor's signature ``expected``."""
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return
    try:
        sig.bind(*args, **kwargs)
    except TypeError as exc:
        raise fail(
            "signature",
            tried,
            f"the signature {expected}",
            f"the constructor's signature is {cls.__name__}{sig} ({exc})",
            "keep the signature given in the exercise; only the body is yours to write",
        ) from None


def construct(cls: type, tried: str, *args: Any, **kwargs: Any) -> nn.Module:
    """Build ``cls(*args, **kwargs)``, turning the usual mistakes into messages."""
    try:
        obj = cls(*args, **kwargs)
    except NotImplementedError as exc:
        raise not_started(raised_in(exc, f"{cls.__name__}.__init__")) from None
    except CheckFailed:
        raise
    except AttributeError as exc:
        if "Module.__init__()" in str(exc) or "_parameters" in str(exc) or "_modules" in str(exc):
            raise super_missing(cls, tried) from None
        raise unexpected(tried, exc) from None
    except TypeError as exc:
        if "argument" in str(exc) and "__init__" in str(exc):
            raise fail(
                "signature",
                tried,
                "a constructor with the exercise's signature",
                f"{first_line(exc)}",
                "keep the signature given in the exercise; only the body is yours to write",
            ) from None
        raise unexpected(tried, exc) from None
    except Exception as exc:  # noqa: BLE001 - any error becomes a message
        raise unexpected(tried, exc) from None
    if isinstance(obj, nn.Module) and "_parameters" not in vars(obj):
        raise super_missing(cls, tried)
    return obj


def super_missing(cls: type, tried: str) -> CheckFailed:
    return fail(
        "super_missing",
        tried,
        "an nn.Module that can register its layers",
        "super().__init__() is missing (torch raises 'cannot assign module before Module.__init__() call')",
        f"make super().__init__() the first line of {cls.__name__}.__init__",
    )


def unexpected(tried: str, exc: BaseException) -> CheckFailed:
    return fail(
        "error",
        tried,
        "it to run without an error",
        f"it raised {first_line(exc)}",
        "run the same call in a cell of your own to see the full traceback",
    )


def call(what: str, tried: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the student's ``fn``; NotImplementedError means "not started", other errors a message."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as exc:
        raise not_started(raised_in(exc, what)) from None
    except CheckFailed:
        raise
    except Exception as exc:  # noqa: BLE001
        raise unexpected(tried, exc) from None


@contextmanager
def watch_new_parameters() -> Iterator[list[str]]:
    """Collect the names of parameters registered by any module while the block runs
    (a layer built inside ``forward`` registers its weights there)."""
    seen: list[str] = []

    def hook(module: nn.Module, name: str, param: object) -> None:
        seen.append(f"{type(module).__name__}.{name}")

    handle = _module.register_module_parameter_registration_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def layers_in_forward(tried: str, seen: list[str]) -> CheckFailed:
    return fail(
        "layers_in_forward",
        tried,
        "every layer created once, in __init__, and only used in forward",
        f"forward builds new layers on every call ({', '.join(sorted(set(seen))[:3])}): "
        "their weights are fresh random numbers each time and the optimiser never sees them",
        "create each nn.Conv2d / nn.BatchNorm2d / nn.Linear in __init__ as self.something, and call it in forward",
    )


def forward(module: nn.Module, x: torch.Tensor, name: str, tried: str) -> torch.Tensor:
    """Run ``module(x)`` and check the basics: no error, no new layers, a tensor back, x untouched."""
    before = x.detach().clone()
    with watch_new_parameters() as seen:
        try:
            out = call(f"{name}.forward", tried, module, x)
        except CheckFailed as exc:
            if exc.mistake == "error" and "leaf Variable that requires grad" in str(exc):
                raise fail(
                    "input_inplace",
                    tried,
                    "the input x left unchanged (autograd still needs it)",
                    "an in-place operation on x (x += ..., x.mul_(...), or ReLU(inplace=True) applied to x)",
                    "add in place only to the branch's own tensor (out = out + x is always safe), never modify x",
                ) from None
            raise
    if seen:
        raise layers_in_forward(tried, seen)
    if out is None:
        raise fail(
            "forward_none",
            tried,
            "forward to return the output tensor",
            "forward returned None: the last line computes the output but has no 'return'",
            "end forward with 'return out'",
        )
    if not isinstance(out, torch.Tensor):
        raise fail(
            "forward_type",
            tried,
            "forward to return one tensor",
            f"forward returned a {type(out).__name__}",
            "return only the output tensor",
        )
    if not torch.equal(x.detach(), before):
        raise fail(
            "input_inplace",
            tried,
            "the input x left unchanged (the previous layer, and autograd, still need it)",
            "an in-place operation on x (x += ..., x.add_(...), or ReLU(inplace=True) applied to x)",
            "add in place only to the branch's own tensor (out = out + x is always safe), never modify x",
        )
    return out


def close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-7) -> bool:
    """Same shape and equal up to float64 round-off (relative to the values' scale)."""
    if a.shape != b.shape:
        return False
    a, b = a.detach().to("cpu", torch.float64), b.detach().to("cpu", torch.float64)
    scale = max(1.0, b.abs().max().item())
    return bool((a - b).abs().max().item() <= tol * scale)


def randomise_batchnorm(module: nn.Module, g: torch.Generator, running_stats: bool = False) -> None:
    """Give every BatchNorm distinct scales and shifts (and, with ``running_stats``, running
    means and variances), so that swapped or missing layers show in the outputs."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g, dtype=torch.float64))
                m.bias.copy_(0.5 * torch.randn(m.bias.shape, generator=g, dtype=torch.float64))
                if running_stats and m.running_mean is not None:
                    m.running_mean.copy_(0.3 * torch.randn(m.running_mean.shape, generator=g, dtype=torch.float64))
                    m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g, dtype=torch.float64))


# ----- watching a forward pass ------------------------------------------------------------------

WEIGHT_LAYERS = (nn.Linear, nn.Conv2d, nn.modules.batchnorm._BatchNorm)


class Call(NamedTuple):
    """One call of a module during a watched forward pass."""

    module: nn.Module
    input: torch.Tensor | None
    output: torch.Tensor


@contextmanager
def recording(modules: Iterable[nn.Module]) -> Iterator[list[Call]]:
    """Record every call of these modules (the module, its first input, its output), in order,
    while the ``with`` block runs; the hooks are removed on exit."""
    calls: list[Call] = []

    def hook(m: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        calls.append(Call(m, inputs[0] if inputs else None, output))

    handles = [m.register_forward_hook(hook) for m in modules]
    try:
        yield calls
    finally:
        for h in handles:
            h.remove()


def trace_layers(
    module: nn.Module, x: torch.Tensor, name: str, tried: str, kinds: tuple[type, ...] = WEIGHT_LAYERS
) -> tuple[torch.Tensor, list[Call]]:
    """Run ``forward`` (with its basic checks) and record every call of a layer of ``kinds``, in order.

    The trace finds a student's layers by what runs, whatever their names, their registration
    order or their grouping (attributes, ``nn.Sequential``, ``nn.ModuleList``).
    """
    with recording(m for m in module.modules() if isinstance(m, kinds)) as calls:
        out = forward(module, x, name, tried)
    return out, calls


def chained(blocks: list[Call]) -> bool:
    """Each recorded block received the previous block's output (they run one after the other)."""
    return all(same(after.input, before.output) for before, after in zip(blocks, blocks[1:]))


def one_input(blocks: list[Call]) -> bool:
    """All recorded blocks received the same input (they run side by side, not one after the other)."""
    return all(same(c.input, blocks[0].input) for c in blocks)


def reject_shared_batchnorm(calls: list[Call], tried: str, expected: str, hint: str) -> None:
    """Fail if one BatchNorm module ran more than once in the trace: the places that call it would
    share one scale, shift and statistics (``expected`` and ``hint`` name the block's layers)."""
    bns = [c.module for c in calls if isinstance(c.module, nn.modules.batchnorm._BatchNorm)]
    if len({id(m) for m in bns}) < len(bns):
        raise fail(
            "bn_shared",
            tried,
            expected,
            "one BatchNorm module is called twice, so both places share its scale, shift and running statistics",
            hint,
        )


def distinct(calls: list[Call], kind: type | tuple[type, ...]) -> list[nn.Module]:
    """The modules of ``kind`` in the order they first ran."""
    seen: dict[int, nn.Module] = {}
    for c in calls:
        if isinstance(c.module, kind) and id(c.module) not in seen:
            seen[id(c.module)] = c.module
    return list(seen.values())


def same(a: object, b: object) -> bool:
    """``a`` is the tensor ``b`` (or equal to it up to round-off): for matching traced tensors."""
    if not isinstance(a, torch.Tensor) or not isinstance(b, torch.Tensor):
        return False
    return a is b or (a.shape == b.shape and close(a, b, tol=1e-9))


def fmt(value: float) -> str:
    """A number with enough digits to see a difference (6 significant digits)."""
    return f"{value:.6g}"


# ----- what the student's code gave ---------------------------------------------------------------


def is_number(value: object) -> bool:
    """A plain Python int or float (not a bool, which is an int to Python, and not a tensor)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def require_list(result: object, tried: str, expected: str, return_hint: str, list_hint: str) -> None:
    """The student's function returned a list or tuple: not None (no 'return'), not another type."""
    if result is None:
        raise fail("returns_none", tried, expected, "the function returned None", return_hint)
    if not isinstance(result, (list, tuple)):
        raise fail("not_a_list", tried, expected, f"it returned a {type(result).__name__}", list_hint)


def require_numbers(values: Iterable[object], tried: str, expected: str, hint: str, item: str = "an entry") -> None:
    """Every value is a plain Python number; else the failure names the type of the first that is not."""
    bad = next((v for v in values if not is_number(v)), None)
    if bad is not None:
        raise fail("not_floats", tried, expected, f"{item} is a {type(bad).__name__}", hint)


def require_shape(out: torch.Tensor, want: tuple[int, ...], tried: str, hint: str, why: str = "") -> None:
    """The student's output has the reference's shape ``want`` (``why`` is added to the cause)."""
    if tuple(out.shape) != tuple(want):
        raise fail(
            "shape",
            tried,
            f"an output of shape {tuple(want)}",
            f"the output has shape {tuple(out.shape)}{why}",
            hint,
        )


def require_no_dropout(model: nn.Module, tried: str, layout: str, why: str) -> None:
    """No active Dropout layer in the student's model (``layout`` names the layout it must follow)."""
    drops = [m for m in model.modules() if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0]
    if drops:
        raise fail(
            "dropout",
            tried,
            f"the layout of {layout}: no dropout",
            f"the model has a Dropout(p={drops[0].p}){why}",
            "remove the Dropout layer",
        )


def what_changes(cin: int, cout: int, stride: int) -> str:
    """What a conv block with these arguments changes about its input's shape (for messages)."""
    if stride != 1 and cin == cout:
        return f"only the stride changes (stride {stride}, {cin} -> {cout} channels)"
    if stride == 1 and cin != cout:
        return f"only the channels change ({cin} -> {cout}, stride 1)"
    return f"the stride ({stride}) and the channels ({cin} -> {cout}) both change"


# ----- comparing with the course's reference --------------------------------------------------------


def copy_roles(roles: dict[str, nn.Module], ref: nn.Module) -> None:
    """Copy each of the student's layers into the reference's layer of the same role, its name in ``ref``
    (``"conv1"``, ``"shortcut.0"``). Raises ``ValueError`` naming the role if the layers do not fit."""
    for role, module in roles.items():
        try:
            copy_weights(module, ref.get_submodule(role))
        except ValueError as exc:
            raise ValueError(f"{role}: {exc}") from None


def copy_in_running_order(mine: list[Call], theirs: list[Call], kinds: tuple[type, ...]) -> bool:
    """Copy the student's layers of ``kinds`` into the reference's, paired in the order they first ran
    (whatever their names or registration order). False if they do not pair up: another number,
    kind or size of layers (the reference may then be partly overwritten)."""
    a, b = distinct(mine, kinds), distinct(theirs, kinds)
    if len(a) != len(b) or any(type(m) is not type(n) for m, n in zip(a, b)):
        return False
    try:
        for m, n in zip(a, b):
            copy_weights(m, n)
    except ValueError:
        return False
    return True


#: One usual mistake: (its name, the value it gives, the likely mistake, the hint).
Candidate = tuple[str, Any, str, str]


def raise_first_match(
    got: Any, candidates: Iterable[Candidate], tried: str, expected: str, near: Callable[[Any, Any], bool] = close
) -> None:
    """Try the usual mistakes in order: raise the failure of the first whose value is ``near`` what
    the student's code gave (``got``). Returns if none is (the caller then reports a wrong result)."""
    for mistake, value, cause, hint in candidates:
        if near(got, value):
            raise fail(mistake, tried, expected, cause, hint)


def post_activation_mistakes(
    f: torch.Tensor, s: torch.Tensor, last: str, skip: str = "shortcut(x)", switch: str = ""
) -> list[Candidate]:
    """The usual mistakes around the addition of a post-activation block ``ReLU(f + s)``: ``f`` is the
    branch's output, ``s`` the skip's, ``last`` the name of the branch's last layer (``"BN2"``),
    ``skip`` what the skip adds (``"x"``) and ``switch`` the block's skip flag, if it has one
    (``"self.skip"``), for the messages."""
    when = f" (when {switch} is True)" if switch else ""
    return [
        (
            "skip_missing",
            F.relu(f),
            f"the skip is missing: nothing is added, the block returns ReLU({last}(...))",
            f"add {skip} to the output of {last}{when}, before the final ReLU",
        ),
        (
            "final_relu_missing",
            f + s,
            f"the final ReLU is missing: the block returns {last}(...) + {skip}",
            "apply ReLU after the addition",
        ),
        (
            "skip_after_relu",
            F.relu(f) + s,
            f"{skip} is added after the final ReLU: ReLU({last}(...)) + {skip}",
            "add first, then apply the ReLU to the sum",
        ),
        (
            "relu_before_add",
            F.relu(F.relu(f) + s),
            "a ReLU is applied to the branch before the addition",
            f"the branch ends with {last} (no ReLU); the only ReLU after it comes after the addition",
        ),
    ]


def reject_constant_offset(out: torch.Tensor, expected: torch.Tensor, tried: str, formula: str, hint: str) -> None:
    """Fail if the student's output is the expected one plus a constant (an extra term added)."""
    offset = out - expected
    if offset.abs().max() > 1e-6 and (offset - offset.mean()).abs().max() < 1e-9:
        raise fail(
            "constant_added",
            tried,
            formula,
            f"the output is the right one plus a constant ({fmt(offset.mean().item())})",
            hint,
        )


def require_skip_gradient(
    block: nn.Module,
    ref: nn.Module,
    x: torch.Tensor,
    name: str,
    tried: str,
    *,
    expected: str,
    cause: str,
    hint: str,
    g: torch.Generator | None = None,
) -> None:
    """The gradient of the student's block with respect to its input x is the reference's.

    A block whose output is right can still cut its skip from autograd (``x.detach()``,
    ``x.data``, ``torch.no_grad()``): only the gradient shows it. ``expected``, ``cause`` and
    ``hint`` word the failure for the exercise. With a generator ``g`` the outputs are weighted by random
    numbers drawn from it before summing, so that every output element counts differently;
    without, the gradient of ``out.sum()`` is compared.
    """
    xg, xr = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out = forward(block, xg, name, tried)
    ref_out = ref(xr)
    weights = torch.ones_like(ref_out) if g is None else torch.randn(ref_out.shape, generator=g, dtype=torch.float64)
    (want,) = torch.autograd.grad((ref_out * weights).sum(), xr)
    got = torch.autograd.grad((out * weights).sum(), xg, allow_unused=True)[0] if out.requires_grad else None
    if got is None or not close(got, want, tol=1e-6):
        raise fail("skip_detached", tried + ", then backward", expected, cause, hint)
