"""One table from kind names to task classes, and kind inference from target values."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils.multiclass import type_of_target

from .._registry import make_component
from ._base import COLLECTIONS as _COLLECTIONS
from ._base import Task
from ._kinds import BinaryTask, MulticlassTask, MultilabelTask, RegressionTask

__all__ = ["TASK_KINDS", "as_label_array", "infer_kind", "make_task"]

#: Kind names accepted in ``tasks={"name": kind}``.
TASK_KINDS: dict[str, type[Task]] = {
    cls.kind: cls for cls in (BinaryTask, MulticlassTask, MultilabelTask, RegressionTask)
}


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


def _label_type(value) -> str | None:
    """``"number"`` (booleans included), ``"string"``, or ``None`` for anything that is not
    a label (a dict, a complex number, a date, a nested list, ...)."""
    if isinstance(value, (numbers.Real, np.bool_)):
        return "number"
    if isinstance(value, str):
        return "string"
    return None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def as_label_array(values: np.ndarray, name: str) -> np.ndarray:
    """The labelled values of task ``name`` with a uniform dtype: numbers (booleans
    included) as a numeric array, strings and collections of labels as objects.

    A column holds either one label per row (a number, boolean or string) or, for a
    multilabel task, one list, tuple, set or array of such labels per row, and one label type
    throughout. Anything else raises a ``ValueError`` naming the task, before any training:
    numbers mixed with strings, lists mixed with single labels, lists of lists, complex
    numbers, dicts and other objects.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.tasks import as_label_array
    >>> as_label_array(np.array([1, 2.5], dtype=object), name="alcohol")
    array([1. , 2.5])
    >>> as_label_array(np.array([["a"], "b"], dtype=object), name="tags")
    Traceback (most recent call last):
    ...
    ValueError: Task 'tags' mixes collections of labels and single labels ...
    """
    if values.dtype.kind == "c":
        raise ValueError(
            f"Task {name!r} has complex-valued labels; labels are real numbers, booleans or "
            "strings."
        )
    if values.dtype != object:
        return values
    items = values.tolist()
    collections = [isinstance(v, _COLLECTIONS) for v in items]
    if any(collections):
        if not all(collections):
            lists = items[collections.index(True)]
            single = items[collections.index(False)]
            raise ValueError(
                f"Task {name!r} mixes collections of labels and single labels (e.g. "
                f"{_short(lists)} and {_short(single)}); give one label per row, or one "
                "list, tuple or set of labels per row for a multilabel task."
            )
        kinds = {}
        for row in items:
            for label in (row.tolist() if isinstance(row, np.ndarray) else row):
                kind = _label_type(label)
                if kind is None:
                    raise ValueError(
                        f"Task {name!r} is multilabel (a collection of labels per row), but "
                        f"the row {_short(row)} holds a {type(label).__name__}; each label "
                        "must be a number, a boolean or a string."
                    )
                kinds.setdefault(kind, label)
        if len(kinds) > 1:
            raise ValueError(
                f"Task {name!r} mixes label types inside its rows (e.g. "
                f"{_short(kinds['number'])} and {_short(kinds['string'])}); use one type per "
                "task."
            )
        return values
    kinds = {}
    for value in items:
        kind = _label_type(value)
        if kind is None:
            raise ValueError(
                f"Task {name!r} has a label of type {type(value).__name__} "
                f"({_short(value)}); labels are numbers, booleans or strings, or one list, "
                "tuple or set of them per row for a multilabel task."
            )
        kinds.setdefault(kind, value)
    if len(kinds) > 1:
        raise ValueError(
            f"Task {name!r} mixes label types {sorted({type(v).__name__ for v in items})}: "
            f"numbers and strings (e.g. {_short(kinds['number'])} and "
            f"{_short(kinds['string'])}); use one type per task."
        )
    if "number" in kinds:
        return np.asarray(items)
    return values


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
