"""sk_mtl: scikit-learn-native multi-task and multimodal neural networks.

One network with a shared trunk and one head per task, trained through skorch and used like
any scikit-learn estimator (``Pipeline``, ``GridSearchCV``, ``cross_validate``).
"""

from ._version import __version__ as __version__
from .estimators import (
    LEGACY_DEFAULTS,
    PRE_SUITE_DEFAULTS,
    FusionNet,
    FusionNetClassifier,
    FusionNetRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)
from .persistence import load, save

__all__ = [
    "LEGACY_DEFAULTS",
    "PRE_SUITE_DEFAULTS",
    "FusionNet",
    "FusionNetClassifier",
    "FusionNetRegressor",
    "MultiTaskNet",
    "MultiTaskNetClassifier",
    "MultiTaskNetRegressor",
    "load",
    "save",
]
