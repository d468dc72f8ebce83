"""Gradient aggregation by torchjd's aggregators (UPGrad, DualProj, IMTL-G, ...)."""

from __future__ import annotations

from torch import Tensor

from ._base import GradientWeighting

__all__ = ["AGGREGATORS", "JacobianWeighting"]

#: ``aggregator=`` names: torchjd's class of each (the ones that need no optional solver
#: beyond the ``torchjd`` extra's quadprog). Others, e.g. ``torchjd.aggregation.CAGrad`` or
#: ``NashMTL`` (which need cvxpy), are passed as objects.
AGGREGATORS = {
    "upgrad": "UPGrad",
    "dualproj": "DualProj",
    "imtlg": "IMTLG",
    "graddrop": "GradDrop",
    "aligned_mtl": "AlignedMTL",
    "mgda": "MGDA",
    "pcgrad": "PCGrad",
}


def _torchjd_aggregation():
    try:
        import torchjd.aggregation as aggregation
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "weighting with a torchjd aggregator needs the torchjd extra: "
            "pip install 'sk_mtl[torchjd]'."
        ) from None
    return aggregation


class JacobianWeighting(GradientWeighting):
    """Aggregate the task gradients with a torchjd aggregator (Jacobian descent).

    Each step, the gradients of the weighted task losses on the shared parameters form the
    rows of a Jacobian matrix, which the aggregator turns into one update direction
    (torchjd, Quinton and Rey, "Jacobian Descent for Multi-Objective Optimization", 2024);
    the heads and other task-specific parameters get their task's gradient as always.
    ``weighting="upgrad"`` is this weighting with its default, UPGrad (each task gradient
    projected onto the dual cone of all of them, so that no task's loss goes up to first
    order); ``JacobianWeighting("dualproj")``, ``"imtlg"``, ``"graddrop"``,
    ``"aligned_mtl"``, ``"mgda"`` or ``"pcgrad"`` name others, and any torchjd aggregator
    object works (``JacobianWeighting(torchjd.aggregation.CAGrad(c=0.5))``).

    torchjd's aggregators average where the static weighting sums: UPGrad of ``k``
    identical gradients is that gradient, where the sum of the ``k`` task losses would give
    ``k`` times it. ``scale="sum"`` (the default) multiplies the direction by the number of
    tasks, so the learning rate means what it means with ``weighting="static"``.

    Parameters
    ----------
    aggregator : str or torchjd.aggregation.Aggregator, default="upgrad"
        A name in :data:`AGGREGATORS`, or an aggregator object (cloned with the weighting).
    scale : {"sum", "mean"}, default="sum"
        ``"sum"``: the aggregator's direction times the number of tasks; ``"mean"``: as
        the aggregator returns it.

    Examples
    --------
    >>> import torch
    >>> from sk_mtl.weighting import JacobianWeighting
    >>> g = torch.tensor([[1.0, 0.0], [-1.0, 1.0]])  # in conflict: g_0 . g_1 < 0
    >>> upgrad = JacobianWeighting("upgrad")
    >>> upgrad.bind(["a", "b"], {"a": 1.0, "b": 1.0})
    >>> d = upgrad.aggregate(g)
    >>> bool((g @ d >= -1e-6).all())  # no task's loss goes up to first order
    True
    """

    def __init__(self, aggregator="upgrad", scale: str = "sum"):
        self.aggregator = aggregator
        self.scale = scale

    def bind(self, task_names, task_weights) -> None:
        super().bind(task_names, task_weights)
        if self.scale not in ("sum", "mean"):
            raise ValueError(
                f"JacobianWeighting: scale must be 'sum' or 'mean', got {self.scale!r}."
            )
        aggregation = _torchjd_aggregation()
        spec = self.aggregator
        if isinstance(spec, str):
            if spec not in AGGREGATORS:
                raise ValueError(
                    f"JacobianWeighting: aggregator={spec!r} is not known; use one of "
                    f"{sorted(AGGREGATORS)} or a torchjd.aggregation.Aggregator."
                )
            self.aggregator_ = getattr(aggregation, AGGREGATORS[spec])()
        elif isinstance(spec, aggregation.Aggregator):
            self.aggregator_ = spec
        else:
            raise TypeError(
                "JacobianWeighting: aggregator must be a name in "
                f"{sorted(AGGREGATORS)} or a torchjd.aggregation.Aggregator, got {spec!r}."
            )

    def aggregate(self, grads: Tensor) -> Tensor:
        direction = self.aggregator_(grads)
        return direction * grads.shape[0] if self.scale == "sum" else direction

