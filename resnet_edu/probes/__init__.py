"""Measurements on a model: model and data in, numbers out; the model is left untouched."""

from .gradients import gradient_norms, weight_layers

__all__ = ["gradient_norms", "weight_layers"]
