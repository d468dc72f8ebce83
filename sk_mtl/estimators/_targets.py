"""The target/task plan: what ``y`` and the task parameters of an estimator ask to train.

:class:`TaskPlan` resolves the tasks (given or inferred kinds, each fitted on its labelled
rows), the auxiliary tasks, the task weights (a dict or a rule, checked by
:func:`sk_mtl.weighting.resolve_weights`) and the labelled-row counts; :func:`encode_rows`
turns ``y``, sample weights and class weights into the tensors training reads. A fit
resolves its task weights here, and so does the prediction of a weight-conditioned
network (at the weights set now).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import _check_sample_weight

from ..data import (
    TensorData,
    class_row_weights,
    encode_targets,
    missing_mask,
    resolve_class_weights,
    split_targets,
)
from ..exceptions import InferredKindWarning
from ..tasks import Task, as_label_array, infer_kind, make_task
from ..weighting import MAX_WEIGHT, TASK_WEIGHT_RULES, resolve_weights

__all__ = ["TaskPlan", "check_labels", "encode_rows", "resolve_task_weights", "sample_weights",
           "targets_by_task"]

#: Integer labels of at least this many levels, inferred as classes, are warned about.
DOUBTFUL_LEVELS = 6

#: ``kinds=`` of a plan: the task kinds an estimator takes, and how it infers a kind.
INFERENCE = {
    "any": (None, infer_kind),
    "classification": (frozenset({"binary", "multiclass", "multilabel"}), None),
    "regression": (frozenset({"regression"}), lambda values, name: "regression"),
}


def _classification_kind(values, name: str, owner: str) -> str:
    kind = infer_kind(values, name)
    if kind == "regression":
        raise ValueError(
            f"Unknown label type: task {name!r} holds continuous values, but "
            f"{owner} needs class labels. Use a regressor, or "
            f"MultiTaskNet/FusionNet with tasks={{{name!r}: 'regression'}}."
        )
    return kind


@dataclass
class TaskPlan:
    """The fitted tasks of one fit and what is decided with them.

    ``tasks`` maps every trained task (predicted and auxiliary) to its fitted
    :class:`~sk_mtl.tasks.Task`; ``predicted`` and ``auxiliary`` split their names;
    ``weights`` is each task's loss weight and ``counts`` its number of labelled rows.
    """

    tasks: dict[str, Task]
    predicted: list[str]
    auxiliary: list[str]
    weights: dict[str, float]
    counts: dict[str, int]

    @classmethod
    def fit(cls, targets, *, tasks=None, auxiliary_tasks=None, task_weights=None,
            kinds: str = "any", owner: str = "the estimator", classes: dict | None = None,
            sample_weight: np.ndarray | None = None) -> TaskPlan:
        """Resolve the plan of the target columns ``targets`` (``split_targets(y)``)."""
        fitted = _resolve_tasks(targets, tasks, kinds, owner, classes, sample_weight)
        names = list(fitted)
        counts = {name: int((~missing_mask(column)).sum())
                  for name, column in zip(targets.names, targets.columns)}
        weights = resolve_task_weights(task_weights, names, counts)
        aux = _resolve_auxiliary(auxiliary_tasks, names)
        return cls(fitted, [n for n in names if n not in aux], [n for n in names if n in aux],
                   weights, counts)


def _resolve_tasks(targets, given, kinds: str, owner: str, classes, sample_weight):
    """The fitted task of each target column; ``classes`` adds labels per task that the
    column may lack (``partial_fit``'s first chunk); ``sample_weight`` weighs what the
    tasks estimate from their labels."""
    given = given or {}
    if not isinstance(given, dict):
        raise TypeError(f"tasks must be None or a dict name -> kind, got {given!r}.")
    unknown = sorted(set(given) - set(targets.names))
    if unknown:
        raise ValueError(
            f"tasks names {unknown} that are not targets; the targets are {targets.names}."
        )
    allowed, infer = INFERENCE[kinds]
    tasks = {}
    for name, column in zip(targets.names, targets.columns):
        labelled = ~missing_mask(column)
        if not labelled.any():
            raise ValueError(
                f"Task {name!r} has no labelled row (all NaN/None): y contains NaN only."
            )
        values = as_label_array(column[labelled], name)
        if name in given:
            task = make_task(given[name], name)
        elif infer is None:
            task = make_task(_classification_kind(values, name, owner), name)
        else:
            task = make_task(infer(values, name), name)
            if kinds == "any" and task.kind == "multiclass":
                _warn_if_levels(values, name)
        if allowed is not None and task.kind not in allowed:
            raise ValueError(
                f"Task {name!r} is {task.kind!r}, but {owner} takes only "
                f"{sorted(allowed)} tasks; use MultiTaskNet for mixed kinds."
            )
        task.check_labels(values, name)
        if not task.is_classification:
            _check_regression_labels(values, name)
        if classes and name in classes and task.is_classification:
            values = np.concatenate([values, as_label_array(_as_column(classes[name]), name)])
        if sample_weight is None:
            tasks[name] = task.fit(values, name)
        else:
            tasks[name] = task.fit(values, name, sample_weight=sample_weight[labelled])
    return tasks


def _as_column(values) -> np.ndarray:
    """``values`` (a list or array of labels) as a 1-D array; a list keeps the type of each
    label (``np.asarray`` would turn ``[1, "a"]`` into two strings)."""
    if isinstance(values, np.ndarray):
        return values
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def check_labels(targets, tasks: dict[str, Task]) -> None:
    """Check the labelled values of every target column against its fitted task (before a
    fit continues on new rows), naming the task at fault."""
    for name, column in zip(targets.names, targets.columns):
        if name in tasks:
            tasks[name].check_labels(as_label_array(column[~missing_mask(column)], name), name)


def _warn_if_levels(values: np.ndarray, name: str) -> None:
    """Say so when integer labels of many levels were read as classes: a score or a count
    is as likely as a class code (the kind was inferred, not declared)."""
    if values.dtype.kind not in "iuf":
        return
    levels = np.unique(values)
    if len(levels) < DOUBTFUL_LEVELS:
        return
    warnings.warn(
        f"Task {name!r} was inferred as multiclass: its labels are {len(levels)} integer "
        f"levels ({levels.min():g} to {levels.max():g}), which scikit-learn reads as classes. "
        f"If it is an ordered score or a count, declare tasks={{{name!r}: 'regression'}}; "
        f"declare tasks={{{name!r}: 'multiclass'}} to keep classes without this warning.",
        InferredKindWarning,
        stacklevel=8,  # the user's call of fit or partial_fit
    )


def _check_regression_labels(values: np.ndarray, name: str) -> None:
    if values.dtype.kind not in "biuf":
        raise ValueError(
            f"Task {name!r} is a regression task but its labels are not numbers "
            f"(e.g. {values[0]!r})."
        )
    if not np.isfinite(values.astype(np.float64)).all():
        raise ValueError(
            f"Task {name!r} contains infinity; only finite targets (or NaN for a "
            "missing label) are allowed."
        )


def _resolve_auxiliary(aux, names: list[str]) -> set[str]:
    if aux is None:
        return set()
    if isinstance(aux, str) or not all(isinstance(a, str) for a in aux):
        raise TypeError(f"auxiliary_tasks must be a list of task names, got {aux!r}.")
    unknown = sorted(set(aux) - set(names))
    if unknown:
        raise ValueError(f"auxiliary_tasks {unknown} are not targets; the targets are {names}.")
    if set(aux) >= set(names):
        raise ValueError("auxiliary_tasks cover every task: at least one task must be predicted.")
    return set(aux)


def resolve_task_weights(given, names: list[str], counts: dict[str, int]) -> dict[str, float]:
    """The weight of each task: ``task_weights`` completed with 1.0, or a rule's weights
    from the labelled-row ``counts``."""
    given = given or {}
    if isinstance(given, str):
        if given not in TASK_WEIGHT_RULES:
            raise ValueError(
                f"task_weights={given!r} is not a rule; use one of "
                f"{list(TASK_WEIGHT_RULES)} or a dict task -> weight."
            )
        return TASK_WEIGHT_RULES[given]({n: counts[n] for n in names})
    if not isinstance(given, dict):
        raise TypeError(
            f"task_weights must be None, a rule name in {list(TASK_WEIGHT_RULES)} or a "
            f"dict task -> weight, got {given!r}."
        )
    return resolve_weights(
        given, names, param="task_weights", unit="tasks",
        overflow="the weighted float32 loss would overflow. Only the ratios of the weights "
                 "matter for the direction of training; scale them all down together.",
        nothing="no task would be trained",
    )


def sample_weights(sample_weight, n_rows: int) -> np.ndarray | None:
    """``sample_weight`` checked (scikit-learn's checks: one finite non-negative weight per
    row, not all zero), and not spanning more than float32 losses keep."""
    if sample_weight is None:
        return None
    weights = _check_sample_weight(sample_weight, np.empty((n_rows, 0)), dtype=np.float64,
                                   ensure_non_negative=True)
    if weights.max() > MAX_WEIGHT * max(float(np.median(weights[weights > 0])), 1e-12):
        raise ValueError(
            f"sample_weight spans more than {MAX_WEIGHT:g}x (max {weights.max():.3g}); "
            "float32 losses would lose the small weights."
        )
    return weights


def encode_rows(X_data, targets, tasks, device, *, stratify=None, class_weight=None,
                sample_weight=None, balanced=True, class_weights=None):
    """``TensorData`` of the input, encoded targets and each task's row weights (sample
    weights times class weights), the stratification codes, and the class weights used.

    The class weights are ``class_weights`` if given, else resolved from ``class_weight``
    on these targets; ``balanced=False`` (``partial_fit``'s first call) refuses
    ``"balanced"``."""
    encoded, masks, codes = encode_targets(targets, tasks, stratify)
    if class_weights is None:
        labels = {
            name: t if masks[name] is None else t[masks[name]]
            for name, t in encoded.items() if tasks[name].is_classification
        }
        class_weights = resolve_class_weights(class_weight, tasks, labels,
                                              allow_balanced=balanced)
    row_weights = class_row_weights(class_weights, encoded)
    if sample_weight is not None:
        for name in encoded:
            w = row_weights.get(name)
            row_weights[name] = sample_weight if w is None else w * sample_weight
    for name, w in row_weights.items():
        labelled = masks[name]
        if (labelled is None or labelled.any()) and not (
            w if labelled is None else w[labelled]
        ).sum() > 0:
            raise ValueError(
                f"Every labelled row of task {name!r} has weight 0 (sample_weight times "
                "class_weight): the task would not be trained."
            )
    weights = {name: torch.from_numpy(np.asarray(w, dtype=np.float32)).to(device)
               for name, w in row_weights.items()}
    encoded = {name: torch.from_numpy(t).to(device) for name, t in encoded.items()}
    masks = {name: None if m is None else torch.from_numpy(m).to(device)
             for name, m in masks.items()}
    return TensorData(to_device(X_data, device), encoded, masks, weights), codes, class_weights


def to_device(X_data, device):
    """The converted input on ``device``; scipy sparse stays on the host (batches move)."""
    if isinstance(X_data, torch.Tensor):
        return X_data.to(device)
    if isinstance(X_data, dict):
        return {k: to_device(v, device) for k, v in X_data.items()}
    if isinstance(X_data, tuple):
        return tuple(to_device(v, device) for v in X_data)
    return X_data


def targets_by_task(y, predicted: list[str], trained: list[str]) -> dict:
    """Labels and labelled-row masks of the ``predicted`` tasks in ``y``.

    A DataFrame is matched by column name (auxiliary and other columns are ignored); an
    array must have a column per predicted task, or a column per ``trained`` task
    (predicted and auxiliary, in training order).
    """
    targets = split_targets(y)
    if isinstance(y, pd.DataFrame):
        missing = [n for n in predicted if n not in targets.names]
        if missing:
            raise ValueError(
                f"y's columns {targets.names} lack the task(s) {missing}; the tasks are "
                f"{predicted}."
            )
        by_name = dict(zip(targets.names, targets.columns))
        columns = [by_name[n] for n in predicted]
    elif len(targets.columns) == len(predicted):
        columns = targets.columns
    elif len(targets.columns) == len(trained):
        by_name = dict(zip(trained, targets.columns))
        columns = [by_name[n] for n in predicted]
    else:
        raise ValueError(
            f"y has {len(targets.columns)} column(s) but the estimator predicts "
            f"{len(predicted)} task(s) {predicted}"
            + (f" (and trains {len(trained)})" if len(trained) > len(predicted) else "")
            + "."
        )
    return {name: (column, ~missing_mask(column)) for name, column in zip(predicted, columns)}
