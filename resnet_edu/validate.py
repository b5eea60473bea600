"""Argument checks shared by the package: short errors that say what was expected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn


def check_int(name: str, value: object, minimum: int) -> int:
    """Return ``value`` if it is an int >= ``minimum``; raise a short error otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False; raise a short error otherwise."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def check_positive(name: str, value: object) -> float:
    """Return ``value`` if it is a number > 0; raise a short error otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number > 0, got {value!r}")
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def check_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; raise a short error otherwise."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(map(repr, choices))}")
    return value  # type: ignore[return-value]


def check_module(name: str, value: object) -> nn.Module:
    """Return ``value`` if it is a ``torch.nn.Module``; raise a short error otherwise."""
    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def check_input(model_name: str, x: object, expected: str, ndim: int, size: int, dim: int = 1) -> None:
    """Check a model input: a tensor with ``ndim`` dimensions and ``size`` entries along ``dim``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{model_name} expects a tensor of shape {expected}, got {type(x).__name__}")
    if x.dim() != ndim or x.shape[dim] != size:
        raise ValueError(f"{model_name} expects input of shape {expected}, got {tuple(x.shape)}")


def check_data(x: object, y: object) -> None:
    """Check a labelled batch: tensors ``x`` and ``y`` (class indices) with the same length."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be tensors (see resnet_edu.data.load_digits)")
    if y.dim() != 1 or y.dtype != torch.long:
        raise ValueError(f"y must be a 1-D tensor of class indices (torch.long), got {y.dtype} {tuple(y.shape)}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must hold the same, non-zero number of examples; got {len(x)} and {len(y)}")


def check_mapping(name: str, value: object, kind: type | tuple[type, ...], what: str) -> Mapping:
    """Return ``value`` if it is a non-empty ``{label: kind}`` mapping; raise a short error otherwise."""
    if not isinstance(value, Mapping) or not value:
        raise ValueError(f"{name} must be a non-empty mapping {{label: {what}}}")
    for label, item in value.items():
        if not isinstance(item, kind):
            raise TypeError(f"{name}[{label!r}] must be a {what}, got {type(item).__name__}")
    return value
