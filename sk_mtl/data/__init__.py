"""Data layer: ``y`` to named task columns, whole-tensor batching, validation split."""

from ._batching import BatchIterator, TensorData, validation_split
from ._targets import TargetColumns, missing_mask, split_targets

__all__ = [
    "BatchIterator",
    "TargetColumns",
    "TensorData",
    "missing_mask",
    "split_targets",
    "validation_split",
]
