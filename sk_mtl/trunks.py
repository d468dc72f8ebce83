"""Shared-trunk specifications for ``trunk=``: scikit-learn style objects that build modules.

A specification holds hyper-parameters (searchable as ``trunk__<param>``) and builds a fresh
torch module at each fit, once the number of features and the task names are known.
"""

from __future__ import annotations

from collections.abc import Sequence

from sklearn.base import BaseEstimator
from torch import nn

from ._registry import make_component
from .modules import MMoETrunk, PLETrunk

__all__ = ["PLE", "TRUNKS", "MMoE", "TrunkSpec", "make_trunk"]


class TrunkSpec(BaseEstimator):
    """Base of trunk specifications: :meth:`build` returns a fresh ``nn.Module``."""

    def build(self, n_features: int, task_names: Sequence[str]) -> nn.Module:
        """A new trunk for ``n_features`` inputs and the given tasks."""
        raise NotImplementedError


class MMoE(TrunkSpec):
    """Multi-gate mixture-of-experts trunk (Ma et al., KDD 2018).

    Experts are MLPs shared by all tasks; each task mixes them with its own softmax gate, so
    tasks that conflict can use different experts (soft parameter sharing).

    Parameters
    ----------
    n_experts : int, default=4
        Number of experts.
    expert_dims : tuple of int, default=(64,)
        Hidden widths of each expert.
    activation : str, default="relu"
        Non-linearity inside the experts.
    dropout : float, default=0.0
        Dropout inside the experts.

    Examples
    --------
    >>> from sk_mtl import MultiTaskNetRegressor
    >>> from sk_mtl.trunks import MMoE
    >>> net = MultiTaskNetRegressor(trunk=MMoE(n_experts=3, expert_dims=(16,)))
    >>> net.set_params(trunk__n_experts=6).trunk
    MMoE(expert_dims=(16,), n_experts=6)
    """

    def __init__(self, n_experts=4, expert_dims=(64,), activation="relu", dropout=0.0):
        self.n_experts = n_experts
        self.expert_dims = expert_dims
        self.activation = activation
        self.dropout = dropout

    def build(self, n_features: int, task_names: Sequence[str]) -> nn.Module:
        if not isinstance(self.n_experts, int) or self.n_experts < 1:
            raise ValueError(f"MMoE: n_experts must be a positive int, got {self.n_experts!r}.")
        return MMoETrunk(
            n_features, task_names, self.n_experts, _expert_dims(self.expert_dims, "MMoE"),
            self.activation, self.dropout,
        )


class PLE(TrunkSpec):
    """Progressive Layered Extraction trunk (Tang et al., RecSys 2020).

    Each level has experts of each task's own and experts all tasks share; each task's gate
    mixes its own and the shared experts, level after level
    (:class:`~sk_mtl.modules.PLETrunk`). Where tasks conflict, their own experts keep what
    sharing would spoil; gradient-level weightings (``"pcgrad"``, ``"mgda"``) then treat
    only the shared experts and gates as shared.

    Parameters
    ----------
    n_shared_experts : int, default=2
        Shared experts per level.
    n_task_experts : int, default=1
        Experts of each task per level.
    n_levels : int, default=2
        Extraction levels.
    expert_dims : tuple of int, default=(64,)
        Hidden widths of each expert.
    activation : str, default="relu"
        Non-linearity inside the experts.
    dropout : float, default=0.0
        Dropout inside the experts.

    Examples
    --------
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.trunks import PLE
    >>> net = MultiTaskNet(trunk=PLE(n_levels=1, expert_dims=(16,)))
    >>> net.set_params(trunk__n_task_experts=2).trunk
    PLE(expert_dims=(16,), n_levels=1, n_task_experts=2)
    """

    def __init__(self, n_shared_experts=2, n_task_experts=1, n_levels=2, expert_dims=(64,),
                 activation="relu", dropout=0.0):
        self.n_shared_experts = n_shared_experts
        self.n_task_experts = n_task_experts
        self.n_levels = n_levels
        self.expert_dims = expert_dims
        self.activation = activation
        self.dropout = dropout

    def build(self, n_features: int, task_names: Sequence[str]) -> nn.Module:
        for name in ("n_shared_experts", "n_task_experts", "n_levels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PLE: {name} must be a positive int, got {value!r}.")
        return PLETrunk(
            n_features, task_names, self.n_shared_experts, self.n_task_experts, self.n_levels,
            _expert_dims(self.expert_dims, "PLE"), self.activation, self.dropout,
        )


def _expert_dims(given, owner: str) -> tuple:
    dims = (given,) if isinstance(given, int) else tuple(given)
    if not dims or not all(isinstance(d, int) and d > 0 for d in dims):
        raise ValueError(f"{owner}: expert_dims must be positive ints, got {given!r}.")
    return dims


#: Names accepted by ``trunk=`` besides modules, callables and specifications.
TRUNKS: dict[str, type[TrunkSpec]] = {"mmoe": MMoE, "ple": PLE}


def make_trunk(spec: str | TrunkSpec) -> TrunkSpec:
    """A fresh trunk specification from a name in :data:`TRUNKS` or a (cloned) spec.

    Examples
    --------
    >>> from sk_mtl.trunks import MMoE, make_trunk
    >>> make_trunk("mmoe")
    MMoE()
    >>> make_trunk(MMoE(n_experts=2)).set_params(dropout=0.1)  # a copy: the given one is kept
    MMoE(dropout=0.1, n_experts=2)
    """
    # The names are looked up here for ``trunk=``, which also takes modules and callables
    # (the estimator builds those itself), so the messages list them too.
    return make_component(
        spec, TRUNKS, param="trunk", base=TrunkSpec,
        others=["a TrunkSpec", "an nn.Module", "a callable n_features -> nn.Module"],
    )
