"""An efficient ensemble of MLP trunks in one forward pass (TabM, through the ``tabm`` package).

TabM (Gorishniy et al., ICLR 2025) trains ``k`` MLPs that share most of their weights
(BatchEnsemble: one shared weight matrix per layer, scaled per member) in one forward pass,
each member with its own loss, and averages their predictions. The layers are the authors'
own (``tabm.make_tabm_backbone``, ``tabm.LinearEnsemble``); this file only fits them into the
shared-trunk / one-head-per-task shape of :class:`MultiTaskModule`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._trunks import mlp_layers

__all__ = ["MEMBER_AVERAGES", "EnsembleMLPTrunk", "FrontScale", "PeriodicInput",
           "average_members"]


def _mean(out: Tensor) -> Tensor:
    return out.mean(dim=1)


def _sigmoid_mean(out: Tensor) -> Tensor:
    # The logit of the members' mean probability: decoding it gives that probability.
    p = torch.sigmoid(out).mean(dim=1).clamp(1e-7, 1 - 1e-7)
    return torch.log(p) - torch.log1p(-p)


def _softmax_mean(out: Tensor) -> Tensor:
    # The log of the members' mean probabilities: its softmax is that mean.
    return torch.logsumexp(torch.log_softmax(out, dim=-1), dim=1) - torch.log(
        torch.tensor(float(out.shape[1]), dtype=out.dtype, device=out.device)
    )


#: How the members' outputs ``(n, k, d)`` of a task become one output ``(n, d)``, by the
#: name a task gives (``Task.member_average``): so that the task's usual decoding of the one
#: output gives the mean of the members' predictions (mean value, mean probability).
MEMBER_AVERAGES = {"mean": _mean, "sigmoid": _sigmoid_mean, "softmax": _softmax_mean}


def average_members(out: Tensor, how: str) -> Tensor:
    """Average members' outputs ``(n, k, d)`` to ``(n, d)`` as ``MEMBER_AVERAGES[how]``."""
    return MEMBER_AVERAGES[how](out)


class EnsembleMLPTrunk(nn.Module):
    """``k`` MLP trunks sharing most weights (TabM's BatchEnsemble), in one forward pass.

    Maps ``(n, in_features)`` to ``(n, k, width)``: one representation per member. The
    layers are ``tabm.LinearBatchEnsemble`` (one weight matrix shared by the members, each
    member with its own input and output scalings and biases, the first scaling drawn as
    random signs and the others starting at one: TabM's initialisation), or
    ``tabm.LinearEnsemble`` for independent members; each followed by the activation and
    dropout, as :class:`MLPTrunk`.

    Parameters
    ----------
    in_features : int
        Width of the input.
    hidden_dims : sequence of int
        Width of each hidden layer; empty: each member reads the input as it is (its own
        linear heads then make it a linear model).
    activation : str or nn.Module class, default="relu"
        Non-linearity after each hidden layer.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    batch_norm : bool, default=False
        Batch normalisation per member (``tabm.BatchNorm1dEnsemble``) before each
        activation.
    k : int, default=8
        Number of members.
    shared : bool, default=True
        TabM's BatchEnsemble: the members share each layer's weight matrix. ``False``: fully
        independent members ("TabM-packed"), as members trained on different rows need, so
        that a member's held-out rows reach it through no shared weight.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import EnsembleMLPTrunk
    >>> trunk = EnsembleMLPTrunk(4, (16, 8), k=3)
    >>> trunk(torch.zeros(5, 4)).shape
    torch.Size([5, 3, 8])
    """

    def __init__(
        self,
        in_features: int,
        hidden_dims: Sequence[int],
        activation: str | type[nn.Module] = "relu",
        dropout: float = 0.0,
        k: int = 8,
        shared: bool = True,
        batch_norm: bool = False,
    ) -> None:
        import tabm

        super().__init__()
        dims = [int(d) for d in hidden_dims]
        self.k = int(k)
        self.view = tabm.EnsembleView(k=self.k)
        k = self.k

        def linear(i: int, width: int, dim: int) -> nn.Module:
            if not shared:
                return tabm.LinearEnsemble(width, dim, k=k)
            # TabM's initialisation: random signs for the first scaling, ones elsewhere.
            return tabm.LinearBatchEnsemble(
                width, dim, k=k, scaling_init=("random-signs", "ones") if i == 0 else "ones"
            )

        self.layers, self.out_features = mlp_layers(
            in_features, dims, activation, dropout, linear=linear,
            norm=(lambda dim: tabm.BatchNorm1dEnsemble(dim, k=k)) if batch_norm else None,
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(self.view(x))


class FrontScale(nn.Module):
    """A learned scale of every input column, in front of a trunk, at a multiple of the
    learning rate (RealMLP's front scale: Holzmüller et al., "Better by default: strong
    pre-tuned MLPs and boosted trees on tabular data", NeurIPS 2024, where it learns at 6
    times the rate).

    ``x * (lr_factor * weight)``, the weight starting at ``1 / lr_factor`` (so the scales
    start at 1): an optimizer that normalises its steps per parameter, as Adam does, then
    moves each scale ``lr_factor`` times faster than it would move the scale itself, so a
    column that does not help is turned down within the first epochs, as a tree ignores
    it. Maps ``(n, in_features)`` to ``(n, in_features)``.

    Parameters
    ----------
    in_features : int
        Width of the input.
    lr_factor : float, default=6.0
        The scales' learning-rate multiple.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import FrontScale
    >>> FrontScale(3)(torch.ones(2, 3))
    tensor([[1., 1., 1.],
            [1., 1., 1.]], grad_fn=<MulBackward0>)
    """

    def __init__(self, in_features: int, lr_factor: float = 6.0) -> None:
        super().__init__()
        self.lr_factor = float(lr_factor)
        self.weight = nn.Parameter(torch.full((int(in_features),), 1.0 / self.lr_factor))
        self.out_features = int(in_features)

    def forward(self, x: Tensor) -> Tensor:
        return x * (self.weight * self.lr_factor)


class PeriodicInput(nn.Module):
    """Periodic embeddings of every numeric input column, flattened (PLR, Gorishniy et al.,
    NeurIPS 2022, through the authors' ``rtdl_num_embeddings``), in front of a trunk.

    Maps ``(n, in_features)`` to ``(n, in_features * d_embedding)``.

    Parameters
    ----------
    in_features : int
        Width of the input.
    d_embedding : int, default=16
        Width of each column's embedding.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import PeriodicInput
    >>> PeriodicInput(3, d_embedding=4)(torch.zeros(2, 3)).shape
    torch.Size([2, 12])
    """

    def __init__(self, in_features: int, d_embedding: int = 16) -> None:
        import rtdl_num_embeddings

        super().__init__()
        self.embedding = rtdl_num_embeddings.PeriodicEmbeddings(
            in_features, d_embedding, lite=True
        )
        self.out_features = in_features * d_embedding

    def forward(self, x: Tensor) -> Tensor:
        return self.embedding(x).flatten(1)


class PiecewiseLinearInput(nn.Module):
    """Piecewise-linear embeddings of the first numeric input columns, flattened (PLE,
    Gorishniy et al., NeurIPS 2022, through the authors' ``rtdl_num_embeddings``; TabM's
    numeric embedding), the other columns passed on as they are.

    Maps ``(n, len(bins) + n_passed)`` to ``(n, len(bins) * d_embedding + n_passed)``.

    Parameters
    ----------
    bins : list of Tensor
        Bin edges of each embedded column, as ``rtdl_num_embeddings.compute_bins`` gives
        them (fitted on the training rows).
    n_passed : int, default=0
        Columns after the embedded ones that pass unchanged (retrieval features, weight
        conditions).
    d_embedding : int, default=16
        Width of each column's embedding.

    Examples
    --------
    >>> import torch
    >>> from rtdl_num_embeddings import compute_bins
    >>> from sk_mtl.modules import PiecewiseLinearInput
    >>> bins = compute_bins(torch.randn(100, 3), n_bins=4)
    >>> PiecewiseLinearInput(bins, n_passed=2, d_embedding=5)(torch.zeros(7, 5)).shape
    torch.Size([7, 17])
    """

    def __init__(self, bins: list[Tensor], n_passed: int = 0, d_embedding: int = 16) -> None:
        import rtdl_num_embeddings

        super().__init__()
        self.n_embedded = len(bins)
        with warnings.catch_warnings():
            # A column of one or two values has one bin: a min-max scaling, as meant.
            warnings.filterwarnings("ignore", message=".*has just two bin edges")
            self.embedding = rtdl_num_embeddings.PiecewiseLinearEmbeddings(
                bins, d_embedding, activation=False, version="B"
            )
        self.out_features = self.n_embedded * d_embedding + int(n_passed)

    def forward(self, x: Tensor) -> Tensor:
        embedded = self.embedding(x[:, : self.n_embedded]).flatten(1)
        return torch.cat([embedded, x[:, self.n_embedded:]], dim=1)
