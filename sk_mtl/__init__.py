"""sk_mtl: scikit-learn-native multi-task and multimodal neural networks.

One network with a shared trunk and one head per task, trained through skorch and used like
any scikit-learn estimator (``Pipeline``, ``GridSearchCV``, ``cross_validate``).
"""

# ``sk_mtl.datasets.load_wine_quality()`` works after a plain ``import sk_mtl``.
from . import datasets as datasets
from . import estimators

# ``sk_mtl.onnx.to_onnx`` works after a plain ``import sk_mtl`` (onnx itself is imported
# only when a model is exported).
from . import onnx as onnx
from ._version import __version__ as __version__

# The estimators and their default sets, as ``sk_mtl.estimators.__all__`` lists them.
from .estimators import *  # noqa: F403
from .persistence import load, save

__all__ = [*estimators.__all__, "load", "save"]
