"""A fitted estimator's whole prediction as one pure-torch module, for the ONNX exporter.

:func:`serving_module` turns a fitted one-table ``MultiTaskNet*`` into an ``nn.Module`` that
maps the raw float32 input ``(n, n_features)`` to every task's outputs: the estimator's own
input scaling (quantiles, robust smooth clip, standard scaling), the retrieval features (the
stored training rows and labels as constants; distances, top-k and the weighted label means
as tensor operations), the trained network in evaluation mode (dropout off, ensemble members
averaged, a conditioned trunk at the current ``task_weights``), and each task's decoding:
a label index and probabilities for classification, the value in the original unit for
regression. Only the mapping from label indices to labels (strings stay strings) is left to
the ONNX graph around it (:mod:`._convert`).

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
from ..data._retrieval import _DISTANCE_EPS

__all__ = ["ExportError", "serving_module"]


class ExportError(ValueError):
    """A fitted model, or a part of it, that cannot be exported to ONNX (the message names
    the part and what to do)."""


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


class QuantileNormal(nn.Module):
    """``QuantileTransformer(output_distribution="normal").transform``, float64.

    Each column's value is interpolated between its stored quantiles once from below and
    once from above (the two differ only at a repeated quantile) and the two are averaged,
    as scikit-learn does; the segment is found by counting the quantiles below the value
    (a sum of comparisons, where numpy uses a binary search).
    """

    def __init__(self, quantiles: np.ndarray, references: np.ndarray) -> None:
        super().__init__()
        q = torch.as_tensor(np.ascontiguousarray(quantiles.T), dtype=torch.float64)  # (F, n_q)
        r = torch.as_tensor(references, dtype=torch.float64)
        n_q = q.shape[1]
        self.register_buffer("quantiles", q)
        self.register_buffer("flat_q", q.reshape(-1))
        self.register_buffer("flat_r", r.repeat(q.shape[0]))
        self.register_buffer("offsets", torch.arange(q.shape[0]) * n_q)
        self.register_buffer("bounds", _f64([_BOUNDS, _P_LOW, 1.0 - _P_LOW]))
        self.n_q = n_q
        self.ppf = NormalQuantile()

    def _interp(self, x: Tensor, below: Tensor) -> Tensor:
        # below: (n, F) count of quantiles under x (<= or <), 1-based index of the segment.
        j = (below - 1).clamp(0, self.n_q - 2) + self.offsets
        q0, q1 = self.flat_q[j], self.flat_q[j + 1]
        r0, r1 = self.flat_r[j], self.flat_r[j + 1]
        width = q1 - q0
        slope = torch.where(width > 0, (r1 - r0) / torch.where(width > 0, width, 1.0), 0.0)
        return (r0 + (x - q0) * slope).clamp(0.0, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        xe = x.unsqueeze(-1)
        up = self._interp(x, (self.quantiles <= xe).sum(-1))
        down = self._interp(x, (self.quantiles < xe).sum(-1))
        p = 0.5 * (up + down)
        eps, lo, hi = self.bounds[0], self.bounds[1], self.bounds[2]
        p = torch.where(x + eps > self.quantiles[:, -1], 1.0, p)
        p = torch.where(x - eps < self.quantiles[:, 0], 0.0, p)
        return self.ppf(torch.minimum(torch.maximum(p, lo), hi))


class Standard(nn.Module):
    """``(x - mean) / scale`` (``StandardScaler``, ``RobustSmoothClip`` before its clip)."""

    def __init__(self, mean, scale, clip: float | None = None) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float64))
        self.register_buffer("clip", None if clip is None else _f64(clip))

    def forward(self, x: Tensor) -> Tensor:
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


def _standard(scaler: StandardScaler) -> nn.Module:
    n = scaler.n_features_in_
    mean = scaler.mean_ if scaler.with_mean else np.zeros(n)
    scale = scaler.scale_ if scaler.with_std else np.ones(n)
    return Standard(mean, scale)


def _quantile(scaler: QuantileTransformer) -> nn.Module:
    if scaler.output_distribution != "normal":
        raise ExportError("only QuantileTransformer(output_distribution='normal') exports.")
    return QuantileNormal(scaler.quantiles_, scaler.references_)


def _robust(scaler: RobustSmoothClip) -> nn.Module:
    return Standard(scaler.center_, scaler.scale_, clip=float(scaler.clip))


#: The input scalers of ``input_scaling=`` and their torch counterparts.
SCALERS = {
    QuantileTransformer: _quantile,
    RobustSmoothClip: _robust,
    StandardScaler: _standard,
    QuantileRobust: lambda s: Views(_quantile(s.quantile_), _robust(s.robust_)),
}


def scaler_module(scaler) -> nn.Module | None:
    """The torch module computing ``scaler.transform`` (float64 in and out)."""
    if scaler is None:
        return None
    make = SCALERS.get(type(scaler))
    if make is None:
        raise ExportError(f"the input scaler {type(scaler).__name__} has no ONNX form.")
    return make(scaler)


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
        self.register_buffer("rows_t", rows.T.contiguous())
        self.register_buffer("rows_sq", (rows * rows).sum(1))
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

    def forward(self, x: Tensor) -> Tensor:
        z = ((x - self.mean) / self.scale).to(torch.float64)
        sq = (z * z).sum(1, keepdim=True) - 2.0 * (z @ self.rows_t) + self.rows_sq
        neg, idx = torch.topk(-sq, self.k, dim=1)  # the k nearest, nearest first
        dist = torch.sqrt((-neg).clamp_min(0.0))
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
    indices then probabilities for a classification task, the value in the original unit
    (float32) for a regression task."""

    def __init__(self, tasks: dict) -> None:
        super().__init__()
        self.kinds = {name: task.kind for name, task in tasks.items()}
        for name, task in tasks.items():
            if task.kind == "regression":
                self.register_buffer(f"_affine_{len(self._buffers)}", torch.tensor(
                    [task.scale_, task.mean_], dtype=torch.float64))
        unknown = [k for k in self.kinds.values() if k not in DECODERS and k != "regression"]
        if unknown:
            raise ExportError(f"tasks of kind {unknown[0]!r} have no ONNX decoding.")

    def forward(self, raw: dict[str, Tensor]) -> list[Tensor]:
        out, affines = [], iter(self._buffers.values())
        for name, kind in self.kinds.items():
            if kind == "regression":
                a = next(affines)
                out.append((raw[name][:, :1].to(torch.float64) * a[0] + a[1]).to(torch.float32))
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


def serving_module(est) -> Serving:
    """The fitted one-table estimator ``est``'s prediction as a :class:`Serving` module
    (a copy: the estimator is left as it is)."""
    from ..estimators._inputs import TableInput
    from ..estimators._targets import resolve_task_weights

    if not isinstance(est._input, TableInput):
        raise ExportError(
            f"{type(est).__name__} cannot be exported to ONNX yet: only the one-table "
            "MultiTaskNet* estimators export. Use sk_mtl.save for a model file."
        )
    network = copy.deepcopy(est.net_.module_).to("cpu").eval()
    network.member_outputs = False
    weighting = est.net_.weighting
    if getattr(weighting, "conditions", False):
        weights = resolve_task_weights(est.task_weights, list(est.tasks_), est.task_counts_)
        network.trunk.set_condition(weighting.target(weights).cpu())
    retrieval = est.retrieval_
    return Serving(
        scaler_module(est.input_scaler_),
        None if retrieval is None else Retrieval(retrieval),
        network,
        Decode({name: est.tasks_[name] for name in est.task_names_}),
    )
