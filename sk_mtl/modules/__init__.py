"""Pure torch building blocks: trunks, heads and masked per-task losses.

Nothing here imports scikit-learn or skorch, so each module can be used and tested alone.
"""

from ._conditioning import ConditionedTrunk, FiLMLinear, MixedLinear
from ._encoders import (
    CategoricalEncoder,
    CNNEncoder,
    GRUTextEncoder,
    LinearEncoder,
    SparseMLPEncoder,
    TokenBagEncoder,
)
from ._ensemble import (
    MEMBER_AVERAGES,
    EnsembleMLPTrunk,
    FrontScale,
    PeriodicInput,
    PiecewiseLinearInput,
    average_members,
)
from ._fusion import (
    AttentionFusion,
    ConcatFusion,
    FusionTrunk,
    GatedFusion,
    LateFusionModule,
    ModalityAligner,
    ModalityDropout,
    ModalityWeights,
    SumFusion,
    WeightedSumFusion,
    WidePath,
    set_fusion_weights,
)
from ._losses import (
    BinaryCrossEntropyLoss,
    CrossEntropyLoss,
    MultilabelLoss,
    RegressionLoss,
    symmetric_info_nce,
)
from ._mmoe import MMoETrunk
from ._multitask import MultiTaskModule
from ._ple import PLETrunk
from ._sparse import SparseLinear, SparseRows
from ._trunks import ACTIVATIONS, MLPTrunk, infer_out_features, make_activation

__all__ = [
    "ACTIVATIONS",
    "MEMBER_AVERAGES",
    "AttentionFusion",
    "BinaryCrossEntropyLoss",
    "CNNEncoder",
    "CategoricalEncoder",
    "ConcatFusion",
    "ConditionedTrunk",
    "CrossEntropyLoss",
    "EnsembleMLPTrunk",
    "FiLMLinear",
    "FrontScale",
    "FusionTrunk",
    "GRUTextEncoder",
    "GatedFusion",
    "LateFusionModule",
    "LinearEncoder",
    "MLPTrunk",
    "MMoETrunk",
    "MixedLinear",
    "ModalityAligner",
    "ModalityDropout",
    "ModalityWeights",
    "MultiTaskModule",
    "MultilabelLoss",
    "PLETrunk",
    "PeriodicInput",
    "PiecewiseLinearInput",
    "RegressionLoss",
    "SparseLinear",
    "SparseMLPEncoder",
    "SparseRows",
    "SumFusion",
    "TokenBagEncoder",
    "WeightedSumFusion",
    "WidePath",
    "average_members",
    "infer_out_features",
    "make_activation",
    "set_fusion_weights",
    "symmetric_info_nce",
]
