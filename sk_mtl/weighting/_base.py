"""The loss-weighting contract: per-task losses in, one scalar to back-propagate out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sklearn.base import BaseEstimator
from torch import Tensor

__all__ = ["LossWeighting"]


class LossWeighting(BaseEstimator):
    """Combines the per-task losses of a batch into the training objective.

    Subclasses implement :meth:`combine`; their hyper-parameters are constructor arguments,
    as for any scikit-learn estimator. :meth:`bind` is called once at the start of training
    with the task names and the user's static ``task_weights`` (every task present).
    """

    def bind(self, task_names: Sequence[str], task_weights: Mapping[str, float]) -> None:
        """Prepare for training on ``task_names`` with the given static weights."""
        self.task_names_ = list(task_names)
        self.weights_ = {name: float(task_weights[name]) for name in self.task_names_}

    def combine(self, losses: Mapping[str, Tensor]) -> Tensor:
        """The scalar objective for one batch from ``{task: mean loss}``."""
        raise NotImplementedError

    def current_weights(self) -> dict[str, float]:
        """The effective weight of each task now (logged in ``history`` every epoch)."""
        return dict(self.weights_)
