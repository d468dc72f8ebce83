"""Static weighting: ``sum_t w_t * L_t`` with the user's ``task_weights``."""

from __future__ import annotations

from ._base import LossWeighting

__all__ = ["StaticWeighting"]


class StaticWeighting(LossWeighting):
    """Weighted sum of task losses with fixed weights from ``task_weights``.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.weighting import StaticWeighting
    >>> losses = {"a": torch.tensor(2.0), "b": torch.tensor(4.0)}
    >>> w = StaticWeighting()
    >>> w.bind(["a", "b"], {"a": 1.0, "b": 0.5})
    >>> float(w.combine(losses))  # 1.0 * 2.0 + 0.5 * 4.0
    4.0
    """

    data_parallel = True  # a weighted sum of the losses
