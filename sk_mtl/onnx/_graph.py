"""A fitted estimator's whole prediction as one pure-torch module, for the ONNX exporter.

:func:`serving_module` turns a fitted one-table ``MultiTaskNet*`` into an ``nn.Module`` that
maps the raw float32 input ``(n, n_features)`` to every task's outputs: the estimator's own
input scaling (quantiles, robust smooth clip, standard scaling), the retrieval features (the
stored training rows and labels as constants; distances, top-k and the weighted label means
as tensor operations), the trained network in evaluation mode (dropout off, ensemble members
averaged, a conditioned network at the current ``task_weights`` and ``fusion_weights``),
and each task's decoding: a label index and probabilities for classification, the value in
the original unit for regression. Only the mapping from label indices to labels (strings
stay strings) is left to the ONNX graph around it (:mod:`._convert`).

Every part is written with operations the exporter maps to standard ONNX operators
(no ``searchsorted``, no ``erfinv``); each is checked against its scikit-learn or numpy
counterpart in the tests.
"""

from __future__ import annotations

import copy

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from torch import Tensor, nn

from ..data import NeighbourTargets, QuantileRobust, RobustSmoothClip
from ..data._retrieval import _DISTANCE_EPS, RANK_QUANTUM
from ..exceptions import ExportError

__all__ = ["fusion_serving_module", "serving_module"]


# --------------------------------------------------------------------------- scalers
#: scikit-learn's ``BOUNDS_THRESHOLD`` of ``QuantileTransformer``.
_BOUNDS = 1e-7
_P_LOW = _BOUNDS - np.spacing(1)

# Acklam's rational approximation of the standard normal quantile function (relative error
# below 1.2e-9 over (0, 1): far below float32's resolution, which the network reads).
_A = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
      1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
_B = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
      6.680131188771972e01, -1.328068155288572e01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
      -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00,
      3.754408661907416e00)
_SPLIT = 0.02425


def _f64(value) -> Tensor:
    """A float64 constant. (The exporter writes a Python number in a float64 expression
    through float32: -39.69683028665376 would become -39.69683075.)"""
    return torch.as_tensor(value, dtype=torch.float64)


def _poly(coefs: Tensor, x: Tensor) -> Tensor:
    out = coefs[0] * torch.ones_like(x)
    for i in range(1, coefs.shape[0]):
        out = out * x + coefs[i]
    return out


class NormalQuantile(nn.Module):
    """The standard normal quantile function (``scipy.stats.norm.ppf``) of ``p`` in (0, 1),
    float64, with elementwise operations only (Acklam's approximation)."""

    def __init__(self) -> None:
        super().__init__()
        for name, coefs in zip("abcd", (_A, _B, _C, _D)):
            self.register_buffer(name, _f64(coefs))
        self.register_buffer("split", _f64(0.5 - _SPLIT))

    def forward(self, p: Tensor) -> Tensor:
        q = p - 0.5
        r = q * q
        central = q * _poly(self.a, r) / (_poly(self.b, r) * r + 1.0)
        t = torch.sqrt(-2.0 * torch.log(torch.where(q < 0, p, 1.0 - p)))
        tail = _poly(self.c, t) / (_poly(self.d, t) * t + 1.0)
        tail = torch.where(q < 0, tail, -tail)
        return torch.where(torch.abs(q) <= self.split, central, tail)


#: Relative distance (to the quantile's magnitude plus the column's range) within which an
#: input value counts as equal to a stored quantile.
SNAP = 1e-6
#: Relative gap below which neighbouring quantiles count as one repeated value.
_TIED = 1e-12
#: Quantiles looked at on each side of a value for one to snap to.
_WINDOW = 4
#: Quantiles per block of the two-level search (a few dozen comparisons per value instead
#: of one per quantile).
_BLOCK = 32


class QuantileNormal(nn.Module):
    """``QuantileTransformer(output_distribution="normal").transform``, float64.

    Each column's value is interpolated between its stored quantiles once from below and
    once from above (the two differ only at a repeated quantile) and the two are averaged,
    as scikit-learn does; the segment is found by counting the quantiles below the value
    (a sum of comparisons, where numpy uses a binary search).

    A quantile transform jumps at a repeated quantile (a value many rows share, as in an
    integer column; or equal values the percentile's interpolation left a rounding error
    apart) and at both ends: a value a rounding error off it lands on one side of the jump.
    Steps in front of it (a ``StandardScaler`` converted by skl2onnx computes in float32 with
    other roundings than scikit-learn) move values by such errors, so a value within
    ``SNAP`` of such a quantile is first set to it, rounded to float32 as the network's
    input values are (the value scikit-learn saw); the transform is continuous everywhere
    else, and values are left as they are there. The input must hold float32 values (in
    float64), as the estimators' input does.
    """

    def __init__(self, quantiles: np.ndarray, references: np.ndarray,
                 single: bool = False) -> None:
        super().__init__()
        #: Whether scikit-learn sees float32 input (a bare ``QuantileTransformer`` of the
        #: float32 table): its bound tests and interpolated probabilities are then rounded
        #: to float32, which matters at the largest quantile (``3 + 1e-7`` is ``3`` in
        #: float32, so the top value is interpolated instead of set to the bound).
        self.single = single
        q = np.ascontiguousarray(quantiles.T, dtype=np.float64)  # (F, n_q), sorted rows
        n_features, n_q = q.shape
        self.n_q = n_q
        # The sorted quantiles in blocks of _BLOCK (padded with +inf): the search compares
        # a value with the blocks' first quantiles, then with the quantiles of its block.
        n_blocks = -(-n_q // _BLOCK)
        padded = np.full((n_features, n_blocks * _BLOCK), np.inf)
        padded[:, :n_q] = q
        span = (q[:, -1] - q[:, 0])[:, None]
        self.register_buffer("starts", torch.as_tensor(padded[:, ::_BLOCK]))  # (F, n_blocks)
        self.register_buffer("padded", torch.as_tensor(padded.reshape(-1)))
        self.register_buffer("block", torch.arange(_BLOCK))
        self.register_buffer("padded_offsets", torch.arange(n_features) * n_blocks * _BLOCK)
        self.register_buffer("flat_q", torch.as_tensor(q.reshape(-1)))
        self.register_buffer("flat_r", torch.as_tensor(
            np.tile(np.asarray(references, dtype=np.float64), n_features)))
        # Only where the transform jumps: at a repeated quantile (equal ones, or equal but
        # for the percentile's interpolation error) and at both ends (the bound tests);
        # elsewhere it is continuous and a value is left as it is.
        scale = np.abs(q) + span
        tied = np.diff(q, axis=1) <= _TIED * scale[:, 1:]
        jumps = np.zeros_like(q, dtype=bool)
        jumps[:, :-1] |= tied
        jumps[:, 1:] |= tied
        jumps[:, [0, -1]] = True
        self.register_buffer("flat_snap", torch.as_tensor(np.where(jumps, SNAP * scale, 0.0)
                                                          .ravel()))
        self.register_buffer("offsets", torch.arange(n_features) * n_q)
        self.register_buffer("bounds", _f64([_BOUNDS, _P_LOW, 1.0 - _P_LOW]))
        self.register_buffer("eps32", torch.tensor(_BOUNDS, dtype=torch.float32))
        self.register_buffer("window", torch.arange(-_WINDOW, _WINDOW))
        self.register_buffer("far", _f64(np.inf))
        self.ppf = NormalQuantile()

    def _count(self, x: Tensor, strict: bool = False) -> Tensor:
        """How many of each column's quantiles are <= x (< x when ``strict``): ``(n, F)``
        int64."""
        xe = x.unsqueeze(-1)
        below = (self.starts < xe) if strict else (self.starts <= xe)
        block = (below.sum(-1) - 1).clamp_min(0)  # (n, F)
        first = block * _BLOCK
        inside = self.padded[(first + self.padded_offsets).unsqueeze(-1) + self.block]
        return first + ((inside < xe) if strict else (inside <= xe)).sum(-1)

    def _interp(self, x: Tensor, below: Tensor) -> Tensor:
        # below: (n, F) count of quantiles under x (<= or <): x lies in the segment that
        # starts at quantile below - 1; numpy.interp's end values outside them.
        j = (below - 1).clamp(0, self.n_q - 2) + self.offsets
        q0, q1 = self.flat_q[j], self.flat_q[j + 1]
        r0, r1 = self.flat_r[j], self.flat_r[j + 1]
        width = q1 - q0
        slope = torch.where(width > 0, (r1 - r0) / torch.where(width > 0, width, 1.0), 0.0)
        inside = r0 + (x - q0) * slope
        first, last = self.flat_r[self.offsets], self.flat_r[self.offsets + self.n_q - 1]
        inside = torch.where(below >= self.n_q, last, inside)
        return torch.where(below == 0, first, inside)

    def forward(self, x: Tensor) -> Tensor:
        c = self._count(x)
        # The quantiles a few places either side of x (interpolated quantiles can sit a
        # rounding error beside a repeated one); x snaps to the nearest within its reach.
        near = (c.unsqueeze(-1) + self.window).clamp(0, self.n_q - 1) + self.offsets[:, None]
        gap = (x.unsqueeze(-1) - self.flat_q[near]).abs()
        reach = gap <= self.flat_snap[near]
        pick = torch.where(reach, gap, self.far).argmin(-1, keepdim=True)
        j = torch.gather(near, -1, pick).squeeze(-1)
        # The network reads float32 columns, so the value the model saw there is the
        # quantile rounded to float32 (a data value, where the percentile's interpolation
        # may have left a rounding error).
        target = self.flat_q[j].to(torch.float32).to(torch.float64)
        x = torch.where(reach.any(-1), target, x)
        p = 0.5 * (self._interp(x, self._count(x)) + self._interp(x, self._count(x, True)))
        eps, p_lo, p_hi = self.bounds[0], self.bounds[1], self.bounds[2]
        above_x, below_x = x + eps, x - eps
        if self.single:
            p = p.to(torch.float32).to(torch.float64)
            x32 = x.to(torch.float32)
            above_x = (x32 + self.eps32).to(torch.float64)
            below_x = (x32 - self.eps32).to(torch.float64)
        p = torch.where(above_x > self.flat_q[self.offsets + self.n_q - 1], 1.0, p)
        p = torch.where(below_x < self.flat_q[self.offsets], 0.0, p)
        return self.ppf(torch.minimum(torch.maximum(p, p_lo), p_hi))


class Standard(nn.Module):
    """``(x - mean) / scale`` (``StandardScaler``, ``RobustSmoothClip`` before its clip)."""

    def __init__(self, mean, scale, clip: float | None = None, single: bool = False) -> None:
        super().__init__()
        #: Round to float32 after each step, as ``StandardScaler`` does on float32 input.
        self.single = single
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float64))
        self.register_buffer("clip", None if clip is None else _f64(clip))

    def forward(self, x: Tensor) -> Tensor:
        if self.single:
            z = (x - self.mean).to(torch.float32).to(torch.float64) / self.scale
            return z.to(torch.float32).to(torch.float64)
        z = (x - self.mean) / self.scale
        if self.clip is None:
            return z
        return z / torch.sqrt(1.0 + (z / self.clip) ** 2)


class Views(nn.Module):
    """Several scalings of the same columns side by side (``QuantileRobust``)."""

    def __init__(self, *views: nn.Module) -> None:
        super().__init__()
        self.views = nn.ModuleList(views)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([v(x) for v in self.views], dim=1)


class Levels(nn.Module):
    """The columns, then the one-hot levels of the few-valued ones (``QuantileRobust``'s
    ``levels_``: a value not among a column's levels is all zeros)."""

    def __init__(self, levels) -> None:
        super().__init__()
        columns = [j for j, values in levels for _ in values]
        self.register_buffer("columns", torch.as_tensor(columns, dtype=torch.int64))
        self.register_buffer("values", _f64(np.concatenate([v for _, v in levels])))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, (x[:, self.columns] == self.values).to(x.dtype)], dim=1)


def _quantile_robust(scaler: QuantileRobust, single: bool) -> nn.Module:
    # Float64 throughout: QuantileRobust hands its views float64 input.
    views = [_quantile(scaler.quantile_, False)]
    if scaler.robust_ is not None:
        views.append(_robust(scaler.robust_, False))
    levels = getattr(scaler, "levels_", [])  # none in files of before the levels
    return nn.Sequential(Levels(levels), Views(*views)) if levels else Views(*views)


# Each maker is given the fitted scaler and whether it transforms the float32 table itself
# (scikit-learn then computes in float32 where it keeps its input's dtype).
def _standard(scaler: StandardScaler, single: bool) -> nn.Module:
    n = scaler.n_features_in_
    mean = scaler.mean_ if scaler.with_mean else np.zeros(n)
    scale = scaler.scale_ if scaler.with_std else np.ones(n)
    return Standard(mean, scale, single=single)


def _quantile(scaler: QuantileTransformer, single: bool) -> nn.Module:
    if scaler.output_distribution != "normal":
        raise ExportError("only QuantileTransformer(output_distribution='normal') exports.")
    return QuantileNormal(scaler.quantiles_, scaler.references_, single=single)


def _robust(scaler: RobustSmoothClip, single: bool) -> nn.Module:  # float64 throughout
    return Standard(scaler.center_, scaler.scale_, clip=float(scaler.clip))


#: The input scalers of ``input_scaling=`` and their torch counterparts.
SCALERS = {
    QuantileTransformer: _quantile,
    RobustSmoothClip: _robust,
    StandardScaler: _standard,
    QuantileRobust: _quantile_robust,
}


def scaler_module(scaler) -> nn.Module | None:
    """The torch module computing ``scaler.transform`` of the float32 table (float64 in
    and out)."""
    if scaler is None:
        return None
    make = SCALERS.get(type(scaler))
    if make is None:
        raise ExportError(f"the input scaler {type(scaler).__name__} has no ONNX form.")
    return make(scaler, True)


# --------------------------------------------------------------------------- retrieval
class Retrieval(nn.Module):
    """:class:`~sk_mtl.data.NeighbourTargets` ``.transform(x, exclude_self=False)``: the
    training rows and their encoded labels are constants, the search is exact (all
    distances, then the ``k`` smallest)."""

    def __init__(self, retrieval: NeighbourTargets) -> None:
        super().__init__()
        stored = retrieval.X_
        if sp.issparse(stored):  # sparse rows are scaled, not centred (NeighbourTargets)
            stored = stored.toarray()
            self.register_buffer("mean", torch.zeros(stored.shape[1]))
        else:
            self.register_buffer("mean", torch.as_tensor(retrieval.scaler_mean_))
        self.register_buffer("scale", torch.as_tensor(retrieval.scaler_scale_))
        rows = torch.as_tensor(np.asarray(stored, dtype=np.float64))
        # One product ranks the training rows: [z, 1] @ [2 y; -|y|^2] = |z|^2 - |z - y|^2
        # less the row's own |z|^2, the same for all of them.
        self.register_buffer("rows_t", torch.cat([2.0 * rows.T, -(rows * rows).sum(1)[None]]))
        self.k = min(retrieval.k_, rows.shape[0])
        values = [torch.as_tensor(v, dtype=torch.float64) for v in retrieval.values_.values()]
        self.widths = [v.shape[1] for v in values]
        self.register_buffer("values", torch.cat(values, dim=1))  # (n_train, sum widths)
        labelled = [
            torch.as_tensor(retrieval.labelled_[n], dtype=torch.float64).unsqueeze(1).expand(-1, w)
            for n, w in zip(retrieval.values_, self.widths)
        ]
        self.register_buffer("labelled", torch.cat(labelled, dim=1))
        fill = [torch.as_tensor(np.asarray(retrieval.fill_[n], dtype=np.float64))
                for n in retrieval.values_]
        self.register_buffer("fill", torch.cat(fill))
        self.register_buffer("eps", _f64([_DISTANCE_EPS, 1e-12]))
        # round(score / RANK_QUANTUM) = -rank_key: the largest are the nearest.
        self.register_buffer("quantum", _f64(1.0 / RANK_QUANTUM))

    def forward(self, x: Tensor) -> Tensor:
        z = ((x - self.mean) / self.scale).to(torch.float64)
        ones = torch.ones_like(z[:, :1])
        score = torch.cat([z, ones], 1) @ self.rows_t
        # The k smallest keys (sk_mtl.data._retrieval.rank_key), equal ones in row order
        # (onnxruntime's TopK breaks ties by the lower index).
        _, idx = torch.topk(torch.round(score * self.quantum), self.k, dim=1)
        score = torch.gather(score, 1, idx)
        dist = torch.sqrt(((z * z).sum(1, keepdim=True) - score).clamp_min(0.0))
        w = (1.0 / (dist + self.eps[0])).unsqueeze(-1)  # (n, k, 1)
        vals, lab = self.values[idx], self.labelled[idx]  # (n, k, width)
        wl = w * lab
        total = wl.sum(1)
        mean = (wl * vals).sum(1) / torch.maximum(total, self.eps[1])
        # The nearest labelled neighbour: the first position where the label is there.
        position = torch.arange(self.k, dtype=torch.float64).view(1, -1, 1)
        first = torch.where(lab > 0, position, float(self.k)).amin(1, keepdim=True)
        nearest = (vals * (position == first)).sum(1)
        none = total == 0
        mean = torch.where(none, self.fill, mean)
        nearest = torch.where(none, self.fill, nearest)
        columns = []
        for m, n in zip(mean.split(self.widths, 1), nearest.split(self.widths, 1)):
            columns += [m, n]
        columns += [torch.log1p(dist[:, :1]), torch.log1p(dist.mean(1, keepdim=True))]
        return torch.cat(columns, dim=1).to(torch.float32)


# --------------------------------------------------------------------------- tasks
def _binary(raw: Tensor):
    p = 0.5 * (1.0 + torch.tanh(0.5 * raw[:, :1].to(torch.float64)))
    return (raw[:, 0] > 0).to(torch.int64), torch.cat([1.0 - p, p], 1).to(torch.float32)


def _multiclass(raw: Tensor):
    return torch.argmax(raw, dim=1), torch.softmax(raw.to(torch.float64), 1).to(torch.float32)


def _multilabel(raw: Tensor):
    p = 0.5 * (1.0 + torch.tanh(0.5 * raw.to(torch.float64)))
    return (raw > 0).to(torch.int64), p.to(torch.float32)


#: Each task kind's decoding of its raw output: ``(label indices, probabilities)``.
DECODERS = {"binary": _binary, "multiclass": _multiclass, "multilabel": _multilabel}


class Decode(nn.Module):
    """The network's raw outputs to every task's outputs, in ``task_names_`` order: label
    indices then probabilities (float32) for a classification task, the value in the
    original unit (float64, as ``predict`` returns it) for a regression task."""

    def __init__(self, tasks: dict) -> None:
        super().__init__()
        self.kinds = {name: task.kind for name, task in tasks.items()}
        unknown = [k for k in self.kinds.values() if k not in DECODERS and k != "regression"]
        if unknown:
            raise ExportError(f"tasks of kind {unknown[0]!r} have no ONNX decoding.")
        units = [[t.scale_, t.mean_] for t in tasks.values() if t.kind == "regression"]
        # Row i: scale and mean of the i-th regression task (their original unit).
        self.register_buffer("units", torch.tensor(units, dtype=torch.float64).reshape(-1, 2))

    def forward(self, raw: dict[str, Tensor]) -> list[Tensor]:
        out, i = [], 0
        for name, kind in self.kinds.items():
            if kind == "regression":
                out.append(raw[name][:, :1].to(torch.float64) * self.units[i, 0]
                           + self.units[i, 1])
                i += 1
            else:
                out.extend(DECODERS[kind](raw[name]))
        return out


# --------------------------------------------------------------------------- the whole
class Serving(nn.Module):
    """Raw float32 input to every task's outputs (see the module docstring)."""

    def __init__(self, scaler: nn.Module | None, retrieval: nn.Module | None,
                 network: nn.Module, decode: Decode) -> None:
        super().__init__()
        self.scaler, self.retrieval = scaler, retrieval
        self.network, self.decode = network, decode

    def forward(self, x: Tensor) -> list[Tensor]:
        if self.scaler is not None:
            x = self.scaler(x.to(torch.float64)).to(torch.float32)
        if self.retrieval is not None:
            x = torch.cat([x, self.retrieval(x)], dim=1)
        return self.decode(self.network(x))


def _network(est) -> nn.Module:
    """A copy of the trained network in evaluation mode, on the CPU; a conditioned network
    at the current ``task_weights`` and ``fusion_weights``, fixed in the graph."""
    from ..estimators._prediction import condition_network

    network = copy.deepcopy(est.net_.module_).to("cpu").eval()
    network.member_outputs = False
    condition_network(est, network)
    return network


def serving_module(est) -> Serving:
    """The fitted one-table estimator ``est``'s prediction as a :class:`Serving` module
    (a copy: the estimator is left as it is)."""
    from ..estimators._inputs import TableInput

    if not isinstance(est._input, TableInput):
        raise ExportError(f"{type(est).__name__} is not a one-table estimator.")
    network = _network(est)
    retrieval = est.retrieval_
    return Serving(
        scaler_module(est.input_scaler_),
        None if retrieval is None else Retrieval(retrieval),
        network,
        Decode({name: est.tasks_[name] for name in est.task_names_}),
    )


# --------------------------------------------------------------------------- FusionNet
class TabularPart(nn.Module):
    """:class:`~sk_mtl.data.TabularModality` ``.transform`` of the raw float32 columns
    (NaN where missing): standardized, missing indicators, imputed, present rows."""

    def __init__(self, converter) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(converter.mean_, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(converter.scale_, dtype=torch.float64))
        self.register_buffer("indicators", torch.as_tensor(converter.indicators_))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        values = ((x.to(torch.float64) - self.mean) / self.scale).to(torch.float32)
        nan = torch.isnan(values)
        missing = nan.all(dim=1)
        if self.indicators.numel():
            flags = nan[:, self.indicators] & ~missing.unsqueeze(1)
            values = torch.cat([values, flags.to(torch.float32)], dim=1)
        values = torch.where(torch.isnan(values), 0.0, values)
        return values, ~missing


class TextPart(nn.Module):
    """:class:`~sk_mtl.data.TextModality` (TF-IDF form) from each text column's n-gram
    counts: sublinear term frequency, inverse document frequency, l2 norm per column."""

    def __init__(self, converter) -> None:
        super().__init__()
        self.widths = [len(v.vocabulary_) for v in converter.vectorizers_]
        idf = np.concatenate([np.asarray(v.idf_, np.float32) for v in converter.vectorizers_])
        self.register_buffer("idf", torch.as_tensor(idf))

    def forward(self, counts: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        tf = torch.where(counts > 0, torch.log(torch.where(counts > 0, counts, 1.0)) + 1.0, 0.0)
        x = tf * self.idf
        blocks = []
        for block in x.split(self.widths, dim=1):
            norm = torch.sqrt((block * block).sum(dim=1, keepdim=True))
            blocks.append(block / torch.where(norm > 0, norm, 1.0))
        return torch.cat(blocks, dim=1), present


class Passed(nn.Module):
    """Values and present rows as the ONNX graph made them (category codes)."""

    def forward(self, values: Tensor, present: Tensor) -> tuple[Tensor, Tensor]:
        return values, present


class FusionServing(nn.Module):
    """A FusionNet's prediction from each modality's graph-made inputs (see
    :func:`fusion_serving_module`)."""

    def __init__(self, names: list[str], parts: list[nn.Module], n_inputs: list[int],
                 sources: list[str], retrieval: nn.Module | None, network: nn.Module,
                 decode: Decode, retrieval_name: str = "") -> None:
        super().__init__()
        self.names, self.n_inputs, self.sources = names, n_inputs, sources
        self.retrieval_name = retrieval_name  # the retrieval features' modality name
        self.parts = nn.ModuleList(parts)
        self.retrieval, self.network, self.decode = retrieval, network, decode

    def forward(self, *inputs: Tensor) -> list[Tensor]:
        data, i = {}, 0
        for name, part, k in zip(self.names, self.parts, self.n_inputs):
            data[name] = part(*inputs[i:i + k])
            i += k
        if self.retrieval is not None:
            rows = torch.cat([data[m][0] for m in self.sources], dim=1)
            present = data[self.sources[0]][1]
            for m in self.sources[1:]:
                present = present & data[m][1]
            data[self.retrieval_name] = (self.retrieval(rows), present)
        return self.decode(self.network(data))


class ImagePart(nn.Module):
    """Images as given (float32 ``(n, C, H, W)``), every row present."""

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x, torch.ones_like(x[:, 0, 0, 0], dtype=torch.bool)


#: Each modality kind's torch part and how many graph-made inputs it reads.
FUSION_PARTS = {"tabular": (TabularPart, 1), "categorical": (lambda c: Passed(), 2),
                "text": (TextPart, 2), "image": (lambda c: ImagePart(), 1)}


def fusion_serving_module(est) -> FusionServing:
    """The fitted ``FusionNet*`` ``est``'s prediction from, per modality (in
    ``modality_names_`` order): a tabular modality's raw float32 columns; a categorical
    modality's codes (int64) and present rows; a text modality's n-gram counts per column
    (float32, side by side) and present rows; an image modality's images. Checks that every
    modality has an ONNX form."""
    from ..estimators._modality_input import RETRIEVAL_MODALITY, ModalityInput

    if not isinstance(est._input, ModalityInput):
        raise ExportError(f"{type(est).__name__} is not a FusionNet estimator.")
    if "_modality_plan" not in est.__dict__:  # a dict of arrays, or one 2-D table
        for m in est.modality_names_:
            if est.modalities_[m].kind == "categorical":
                raise ExportError(
                    f"Modality {m!r} (categorical, given as an array) has no ONNX form: fit "
                    "on a DataFrame, whose category columns export (one input each)."
                )
    names, parts, n_inputs = [], [], []
    for m in est.modality_names_:
        converter = est.modalities_[m]
        kind = converter.kind
        if kind == "tabular" and converter.sparse_:
            kind = "sparse tabular"
        if kind == "text" and converter.form != "tfidf":
            kind = f"text read as {converter.form}"
        if kind not in FUSION_PARTS:
            raise ExportError(
                f"Modality {m!r} ({kind}) has no ONNX form: FusionNet exports numeric, "
                "categorical, image and TF-IDF text modalities (the Tfidf encoder), not "
                "token sequences, sentence embeddings or sparse tables. Save the model with "
                "sk_mtl.save."
            )
        make, k = FUSION_PARTS[kind]
        names.append(m)
        parts.append(make(converter))
        n_inputs.append(k)
    retrieval = None if est.retrieval_ is None else Retrieval(est.retrieval_)
    return FusionServing(
        names, parts, n_inputs, est._input._retrieval_sources(est), retrieval, _network(est),
        Decode({name: est.tasks_[name] for name in est.task_names_}), RETRIEVAL_MODALITY,
    )
