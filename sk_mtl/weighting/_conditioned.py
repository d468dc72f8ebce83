"""One network for every task-weight vector: training on sampled weights (YOTO / COSMOS)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from ._base import LossWeighting, _weighted_sum

__all__ = ["WeightConditioning"]

#: How the network reads the weight vector.
CONDITIONINGS = ("film", "input")


class WeightConditioning(LossWeighting):
    """Train one network for all task weightings; choose the weighting at prediction.

    Every training row draws a weight vector ``c_i`` from a Dirichlet distribution on the
    simplex; the batch minimises ``T * sum_t (1 / n_t) sum_i c_it l_it`` (``T`` tasks, so
    equal weights give the sum of the task losses; ``n_t`` labelled rows of task ``t``) while
    the network reads each row's ``c_i`` as an input (You Only Train Once, Dosovitskiy &
    Djolonga, ICLR 2020; COSMOS, Ruchte & Grabocka, 2021); a vector per row, as YOTO draws
    them, gives every batch the whole range of weightings. Logged training losses are then
    the ``c``-weighted means. Where the tasks do not compete for the network's capacity the
    conditioned network's predictions change little with the weights (see
    ``docs/trading_tasks_off.md``). After fit, the estimator's
    ``task_weights`` (normalised to sum 1: only their ratios count) are the ``c`` the network
    reads, so ``set_params(task_weights__<task>=w)`` changes what ``predict`` returns without
    refitting; :class:`sk_mtl.model_selection.TaskWeightSearchCV` scores a whole grid of
    weights on one fit per fold. Validation and early stopping use ``task_weights``.

    Parameters
    ----------
    alpha : float, default=1.0
        Dirichlet concentration: 1 draws uniformly on the simplex; below 1 favours vectors
        that put most weight on one task, above 1 vectors near equal weights.
    conditioning : {"film", "input"}, default="film"
        How the network reads ``c``: ``"film"`` scales and shifts the trunk's output,
        ``h * (1 + W_g c) + W_b c`` (FiLM, Perez et al., AAAI 2018; starts as the identity),
        with any trunk and fusion; ``"input"`` appends ``c`` to the input columns
        (``MultiTaskNet*`` with the MLP or a named trunk).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import MultiTaskNet
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = np.c_[X[:, 0], X[:, 1] + 0.5 * rng.normal(size=200)]
    >>> net = MultiTaskNet(weighting="conditioned", max_epochs=5, random_state=0).fit(X, y)
    >>> a = net.set_params(task_weights={"y0": 9.0, "y1": 1.0}).predict(X[:2])
    >>> b = net.set_params(task_weights={"y0": 1.0, "y1": 9.0}).predict(X[:2])
    >>> bool(np.any(a != b))  # another weighting, another prediction: no refit
    True
    """

    conditions = True

    def __init__(self, alpha: float = 1.0, conditioning: str = "film") -> None:
        self.alpha = alpha
        self.conditioning = conditioning

    def bind(self, task_names: Sequence[str], task_weights: Mapping[str, float]) -> None:
        if not (isinstance(self.alpha, (int, float)) and math.isfinite(self.alpha)
                and self.alpha > 0):
            raise ValueError(f"weighting__alpha must be a finite number > 0, got {self.alpha!r}.")
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(
                f"weighting__conditioning={self.conditioning!r} is not known; use one of "
                f"{list(CONDITIONINGS)}."
            )
        if len(task_names) < 2:
            raise ValueError(
                "weighting='conditioned' trades tasks off and needs at least two tasks; "
                f"there is {len(task_names)}."
            )
        super().bind(task_names, task_weights)
        self.drawn_ = None

    def target(self, task_weights: Mapping[str, float] | None = None) -> Tensor:
        """The condition for ``task_weights`` (the bound ones by default): normalised to 1."""
        weights = self.weights_ if task_weights is None else task_weights
        w = torch.tensor([float(weights[n]) for n in self.task_names_], dtype=torch.float32)
        return w / w.sum()

    def draw(self, n_rows: int) -> Tensor:
        """One weight vector per row of the next training batch, ``(n_rows, n_tasks)``
        (torch's global generator)."""
        concentration = torch.full((len(self.task_names_),), float(self.alpha))
        return torch.distributions.Dirichlet(concentration).sample((n_rows,))

    def weight_rows(self, targets: Mapping[str, tuple], drawn: Tensor) -> dict[str, tuple]:
        """``targets`` with each task's row mask replaced by the rows' drawn weights.

        The masked losses then return ``sum_i c_it l_it / sum_i c_it``; :meth:`combine`
        multiplies them back by ``sum_i c_it / n_t`` (``n_t`` labelled rows), so the
        objective is ``T * sum_t (1 / n_t) sum_i c_it l_it``.
        """
        out, scales = {}, []
        for j, name in enumerate(self.task_names_):
            target, mask = targets[name]
            c = drawn[:, j].to(target.device)
            if mask is None:
                weights, n = c, c.new_tensor(float(len(c)))
            else:
                weights, n = c * mask, mask.sum().to(c.dtype)
            out[name] = (target, weights)
            scales.append(weights.sum() / n.clamp_min(1.0))
        self.drawn_ = torch.stack(scales)
        return out

    def combine(self, losses: Mapping[str, Tensor]) -> Tensor:
        if self.drawn_ is None:
            c = self.target()
            scale = len(self.task_names_)
            return _weighted_sum(
                losses, {n: scale * float(w) for n, w in zip(self.task_names_, c.tolist())}
            )
        stacked = torch.stack([losses[n] for n in self.task_names_])
        return len(self.task_names_) * (stacked * self.drawn_.to(stacked.dtype)).sum()

    def end_draws(self) -> None:
        """Back to the bound weights (validation, prediction)."""
        self.drawn_ = None
