"""One network for every task-weight vector: training on sampled weights (YOTO / COSMOS)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from ._base import LossWeighting

__all__ = ["WeightConditioning"]

#: How the network reads the weight vector.
CONDITIONINGS = ("film", "input", "members")
#: Where FiLM reads it: the trunk's output, or also every linear layer inside the trunk.
LAYERS = ("last", "all")
#: How each task's loss is scaled before weighting.
NORMALIZATIONS = (None, "initial", "running")


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
    conditioning : {"film", "members", "input"}, default="film"
        How the network reads ``c``. ``"film"`` scales and shifts the trunk's output,
        ``h * (1 + W_g c) + W_b c`` (FiLM, Perez et al., AAAI 2018; starts as the
        identity), with any trunk and fusion. ``"members"`` keeps one copy of every linear
        layer of the trunk per task and uses the layer whose parameters are the
        ``c``-weighted mix of the copies (Pareto Manifold Learning, Dimitriadis et al.,
        ICML 2023): the network itself moves along a simplex of networks, at the price of
        ``T`` times the trunk's parameters. ``"input"`` appends ``c`` to the input columns
        (``MultiTaskNet*`` with the MLP or a named trunk).
    layers : {"last", "all"}, default="last"
        Where ``"film"`` reads ``c``: the trunk's output only, or also the output of every
        linear layer inside the trunk (before its activation).
    normalize : {None, "initial", "running"}, default=None
        Divide each task's loss by its scale before weighting, so that the weights, not
        the tasks' loss scales, decide the trade: its loss on the first training batch
        (``"initial"``), or a running mean of its batch losses (``"running"``, momentum
        0.9).
    penalty : float, default=0.0
        COSMOS's cosine penalty (Ruchte & Grabocka, ICDM 2021): ``penalty`` times the mean
        cosine between each drawn vector and the (normalised) loss vector of the rows that
        drew it is subtracted from the objective. As published, it rewards a loss vector
        that points along the weight vector. Needs ``draws``.
    draws : int or None, default=None
        ``None`` draws a vector per row (YOTO); an int ``k`` draws ``k`` vectors per batch,
        each shared by a block of consecutive rows of the (shuffled) batch: what ``penalty``
        compares; with ``"members"`` and ``k <= 16`` every layer mixes its parameters once
        per block instead of running every copy on every row.

    Notes
    -----
    ``docs/trading_tasks_off.md`` shows what each option measured against one fit per
    weight vector on wine, overlaid digits and a capacity-limited synthetic case.

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

    def __init__(
        self,
        alpha: float = 1.0,
        conditioning: str = "film",
        layers: str = "last",
        normalize: str | None = None,
        penalty: float = 0.0,
        draws: int | None = None,
    ) -> None:
        self.alpha = alpha
        self.conditioning = conditioning
        self.layers = layers
        self.normalize = normalize
        self.penalty = penalty
        self.draws = draws

    def bind(self, task_names: Sequence[str], task_weights: Mapping[str, float]) -> None:
        if not (isinstance(self.alpha, (int, float)) and math.isfinite(self.alpha)
                and self.alpha > 0):
            raise ValueError(f"weighting__alpha must be a finite number > 0, got {self.alpha!r}.")
        if self.conditioning not in CONDITIONINGS:
            raise ValueError(
                f"weighting__conditioning={self.conditioning!r} is not known; use one of "
                f"{list(CONDITIONINGS)}."
            )
        if self.layers not in LAYERS:
            raise ValueError(
                f"weighting__layers={self.layers!r} is not known; use one of {list(LAYERS)}."
            )
        if self.layers == "all" and self.conditioning != "film":
            raise ValueError(
                "weighting__layers='all' puts FiLM layers in the trunk; it needs "
                f"weighting__conditioning='film', got {self.conditioning!r}."
            )
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(
                f"weighting__normalize={self.normalize!r} is not known; use one of "
                f"{list(NORMALIZATIONS)}."
            )
        if not (isinstance(self.penalty, (int, float)) and math.isfinite(self.penalty)
                and self.penalty >= 0):
            raise ValueError(
                f"weighting__penalty must be a finite number >= 0, got {self.penalty!r}."
            )
        if self.draws is not None and not (
            isinstance(self.draws, (int, np.integer)) and not isinstance(self.draws, bool)
            and self.draws >= 1
        ):
            raise ValueError(
                f"weighting__draws must be None (a vector per row) or an int >= 1, got "
                f"{self.draws!r}."
            )
        if self.penalty > 0 and self.draws is None:
            raise ValueError(
                "weighting__penalty > 0 (COSMOS) compares each weight vector with the loss "
                "vector of the rows that drew it, which needs a few vectors per batch: set "
                "weighting__draws (e.g. 8)."
            )
        if len(task_names) < 2:
            raise ValueError(
                "weighting='conditioned' trades tasks off and needs at least two tasks; "
                f"there is {len(task_names)}."
            )
        super().bind(task_names, task_weights)
        self.drawn_ = None
        self.groups_ = None
        self.group_losses_ = None
        self.scale_ = None

    def target(self, task_weights: Mapping[str, float] | None = None) -> Tensor:
        """The condition for ``task_weights`` (the bound ones by default): normalised to 1."""
        weights = self.weights_ if task_weights is None else task_weights
        w = torch.tensor([float(weights[n]) for n in self.task_names_], dtype=torch.float32)
        return w / w.sum()

    def draw(self, n_rows: int) -> Tensor:
        """One weight vector per row of the next training batch, ``(n_rows, n_tasks)``
        (torch's global generator); with ``draws=k``, ``k`` vectors, each shared by a
        contiguous block of rows (the batches are shuffled)."""
        concentration = torch.full((len(self.task_names_),), float(self.alpha))
        dirichlet = torch.distributions.Dirichlet(concentration)
        if self.draws is None:
            self.groups_ = None
            return dirichlet.sample((n_rows,))
        k = min(int(self.draws), n_rows)
        vectors = dirichlet.sample((k,))
        groups = torch.arange(n_rows) * k // max(n_rows, 1)
        # Only the penalty needs each group's own losses; without it the rows' weights give
        # the same objective in one pass.
        self.groups_ = (groups, vectors) if self.penalty > 0 else None
        return vectors[groups]

    def training_losses(self, criterion, y_pred, targets: Mapping[str, tuple],
                        drawn: Tensor) -> dict[str, Tensor]:
        """The task losses of a training batch whose rows drew ``drawn``
        (:meth:`draw`), as logged: each task's ``c``-weighted mean loss (per group of rows
        with ``penalty``). :meth:`backward`
        then minimises ``T * sum_t (1 / n_t) sum_i c_it l_it`` (each task's loss divided by
        its scale first with ``normalize``), minus ``penalty`` times the mean cosine between
        each drawn vector and the loss vector of its rows (with ``draws``)."""
        if self.groups_ is None:
            losses = criterion(y_pred, self.weight_rows(targets, drawn))
            self._update_scale(torch.stack([losses[n] for n in self.task_names_]))
            return losses
        groups, vectors = self.groups_
        per_group, counts = [], []
        for g in range(len(vectors)):
            rows = groups == g
            group_targets = {}
            n_labelled = []
            for name in self.task_names_:
                target, mask = targets[name]
                in_group = rows.to(target.device)
                if mask is not None:
                    in_group = in_group & mask.to(torch.bool) if mask.dtype == torch.bool \
                        else in_group.to(mask.dtype) * mask
                group_targets[name] = (target, in_group)
                n_labelled.append(in_group.sum().to(torch.float32))
            losses = criterion(y_pred, group_targets)
            per_group.append(torch.stack([losses[n] for n in self.task_names_]))
            counts.append(torch.stack(n_labelled))
        group_losses = torch.stack(per_group)  # (k, T): plain means over each group's rows
        counts = torch.stack(counts).to(group_losses.device)  # (k, T) labelled rows
        self.group_losses_ = (group_losses, counts, vectors.to(group_losses.device))
        self._update_scale(self._pooled(group_losses, counts, torch.ones_like(group_losses)))
        c = vectors.to(group_losses.device)
        logged = self._pooled(group_losses, counts, c)
        return {n: logged[j] for j, n in enumerate(self.task_names_)}

    @staticmethod
    def _pooled(group_losses: Tensor, counts: Tensor, c: Tensor) -> Tensor:
        """Each task's ``c``-weighted mean over the rows of all groups: ``(T,)``."""
        weights = c * counts
        return (group_losses * weights).sum(0) / weights.sum(0).clamp_min(1e-12)

    def _update_scale(self, losses: Tensor) -> None:
        if self.normalize is None:
            return
        losses = losses.detach()
        if self.scale_ is None:
            self.scale_ = losses.clamp_min(1e-8)
        elif self.normalize == "running":
            self.scale_ = (0.9 * self.scale_ + 0.1 * losses).clamp_min(1e-8)

    def _scaled(self, stacked: Tensor) -> Tensor:
        if self.scale_ is None:
            return stacked
        return stacked / self.scale_.to(stacked.device, stacked.dtype)

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
        stacked = self._scaled(torch.stack([losses[n] for n in self.task_names_]))
        n_tasks = len(self.task_names_)
        if self.drawn_ is None:  # validation: the bound weights
            c = self.target().to(stacked.device, stacked.dtype)
            return n_tasks * (stacked * c).sum()
        return n_tasks * (stacked * self.drawn_.to(stacked.dtype)).sum()

    def backward(self, losses: Mapping[str, Tensor], module) -> Tensor:
        if self.group_losses_ is None:
            return super().backward(losses, module)
        group_losses, counts, c = self.group_losses_
        self.group_losses_ = None
        scaled = self._scaled(group_losses)
        n_tasks = len(self.task_names_)
        share = counts / counts.sum(0).clamp_min(1.0)  # n_gt / n_t
        objective = n_tasks * (share * c * scaled).sum()
        if self.penalty > 0:
            rows = counts.max(1).values
            cosine = torch.nn.functional.cosine_similarity(c, scaled, dim=1)
            objective = objective - self.penalty * (cosine * rows).sum() / rows.sum()
        objective.backward()
        return objective.detach()

    def end_draws(self) -> None:
        """Back to the bound weights (validation, prediction)."""
        self.drawn_ = None
        self.groups_ = None
        self.group_losses_ = None
