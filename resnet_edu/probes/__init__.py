"""Measurements on a model: model and data in, numbers out; the model is left untouched."""

from .gradients import gradient_norms, weight_layers
from .flow import first_to_last, spread
from .lesion import LesionResult, delete_block, delete_blocks, lesion_study, model_blocks
from .shattered import autocorrelation, input_gradients, line_network, shattering_curve
from .landscape import LossSurface, filter_normalized_direction, loss_surface

__all__ = [
    "gradient_norms",
    "weight_layers",
    "first_to_last",
    "spread",
    "LesionResult",
    "delete_block",
    "delete_blocks",
    "lesion_study",
    "model_blocks",
    "autocorrelation",
    "input_gradients",
    "line_network",
    "shattering_curve",
    "LossSurface",
    "filter_normalized_direction",
    "loss_surface",
]
