"""Measurements on a model: model and data in, numbers out; the model is left untouched."""

from .gradients import first_to_last, gradient_norms, spread, weight_layers
from .landscape import LossSurface, filter_normalized_direction, loss_surface
from .lesion import LesionResult, lesion_study, lesioned_accuracies
from .shattered import autocorrelation, input_gradients

__all__ = [
    "gradient_norms",
    "weight_layers",
    "first_to_last",
    "spread",
    "LesionResult",
    "lesion_study",
    "lesioned_accuracies",
    "autocorrelation",
    "input_gradients",
    "LossSurface",
    "filter_normalized_direction",
    "loss_surface",
]
