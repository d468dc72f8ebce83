"""The multi-task network: one shared trunk, one linear head per task (pure torch)."""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._ensemble import average_members

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
    wide : nn.Module, optional
        A wide path (Wide & Deep): maps the input to ``(n, sum(head_sizes))``, added to the
        heads' outputs (e.g. :class:`WidePath`, linear in sparse n-grams).
    input_dropout : nn.Module, optional
        Applied to the input in front of the trunk and the wide path alike (e.g.
        :class:`ModalityDropout`, which hides modalities of training rows from both).
    member_averages : mapping of str to str, optional
        For a trunk that returns one representation per ensemble member, ``(n, k, width)``
        (:class:`EnsembleMLPTrunk`): how each task's members are averaged, a name in
        :data:`MEMBER_AVERAGES` per task. Each member then has its own heads; in training the
        forward pass returns each task's ``(n, k, head_size)`` (one loss per member), in
        evaluation the average ``(n, head_size)``.

    The forward pass returns ``{task_name: Tensor(n, head_size)}``. The heads are the row
    blocks of one ``nn.Linear`` (``head``; task ``t`` owns rows ``head_slices[t]``), so that a
    shared trunk output goes through one matrix product for all tasks instead of one per task
    (64 tasks: one call instead of 64); this is the same function as separate heads, and task
    names may contain any character.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import MLPTrunk, MultiTaskModule
    >>> net = MultiTaskModule(MLPTrunk(4, (8,)), 8, {"price": 1, "grade.v2": 3})
    >>> {name: out.shape for name, out in net(torch.zeros(2, 4)).items()}
    {'price': torch.Size([2, 1]), 'grade.v2': torch.Size([2, 3])}
    >>> net.head_slices["grade.v2"]
    slice(1, 4, None)
    """

    def __init__(self, trunk: nn.Module, trunk_width: int, head_sizes: Mapping[str, int],
                 wide: nn.Module | None = None,
                 member_averages: Mapping[str, str] | None = None,
                 input_dropout: nn.Module | None = None):
        super().__init__()
        self.input_dropout = input_dropout
        self.trunk = trunk
        self.wide = wide
        self.task_names = list(head_sizes)
        self.head_sizes = [int(size) for size in head_sizes.values()]
        #: Whether evaluation returns each member's outputs rather than their average (set
        #: while cross-fitted members are validated on their held-out rows).
        self.member_outputs = False
        k = getattr(trunk, "k", None) if member_averages is not None else None
        self.member_averages = None if k is None else [
            member_averages[name] for name in self.task_names
        ]
        if k is None:
            self.head = nn.Linear(trunk_width, sum(self.head_sizes))
        else:
            import tabm

            self.head = tabm.LinearEnsemble(trunk_width, sum(self.head_sizes), k=k)
        starts = [0]
        for size in self.head_sizes:
            starts.append(starts[-1] + size)
        self.head_slices = {
            name: slice(a, b) for name, a, b in zip(self.task_names, starts, starts[1:])
        }

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        if self.input_dropout is not None:
            x = self.input_dropout(x)
        h = self.trunk(x)
        wide = None if self.wide is None else self.wide(x)
        if isinstance(h, dict):  # one representation per task: each task's rows of the head
            weight, bias = self.head.weight, self.head.bias
            out = {
                name: F.linear(h[name], weight[rows], bias[rows])
                for name, rows in self.head_slices.items()
            }
            if wide is not None:
                out = {name: o + wide[:, self.head_slices[name]] for name, o in out.items()}
            return out
        z = self.head(h)
        if wide is not None:
            z = z + (wide if z.ndim == 2 else wide.unsqueeze(1))
        out = dict(zip(self.task_names, torch.split(z, self.head_sizes, dim=-1)))
        if self.member_averages is None or self.training or self.member_outputs:
            return out
        return {name: average_members(o, how)
                for (name, o), how in zip(out.items(), self.member_averages)}
