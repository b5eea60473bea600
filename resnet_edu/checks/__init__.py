"""The exercise checks: one function per exercise, taking the student's
class or function. A mistake raises :class:`CheckFailed` (an ``AssertionError``) with a short
message; success prints one line starting with a check mark.

Every check builds fresh instances, runs them in float64 with its own random numbers, and
restores the student's random state and default dtype afterwards.
"""

from .blocks import check_bottleneck_block, check_preact_block
from .failure import NOT_STARTED, CheckFailed
from .gradients import check_gradient_norms
from .init import check_gradient_profile, check_init
from .lesion import check_lesion, check_lesion_study, reference_lesion
from .mlp import check_degradation, check_mlp_block, check_residual_mlp
from .residual_block import check_residual_block
from .resnet import check_resnet
from .shortcuts import check_gradient_ratio, check_scaled_block

__all__ = [
    "NOT_STARTED",
    "CheckFailed",
    "check_bottleneck_block",
    "check_degradation",
    "check_gradient_norms",
    "check_gradient_profile",
    "check_gradient_ratio",
    "check_init",
    "check_lesion",
    "check_lesion_study",
    "check_mlp_block",
    "check_preact_block",
    "check_residual_block",
    "check_residual_mlp",
    "check_resnet",
    "check_scaled_block",
    "reference_lesion",
]
