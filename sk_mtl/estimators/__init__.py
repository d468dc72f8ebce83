"""Estimators: the only package that knows skorch internals."""

from ._multitask import MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor

__all__ = ["MultiTaskNet", "MultiTaskNetClassifier", "MultiTaskNetRegressor"]
