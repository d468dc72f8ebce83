"""One table from kind names to task classes, and kind inference from target values."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.multiclass import type_of_target

from .._registry import make_component
from ._base import Task
from ._kinds import BinaryTask, MulticlassTask, MultilabelTask, RegressionTask

__all__ = ["TASK_KINDS", "as_label_array", "infer_kind", "make_task"]

#: Kind names accepted in ``tasks={"name": kind}``.
TASK_KINDS: dict[str, type[Task]] = {
    cls.kind: cls for cls in (BinaryTask, MulticlassTask, MultilabelTask, RegressionTask)
}

_COLLECTIONS = (list, tuple, set, frozenset, np.ndarray)


def make_task(spec: str | Task, name: str) -> Task:
    """A fresh, unfitted task from a kind name or a task object (which is cloned).

    Examples
    --------
    >>> from sk_mtl.tasks import RegressionTask, make_task
    >>> make_task("binary", name="color")
    BinaryTask()
    >>> make_task(RegressionTask(loss="huber"), name="quality")
    RegressionTask(loss='huber')"""
    return make_component(spec, TASK_KINDS, param=f"tasks[{name!r}]", base=Task,
                          others=["a sk_mtl.tasks.Task object"], noun="kind name")


def as_label_array(values: np.ndarray, name: str) -> np.ndarray:
    """Labelled values with a uniform dtype: numbers as a numeric array, text as objects.

    Raises a ``ValueError`` naming the task when numbers and strings are mixed.
    """
    if values.dtype != object:
        return values
    items = values.tolist()
    if items and all(isinstance(v, _COLLECTIONS) for v in items):
        return values
    if all(isinstance(v, (numbers.Number, np.bool_)) for v in items):
        return np.asarray(items)
    if all(isinstance(v, str) for v in items):
        return values
    kinds = sorted({type(v).__name__ for v in items})
    raise ValueError(f"Task {name!r} mixes label types {kinds}; use one type per task.")


def infer_kind(values: np.ndarray, name: str) -> str:
    """The task kind of a column of labelled values, following sklearn's ``type_of_target``.

    Collections of labels give ``"multilabel"``; non-integer numbers ``"regression"``;
    two distinct labels ``"binary"``; more ``"multiclass"``. Integer-valued numbers count as
    classes, as in scikit-learn: declare ``tasks={name: "regression"}`` for counts or grades.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.tasks import infer_kind
    >>> infer_kind(np.array([0.5, 1.7, 2.2]), name="alcohol")
    'regression'
    >>> infer_kind(np.array(["red", "white"], dtype=object), name="color")
    'binary'
    >>> infer_kind(np.array([3, 5, 9]), name="quality")
    'multiclass'
    """
    if values.dtype == object and len(values) and isinstance(values[0], _COLLECTIONS):
        return "multilabel"
    try:
        target_type = type_of_target(values, input_name=f"task {name!r}")
    except (ValueError, TypeError) as exc:  # TypeError: unorderable mixed labels
        raise ValueError(f"Cannot infer the kind of task {name!r}: {exc}") from None
    kinds = {"continuous": "regression", "binary": "binary", "multiclass": "multiclass"}
    if target_type not in kinds:
        raise ValueError(
            f"Unknown label type: cannot infer the kind of task {name!r} "
            f"(type_of_target says {target_type!r}); declare it in tasks=."
        )
    return kinds[target_type]
