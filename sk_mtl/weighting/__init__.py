"""Ways to turn per-task losses into gradients: static weights and adaptive strategies.

``weighting=`` takes a name from :data:`WEIGHTINGS` or a :class:`Weighting` object, whose
hyper-parameters are then searchable as ``weighting__<param>``. Loss-level methods
(:class:`LossWeighting`) combine the losses into one scalar; gradient-level methods
(:class:`GradientWeighting`) aggregate per-task gradients on the shared parameters.
"""

from ._adaptive import DWAWeighting, GradNormWeighting, UncertaintyWeighting
from ._base import GradientWeighting, LossWeighting, Weighting
from ._conditioned import WeightConditioning
from ._gradient import MGDAWeighting, PCGradWeighting, min_norm_weights
from ._jacobian import AGGREGATORS, JacobianWeighting
from ._limits import MAX_WEIGHT, TASK_WEIGHT_RULES, is_weight, resolve_weights
from ._registry import WEIGHTINGS, make_weighting
from ._static import StaticWeighting

__all__ = [
    "AGGREGATORS",
    "MAX_WEIGHT",
    "TASK_WEIGHT_RULES",
    "WEIGHTINGS",
    "DWAWeighting",
    "GradNormWeighting",
    "GradientWeighting",
    "JacobianWeighting",
    "LossWeighting",
    "MGDAWeighting",
    "PCGradWeighting",
    "StaticWeighting",
    "UncertaintyWeighting",
    "WeightConditioning",
    "Weighting",
    "is_weight",
    "make_weighting",
    "min_norm_weights",
    "resolve_weights",
]
