"""Estimators: the only package that knows skorch internals."""

from ._fusion import FusionNet, FusionNetClassifier, FusionNetRegressor
from ._multitask import MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor
from ._training import LEGACY_DEFAULTS, PRE_SUITE_DEFAULTS

__all__ = [
    "LEGACY_DEFAULTS",
    "PRE_SUITE_DEFAULTS",
    "FusionNet",
    "FusionNetClassifier",
    "FusionNetRegressor",
    "MultiTaskNet",
    "MultiTaskNetClassifier",
    "MultiTaskNetRegressor",
]
