"""A trunk that also reads a task-weight vector (weight-conditioned networks, pure torch)."""

from __future__ import annotations

import copy
import itertools

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._trunks import RowwiseLinear, rowwise_linear

__all__ = ["ConditionedTrunk", "FiLMLinear", "MixedLinear"]


def _film(film: nn.Linear, c: Tensor, h: Tensor) -> Tensor:
    """``h * (1 + gamma(c)) + beta(c)``; ``h`` of ``(n, width)`` or ``(n, k, width)``."""
    gamma, beta = film(c).chunk(2, dim=-1)
    if h.ndim == 3 and gamma.ndim == 2:  # (n, k, width): one output per ensemble member
        gamma, beta = gamma.unsqueeze(1), beta.unsqueeze(1)
    return h * (1 + gamma) + beta


def _zero_film(n_conditions: int, width: int) -> nn.Linear:
    film = nn.Linear(n_conditions, 2 * width)
    nn.init.zeros_(film.weight)
    nn.init.zeros_(film.bias)
    return film


class FiLMLinear(nn.Module):
    """A linear layer (``nn.Linear`` or TabM's ``LinearBatchEnsemble``) whose output is
    scaled and shifted by the condition ``c``: ``linear(x) * (1 + gamma(c)) + beta(c)``, with
    ``gamma`` and ``beta`` linear in ``c`` and zero at start. :class:`ConditionedTrunk`
    (``layers="all"``) puts one in place of every linear layer of the trunk and sets
    :attr:`c` before each forward pass."""

    def __init__(self, linear: nn.Module, n_conditions: int) -> None:
        super().__init__()
        self.linear = linear
        self.film = _zero_film(n_conditions, linear.out_features)
        self.out_features = linear.out_features
        self.c: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        h = self.linear(x)
        return h if self.c is None else _film(self.film, self.c, h)


class MixedLinear(nn.Module):
    """``n_conditions`` copies of a linear layer mixed by the condition ``c``: the layer
    whose every parameter is ``sum_t c_t theta_t`` (Pareto Manifold Learning, Dimitriadis
    et al., ICML 2023: a line, or simplex, of networks between one member per task), called
    once per block of consecutive rows that share ``c`` (up to 16 blocks). For a batch
    with more blocks (a ``c`` per row), the members' outputs are mixed instead,
    ``sum_t c_t layer_t(x)`` (the same for ``nn.Linear``, a cheaper stand-in for TabM's
    ``LinearBatchEnsemble``). The first copy is the layer given; the others are
    re-initialised. :class:`ConditionedTrunk` (``mode="members"``) sets :attr:`c` before
    each forward pass."""

    def __init__(self, linear: nn.Module, n_conditions: int) -> None:
        super().__init__()
        copies = [linear]
        for _ in range(n_conditions - 1):
            other = copy.deepcopy(linear)
            for m in other.modules():
                if hasattr(m, "reset_parameters"):
                    m.reset_parameters()
            copies.append(other)
        self.members = nn.ModuleList(copies)
        self.out_features = linear.out_features
        self.c: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:
        c = self.c
        if c is None:
            c = torch.full((len(self.members),), 1.0 / len(self.members), device=x.device)
        c = c.to(x.dtype)
        if c.ndim == 1:  # one network for all rows: mix the weights, one layer call
            return self._mixed_call(c, x)
        # A few vectors per batch come in contiguous blocks of rows (WeightConditioning's
        # draws): a call per block on a slice of the rows, no gather or scatter.
        starts = torch.nonzero((c[1:] != c[:-1]).any(-1)).flatten()
        if len(starts) < _MAX_MIXED_CALLS:
            bounds = [0, *(starts + 1).tolist(), x.shape[0]]
            return torch.cat([self._mixed_call(c[a], x[a:b])
                              for a, b in itertools.pairwise(bounds)])
        outs = torch.stack([m(x) for m in self.members], dim=-1)  # (..., out, T)
        c = c.reshape(c.shape[0], *([1] * (outs.ndim - 2)), c.shape[1])
        return (outs * c).sum(-1)

    def _mixed_call(self, c: Tensor, x: Tensor) -> Tensor:
        """The layer whose every parameter is the ``c``-mix of the members'."""
        first = self.members[0]

        def mix(name: str) -> Tensor | None:
            params = [getattr(m, name) for m in self.members]
            if params[0] is None:
                return None
            total = c[0] * params[0]
            for weight, param in zip(c[1:], params[1:]):
                total = total + weight * param
            return total

        if type(first) is nn.Linear:
            return F.linear(x, mix("weight"), mix("bias"))
        if type(first) is RowwiseLinear:
            return rowwise_linear(x, mix("weight"), mix("bias"))
        # TabM's LinearBatchEnsemble: ((x * r) @ W^T) * s + bias (BatchEnsemble, eq. 5).
        out = (x * mix("r")) @ mix("weight").T * mix("s")
        bias = mix("bias")
        return out if bias is None else out + bias


#: Up to this many blocks of rows sharing a condition vector in a batch, :class:`MixedLinear`
#: mixes the weights and calls the layer once per block; beyond, it mixes the members' outputs.
_MAX_MIXED_CALLS = 16


def _is_linear(module: nn.Module) -> bool:
    """A plain ``nn.Linear`` (or its :class:`RowwiseLinear` form, the experts' gates) or
    TabM's ``LinearBatchEnsemble`` (``(n, k, in) -> (n, k, out)``): the layers whose outputs
    :class:`FiLMLinear` conditions."""
    if type(module) in (nn.Linear, RowwiseLinear):
        return True
    return type(module).__name__ == "LinearBatchEnsemble" and hasattr(module, "out_features")


def _wrap_linears(module: nn.Module, n_conditions: int, wrapper: type) -> int:
    """Put a ``wrapper`` (:class:`FiLMLinear`, :class:`MixedLinear`) in place of every
    linear layer below ``module``."""
    count = 0
    for name, child in module.named_children():
        if _is_linear(child):
            setattr(module, name, wrapper(child, n_conditions))
            count += 1
        elif not isinstance(child, (FiLMLinear, MixedLinear)):
            count += _wrap_linears(child, n_conditions, wrapper)
    return count


class ConditionedTrunk(nn.Module):
    """Wrap a trunk so that its output depends on a condition vector ``c`` of ``n_conditions``.

    ``mode="film"``: ``h * (1 + gamma(c)) + beta(c)`` on the trunk's output (each output of a
    trunk returning a dict), with ``gamma`` and ``beta`` linear and zero at start, so the
    wrapped trunk starts as it was; with ``layers="all"`` also on the output of every
    linear layer inside the trunk (before its activation). ``mode="input"``: ``c`` is
    appended to the input columns (the trunk must take ``n_features + n_conditions``
    columns). ``c`` is set with :meth:`set_condition`: one vector for every row, or one row
    per input row.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import ConditionedTrunk, MLPTrunk
    >>> trunk = ConditionedTrunk(MLPTrunk(3, (4,)), width=4, n_conditions=2, layers="all")
    >>> trunk.set_condition(torch.tensor([0.3, 0.7]))
    >>> trunk(torch.zeros(5, 3)).shape
    torch.Size([5, 4])
    """

    def __init__(self, trunk: nn.Module, width: int, n_conditions: int, mode: str = "film",
                 layers: str = "last"):
        super().__init__()
        self.trunk = trunk
        self.mode = mode
        self.layers = layers
        self.register_buffer("condition", torch.full((n_conditions,), 1.0 / n_conditions))
        if mode == "film":
            self.film = _zero_film(n_conditions, width)
            if layers == "all":
                _wrap_linears(self.trunk, n_conditions, FiLMLinear)
        elif mode == "members":
            _wrap_linears(self.trunk, n_conditions, MixedLinear)
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
        """The wrapped trunk's shared parameters (all of them unless it says; the FiLM
        layers inside it go with the layer they condition) and the output conditioning's."""
        inner = getattr(self.trunk, "shared_parameters", self.trunk.parameters)
        film = list(self.film.parameters()) if self.mode == "film" else []
        return [*inner(), *film]

    def shared_output_parameters(self) -> list[nn.Parameter]:
        """The wrapped trunk's last shared weight matrices (its own
        ``shared_output_parameters()`` where it has them, else its last weight matrix, the
        conditioning layers left out): what GradNorm measures."""
        if hasattr(self.trunk, "shared_output_parameters"):
            return list(self.trunk.shared_output_parameters())
        films = {id(p) for m in self._inner_films() if isinstance(m, FiLMLinear)
                 for p in m.film.parameters()}
        weights = [p for p in self.trunk.parameters() if p.ndim >= 2 and id(p) not in films]
        return weights[-1:]

    def _inner_films(self) -> list[nn.Module]:
        return [m for m in self.trunk.modules() if isinstance(m, (FiLMLinear, MixedLinear))]

    def _current(self) -> Tensor:
        rows = getattr(self, "rows", None)
        return self.condition if rows is None else rows

    def forward(self, x):
        c = self._current()
        if self.mode == "input":
            c = c.expand(x.shape[0], -1) if c.ndim == 1 else c
            return self.trunk(torch.cat([x, c], dim=1))
        inner = self._inner_films()
        for m in inner:
            m.c = c
        try:
            h = self.trunk(x)
        finally:
            for m in inner:
                m.c = None
        if self.mode != "film":
            return h
        if isinstance(h, dict):
            return {k: _film(self.film, c, v) for k, v in h.items()}
        return _film(self.film, c, h)
