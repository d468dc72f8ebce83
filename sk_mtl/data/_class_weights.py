"""``class_weight=``: per-class loss weights of the classification tasks, and per-row weights."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

__all__ = ["check_class_weight", "class_row_weights", "resolve_class_weights"]

#: The one rule ``class_weight`` (or one task's entry) may name.
BALANCED = "balanced"
#: Task kinds whose rows carry one class each, so a class weight is a row weight.
_SINGLE_LABEL = ("binary", "multiclass")


def check_class_weight(class_weight) -> None:
    """Check the form of ``class_weight`` (before the tasks are known): ``None``,
    ``"balanced"`` or a dict. Raises ``ValueError`` naming what is wrong."""
    if class_weight is None or isinstance(class_weight, Mapping):
        return
    if isinstance(class_weight, str) and class_weight == BALANCED:
        return
    raise ValueError(
        f"class_weight must be None, 'balanced', a dict task -> ('balanced' or a dict "
        f"class -> weight), or for a single classification task a dict class -> weight; got "
        f"{class_weight!r}."
    )


def resolve_class_weights(class_weight, tasks: dict, labels: Mapping[str, np.ndarray],
                          allow_balanced: bool = True) -> dict[str, np.ndarray]:
    """The weight of each class of each weighted task, ordered as the task's ``classes_``.

    Parameters
    ----------
    class_weight : None, "balanced" or dict
        ``"balanced"`` weighs the classes of every binary and multiclass task by
        ``n_labelled / (n_classes * count)``, as scikit-learn does. A dict keyed by task names
        gives each task ``"balanced"``, a dict class -> weight (classes left out weigh 1), or
        ``None``. A dict whose values are all numbers is scikit-learn's form, class ->
        weight, for the one classification task.
    tasks : dict of str to Task
        The fitted tasks (their ``classes_`` and ``kind``).
    labels : mapping of str to ndarray of int
        Each classification task's class index (into ``classes_``) of its labelled rows.
    allow_balanced : bool, default=True
        ``False`` refuses ``"balanced"`` (``partial_fit`` sees one chunk, not the class counts).

    Returns
    -------
    dict of str to ndarray of shape (n_classes,)
        Only the tasks that are weighted.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.tasks import BinaryTask
    >>> task = BinaryTask().fit(np.array(["no", "no", "no", "yes"]), name="fraud")
    >>> resolve_class_weights({"fraud": "balanced"}, {"fraud": task},
    ...                       {"fraud": np.array([0, 0, 0, 1])})
    {'fraud': array([0.66666667, 2.        ])}
    """
    check_class_weight(class_weight)
    if class_weight is None or (isinstance(class_weight, Mapping) and not class_weight):
        return {}
    classifiers = [n for n, t in tasks.items() if t.is_classification]
    if isinstance(class_weight, str):
        weighable = [n for n in classifiers if tasks[n].kind in _SINGLE_LABEL]
        if not weighable:
            raise ValueError(
                f"class_weight={class_weight!r} weighs the classes of binary and multiclass "
                f"tasks, and there is none (tasks: "
                f"{ {n: t.kind for n, t in tasks.items()} })."
            )
        per_task = dict.fromkeys(weighable, class_weight)
    elif all(_is_weight(w) for w in class_weight.values()):
        # Numbers for values: scikit-learn's dict class -> weight, for the one task it has.
        if len(classifiers) != 1:
            raise ValueError(
                f"class_weight={class_weight!r} maps classes to weights, which is read as the "
                f"weights of the one classification task, but there are {len(classifiers)} "
                f"({classifiers}); key it by task, e.g. "
                f"{{{(classifiers or ['task'])[0]!r}: {{class: weight}}}}."
            )
        per_task = {classifiers[0]: class_weight}
    else:
        unknown = [k for k in class_weight if not (isinstance(k, str) and k in tasks)]
        if unknown:
            raise ValueError(
                f"class_weight has key(s) {unknown} that are not tasks; the tasks are "
                f"{list(tasks)}. Key it by task, each with 'balanced', a dict class -> weight "
                "or None (or give one dict class -> weight, with numbers, for a single "
                "classification task)."
            )
        per_task = dict(class_weight)
    out = {}
    for name, spec in per_task.items():
        if spec is None:
            continue
        task = tasks[name]
        if task.kind not in _SINGLE_LABEL:
            raise ValueError(
                f"class_weight applies to binary and multiclass tasks; task {name!r} is "
                f"{task.kind!r}."
            )
        n_classes = len(task.classes_)
        y = np.asarray(labels[name], dtype=np.int64)
        if isinstance(spec, str) and spec == BALANCED:
            if not allow_balanced:
                raise ValueError(
                    f"class_weight 'balanced' for task {name!r} needs the class counts of the "
                    "whole training set, which partial_fit does not see; pass the weights as "
                    "a dict class -> weight (sklearn.utils.class_weight.compute_class_weight "
                    "computes them)."
                )
            counts = np.bincount(y, minlength=n_classes).astype(np.float64)
            weights = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 1.0)
        elif isinstance(spec, Mapping):
            weights = _class_dict(name, spec, task.classes_)
        else:
            raise ValueError(
                f"class_weight[{name!r}] must be 'balanced', a dict class -> weight or None; "
                f"got {spec!r}."
            )
        if len(y) and not weights[y].sum() > 0:
            raise ValueError(
                f"class_weight gives every labelled row of task {name!r} weight 0: the task "
                "would not be trained."
            )
        out[name] = weights
    return out


def _is_weight(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _class_dict(name: str, spec: Mapping, classes: np.ndarray) -> np.ndarray:
    """Weights ordered as ``classes`` from a dict class -> weight (others weigh 1)."""
    known = {c.item() if isinstance(c, np.generic) else c: i for i, c in enumerate(classes)}
    weights = np.ones(len(classes), dtype=np.float64)
    unknown = []
    for cls, w in spec.items():
        key = cls.item() if isinstance(cls, np.generic) else cls
        if key not in known:
            unknown.append(cls)
            continue
        if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w) or (
            w < 0
        ):
            raise ValueError(
                f"class_weight[{name!r}][{cls!r}] must be a finite number >= 0, got {w!r}."
            )
        weights[known[key]] = float(w)
    if unknown:
        raise ValueError(
            f"class_weight for task {name!r} names class(es) {unknown} that are not among "
            f"its classes {classes.tolist()}."
        )
    return weights


def class_row_weights(class_weights: Mapping[str, np.ndarray],
                      encoded: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Each weighted task's per-row weight: its class's weight (rows without a label get
    their encoded placeholder's, which their mask removes anyway).

    Examples
    --------
    >>> import numpy as np
    >>> class_row_weights({"t": np.array([0.5, 2.0])}, {"t": np.array([1.0, 0.0, 1.0])})
    {'t': array([2. , 0.5, 2. ])}
    """
    return {
        name: weights[np.asarray(encoded[name]).astype(np.int64)]
        for name, weights in class_weights.items()
    }
