"""The weighting contracts: per-task losses in, gradients on the parameters out.

Two small contracts share one entry point, :meth:`Weighting.backward`, so the training step
never asks what kind of method it runs:

- :class:`LossWeighting` combines the task losses into one scalar (:meth:`combine`) and
  back-propagates it (static weights, uncertainty weighting, DWA, GradNorm);
- :class:`GradientWeighting` takes one gradient per task on the shared (trunk) parameters
  and aggregates them into one (:meth:`aggregate`) (PCGrad, MGDA); task-specific parameters
  (the heads) get the gradient of the weighted sum of losses as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from sklearn.base import BaseEstimator
from torch import Tensor, nn

__all__ = ["GradientWeighting", "LossWeighting", "Weighting"]


class Weighting(BaseEstimator):
    """Turns the per-task losses of a batch into parameter gradients.

    Hyper-parameters are constructor arguments, as for any scikit-learn estimator (so they
    are reachable as ``weighting__<param>`` in a search). State made for a fit ends with
    ``_`` and is created in :meth:`bind`, which the estimator calls once per fit.
    """

    #: Whether a fit may train with it over several processes (data-parallel): true when
    #: :meth:`combine` is linear in each task's loss and :meth:`backward` back-propagates
    #: it, so that the average of the processes' gradients (each process's task losses
    #: rescaled by its share of the batch's labelled rows) is the gradient of the whole
    #: batch's objective.
    data_parallel: bool = False

    def bind(self, task_names: Sequence[str], task_weights: Mapping[str, float]) -> None:
        """Prepare for training on ``task_names`` with the user's static ``task_weights``."""
        self.task_names_ = list(task_names)
        self.weights_ = {name: float(task_weights[name]) for name in self.task_names_}

    def make_module(self) -> nn.Module | None:
        """Learnable parameters of the weighting, trained by the network's optimizer.

        Called once after :meth:`bind`; the module is held by the criterion so it moves to the
        device and is saved with the network. ``None`` when there is nothing to learn.
        """
        return None

    def combine(self, losses: Mapping[str, Tensor]) -> Tensor:
        """The scalar objective of a batch (also logged for validation batches)."""
        return _weighted_sum(losses, self.weights_)

    def backward(self, losses: Mapping[str, Tensor], module: nn.Module) -> Tensor:
        """Write the gradients of one training batch into ``.grad``; return the objective.

        ``module`` is the network: ``module.trunk`` holds the shared parameters; the others
        (heads, late-fusion weights) are task-specific.
        """
        raise NotImplementedError

    def epoch_end(self, epoch_losses: Mapping[str, float]) -> None:
        """Called after each training epoch with the mean training loss of each task."""

    def current_weights(self) -> dict[str, float]:
        """The effective weight of each task (logged in ``history`` as ``weight_<task>``)."""
        return dict(self.weights_)


class LossWeighting(Weighting):
    """A weighting that combines task losses into one scalar and back-propagates it."""

    def backward(self, losses: Mapping[str, Tensor], module: nn.Module) -> Tensor:
        objective = self.combine(losses)
        objective.backward()
        return objective.detach()


class GradientWeighting(Weighting):
    """A weighting that aggregates per-task gradients on the shared parameters.

    Subclasses implement :meth:`aggregate`. Each task's gradient is taken of its weighted
    loss ``w_t * L_t`` (``task_weights``), so static weights still apply.
    """

    def aggregate(self, grads: Tensor) -> Tensor:
        """One gradient ``(n_params,)`` from the task gradients ``grads`` of shape
        ``(n_tasks, n_params)`` (rows in ``task_names_`` order)."""
        raise NotImplementedError

    def backward(self, losses: Mapping[str, Tensor], module: nn.Module) -> Tensor:
        shared = [p for p in shared_parameters(module.trunk) if p.requires_grad]
        shared_ids = {id(p) for p in shared}
        # Heads and anything else outside the trunk (e.g. learnable late-fusion weights).
        others = [p for p in module.parameters() if p.requires_grad and id(p) not in shared_ids]
        weighted = [self.weights_[name] * losses[name] for name in self.task_names_]
        rows = []
        for loss in weighted:
            grads = torch.autograd.grad(loss, shared, retain_graph=True, allow_unused=True)
            rows.append(
                torch.cat([
                    _dense(p, g).reshape(-1) for p, g in zip(shared, grads)
                ])
            )
        total = sum(weighted)
        if others:
            torch.autograd.backward(total, inputs=others)
        direction = self.aggregate(torch.stack(rows))
        offset = 0
        for p, sparse in zip(shared, _sparse_grads(shared, module)):
            n = p.numel()
            g = direction[offset : offset + n].view_as(p)
            if sparse:  # tables updated by SparseAdam take sparse gradients
                g = g.to_sparse()
            p.grad = g.clone() if p.grad is None else p.grad + g
            offset += n
        return total.detach()


def _dense(p: Tensor, g: Tensor | None) -> Tensor:
    if g is None:
        return torch.zeros_like(p)
    return g.to_dense() if g.is_sparse else g


def _sparse_grads(params: list[Tensor], module: nn.Module) -> list[bool]:
    sparse_ids = {
        id(m.weight)
        for m in module.modules()
        if isinstance(m, (nn.Embedding, nn.EmbeddingBag)) and m.sparse
    }
    return [id(p) in sparse_ids for p in params]


def _weighted_sum(losses: Mapping[str, Tensor], weights: Mapping[str, float]) -> Tensor:
    if len(weights) > 4:  # one product instead of a node per task in the autograd graph
        stacked = torch.stack([losses[name] for name in weights])
        w = torch.tensor(list(weights.values()), dtype=stacked.dtype, device=stacked.device)
        return stacked @ w
    total = None
    for name, weight in weights.items():
        term = losses[name] if weight == 1.0 else weight * losses[name]
        total = term if total is None else total + term
    return total


def shared_parameters(trunk: nn.Module) -> list[nn.Parameter]:
    """The parameters every task's loss reaches: the trunk's ``shared_parameters()`` where
    it says (a trunk with task-specific parts, e.g. :class:`~sk_mtl.modules.PLETrunk`),
    else all of the trunk's."""
    if hasattr(trunk, "shared_parameters"):
        return list(trunk.shared_parameters())
    return list(trunk.parameters())
