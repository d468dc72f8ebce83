"""Data layer: ``y`` to named task columns, whole-tensor batching, validation split."""

from ._batching import BatchIterator, TensorData, resolve_batch_size, validation_split
from ._class_weights import check_class_weight, class_row_weights, resolve_class_weights
from ._embeddings import (
    DEFAULT_CACHE_MAX_BYTES,
    TextEmbedder,
    clear_embedding_cache,
    embedding_stats,
    load_sentence_model,
    resolve_sentence_model,
    set_embedding_cache_limit,
)
from ._fingerprint import fingerprint
from ._modalities import (
    CategoricalModality,
    ImageModality,
    Modality,
    TabularModality,
    TextModality,
    infer_column_kind,
    infer_modality_kind,
    make_modality,
    plan_modalities,
    split_modalities,
)
from ._retrieval import NeighbourTargets
from ._scaling import QuantileRobust, RobustSmoothClip
from ._targets import TargetColumns, encode_targets, missing_mask, split_targets

__all__ = [
    "DEFAULT_CACHE_MAX_BYTES",
    "BatchIterator",
    "CategoricalModality",
    "ImageModality",
    "Modality",
    "NeighbourTargets",
    "QuantileRobust",
    "RobustSmoothClip",
    "TabularModality",
    "TargetColumns",
    "TensorData",
    "TextEmbedder",
    "TextModality",
    "check_class_weight",
    "class_row_weights",
    "clear_embedding_cache",
    "embedding_stats",
    "encode_targets",
    "fingerprint",
    "infer_column_kind",
    "infer_modality_kind",
    "load_sentence_model",
    "make_modality",
    "missing_mask",
    "plan_modalities",
    "resolve_batch_size",
    "resolve_class_weights",
    "resolve_sentence_model",
    "set_embedding_cache_limit",
    "split_modalities",
    "split_targets",
    "validation_split",
]
