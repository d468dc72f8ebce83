"""Loss-level weightings that adapt during training: uncertainty, DWA, GradNorm."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from ._base import LossWeighting

__all__ = ["DWAWeighting", "GradNormWeighting", "UncertaintyWeighting"]


class _LogVariances(nn.Module):
    def __init__(self, n_tasks: int, init: float) -> None:
        super().__init__()
        self.log_var = nn.Parameter(torch.full((n_tasks,), float(init)))


class UncertaintyWeighting(LossWeighting):
    """Homoscedastic uncertainty weighting (Kendall, Gal and Cipolla, CVPR 2018).

    Learns one log-variance ``s_t`` per task with the network's optimizer and minimises
    ``sum_t w_t * (L_t / (2 exp(s_t)) + s_t / 2)``; the effective weight of task ``t`` is
    ``w_t / (2 exp(s_t))``. ``w_t`` are the static ``task_weights``.

    Parameters
    ----------
    init_log_var : float, default=0.0
        Starting value of every ``s_t``.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.weighting import UncertaintyWeighting
    >>> w = UncertaintyWeighting()
    >>> w.bind(["a", "b"], {"a": 1.0, "b": 1.0})
    >>> module = w.make_module()  # the s_t, trained by the network's optimizer
    >>> w.combine({"a": torch.tensor(2.0), "b": torch.tensor(4.0)}).item()
    3.0
    >>> w.current_weights()
    {'a': 0.5, 'b': 0.5}

    A task that training finds noisier gets a larger ``s_t``, and a smaller weight:

    >>> with torch.no_grad():
    ...     module.log_var[1] = 2.0
    >>> {name: round(weight, 3) for name, weight in w.current_weights().items()}
    {'a': 0.5, 'b': 0.068}
    """

    data_parallel = True  # linear in each loss; the s_t are averaged with the network's

    def __init__(self, init_log_var: float = 0.0):
        self.init_log_var = init_log_var

    def make_module(self) -> nn.Module:
        self.module_ = _LogVariances(len(self.task_names_), self.init_log_var)
        return self.module_

    def combine(self, losses: Mapping[str, Tensor]) -> Tensor:
        s = self.module_.log_var
        total = None
        for i, name in enumerate(self.task_names_):
            term = self.weights_[name] * (losses[name] * torch.exp(-s[i]) / 2 + s[i] / 2)
            total = term if total is None else total + term
        return total

    def current_weights(self) -> dict[str, float]:
        s = self.module_.log_var.detach().cpu().tolist()
        return {
            # inf (not OverflowError) once a diverging log-variance passes float range: the
            # training loop then reports the divergence.
            name: self.weights_[name] * _exp(-s[i]) / 2
            for i, name in enumerate(self.task_names_)
        }


def _exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


class DWAWeighting(LossWeighting):
    """Dynamic weight average (Liu, Johns and Davison, CVPR 2019).

    From the third epoch on, the weight of task ``t`` is
    ``lambda_t = T * softmax_t(r_t / temperature)`` with ``r_t = L_t(e-1) / L_t(e-2)``, the
    ratio of its two last mean training losses: a task whose loss falls slowly gets more
    weight. The first two epochs use ``lambda_t = 1``. The objective is
    ``sum_t w_t * lambda_t * L_t`` (``w_t``: the static ``task_weights``).

    Parameters
    ----------
    temperature : float, default=2.0
        Softness of the softmax; large values give equal weights.

    Examples
    --------
    >>> from sk_mtl.weighting import DWAWeighting
    >>> w = DWAWeighting(temperature=1.0)
    >>> w.bind(["a", "b"], {"a": 1.0, "b": 1.0})
    >>> w.epoch_end({"a": 1.0, "b": 1.0})
    >>> w.epoch_end({"a": 0.5, "b": 1.0})
    >>> {k: round(v, 4) for k, v in w.current_weights().items()}
    {'a': 0.7551, 'b': 1.2449}
    """

    data_parallel = True  # linear in the losses; epoch_end reads the processes' sums

    def __init__(self, temperature: float = 2.0):
        self.temperature = temperature

    def bind(self, task_names, task_weights) -> None:
        super().bind(task_names, task_weights)
        if not self.temperature > 0:
            raise ValueError(f"DWAWeighting: temperature must be > 0, got {self.temperature!r}.")
        self.lambdas_ = {name: 1.0 for name in self.task_names_}
        self.loss_history_: list[dict[str, float]] = []

    def combine(self, losses: Mapping[str, Tensor]) -> Tensor:
        total = None
        for name in self.task_names_:
            term = (self.weights_[name] * self.lambdas_[name]) * losses[name]
            total = term if total is None else total + term
        return total

    def epoch_end(self, epoch_losses: Mapping[str, float]) -> None:
        self.loss_history_ = [*self.loss_history_[-1:], dict(epoch_losses)]
        if len(self.loss_history_) < 2:
            return
        before, last = self.loss_history_
        ratios = []
        for name in self.task_names_:
            prev, cur = before[name], last[name]
            ok = math.isfinite(prev) and math.isfinite(cur) and prev > 0
            ratios.append(cur / prev if ok else 1.0)
        z = [r / self.temperature for r in ratios]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        n = len(self.task_names_)
        self.lambdas_ = {name: n * v / sum(e) for name, v in zip(self.task_names_, e)}

    def current_weights(self) -> dict[str, float]:
        return {name: self.weights_[name] * self.lambdas_[name] for name in self.task_names_}


class GradNormWeighting(LossWeighting):
    """GradNorm (Chen, Badrinarayanan, Lee and Rabinovich, ICML 2018).

    Learns task weights ``w_t`` (starting from the static ``task_weights``, rescaled to sum to
    the number of tasks) so that the gradient norm of each weighted loss on the last shared
    layer (every expert's last layer with an MMoE trunk), ``G_t = w_t ||grad_W L_t||``,
    approaches ``mean(G) * r_t ** alpha``, where
    ``r_t`` is task ``t``'s loss relative to its first-batch loss, divided by the mean of
    those ratios: tasks that train slower get larger gradients. The weights take a plain
    gradient step of size ``lr`` on ``sum_t |G_t - target_t|`` each batch and are
    renormalised to sum to the number of tasks; the network minimises ``sum_t w_t L_t``.

    Parameters
    ----------
    alpha : float, default=1.5
        Strength of the pull towards equal training rates.
    lr : float, default=0.025
        Learning rate of the task weights.

    Examples
    --------
    >>> from sk_mtl.weighting import GradNormWeighting
    >>> w = GradNormWeighting(alpha=1.0)
    >>> w.bind(["a", "b"], {"a": 1.0, "b": 3.0})
    >>> w.current_weights()
    {'a': 0.5, 'b': 1.5}
    """

    def __init__(self, alpha: float = 1.5, lr: float = 0.025):
        self.alpha = alpha
        self.lr = lr

    def bind(self, task_names, task_weights) -> None:
        super().bind(task_names, task_weights)
        if not self.lr > 0:
            raise ValueError(f"GradNormWeighting: lr must be > 0, got {self.lr!r}.")
        n = len(self.task_names_)
        total = sum(self.weights_.values())
        self.learned_ = torch.tensor(
            [n * self.weights_[name] / total for name in self.task_names_], dtype=torch.float64
        )
        self.initial_losses_: Tensor | None = None

    def combine(self, losses: Mapping[str, Tensor]) -> Tensor:
        w = self.learned_.tolist()
        total = None
        for i, name in enumerate(self.task_names_):
            term = w[i] * losses[name]
            total = term if total is None else total + term
        return total

    def backward(self, losses: Mapping[str, Tensor], module: nn.Module) -> Tensor:
        last = _last_shared(module.trunk)
        stacked = torch.stack([losses[name] for name in self.task_names_])
        norms = []
        for name in self.task_names_:
            grads = torch.autograd.grad(losses[name], last, retain_graph=True, allow_unused=True)
            sq = [g.coalesce().values().pow(2).sum() if g.is_sparse else g.pow(2).sum()
                  for g in grads if g is not None]
            zero = torch.zeros((), device=last[0].device)
            norms.append(torch.stack(sq).sum().sqrt() if sq else zero)
        norms = torch.stack(norms).detach().double().cpu()
        current = stacked.detach().double().cpu()
        if self.initial_losses_ is None:
            self.initial_losses_ = current.clamp_min(1e-12)
        objective = self.combine(losses)
        objective.backward()
        # Gradient of sum_t |w_t n_t - target_t| with respect to w, target held constant.
        w = self.learned_
        ratio = current / self.initial_losses_
        ratio = ratio / ratio.mean().clamp_min(1e-12)
        G = w * norms
        target = G.mean() * ratio.pow(self.alpha)
        grad_w = torch.sign(G - target) * norms
        w = (w - self.lr * grad_w).clamp_min(1e-4)
        self.learned_ = w * (len(w) / w.sum())
        return objective.detach()

    def current_weights(self) -> dict[str, float]:
        return dict(zip(self.task_names_, self.learned_.tolist()))


def _last_shared(trunk: nn.Module) -> list[Tensor]:
    """The last weight matrices all tasks share: the trunk's ``shared_output_parameters()``
    when it has one (mixture of experts, fusion trunks), else its last weight matrix."""
    if hasattr(trunk, "shared_output_parameters"):
        params = [p for p in trunk.shared_output_parameters() if p.requires_grad]
    else:
        weights = [p for p in trunk.parameters() if p.requires_grad and p.ndim >= 2]
        params = weights[-1:]
    if not params:
        raise ValueError(
            "GradNormWeighting needs a trunk with a weight matrix to measure gradient norms."
        )
    return params
