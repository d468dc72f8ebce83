"""Masked per-task losses (pure torch).

Each loss takes the head output ``pred``, the encoded ``target`` and an optional boolean
``mask`` of labelled rows, and returns the mean loss over the labelled rows only. A batch in
which a task has no labelled row gives a loss of zero (and zero gradient) for that task.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "BinaryCrossEntropyLoss",
    "CrossEntropyLoss",
    "MultilabelLoss",
    "RegressionLoss",
    "symmetric_info_nce",
]


def _masked_mean(per_row: Tensor, mask: Tensor | None) -> Tensor:
    if mask is None:
        return per_row.mean()
    weights = mask.to(per_row.dtype)
    return (per_row * weights).sum() / weights.sum().clamp_min(1.0)


def _masked_column_means(per_cell: Tensor, masks: Tensor | None) -> Tensor:
    """Mean of each column over its labelled rows: ``(n, T) -> (T,)``."""
    if masks is None:
        return per_cell.mean(dim=0)
    weights = masks.to(per_cell.dtype)
    return (per_cell * weights).sum(dim=0) / weights.sum(dim=0).clamp_min(1.0)


class BinaryCrossEntropyLoss(nn.Module):
    """Binary cross-entropy on one logit per row; ``target`` holds 0./1. floats.

    ``forward_columns`` gives the same loss for several tasks at once (one column each), which
    :class:`~sk_mtl.estimators._net.MultiTaskCriterion` uses for tasks with equal
    ``batch_key``.
    """

    batch_key = ("binary_cross_entropy",)

    def forward_columns(self, preds: Tensor, targets: Tensor, masks: Tensor | None) -> Tensor:
        """Per-column losses ``(T,)`` of logits and targets ``(n, T)``."""
        per_cell = F.binary_cross_entropy_with_logits(preds, targets, reduction="none")
        return _masked_column_means(per_cell, masks)

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        logits = pred.squeeze(-1)
        if mask is None:
            return F.binary_cross_entropy_with_logits(logits, target)
        per_row = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
        return _masked_mean(per_row, mask)


class CrossEntropyLoss(nn.Module):
    """Softmax cross-entropy on ``k`` logits per row; ``target`` holds class indices.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        Passed to :func:`torch.nn.functional.cross_entropy`.
    """

    def __init__(self, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        if mask is None:
            return F.cross_entropy(pred, target, label_smoothing=self.label_smoothing)
        per_row = F.cross_entropy(
            pred, target, reduction="none", label_smoothing=self.label_smoothing
        )
        return _masked_mean(per_row, mask)


class MultilabelLoss(nn.Module):
    """Binary cross-entropy per label, averaged over labels then over labelled rows."""

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        per_row = F.binary_cross_entropy_with_logits(pred, target, reduction="none").mean(-1)
        return _masked_mean(per_row, mask)


class RegressionLoss(nn.Module):
    """Squared, absolute or Huber error on one output per row.

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        The error measure.
    """

    _functions = {
        "squared_error": F.mse_loss,
        "absolute_error": F.l1_loss,
        "huber": F.huber_loss,
    }

    def __init__(self, loss: str = "squared_error") -> None:
        super().__init__()
        self.loss = loss
        self._fn = self._functions[loss]
        self.batch_key = ("regression", loss)

    def forward_columns(self, preds: Tensor, targets: Tensor, masks: Tensor | None) -> Tensor:
        """Per-column losses ``(T,)`` of outputs and targets ``(n, T)``."""
        return _masked_column_means(self._fn(preds, targets, reduction="none"), masks)

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        out = pred.squeeze(-1)
        if mask is None:
            return self._fn(out, target)
        return _masked_mean(self._fn(out, target, reduction="none"), mask)




def symmetric_info_nce(a: Tensor, b: Tensor, temperature: float = 0.1) -> Tensor:
    """Symmetric InfoNCE (the CLIP objective) between two views of the same rows.

    ``a`` and ``b`` are ``(n, d)`` embeddings of the same ``n`` rows (normalized here). With
    ``s = a b^T / temperature``, row ``i`` of ``a`` must pick row ``i`` of ``b`` among all
    ``n`` and vice versa: the mean of the two cross-entropies of ``s`` and ``s^T`` with the
    diagonal as targets.

    Examples
    --------
    >>> import math, torch
    >>> from sk_mtl.modules import symmetric_info_nce
    >>> eye = torch.eye(2)
    >>> round(float(symmetric_info_nce(eye, eye, temperature=1.0)), 4)
    0.3133
    >>> round(math.log(1 + math.exp(-1)), 4)
    0.3133
    """
    a = F.normalize(a, dim=1)
    b = F.normalize(b, dim=1)
    logits = a @ b.T / temperature
    target = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
