"""The multi-task network: one shared trunk, one linear head per task (pure torch)."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

__all__ = ["MultiTaskModule"]


class MultiTaskModule(nn.Module):
    """Shared trunk followed by one linear head per task.

    Parameters
    ----------
    trunk : nn.Module
        Maps ``(n, in_features)`` to ``(n, trunk_width)``, or to ``{task: (n, trunk_width)}``
        for a trunk with a representation per task (e.g. :class:`MMoETrunk`).
    trunk_width : int
        Width of the trunk's output.
    head_sizes : mapping of str to int
        Output width of each task's head, keyed by task name (in the order tasks are reported).

    The forward pass returns ``{task_name: Tensor(n, head_size)}``. Heads are held in an
    ``nn.ModuleList`` so task names may contain any character (``nn.ModuleDict`` forbids dots).

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import MLPTrunk, MultiTaskModule
    >>> net = MultiTaskModule(MLPTrunk(4, (8,)), 8, {"price": 1, "grade.v2": 3})
    >>> {name: out.shape for name, out in net(torch.zeros(2, 4)).items()}
    {'price': torch.Size([2, 1]), 'grade.v2': torch.Size([2, 3])}
    """

    def __init__(self, trunk: nn.Module, trunk_width: int, head_sizes: Mapping[str, int]):
        super().__init__()
        self.trunk = trunk
        self.task_names = list(head_sizes)
        self.heads = nn.ModuleList(nn.Linear(trunk_width, size) for size in head_sizes.values())

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        h = self.trunk(x)
        if isinstance(h, dict):
            return {name: head(h[name]) for name, head in zip(self.task_names, self.heads)}
        return {name: head(h) for name, head in zip(self.task_names, self.heads)}
