"""Fusion of modality embeddings (pure torch) and the fusion networks built on them.

Every fusion module maps ``{modality: (n, d_m)}`` to ``(n, out_features)`` and creates all its
layers in ``__init__``. Missing modalities are handled before fusion: a row without modality
``m`` gets ``m``'s learned "missing" embedding in place of the encoder output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ._conditioning import ConditionedTrunk
from ._losses import symmetric_info_nce
from ._sparse import SparseLinear

__all__ = [
    "AttentionFusion",
    "ConcatFusion",
    "FusionTrunk",
    "GatedFusion",
    "LateFusionModule",
    "ModalityAligner",
    "ModalityDropout",
    "ModalityWeights",
    "SumFusion",
    "WeightedSumFusion",
    "WidePath",
    "set_fusion_weights",
]


class ModalityWeights(nn.Module):
    """The fusion weights ``w_m``, one per modality, fixed (a buffer) or learned (a parameter).

    Every fusion that reads ``fusion_weights`` holds one, so the weights in effect are found
    in the same place whatever the fusion (``weights``, in the order of ``names``). A
    network trained for every weight vector (fusion-weight conditioning) is given the
    weights to read by :meth:`set_weights`, one vector for all rows or one per row; the
    forward pass then returns ``(M,)`` or ``(n, M)``, and the fusions weigh each row by its
    own (:func:`set_fusion_weights` sets every holder of a network at once).
    """

    def __init__(self, weights: Mapping[str, float], learnable: bool = False) -> None:
        super().__init__()
        self.names = list(weights)
        w = torch.tensor([float(weights[m]) for m in self.names])
        if learnable:
            self.weights = nn.Parameter(w)
        else:
            self.register_buffer("weights", w)
        self.given: Tensor | None = None

    def set_weights(self, names: Sequence[str], weights: Tensor | None) -> None:
        """Read ``weights`` (its last dimension in the order of ``names``, which must hold
        every name of this holder; ``(M,)`` for all rows or ``(n, M)`` one row each) in
        place of ``weights``, until set to ``None``."""
        if weights is None:
            self.given = None
            return
        index = [list(names).index(m) for m in self.names]
        self.given = weights[..., index].to(self.weights.device, self.weights.dtype)

    def forward(self) -> Tensor:
        return self.weights if self.given is None else self.given


def _weight(w: Tensor, i: int) -> Tensor:
    """Modality ``i``'s weight in ``w``: a scalar, or a column ``(n, 1)`` of per-row ones."""
    return w[i] if w.ndim == 1 else w[:, i:i + 1]


def _modality_weights(names, weights, learnable) -> ModalityWeights:
    return ModalityWeights(
        {m: (1.0 if weights is None else weights[m]) for m in names}, learnable
    )


class ConcatFusion(nn.Module):
    """Concatenate the modality embeddings, each scaled by its weight:
    ``h = [w_1 h_1, ..., w_M h_M]`` (intermediate fusion; all weights 1 by default, a weight
    of 0 drops a modality)."""

    def __init__(self, in_dims: Mapping[str, int], weights: Mapping[str, float] | None = None,
                 learnable: bool = False) -> None:
        super().__init__()
        self.names = list(in_dims)
        self.modality_weights = _modality_weights(self.names, weights, learnable)
        self.out_features = sum(in_dims.values())

    def forward(self, hs: Mapping[str, Tensor]) -> Tensor:
        w = self.modality_weights()
        return torch.cat([_weight(w, i) * hs[m] for i, m in enumerate(self.names)], dim=1)


class SumFusion(nn.Module):
    """Weighted sum of the modality embeddings, ``h = sum_m w_m h_m``: with linear encoders
    this is early fusion (one linear layer over the concatenated raw inputs)."""

    def __init__(self, in_dims: Mapping[str, int], weights: Mapping[str, float] | None = None,
                 learnable: bool = False) -> None:
        super().__init__()
        if len(set(in_dims.values())) != 1:
            raise ValueError(f"SumFusion needs equal widths, got {dict(in_dims)}.")
        self.names = list(in_dims)
        self.modality_weights = _modality_weights(self.names, weights, learnable)
        self.out_features = next(iter(in_dims.values()))

    def forward(self, hs: Mapping[str, Tensor]) -> Tensor:
        w = self.modality_weights()
        return sum(_weight(w, i) * hs[m] for i, m in enumerate(self.names))


class _Projected(nn.Module):
    def __init__(self, in_dims: Mapping[str, int], dim: int) -> None:
        super().__init__()
        self.names = list(in_dims)
        self.proj = nn.ModuleList(nn.Linear(d, dim) for d in in_dims.values())
        self.out_features = dim

    def project(self, hs: Mapping[str, Tensor]) -> list[Tensor]:
        return [p(hs[m]) for m, p in zip(self.names, self.proj)]


class WeightedSumFusion(_Projected):
    """``h = sum_m w_m * proj_m(h_m)`` with weights ``w`` from ``fusion_weights``.

    Parameters
    ----------
    in_dims : mapping of str to int
        Embedding width of each modality.
    dim : int
        Common width after projection.
    weights : mapping of str to float
        ``w_m``; fixed unless ``learnable``.
    learnable : bool, default=False
        Train the weights (initialised at ``weights``) with the network.
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int, weights: Mapping[str, float],
                 learnable: bool = False) -> None:
        super().__init__(in_dims, dim)
        self.modality_weights = _modality_weights(self.names, weights, learnable)

    def forward(self, hs: Mapping[str, Tensor]) -> Tensor:
        w = self.modality_weights()
        return sum(_weight(w, i) * p for i, p in enumerate(self.project(hs)))


class AttentionFusion(_Projected):
    """Learned attention over modality embeddings: ``h = sum_m a_m proj_m(h_m)`` with
    ``a = softmax_m(v^T tanh(W proj_m(h_m)))`` per row."""

    def __init__(self, in_dims: Mapping[str, int], dim: int) -> None:
        super().__init__(in_dims, dim)
        self.score = nn.Sequential(nn.Linear(dim, dim), nn.Tanh(), nn.Linear(dim, 1))

    def forward(self, hs: Mapping[str, Tensor]) -> Tensor:
        return self._fuse(hs)[0]

    def row_weights(self, hs: Mapping[str, Tensor]) -> Tensor:
        """The attention ``a`` of each row on each modality, ``(n, M)``."""
        return self._fuse(hs)[1]

    def _fuse(self, hs):
        z = torch.stack(self.project(hs), dim=1)  # (n, M, d)
        a = torch.softmax(self.score(z), dim=1)  # (n, M, 1)
        return (a * z).sum(1), a.squeeze(2)


class GatedFusion(_Projected):
    """Gated multimodal unit (Arevalo et al., 2017) for any number of modalities:
    ``h = sum_m z_m * tanh(proj_m(h_m))`` with gates ``z = softmax_m(W_m [h_1, ..., h_M])``
    per feature."""

    def __init__(self, in_dims: Mapping[str, int], dim: int) -> None:
        super().__init__(in_dims, dim)
        self.gate = nn.Linear(sum(in_dims.values()), dim * len(in_dims))

    def forward(self, hs: Mapping[str, Tensor]) -> Tensor:
        return self._fuse(hs)[0]

    def row_weights(self, hs: Mapping[str, Tensor]) -> Tensor:
        """Each modality's share of the gates of each row (mean over features), ``(n, M)``."""
        return self._fuse(hs)[1]

    def _fuse(self, hs):
        h = torch.stack([torch.tanh(p) for p in self.project(hs)], dim=1)  # (n, M, d)
        joined = torch.cat([hs[m] for m in self.names], dim=1)
        z = torch.softmax(self.gate(joined).view(h.shape), dim=1)
        return (z * h).sum(1), z.mean(2)


class ModalityAligner(nn.Module):
    """Aligns modalities: a linear projection of each modality's embedding into a shared
    space, and the symmetric InfoNCE loss (:func:`symmetric_info_nce`) between every pair of
    modalities on the rows that have both, averaged over the pairs.

    Parameters
    ----------
    in_dims : mapping of str to int
        Embedding width of each modality aligned.
    dim : int
        Width of the shared space.
    temperature : float, default=0.1
        Temperature of the InfoNCE logits.
    """

    def __init__(self, in_dims: Mapping[str, int], dim: int, temperature: float = 0.1):
        super().__init__()
        self.names = list(in_dims)
        self.proj = nn.ModuleList(nn.Linear(d, dim) for d in in_dims.values())
        self.temperature = temperature

    def forward(self, hs: Mapping[str, Tensor], present: Mapping[str, Tensor | None]) -> Tensor:
        zs = [p(hs[m]) for m, p in zip(self.names, self.proj)]
        losses = []
        for i in range(len(zs)):
            for j in range(i + 1, len(zs)):
                both = _both(present[self.names[i]], present[self.names[j]])
                a, b = (zs[i], zs[j]) if both is None else (zs[i][both], zs[j][both])
                if len(a) >= 2:
                    losses.append(symmetric_info_nce(a, b, self.temperature))
        if not losses:  # no row with two modalities: nothing to align, no gradient
            return zs[0].sum() * 0.0
        return torch.stack(losses).mean()


def _both(p: Tensor | None, q: Tensor | None) -> Tensor | None:
    if p is None:
        return q
    return p if q is None else p & q


class Dropped(NamedTuple):
    """One modality of a training batch after :class:`ModalityDropout`: its ``values``, the
    ``present`` mask of the rows that keep it (what every prediction path reads) and the
    ``given`` mask of the rows that have it in the data (``None``: all), which the alignment
    loss reads."""

    values: object
    present: Tensor
    given: Tensor | None


class ModalityDropout(nn.Module):
    """Hides modalities of training rows, for every path of the network at once.

    In training, each modality a row has is hidden with probability ``p`` (a row keeps at
    least one of the modalities it has) by clearing its row in the ``present`` mask: the
    encoders' missing embedding then replaces it in the deep path, and the wide path
    (:class:`WidePath`) reads nothing of it, as for a row that lacks the modality. In
    evaluation, or with ``p=0``, the input goes through unchanged.

    Parameters
    ----------
    names : sequence of str
        The modalities, in the order their masks are drawn.
    p : float, default=0.0
        Probability of hiding a modality of a training row.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import ModalityDropout
    >>> drop = ModalityDropout(["text", "tab"], p=0.9).train()
    >>> x = {"text": (torch.zeros(4, 2), None), "tab": (torch.zeros(4, 3), None)}
    >>> _ = torch.manual_seed(0)
    >>> kept = torch.stack([drop(x)[m].present for m in ("text", "tab")], dim=1)
    >>> bool(kept.any(dim=1).all())  # every row keeps a modality
    True
    """

    def __init__(self, names: Sequence[str], p: float = 0.0) -> None:
        super().__init__()
        self.names = list(names)
        self.p = float(p)

    def forward(self, x: Mapping[str, tuple]) -> Mapping[str, tuple]:
        if not (self.training and self.p > 0):
            return x
        given = [x[m][1] for m in self.names]
        first = x[self.names[0]][0]
        n = first.shape[0] if hasattr(first, "shape") else len(first)
        device = next((g.device for g in given if g is not None), None)
        if device is None:
            device = first.device if isinstance(first, Tensor) else torch.device("cpu")
        full = torch.stack([
            torch.ones(n, dtype=torch.bool, device=device) if g is None else g.to(device)
            for g in given
        ], dim=1)
        kept = full & (torch.rand(full.shape, device=device) >= self.p)
        # A row must keep at least one of the modalities it has.
        lost = ~kept.any(dim=1) & full.any(dim=1)
        kept[lost] = full[lost]
        out = dict(x)
        for j, m in enumerate(self.names):
            out[m] = Dropped(x[m][0], kept[:, j], given[j])
        return out


class FusionTrunk(nn.Module):
    """Encoders, missing-modality embeddings, fusion, then a shared MLP.

    The input is ``{modality: (values, present)}``: ``present`` is a boolean mask of the rows
    that have the modality (``None``: all); a row without it gets the modality's learned
    "missing" embedding. Modality dropout happens in front of the trunk
    (:class:`ModalityDropout`, held by the network around it), so that it hides a modality
    from the wide path as well.

    Parameters
    ----------
    encoders : mapping of str to nn.Module
        One encoder per modality, each with an ``out_features`` width.
    fusion : nn.Module or None
        Maps ``{modality: (n, d_m)}`` to ``(n, fusion.out_features)``; ``None`` returns the
        per-modality representations ``{modality: mlp_m(h_m)}`` (late fusion, one MLP per
        modality).
    mlp : nn.Module or mapping of str to nn.Module
        The shared MLP after fusion, or one per modality when ``fusion`` is ``None``.
    aligner : ModalityAligner, optional
        When given and ``record_alignment`` is set (by the training loop), each forward
        pass leaves the alignment loss of the encoder outputs (rows that truly have both
        modalities, whether or not :class:`ModalityDropout` hid one) in
        ``alignment_loss_``.
    """

    def __init__(self, encoders: Mapping[str, nn.Module], fusion: nn.Module | None,
                 mlp: nn.Module | Mapping[str, nn.Module],
                 aligner: ModalityAligner | None = None):
        super().__init__()
        self.aligner = aligner
        self.record_alignment = False
        self.alignment_loss_ = None
        self.names = list(encoders)
        self.encoders = nn.ModuleList(encoders.values())
        self.missing = nn.ParameterList(
            nn.Parameter(torch.zeros(e.out_features)) for e in encoders.values()
        )
        self.fusion = fusion
        if fusion is None:
            self.mlps = nn.ModuleList(mlp[m] for m in self.names)
            self.out_features = next(iter(mlp.values())).out_features
        else:
            self.mlp = mlp
            self.out_features = mlp.out_features

    def condition_on_weights(self, layers: str = "last") -> None:
        """Make the shared MLP (each modality's MLP under late fusion) read the fusion
        weights: each is wrapped in a :class:`ConditionedTrunk` (FiLM, identity at start)
        whose condition is ``log(1 + w_m)`` of every modality of :attr:`names`, set by
        :meth:`set_weight_condition` (0 for a modality turned off). ``layers="all"`` also
        conditions every linear layer inside the MLP."""
        n = len(self.names)

        def wrap(mlp: nn.Module) -> ConditionedTrunk:
            return ConditionedTrunk(mlp, mlp.out_features, n, "film", layers)

        if self.fusion is None:
            self.mlps = nn.ModuleList(wrap(mlp) for mlp in self.mlps)
        else:
            self.mlp = wrap(self.mlp)

    def _conditioned_mlps(self) -> list[ConditionedTrunk]:
        mlps = list(self.mlps) if self.fusion is None else [self.mlp]
        return [mlp for mlp in mlps if isinstance(mlp, ConditionedTrunk)]

    def set_weight_condition(self, names: Sequence[str], weights: Tensor) -> None:
        """The fusion weights the conditioned MLPs read (:meth:`condition_on_weights`):
        ``weights`` in the order of ``names``, ``(M,)`` for all rows or ``(n, M)``."""
        mlps = self._conditioned_mlps()
        if not mlps:
            return
        index = [list(names).index(m) for m in self.names]
        condition = torch.log1p(weights[..., index])
        for mlp in mlps:
            mlp.set_condition(condition)

    def shared_output_parameters(self) -> list[nn.Parameter]:
        """The last shared weight matrices: the shared MLP's last layer (its experts' with an
        MMoE), or each modality's last MLP layer under late fusion."""
        mlps = list(self.mlps) if self.fusion is None else [self.mlp]
        out = []
        for mlp in mlps:
            if hasattr(mlp, "shared_output_parameters"):
                out += mlp.shared_output_parameters()
            else:
                weights = [p for p in mlp.parameters() if p.ndim >= 2]
                if weights:
                    out.append(weights[-1])
        return out

    def embed(self, x: Mapping[str, tuple]) -> dict[str, Tensor]:
        """The embedding of each modality, the "missing" one on rows without it."""
        hs, raw = {}, {}
        for m, encoder, missing in zip(self.names, self.encoders, self.missing):
            h = raw[m] = encoder(x[m][0])
            mask = x[m][1]
            if mask is not None:
                h = torch.where(mask.unsqueeze(1), h, missing.expand_as(h))
            hs[m] = h
        if self.aligner is not None and self.record_alignment:
            given = {m: x[m].given if isinstance(x[m], Dropped) else x[m][1]
                     for m in self.names}
            self.alignment_loss_ = self.aligner(raw, given)
        return hs

    def forward(self, x: Mapping[str, tuple]) -> Tensor | dict[str, Tensor]:
        hs = self.embed(x)
        if self.fusion is None:
            return {m: mlp(hs[m]) for m, mlp in zip(self.names, self.mlps)}
        return self.mlp(self.fusion(hs))


class WidePath(nn.Module):
    """The wide part of Wide & Deep (Cheng et al., 2016): a linear model of some modalities'
    raw sparse features (TF-IDF n-grams), straight into every task's outputs.

    ``forward`` takes the fusion input ``{modality: (values, present)}`` and returns
    ``(n, n_outputs)``, the sum over its modalities of ``x_m W_m`` on the rows where the
    modality is present (a row hidden by :class:`ModalityDropout` reads nothing of it, as
    a row without it); the weights start at zero,
    so the network starts as its deep part, and get sparse gradients. A sparse n-gram weight
    moves only on the batches whose texts hold that n-gram, so at the deep part's learning
    rate it stays near zero by the time early stopping ends the fit: ``lr_scale`` multiplies
    the learning rate of each modality's weights (see :meth:`scaled_parameters`).

    Parameters
    ----------
    in_features : mapping of str to int
        Width of each modality read.
    n_outputs : int
        Total output width of the task heads.
    lr_scale : mapping of str to float, optional
        Learning-rate multiple of each modality's weights (1 when left out).
    weights : mapping of str to float, optional
        Fusion weights that scale each modality's part, held in a :class:`ModalityWeights`
        (for a network conditioned on the fusion weights, whose rows each read their own);
        ``None``: each part as it is.
    """

    def __init__(self, in_features: Mapping[str, int], n_outputs: int,
                 lr_scale: Mapping[str, float] | None = None,
                 weights: Mapping[str, float] | None = None) -> None:
        super().__init__()
        self.modality_weights = None if weights is None else ModalityWeights(
            {m: weights[m] for m in in_features}
        )
        self.names = list(in_features)
        self.linears = nn.ModuleList(
            SparseLinear(n, n_outputs, sparse_grad=True) for n in in_features.values()
        )
        for linear in self.linears:
            nn.init.zeros_(linear.bag.weight)
            linear.bias.requires_grad_(False)  # the heads have biases
        self.lr_scale = [float((lr_scale or {}).get(m, 1.0)) for m in self.names]
        self.out_features = n_outputs

    def scaled_parameters(self) -> list[tuple[nn.Parameter, float]]:
        """Each weight matrix with the multiple of the learning rate it trains at."""
        return [(linear.bag.weight, s) for linear, s in zip(self.linears, self.lr_scale)]

    def forward(self, x: Mapping[str, tuple]) -> Tensor:
        w = None if self.modality_weights is None else self.modality_weights()
        out = 0
        for i, (m, linear) in enumerate(zip(self.names, self.linears)):
            z = linear(x[m][0])
            present = x[m][1]
            if present is not None:  # a row without the modality (or hidden) reads nothing
                z = z * present.unsqueeze(1).to(z.dtype)
            if w is not None:
                z = _weight(w, i) * z
            out = out + z
        return out


class LateFusionModule(nn.Module):
    """Decision-level fusion: a head per modality and task, outputs averaged with weights.

    ``out_t = sum_m w_m head_{m,t}(h_m) / sum_m w_m`` on the heads' raw outputs (logits for
    classification). ``trunk`` is a :class:`FusionTrunk` without fusion, so ``trunk`` and
    ``heads`` keep the meaning gradient-level weightings rely on (shared vs task-specific).
    ``input_dropout`` (a :class:`ModalityDropout`) hides modalities of training rows from
    the trunk and the wide path alike.
    """

    def __init__(self, trunk: FusionTrunk, head_sizes: Mapping[str, int],
                 weights: Mapping[str, float], learnable: bool = False,
                 wide: nn.Module | None = None,
                 input_dropout: nn.Module | None = None) -> None:
        super().__init__()
        self.input_dropout = input_dropout
        self.trunk = trunk
        self.wide = wide
        self.task_names = list(head_sizes)
        self.modalities = list(trunk.names)
        width = trunk.out_features
        self.heads = nn.ModuleList(
            nn.ModuleList(nn.Linear(width, size) for _ in self.modalities)
            for size in head_sizes.values()
        )
        self.modality_weights = ModalityWeights(
            {m: weights[m] for m in self.modalities}, learnable
        )

    def forward(self, x: Mapping[str, tuple]) -> dict[str, Tensor]:
        if self.input_dropout is not None:
            x = self.input_dropout(x)
        hs = self.trunk(x)
        w = self.modality_weights()
        w = w / w.sum(-1, keepdim=True)
        out = {
            task: sum(_weight(w, i) * head(hs[m])
                      for i, (m, head) in enumerate(zip(self.modalities, hd)))
            for task, hd in zip(self.task_names, self.heads)
        }
        if self.wide is None:
            return out
        wide = torch.split(self.wide(x), [h[0].out_features for h in self.heads], dim=1)
        return {task: o + z for (task, o), z in zip(out.items(), wide)}


def set_fusion_weights(module: nn.Module, names: Sequence[str], weights: Tensor | None) -> None:
    """Make every part of ``module`` that reads fusion weights read ``weights``: each
    :class:`ModalityWeights` (fusion layer, late fusion, a weighted :class:`WidePath`) and
    each :class:`FusionTrunk`'s conditioned MLPs (:meth:`FusionTrunk.condition_on_weights`).

    ``weights`` has its last dimension in the order of ``names``: ``(M,)`` for every row
    (validation, prediction) or ``(n, M)``, one vector per row of the next batch
    (training). ``None`` gives the holders back their own weights (the MLPs keep their last
    condition).

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.modules import ConcatFusion, set_fusion_weights
    >>> fusion = ConcatFusion({"a": 2, "b": 1})
    >>> hs = {"a": torch.ones(2, 2), "b": torch.ones(2, 1)}
    >>> set_fusion_weights(fusion, ["b", "a"], torch.tensor([[0.0, 1.0], [2.0, 3.0]]))
    >>> fusion(hs)
    tensor([[1., 1., 0.],
            [3., 3., 2.]])
    """
    for part in module.modules():
        if isinstance(part, ModalityWeights):
            part.set_weights(names, weights)
        elif isinstance(part, FusionTrunk) and weights is not None:
            part.set_weight_condition(names, weights)
