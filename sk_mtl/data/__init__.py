"""Data layer: ``y`` to named task columns, whole-tensor batching, validation split."""

from ._batching import BatchIterator, TensorData, resolve_batch_size, validation_split  # noqa: F401
from ._class_weights import check_class_weight, class_row_weights, resolve_class_weights  # noqa: F401
from ._embeddings import (
    BACKENDS,  # noqa: F401
    DEFAULT_CACHE_MAX_BYTES,
    DEFAULT_DISK_CACHE_MAX_BYTES,
    TextEmbedder,
    clear_embedding_cache,
    embedding_stats,
    get_embedding_cache_dir,
    load_sentence_model,
    resolve_sentence_model,  # noqa: F401
    set_embedding_cache_limit,
)
from ._fingerprint import fingerprint  # noqa: F401
from ._modalities import (
    CategoricalModality,
    ImageModality,
    Modality,
    TabularModality,
    TextModality,
    infer_column_kind,  # noqa: F401
    infer_modality_kind,  # noqa: F401
    make_modality,  # noqa: F401
    plan_modalities,  # noqa: F401
    split_modalities,  # noqa: F401
)
from ._retrieval import NeighbourTargets
from ._scaling import QuantileRobust, RobustSmoothClip
from ._stream import DaskTable, ParquetTable, StreamEncoder
from ._targets import TargetColumns, encode_targets, missing_mask, split_targets  # noqa: F401

# What users call: the text-embedding cache, the input scalers, the streamed tables that
# fit reads in batches, and the fitted parts an estimator exposes (``modalities_``,
# ``retrieval_``, ``stream_encoder_``; a custom encoder builds from a Modality). The rest is
# imported here for the package's own modules, not listed.
__all__ = [
    "DEFAULT_CACHE_MAX_BYTES",
    "DEFAULT_DISK_CACHE_MAX_BYTES",
    "CategoricalModality",
    "DaskTable",
    "ImageModality",
    "Modality",
    "NeighbourTargets",
    "ParquetTable",
    "QuantileRobust",
    "RobustSmoothClip",
    "StreamEncoder",
    "TabularModality",
    "TextEmbedder",
    "TextModality",
    "clear_embedding_cache",
    "embedding_stats",
    "get_embedding_cache_dir",
    "load_sentence_model",
    "set_embedding_cache_limit",
]
