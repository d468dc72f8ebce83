"""A trunk that also reads a task-weight vector (weight-conditioned networks, pure torch)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ConditionedTrunk"]


class ConditionedTrunk(nn.Module):
    """Wrap a trunk so that its output depends on a condition vector ``c`` of ``n_conditions``.

    ``mode="film"``: ``h * (1 + gamma(c)) + beta(c)`` on the trunk's output (each output of a
    trunk returning a dict), with ``gamma`` and ``beta`` linear and zero at start, so the
    wrapped trunk starts as it was. ``mode="input"``: ``c`` is appended to the input columns
    (the trunk must take ``n_features + n_conditions`` columns). ``c`` is set with
    :meth:`set_condition`: one vector for every row, or one row per input row.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import ConditionedTrunk, MLPTrunk
    >>> trunk = ConditionedTrunk(MLPTrunk(3, (4,)), width=4, n_conditions=2)
    >>> trunk.set_condition(torch.tensor([0.3, 0.7]))
    >>> trunk(torch.zeros(5, 3)).shape
    torch.Size([5, 4])
    """

    def __init__(self, trunk: nn.Module, width: int, n_conditions: int, mode: str = "film"):
        super().__init__()
        self.trunk = trunk
        self.mode = mode
        self.register_buffer("condition", torch.full((n_conditions,), 1.0 / n_conditions))
        if mode == "film":
            self.film = nn.Linear(n_conditions, 2 * width)
            nn.init.zeros_(self.film.weight)
            nn.init.zeros_(self.film.bias)
        self.out_features = getattr(trunk, "out_features", width)

    def set_condition(self, c: Tensor) -> None:
        """``c`` of shape ``(n_conditions,)`` for all rows, or ``(n_rows, n_conditions)``
        for the next batch only (training)."""
        if c.ndim == 2:
            self.rows = c.to(self.condition.device, self.condition.dtype)
        else:
            self.rows = None
            self.condition.copy_(c.to(self.condition.device, self.condition.dtype))

    def shared_parameters(self) -> list[nn.Parameter]:
        """The wrapped trunk's shared parameters (all of them unless it says) and the
        conditioning's own."""
        inner = getattr(self.trunk, "shared_parameters", self.trunk.parameters)
        film = list(self.film.parameters()) if self.mode == "film" else []
        return [*inner(), *film]

    def _current(self) -> Tensor:
        rows = getattr(self, "rows", None)
        return self.condition if rows is None else rows

    def _film(self, h: Tensor) -> Tensor:
        gamma, beta = self.film(self._current()).chunk(2, dim=-1)
        if h.ndim == 3 and gamma.ndim == 2:  # (n, k, width): one output per ensemble member
            gamma, beta = gamma.unsqueeze(1), beta.unsqueeze(1)
        return h * (1 + gamma) + beta

    def forward(self, x):
        if self.mode == "input":
            c = self._current()
            c = c.expand(x.shape[0], -1) if c.ndim == 1 else c
            return self.trunk(torch.cat([x, c], dim=1))
        h = self.trunk(x)
        if isinstance(h, dict):
            return {k: self._film(v) for k, v in h.items()}
        return self._film(h)
