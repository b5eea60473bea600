"""Shared machinery of the checks: a sandbox for randomness and dtype, and safe calls into
the student's code that turn common errors into short messages."""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.modules import module as _module

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


def shape(t: object) -> str:
    return str(tuple(t.shape)) if isinstance(t, torch.Tensor) else type(t).__name__


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


WEIGHT_LAYERS = (nn.Linear, nn.Conv2d, nn.modules.batchnorm._BatchNorm)


@dataclass
class Call:
    """One call of a layer during a traced forward pass."""

    module: nn.Module
    input: torch.Tensor | None
    output: torch.Tensor


def trace_layers(
    module: nn.Module, x: torch.Tensor, name: str, tried: str, kinds: tuple[type, ...] = WEIGHT_LAYERS
) -> tuple[torch.Tensor, list[Call]]:
    """Run ``forward`` (with its basic checks) and record every call of a layer of ``kinds``, in order.

    The trace finds a student's layers by what runs, whatever their names, their registration
    order or their grouping (attributes, ``nn.Sequential``, ``nn.ModuleList``).
    """
    calls: list[Call] = []

    def hook(m: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        calls.append(Call(m, inputs[0] if inputs else None, output))

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, kinds)]
    try:
        out = forward(module, x, name, tried)
    finally:
        for h in handles:
            h.remove()
    return out, calls


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
