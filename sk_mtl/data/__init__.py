"""Data layer: ``y`` to named task columns, whole-tensor batching, validation split."""

from ._batching import BatchIterator, TensorData, resolve_batch_size, validation_split
from ._fingerprint import fingerprint
from ._modalities import (
    CategoricalModality,
    ImageModality,
    Modality,
    TabularModality,
    TextModality,
    infer_modality_kind,
    make_modality,
    split_modalities,
)
from ._retrieval import NeighbourTargets
from ._targets import TargetColumns, encode_targets, missing_mask, split_targets

__all__ = [
    "BatchIterator",
    "CategoricalModality",
    "ImageModality",
    "Modality",
    "NeighbourTargets",
    "TabularModality",
    "TargetColumns",
    "TensorData",
    "TextModality",
    "encode_targets",
    "fingerprint",
    "infer_modality_kind",
    "make_modality",
    "missing_mask",
    "resolve_batch_size",
    "split_modalities",
    "split_targets",
    "validation_split",
]
