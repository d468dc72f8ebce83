"""Estimators: the only package that knows skorch internals."""

from ._fusion import FusionNet, FusionNetClassifier, FusionNetRegressor
from ._multitask import MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor

__all__ = [
    "FusionNet",
    "FusionNetClassifier",
    "FusionNetRegressor",
    "MultiTaskNet",
    "MultiTaskNetClassifier",
    "MultiTaskNetRegressor",
]
