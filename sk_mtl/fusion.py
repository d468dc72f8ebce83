"""Fusion specifications for ``fusion=``: how a FusionNet joins its modalities.

A fusion specification is a small scikit-learn style object (hyper-parameters in
``__init__``, searchable as ``fusion__<param>``) that builds the whole network from the
modality encoders, the task heads' sizes and the shared MLP the estimator makes. It
declares whether it reads ``fusion_weights`` (a fixed or learned weight per modality); one
that does not refuses them. :data:`FUSIONS` maps the names accepted by ``fusion=`` to the
classes. Adding a fusion is one subclass of :class:`Fusion` and one row in :data:`FUSIONS`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import ClassVar

from sklearn.base import BaseEstimator
from torch import nn

from ._registry import make_component
from .modules import (
    AttentionFusion,
    ConcatFusion,
    FusionTrunk,
    GatedFusion,
    LateFusionModule,
    ModalityDropout,
    MultiTaskModule,
    SumFusion,
    WeightedSumFusion,
)

__all__ = [
    "FUSIONS",
    "Attention",
    "Concat",
    "Early",
    "Fusion",
    "Gated",
    "Late",
    "WeightedSum",
    "make_fusion",
]


class Fusion(BaseEstimator):
    """Base of fusion specifications: :meth:`build` returns the untrained network.

    Class attributes say what the estimator must give it: ``reads_weights`` (whether
    ``fusion_weights`` mean anything to it), ``linear_encoders`` (raw inputs projected
    linearly instead of encoded), ``mlp_per_modality`` (one shared MLP per modality rather
    than one after fusion).
    """

    reads_weights: ClassVar[bool] = True
    linear_encoders: ClassVar[bool] = False
    mlp_per_modality: ClassVar[bool] = False

    def encoder_width(self, encoder_dim: int, fusion_dim: int) -> int:
        """Output width the encoders are built with."""
        return encoder_dim

    def build(self, encoders: Mapping[str, nn.Module], head_sizes: Mapping[str, int],
              make_mlp: Callable[[int], nn.Module], *, weights: Mapping[str, float],
              learn_weights: bool, fusion_dim: int, modality_dropout: float,
              wide: nn.Module | None = None, aligner: nn.Module | None = None) -> nn.Module:
        """The network: ``encoders`` (one per modality, each with ``out_features``), joined,
        then ``make_mlp(width)`` (the shared MLP over ``width`` inputs, with
        ``out_features``), then one head per task of ``head_sizes``.

        ``weights`` are the fusion weights of every modality (initial values when
        ``learn_weights``); ``fusion_dim`` is the estimator's projection width, which the
        spec's own ``dim`` overrides. ``wide``, when given, maps the input to every task's
        outputs and is added to the heads' (Wide & Deep); ``aligner``, when given, is the
        :class:`~sk_mtl.modules.ModalityAligner` of the encoders' outputs.
        ``modality_dropout`` > 0 puts a :class:`~sk_mtl.modules.ModalityDropout` in front of
        the trunk and the wide path, so a modality hidden from a training row is hidden
        from both.
        """
        in_dims = {m: e.out_features for m, e in encoders.items()}
        layer = self.layer(in_dims, self._dim(fusion_dim), weights, learn_weights)
        trunk = FusionTrunk(encoders, layer, make_mlp(layer.out_features), aligner)
        return MultiTaskModule(trunk, trunk.out_features, head_sizes, wide,
                               input_dropout=_dropout(encoders, modality_dropout))

    def layer(self, in_dims: Mapping[str, int], dim: int, weights: Mapping[str, float],
              learn_weights: bool) -> nn.Module:
        """The fusion layer: ``{modality: (n, in_dims[m])}`` to ``(n, out_features)``."""
        raise NotImplementedError

    def _dim(self, fusion_dim: int) -> int:
        dim = getattr(self, "dim", None)
        if dim is None:
            return fusion_dim
        if not isinstance(dim, numbers.Integral) or isinstance(dim, bool) or dim < 1:
            raise ValueError(f"{type(self).__name__}: dim must be a positive int, got {dim!r}.")
        return int(dim)


class _Projecting(Fusion):
    """A fusion with projections to a common width ``dim`` (``None``: ``fusion_dim``)."""

    def __init__(self, dim=None):
        self.dim = dim


class Concat(Fusion):
    """Intermediate fusion: the modality embeddings, each times its fusion weight,
    concatenated: ``h = [w_1 h_1, ..., w_M h_M]``."""

    def layer(self, in_dims, dim, weights, learn_weights):
        return ConcatFusion(in_dims, weights, learn_weights)


class Early(_Projecting):
    """Early fusion: ``h = sum_m w_m W_m x_m``, one linear layer over the joined raw inputs
    (tables, TF-IDF text, pixels; categories and token encoders keep their embeddings),
    before the shared MLP.

    Parameters
    ----------
    dim : int, default=None
        Width of the projections (``fusion_dim``).
    """

    linear_encoders = True

    def encoder_width(self, encoder_dim, fusion_dim):
        return self._dim(fusion_dim)

    def layer(self, in_dims, dim, weights, learn_weights):
        return SumFusion(in_dims, weights, learn_weights)


class WeightedSum(_Projecting):
    """``h = sum_m w_m proj_m(h_m)``: projections to a common width, summed with the fusion
    weights.

    Parameters
    ----------
    dim : int, default=None
        Width of the projections (``fusion_dim``).
    """

    def layer(self, in_dims, dim, weights, learn_weights):
        return WeightedSumFusion(in_dims, dim, weights, learn_weights)


class _LearnedWeights(_Projecting):
    """A projecting fusion that weighs the modalities itself, row by row: ``fusion_weights``
    mean nothing to it and are refused; after fit ``fusion_weights_`` is the mean over the
    training rows of its layer's ``row_weights``."""

    reads_weights = False
    #: The torch fusion layer, built as ``torch_layer(in_dims, dim)``.
    torch_layer: ClassVar[type[nn.Module]]

    def layer(self, in_dims, dim, weights, learn_weights):
        return self.torch_layer(in_dims, dim)


class Attention(_LearnedWeights):
    """Learned attention over the projected embeddings, per row: ``h = sum_m a_m
    proj_m(h_m)``. It learns its own weights, so it refuses ``fusion_weights``; after fit
    ``fusion_weights_`` holds the mean attention over the training rows.

    Parameters
    ----------
    dim : int, default=None
        Width of the projections and of the attention scorer's hidden layer
        (``fusion_dim``).
    """

    torch_layer = AttentionFusion


class Gated(_LearnedWeights):
    """Gated multimodal unit (Arevalo et al., 2017): per-feature softmax gates over the
    modalities. It learns its own weights, so it refuses ``fusion_weights``; after fit
    ``fusion_weights_`` holds each modality's mean gate over the training rows.

    Parameters
    ----------
    dim : int, default=None
        Width of the projections; each of their features has its own gates (``fusion_dim``).
    """

    torch_layer = GatedFusion


class Late(Fusion):
    """Decision-level fusion: each modality gets its own MLP and heads; the outputs are
    averaged with the fusion weights, ``out_t = sum_m w_m head_{m,t}(h_m) / sum_m w_m``."""

    mlp_per_modality = True

    def build(self, encoders, head_sizes, make_mlp, *, weights, learn_weights, fusion_dim,
              modality_dropout, wide=None, aligner=None):
        mlps = {m: make_mlp(e.out_features) for m, e in encoders.items()}
        trunk = FusionTrunk(encoders, None, mlps, aligner)
        return LateFusionModule(trunk, head_sizes, weights, learn_weights, wide,
                                input_dropout=_dropout(encoders, modality_dropout))


def _dropout(encoders: Mapping[str, nn.Module], p: float) -> ModalityDropout | None:
    """The modality dropout in front of every path of the network (none when ``p`` is 0)."""
    return ModalityDropout(list(encoders), p) if p > 0 else None


#: Names accepted by ``fusion=``.
FUSIONS: dict[str, type[Fusion]] = {
    "attention": Attention,
    "concat": Concat,
    "early": Early,
    "gated": Gated,
    "late": Late,
    "weighted_sum": WeightedSum,
}


def make_fusion(spec) -> Fusion:
    """A fresh fusion specification from a name in :data:`FUSIONS` or a (cloned) spec.

    Examples
    --------
    >>> from sk_mtl.fusion import Early, make_fusion
    >>> make_fusion("weighted_sum")
    WeightedSum()
    >>> make_fusion(Early(dim=16))
    Early(dim=16)
    """
    return make_component(spec, FUSIONS, param="fusion", base=Fusion,
                          others=["an sk_mtl.fusion.Fusion"])
