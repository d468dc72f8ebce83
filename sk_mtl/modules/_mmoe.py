"""Multi-gate mixture-of-experts trunk (Ma et al., KDD 2018), pure torch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._trunks import MLPTrunk, RowwiseLinear

__all__ = ["MMoETrunk"]


class MMoETrunk(nn.Module):
    """Shared experts mixed by one softmax gate per task (soft parameter sharing).

    Each expert is an MLP over the input; task ``t`` sees
    ``h_t = sum_k softmax(gate_t(x))_k * expert_k(x)``. The forward pass returns
    ``{task: h_t}``, which :class:`MultiTaskModule` hands to each task's head.

    Parameters
    ----------
    in_features : int
        Width of the input.
    task_names : sequence of str
        One gate per task.
    n_experts : int, default=4
        Number of experts.
    expert_dims : sequence of int, default=(64,)
        Hidden widths of each expert; the last one is the trunk's output width.
    activation : str or nn.Module class, default="relu"
        Non-linearity inside the experts.
    dropout : float, default=0.0
        Dropout inside the experts.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import MMoETrunk
    >>> trunk = MMoETrunk(5, ["a", "b"], n_experts=3, expert_dims=(8,))
    >>> {k: v.shape for k, v in trunk(torch.zeros(4, 5)).items()}
    {'a': torch.Size([4, 8]), 'b': torch.Size([4, 8])}
    """

    def __init__(
        self,
        in_features: int,
        task_names: Sequence[str],
        n_experts: int = 4,
        expert_dims: Sequence[int] = (64,),
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.task_names = list(task_names)
        self.experts = nn.ModuleList(
            MLPTrunk(in_features, expert_dims, activation, dropout) for _ in range(n_experts)
        )
        self.gates = nn.ModuleList(
            RowwiseLinear(in_features, n_experts) for _ in self.task_names)
        self.out_features = self.experts[0].out_features

    def shared_output_parameters(self) -> list[nn.Parameter]:
        """The last layer's weight of every expert: the last parameters all tasks share."""
        return [_last_weight(expert) for expert in self.experts]

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        experts = torch.stack([expert(x) for expert in self.experts], dim=1)  # (n, K, d)
        return {name: mix_experts(gate, x, experts)
                for name, gate in zip(self.task_names, self.gates)}


def mix_experts(gate: nn.Module, x: Tensor, experts: Tensor) -> Tensor:
    """``sum_k softmax(gate(x))_k * experts[:, k]`` for ``experts`` of shape ``(n, K, d)``.
    A product and a sum per row (not a batched matrix product, whose rounding depends on
    where a row sits in the batch; the gates are :class:`RowwiseLinear` for the same
    reason): a row's output does not depend on the rows around it."""
    return (torch.softmax(gate(x), dim=-1).unsqueeze(-1) * experts).sum(dim=1)


def _last_weight(module: nn.Module) -> nn.Parameter:
    weights = [p for p in module.parameters() if p.ndim >= 2]
    if not weights:
        raise ValueError(f"{type(module).__name__} has no weight matrix.")
    return weights[-1]
