"""Pure torch building blocks: trunks, heads and masked per-task losses.

Nothing here imports scikit-learn or skorch, so each module can be used and tested alone.
"""

from ._losses import BinaryCrossEntropyLoss, CrossEntropyLoss, MultilabelLoss, RegressionLoss
from ._mmoe import MMoETrunk
from ._multitask import MultiTaskModule
from ._sparse import SparseLinear, SparseRows
from ._trunks import ACTIVATIONS, MLPTrunk, infer_out_features, make_activation

__all__ = [
    "ACTIVATIONS",
    "BinaryCrossEntropyLoss",
    "CrossEntropyLoss",
    "MLPTrunk",
    "MMoETrunk",
    "MultiTaskModule",
    "MultilabelLoss",
    "RegressionLoss",
    "SparseLinear",
    "SparseRows",
    "infer_out_features",
    "make_activation",
]
