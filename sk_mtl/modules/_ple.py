"""Progressive Layered Extraction trunk (Tang et al., RecSys 2020), pure torch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._mmoe import _last_weight, mix_experts
from ._trunks import MLPTrunk, RowwiseLinear

__all__ = ["PLETrunk"]


class _Level(nn.Module):
    """One extraction level: task-specific and shared experts, one gate per task (over its
    own and the shared experts) and, below the last level, a shared gate over them all."""

    def __init__(self, in_features: int, n_tasks: int, n_shared: int, n_task: int,
                 dims: Sequence[int], activation, dropout: float, last: bool) -> None:
        super().__init__()

        def experts(n):
            return nn.ModuleList(
                MLPTrunk(in_features, dims, activation, dropout) for _ in range(n))

        self.task_experts = nn.ModuleList(experts(n_task) for _ in range(n_tasks))
        self.shared_experts = experts(n_shared)
        self.task_gates = nn.ModuleList(
            RowwiseLinear(in_features, n_task + n_shared) for _ in range(n_tasks))
        self.shared_gate = None if last else RowwiseLinear(
            in_features, n_tasks * n_task + n_shared)

    @staticmethod
    def _mix(gate: nn.Module, x: Tensor, outputs: list[Tensor]) -> Tensor:
        return mix_experts(gate, x, torch.stack(outputs, dim=1))

    def forward(self, task_inputs: list[Tensor], shared_input: Tensor):
        shared = [e(shared_input) for e in self.shared_experts]
        own = [[e(x) for e in experts] for experts, x in zip(self.task_experts, task_inputs)]
        task_out = [
            self._mix(gate, x, outputs + shared)
            for gate, x, outputs in zip(self.task_gates, task_inputs, own)
        ]
        if self.shared_gate is None:
            return task_out, None
        every = [o for outputs in own for o in outputs] + shared
        return task_out, self._mix(self.shared_gate, shared_input, every)


class PLETrunk(nn.Module):
    """Progressive Layered Extraction: task-specific and shared experts, level after level.

    At each level every task has its own experts and all tasks share some; task ``t``'s
    gate mixes its own experts with the shared ones, and (below the last level) a shared
    gate mixes every expert into the input of the next level's shared experts, while task
    ``t``'s mixture is the input of its own experts there (CGC modules stacked; Tang et al.,
    "Progressive Layered Extraction (PLE)", RecSys 2020). Separating task-specific from
    shared experts lets conflicting tasks keep parameters of their own, which MMoE's fully
    shared experts cannot. The forward pass returns ``{task: h_t}`` like :class:`MMoETrunk`.

    Parameters
    ----------
    in_features : int
        Width of the input.
    task_names : sequence of str
        One set of experts and one gate per task.
    n_shared_experts : int, default=2
        Shared experts per level.
    n_task_experts : int, default=1
        Experts of each task per level.
    n_levels : int, default=2
        Extraction levels (1: a single CGC module).
    expert_dims : sequence of int, default=(64,)
        Hidden widths of each expert; the last one is every level's output width.
    activation : str or nn.Module class, default="relu"
        Non-linearity inside the experts.
    dropout : float, default=0.0
        Dropout inside the experts.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import PLETrunk
    >>> trunk = PLETrunk(5, ["a", "b"], n_shared_experts=2, n_task_experts=1, n_levels=2,
    ...                  expert_dims=(8,))
    >>> {k: v.shape for k, v in trunk(torch.zeros(4, 5)).items()}
    {'a': torch.Size([4, 8]), 'b': torch.Size([4, 8])}
    >>> len(trunk.shared_parameters()) < len(list(trunk.parameters()))
    True
    """

    def __init__(
        self,
        in_features: int,
        task_names: Sequence[str],
        n_shared_experts: int = 2,
        n_task_experts: int = 1,
        n_levels: int = 2,
        expert_dims: Sequence[int] = (64,),
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.task_names = list(task_names)
        dims = tuple(expert_dims)
        widths = [in_features] + [dims[-1]] * (n_levels - 1)
        self.levels = nn.ModuleList(
            _Level(w, len(self.task_names), n_shared_experts, n_task_experts, dims,
                   activation, dropout, last=i == n_levels - 1)
            for i, w in enumerate(widths)
        )
        self.out_features = dims[-1]

    def shared_parameters(self) -> list[nn.Parameter]:
        """What every task's loss reaches: the shared experts and the shared gates. Each
        task's own experts and gate are reached by its loss alone, so gradient-level
        weightings (PCGrad, MGDA) aggregate only these and give the rest their task's
        gradient."""
        return [
            p for level in self.levels
            for part in (level.shared_experts, level.shared_gate) if part is not None
            for p in part.parameters()
        ]

    def shared_output_parameters(self) -> list[nn.Parameter]:
        """The last layer's weight of every shared expert of the last level (GradNorm)."""
        return [_last_weight(expert) for expert in self.levels[-1].shared_experts]

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        task_inputs, shared = [x] * len(self.task_names), x
        for level in self.levels:
            task_inputs, shared = level(task_inputs, shared)
        return dict(zip(self.task_names, task_inputs))
