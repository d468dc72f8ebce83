"""Fusion specifications for ``fusion=``: how a FusionNet joins its modalities.

A fusion specification is a small scikit-learn style object (hyper-parameters in
``__init__``, searchable as ``fusion__<param>``) that builds the whole network from the
modality encoders, the task heads' sizes and the shared MLP the estimator makes. It
declares whether it reads ``fusion_weights`` (a fixed or learned weight per modality); one
that does not refuses them. :data:`FUSIONS` maps the names accepted by ``fusion=`` to the
classes. Adding a fusion is one subclass of :class:`Fusion` and one row in :data:`FUSIONS`.

A fusion-weight conditioning (``fusion_conditioning=``, :class:`FusionConditioning`) trains
one network for every ``fusion_weights`` vector: each training row draws its own weights,
which the fusion applies and the shared MLP reads; :data:`FUSION_CONDITIONINGS` maps its
names to the classes.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import torch
from sklearn.base import BaseEstimator
from torch import Tensor, nn

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
    "FUSION_CONDITIONINGS",
    "Attention",
    "Concat",
    "Early",
    "Fusion",
    "FusionConditioning",
    "Gated",
    "Late",
    "LogUniformWeights",
    "WeightedSum",
    "make_fusion",
    "make_fusion_conditioning",
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


# ------------------------------------------------------------------ fusion-weight conditioning
#: Where the shared MLP reads the fusion weights: its output, or also every linear layer.
CONDITIONING_LAYERS = ("last", "all")


class FusionConditioning(BaseEstimator):
    """Base of fusion-weight conditionings: one network trained for every ``fusion_weights``.

    In training each row draws its own fusion weights (:meth:`sample`, then each modality
    turned off, weight 0, with probability ``p_off``; a row keeps at least one modality).
    The fusion weighs the row's modalities with them (and a text modality's wide path,
    when it has one), and the shared MLP after the fusion (each modality's MLP under
    ``"late"`` fusion) reads them through FiLM (Perez et al., AAAI 2018): its output is
    ``h * (1 + gamma(c)) + beta(c)`` with ``c_m = log(1 + w_m)`` and ``gamma``, ``beta``
    linear and zero at start, as :class:`sk_mtl.modules.ConditionedTrunk` does for task
    weights (YOTO, Dosovitskiy & Djolonga, ICLR 2020). Validation, early stopping and
    prediction read the estimator's ``fusion_weights``, so ``set_params(fusion_weights=...)``
    changes what ``predict`` returns without refitting, and
    :class:`sk_mtl.model_selection.FusionWeightSearchCV` scores a grid of fusion weights on
    one fit per fold. The retrieval modality keeps its weight (1.0).

    A subclass gives :meth:`sample` and :meth:`covers`.

    Parameters
    ----------
    p_off : float, default=0.1
        Probability that a training row turns a modality off (weight 0), so that the
        network learns to predict without it.
    layers : {"last", "all"}, default="last"
        Where the MLP reads the weights: its output (``"last"``), or also the output of
        every linear layer inside it (``"all"``).
    """

    def __init__(self, p_off=0.1, layers="last"):
        self.p_off = p_off
        self.layers = layers

    def check(self) -> None:
        """Check the parameters; each error names ``fusion_conditioning__<param>``."""
        p = self.p_off
        if not (isinstance(p, numbers.Real) and not isinstance(p, bool) and 0 <= p < 1):
            raise ValueError(f"fusion_conditioning__p_off must be in [0, 1), got {p!r}.")
        if self.layers not in CONDITIONING_LAYERS:
            raise ValueError(
                f"fusion_conditioning__layers={self.layers!r} is not known; use one of "
                f"{list(CONDITIONING_LAYERS)}."
            )

    def sample(self, n_rows: int, n_modalities: int) -> Tensor:
        """Weights ``(n_rows, n_modalities)`` before any is turned off (torch's global
        generator)."""
        raise NotImplementedError

    def covers(self, weight: float) -> bool:
        """Whether training draws ``weight`` (0 when ``p_off > 0``, else within the
        distribution's range): a vector outside is extrapolation."""
        raise NotImplementedError

    def bind(self, names: Sequence[str], drawn: Sequence[str],
             weights: Mapping[str, float]) -> None:
        """Bind to the network's modalities ``names`` (the fusion's order), of which those
        in ``drawn`` draw their weights in training; ``weights`` are the estimator's
        ``fusion_weights`` at fit (every name), which validation reads."""
        self.check()
        self.names_ = list(names)
        self.drawn_ = [self.names_.index(m) for m in drawn]
        self.weights_ = {m: float(weights[m]) for m in self.names_}

    def target(self, weights: Mapping[str, float] | None = None) -> Tensor:
        """``(M,)``: ``weights`` (the bound ones by default; a name left out keeps its bound
        weight) in the order of ``names_``."""
        given = {**self.weights_, **(weights or {})}
        return torch.tensor([float(given[m]) for m in self.names_], dtype=torch.float32)

    def draw(self, n_rows: int) -> Tensor:
        """One weight vector per row of the next training batch, ``(n_rows, M)``: the
        drawn modalities' from :meth:`sample` (some turned off), the others' as bound."""
        k = len(self.drawn_)
        w = self.sample(n_rows, k)
        if self.p_off > 0:
            off = torch.rand(n_rows, k) < self.p_off
            off[off.all(dim=1)] = False  # a row keeps at least one modality
            w = w.masked_fill(off, 0.0)
        out = self.target().expand(n_rows, -1).clone()
        out[:, self.drawn_] = w
        return out

    def outside(self, weights: Mapping[str, float]) -> list[str]:
        """The modalities of ``weights`` whose weight training does not draw."""
        return [m for m, w in weights.items() if not self.covers(float(w))]


class LogUniformWeights(FusionConditioning):
    """Fusion-weight conditioning with each modality's weight log-uniform in
    ``[low, high]``, independently, and 0 with probability ``p_off``.

    See :class:`FusionConditioning` for how the network is trained and read. The default
    range, 1/8 to 8, holds every ratio between two modalities' weights from 1/64 to 64.

    Parameters
    ----------
    low, high : float, default=0.125, 8.0
        Range of the weights drawn (``0 < low <= high``).
    p_off : float, default=0.1
        Probability that a training row turns a modality off (weight 0).
    layers : {"last", "all"}, default="last"
        Where the MLP reads the weights: its output, or also every linear layer inside it.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import FusionNetRegressor
    >>> rng = np.random.RandomState(0)
    >>> X = {"a": rng.normal(size=(200, 2)), "b": rng.normal(size=(200, 2))}
    >>> y = X["a"][:, 0] + X["b"][:, 0]
    >>> net = FusionNetRegressor(fusion_conditioning="log_uniform", max_epochs=5,
    ...                          retrieval=None, random_state=0).fit(X, y)
    >>> both = net.predict(X)
    >>> a_only = net.set_params(fusion_weights={"b": 0.0}).predict(X)  # no refit
    >>> bool(np.any(both != a_only))
    True
    """

    def __init__(self, low=0.125, high=8.0, p_off=0.1, layers="last"):
        super().__init__(p_off=p_off, layers=layers)
        self.low = low
        self.high = high

    def check(self) -> None:
        super().check()
        low, high = self.low, self.high
        for name, value in (("low", low), ("high", high)):
            if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
                    and math.isfinite(value) and value > 0):
                raise ValueError(
                    f"fusion_conditioning__{name} must be a finite number > 0, got {value!r}."
                )
        if low > high:
            raise ValueError(
                f"fusion_conditioning__low={low!r} is above fusion_conditioning__high="
                f"{high!r}."
            )

    def sample(self, n_rows, n_modalities):
        a, b = math.log(self.low), math.log(self.high)
        return torch.exp(a + (b - a) * torch.rand(n_rows, n_modalities))

    def covers(self, weight):
        if weight == 0:
            return self.p_off > 0
        return self.low * (1 - 1e-9) <= weight <= self.high * (1 + 1e-9)


#: Names accepted by ``fusion_conditioning=``.
FUSION_CONDITIONINGS: dict[str, type[FusionConditioning]] = {
    "log_uniform": LogUniformWeights,
}


def make_fusion_conditioning(spec) -> FusionConditioning | None:
    """``None``, or a fresh fusion-weight conditioning from a name in
    :data:`FUSION_CONDITIONINGS` or a (cloned) :class:`FusionConditioning`.

    Examples
    --------
    >>> from sk_mtl.fusion import make_fusion_conditioning
    >>> make_fusion_conditioning("log_uniform")
    LogUniformWeights()
    >>> make_fusion_conditioning(None) is None
    True
    """
    if spec is None:
        return None
    return make_component(spec, FUSION_CONDITIONINGS, param="fusion_conditioning",
                          base=FusionConditioning,
                          others=["an sk_mtl.fusion.FusionConditioning", "None"])
