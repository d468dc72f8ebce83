"""Gradient-level weightings: PCGrad and MGDA."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._base import GradientWeighting

__all__ = ["MGDAWeighting", "PCGradWeighting"]


class PCGradWeighting(GradientWeighting):
    """Projecting conflicting gradients (Yu et al., NeurIPS 2020).

    For each task gradient ``g_i`` on the shared parameters, and each other task ``j`` in a
    random order, when ``g_i . g_j < 0`` the component of ``g_i`` along ``g_j`` is removed:
    ``g_i <- g_i - (g_i . g_j) / ||g_j||^2 g_j``. The shared parameters get the sum of the
    projected gradients; the heads get their usual gradients.

    Parameters
    ----------
    random_state : int, default=0
        Seed of the random task orders.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.weighting import PCGradWeighting
    >>> g = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])  # in conflict: g_0 . g_1 < 0
    >>> pc = PCGradWeighting()
    >>> pc.bind(["a", "b"], {"a": 1.0, "b": 1.0})
    >>> pc.aggregate(g)  # each loses its part along the other; the plain sum is [0, 1]
    tensor([0.5000, 1.5000])
    """

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def bind(self, task_names, task_weights) -> None:
        super().bind(task_names, task_weights)
        self.generator_ = torch.Generator().manual_seed(int(self.random_state))

    def aggregate(self, grads: Tensor) -> Tensor:
        projected = grads.clone()
        n = grads.shape[0]
        sq_norms = (grads * grads).sum(dim=1)
        for i in range(n):
            for j in torch.randperm(n, generator=self.generator_).tolist():
                if j == i:
                    continue
                dot = projected[i] @ grads[j]
                if dot < 0 and sq_norms[j] > 0:
                    projected[i] = projected[i] - dot / sq_norms[j] * grads[j]
        return projected.sum(dim=0)


def _project_simplex(v: Tensor) -> Tensor:
    """Euclidean projection onto the probability simplex (Duchi et al., 2008)."""
    u, _ = torch.sort(v, descending=True)
    css = torch.cumsum(u, dim=0) - 1
    k = torch.arange(1, len(v) + 1, dtype=v.dtype, device=v.device)
    rho = int(torch.nonzero(u - css / k > 0)[-1])
    return torch.clamp(v - css[rho] / (rho + 1), min=0.0)


def min_norm_weights(gram: Tensor, max_iter: int = 500, tol: float = 1e-10) -> Tensor:
    """Weights ``a`` on the simplex minimising ``a^T gram a``, the MGDA sub-problem.

    Closed form for two tasks; otherwise accelerated projected gradient descent (FISTA) on
    the simplex, which converges where Frank-Wolfe crawls.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.weighting import min_norm_weights
    >>> g = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    >>> min_norm_weights(g @ g.T)
    tensor([0.8000, 0.2000], dtype=torch.float64)
    """
    gram = gram.double()
    n = gram.shape[0]
    a = torch.full((n,), 1.0 / n, dtype=torch.float64, device=gram.device)
    if n == 2:
        g11, g12, g22 = gram[0, 0], gram[0, 1], gram[1, 1]
        denom = g11 - 2 * g12 + g22
        if denom <= 0:
            return a
        x = ((g22 - g12) / denom).clamp(0.0, 1.0)
        return torch.stack([x, 1 - x])
    lipschitz = float(torch.linalg.eigvalsh(gram)[-1]) * 2
    if lipschitz <= 0:
        return a
    z, t = a.clone(), 1.0
    for _ in range(max_iter):
        a_next = _project_simplex(z - (2 * gram @ z) / lipschitz)
        t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
        z = a_next + ((t - 1) / t_next) * (a_next - a)
        if float((a_next - a).abs().max()) < tol:
            a = a_next
            break
        a, t = a_next, t_next
    return a


class MGDAWeighting(GradientWeighting):
    """Multiple-gradient descent (Sener and Koltun, NeurIPS 2018).

    The shared parameters move along the minimum-norm point of the convex hull of the task
    gradients, ``sum_t a_t g_t`` with ``a`` on the simplex (:func:`min_norm_weights`: closed
    form for two tasks, accelerated projected gradient otherwise), multiplied by the number
    of tasks so that its scale matches the static sum. The logged ``weight_<task>`` is the
    epoch mean of ``n_tasks * a_t``.

    Parameters
    ----------
    normalize : {"none", "l2"}, default="none"
        ``"l2"`` divides each task gradient by its norm before solving (a common variant that
        keeps a task with large gradients from dominating the solution).

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.weighting import MGDAWeighting
    >>> g = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # task "b" has the larger gradient
    >>> for normalize in ("none", "l2"):
    ...     m = MGDAWeighting(normalize=normalize)
    ...     m.bind(["a", "b"], {"a": 1.0, "b": 1.0})
    ...     print(normalize, m.aggregate(g))
    none tensor([1.6000, 0.8000])
    l2 tensor([1., 1.])
    """

    def __init__(self, normalize: str = "none"):
        self.normalize = normalize

    def bind(self, task_names, task_weights) -> None:
        super().bind(task_names, task_weights)
        if self.normalize not in ("none", "l2"):
            raise ValueError(
                f"MGDAWeighting: normalize must be 'none' or 'l2', got {self.normalize!r}."
            )
        self._reset()

    def _reset(self) -> None:
        self.weight_sum_ = torch.zeros(len(self.task_names_), dtype=torch.float64)
        self.n_steps_ = 0

    def aggregate(self, grads: Tensor) -> Tensor:
        solve_on = grads
        if self.normalize == "l2":
            solve_on = grads / grads.norm(dim=1, keepdim=True).clamp_min(1e-12)
        a = min_norm_weights(solve_on @ solve_on.T)
        n = grads.shape[0]
        self.weight_sum_ += n * a.cpu()
        self.n_steps_ += 1
        return n * (a.to(grads.dtype) @ solve_on)

    def current_weights(self) -> dict[str, float]:
        if not self.n_steps_:
            return {name: 1.0 for name in self.task_names_}
        mean = (self.weight_sum_ / self.n_steps_).tolist()
        return dict(zip(self.task_names_, mean))

    def epoch_end(self, epoch_losses) -> None:
        self._reset()
