"""What a task or fusion weight may be, the ``task_weights=`` rules, and one check of both.

The estimators check ``task_weights`` and ``fusion_weights`` with :func:`resolve_weights`;
:class:`sk_mtl.model_selection.TaskWeightSearchCV` checks each vector of its
``weight_grid`` with :func:`is_weight` against the same limit and rules.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

__all__ = ["MAX_WEIGHT", "TASK_WEIGHT_RULES", "is_weight", "resolve_weights"]

#: Largest task or fusion weight: beyond it float32 losses and embeddings overflow.
MAX_WEIGHT = 1e6


def _inverse_counts(counts: dict[str, int], power: float) -> dict[str, float]:
    raw = {n: 1.0 / max(c, 1) ** power for n, c in counts.items()}
    mean = sum(raw.values()) / len(raw)
    return {n: w / mean for n, w in raw.items()}


#: ``task_weights=`` rules: weights from each task's number of labelled training rows,
#: normalised to mean 1 (tasks with fewer labels weigh more).
TASK_WEIGHT_RULES = {
    "inverse_count": lambda counts: _inverse_counts(counts, 1.0),
    "inverse_sqrt_count": lambda counts: _inverse_counts(counts, 0.5),
}


def is_weight(w) -> bool:
    """Whether ``w`` is a usable weight: a finite real number in ``[0, MAX_WEIGHT]``."""
    return isinstance(w, numbers.Real) and math.isfinite(w) and 0 <= w <= MAX_WEIGHT


def resolve_weights(given: Mapping | None, names: list[str], *, param: str, unit: str,
                    overflow: str, nothing: str) -> dict[str, float]:
    """Every name's weight: ``given`` completed with 1.0, each checked.

    ``param`` names the parameter in messages (``"task_weights"``), ``unit`` what its keys
    are (``"tasks"``), ``overflow`` what a weight beyond :data:`MAX_WEIGHT` would break and
    ``nothing`` what all-zero weights would leave.

    Examples
    --------
    >>> from sk_mtl.weighting import resolve_weights
    >>> resolve_weights({"a": 2}, ["a", "b"], param="task_weights", unit="tasks",
    ...                 overflow="", nothing="no task would be trained")
    {'a': 2.0, 'b': 1.0}
    """
    given = dict(given or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(
            f"{param} has key(s) {unknown} that are not {unit}; the {unit} are {names}."
        )
    weights = {}
    for name in names:
        w = given.get(name, 1.0)
        if not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
            raise ValueError(f"{param}[{name!r}] must be a finite number >= 0, got {w!r}.")
        if w > MAX_WEIGHT:
            raise ValueError(
                f"{param}[{name!r}]={w!r} is larger than {MAX_WEIGHT:g}: {overflow}"
            )
        weights[name] = float(w)
    if not any(weights.values()):
        raise ValueError(f"{param} are all zero: {nothing}.")
    return weights
