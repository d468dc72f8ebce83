"""Ways to combine per-task losses into the training objective.

``weighting=`` takes a name from :data:`WEIGHTINGS` or a :class:`LossWeighting` object.
"""

from ._base import LossWeighting
from ._registry import WEIGHTINGS, make_weighting
from ._static import StaticWeighting

__all__ = ["WEIGHTINGS", "LossWeighting", "StaticWeighting", "make_weighting"]
