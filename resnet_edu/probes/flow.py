"""Summaries of a per-layer gradient profile (from :func:`resnet_edu.probes.gradient_norms`)."""

from __future__ import annotations

from collections.abc import Mapping


def _values(norms: object) -> list[float]:
    if not isinstance(norms, Mapping) or len(norms) < 2:
        raise ValueError("norms must be a {layer name: gradient norm} mapping with at least two layers")
    return [float(v) for v in norms.values()]


def first_to_last(norms: Mapping[str, float]) -> float:
    """First layer's gradient norm divided by the last layer's.

    Below 1 the gradient shrinks toward the input (vanishing: 0.0 if it underflowed),
    above 1 it grows toward the input (exploding).
    """
    values = _values(norms)
    if values[-1] == 0:
        raise ValueError("the last layer's gradient norm is 0, so the ratio is undefined")
    return values[0] / values[-1]


def spread(norms: Mapping[str, float]) -> float:
    """Largest over smallest per-layer gradient norm (``inf`` if some layer's norm is 0)."""
    values = _values(norms)
    smallest = min(values)
    return float("inf") if smallest == 0 else max(values) / smallest
