"""The four task kinds: binary, multiclass, multilabel and regression."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from sklearn.metrics import r2_score
from torch import nn

from ..modules import BinaryCrossEntropyLoss, CrossEntropyLoss, MultilabelLoss, RegressionLoss
from ._base import Task, holds_collections

__all__ = ["BinaryTask", "MulticlassTask", "MultilabelTask", "RegressionTask"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x.astype(np.float64)))


def _class_indices(classes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each value in the sorted ``classes`` (vectorised: a fit on 50,000 rows
    spent 40 ms here with a dict lookup per value)."""
    idx = np.searchsorted(classes, values)
    idx = np.clip(idx, 0, len(classes) - 1)
    if not np.all(classes[idx] == values):
        unknown = list(dict.fromkeys(values[classes[idx] != values].tolist()))[:5]
        raise ValueError(
            f"Labels {unknown} are not among the classes {classes.tolist()[:20]}."
        )
    return idx.astype(np.int64)


def _one_label_per_row(task, values: np.ndarray, name: str) -> None:
    """Refuse a collection of labels per row for a single-label kind, naming the task."""
    if holds_collections(values):
        raise ValueError(
            f"Task {name!r} is {task.kind!r}, which reads one label per row, but its labels "
            f"are collections (e.g. {values[0]!r}); declare it 'multilabel', or give one "
            "label per row."
        )


def _check_label_types(y_true, classes: np.ndarray) -> None:
    """Raise, as scikit-learn's metrics do, when true labels are strings and the classes
    numbers (or the other way round): they could never compare equal."""
    y_true = np.asarray(y_true)
    if not len(y_true):
        return
    def is_text(values) -> bool:
        if values.dtype.kind in "US":
            return True
        return values.dtype.kind == "O" and any(isinstance(v, str) for v in values.ravel())
    if is_text(y_true) != is_text(np.asarray(classes)):
        kinds = ("string", "number") if is_text(y_true) else ("number", "string")
        raise ValueError(
            f"Mix of label input types: the true labels are {kinds[0]}s but the task was "
            f"fitted on {kinds[1]} classes {list(classes)[:5]}."
        )


class _ClassificationTask(Task):
    is_classification: ClassVar[bool] = True

    def check_labels(self, values: np.ndarray, name: str) -> None:
        _one_label_per_row(self, values, name)

    def fit(self, values: np.ndarray, name: str, sample_weight=None) -> _ClassificationTask:
        classes = np.unique(values)
        if len(classes) < 2:
            raise ValueError(
                f"Task {name!r} has only one class ({classes[0]!r}) among its labelled rows; "
                "a classification task needs at least two classes."
            )
        self._check_n_classes(classes, name)
        self.classes_ = classes
        self.n_outputs_ = self._n_outputs(len(classes))
        return self

    def _check_n_classes(self, classes: np.ndarray, name: str) -> None:
        pass

    def score(self, y_true, y_pred, sample_weight=None) -> float:
        _check_label_types(y_true, self.classes_)
        same = np.asarray(y_true) == np.asarray(y_pred)
        return float(np.average(same, weights=sample_weight))


class BinaryTask(_ClassificationTask):
    """Two classes; one logit, binary cross-entropy.

    ``predict_proba`` gives ``(n_samples, 2)`` columns ordered as ``classes_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.tasks import BinaryTask
    >>> task = BinaryTask().fit(np.array(["red", "white", "red"]), name="color")
    >>> task.classes_
    array(['red', 'white'], dtype='<U5')
    >>> task.decode(np.array([[-2.0], [3.0]]))
    array(['red', 'white'], dtype='<U5')
    """

    #: How an ensemble's members are averaged (``sk_mtl.modules.MEMBER_AVERAGES``).
    member_average = "sigmoid"

    kind: ClassVar[str] = "binary"

    def _n_outputs(self, n_classes: int) -> int:
        return 1

    def _check_n_classes(self, classes: np.ndarray, name: str) -> None:
        if len(classes) != 2:
            raise ValueError(
                f"Task {name!r} is declared 'binary' but has {len(classes)} classes; "
                "declare it 'multiclass'."
            )

    def encode(self, values: np.ndarray, labelled: np.ndarray) -> np.ndarray:
        out = np.zeros(len(values), dtype=np.float32)
        out[labelled] = _class_indices(self.classes_, values[labelled])
        return out

    def make_loss(self) -> nn.Module:
        return BinaryCrossEntropyLoss()

    def decode(self, raw: np.ndarray) -> np.ndarray:
        return self.classes_[(raw[:, 0] > 0).astype(np.int64)]

    def proba(self, raw: np.ndarray) -> np.ndarray:
        p = _sigmoid(raw[:, 0])
        return np.column_stack([1.0 - p, p])


class MulticlassTask(_ClassificationTask):
    """Two or more exclusive classes; one logit per class, softmax cross-entropy.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        Label smoothing of the cross-entropy, in ``[0, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.tasks import MulticlassTask
    >>> task = MulticlassTask().fit(np.array([3, 5, 9, 5]), name="quality")
    >>> task.n_outputs_
    3
    >>> task.decode(np.array([[0.1, 2.0, -1.0]]))
    array([5])
    """

    #: How an ensemble's members are averaged (``sk_mtl.modules.MEMBER_AVERAGES``).
    member_average = "softmax"

    kind: ClassVar[str] = "multiclass"

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = label_smoothing

    def _n_outputs(self, n_classes: int) -> int:
        return n_classes

    def encode(self, values: np.ndarray, labelled: np.ndarray) -> np.ndarray:
        out = np.zeros(len(values), dtype=np.int64)
        out[labelled] = _class_indices(self.classes_, values[labelled])
        return out

    def make_loss(self) -> nn.Module:
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(
                f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}."
            )
        return CrossEntropyLoss(label_smoothing=self.label_smoothing)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        return self.classes_[np.argmax(raw, axis=1)]

    def proba(self, raw: np.ndarray) -> np.ndarray:
        z = raw.astype(np.float64)
        z = np.exp(z - z.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)


class MultilabelTask(_ClassificationTask):
    """Any subset of a label set per row; one logit per label, binary cross-entropy each.

    The target column holds one collection of labels per row (a list, tuple or set; an empty
    one means "no label applies"; ``None``/NaN means the row is unlabelled). Predictions are
    tuples of labels, ``predict_proba`` gives ``(n_samples, n_labels)`` in ``classes_`` order,
    and the default score is the subset accuracy.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.tasks import MultilabelTask
    >>> y = np.empty(2, dtype=object); y[0] = ["dry", "red"]; y[1] = ["sweet"]
    >>> task = MultilabelTask().fit(y, name="tags")
    >>> task.classes_
    array(['dry', 'red', 'sweet'], dtype=object)
    >>> task.decode(np.array([[1.0, -1.0, 2.0]]))[0]
    ('dry', 'sweet')
    """

    #: How an ensemble's members are averaged (``sk_mtl.modules.MEMBER_AVERAGES``).
    member_average = "sigmoid"

    kind: ClassVar[str] = "multilabel"

    def check_labels(self, values: np.ndarray, name: str) -> None:
        if len(values) and not holds_collections(values):
            raise ValueError(
                f"Task {name!r} is multilabel: each labelled row must be a list, tuple or "
                f"set of labels, got {values[0]!r}."
            )

    def fit(self, values: np.ndarray, name: str, sample_weight=None) -> MultilabelTask:
        labels = set()
        for row in values:
            if isinstance(row, (str, bytes)) or not hasattr(row, "__iter__"):
                raise ValueError(
                    f"Task {name!r} is multilabel: each labelled row must be a list, tuple or "
                    f"set of labels, got {row!r}."
                )
            labels.update(row)
        if not labels:
            raise ValueError(f"Task {name!r} (multilabel) has no label in any labelled row.")
        try:
            classes = sorted(labels)
        except TypeError:
            raise ValueError(
                f"Task {name!r} (multilabel) mixes label types that cannot be sorted: "
                f"{sorted(map(repr, labels))[:5]}."
            ) from None
        self.classes_ = np.array(classes, dtype=object)
        self.n_outputs_ = len(classes)
        return self

    def encode(self, values: np.ndarray, labelled: np.ndarray) -> np.ndarray:
        index = {c: i for i, c in enumerate(self.classes_.tolist())}
        out = np.zeros((len(values), len(index)), dtype=np.float32)
        for i in np.flatnonzero(labelled):
            for label in values[i]:
                out[i, index[label]] = 1.0
        return out

    def make_loss(self) -> nn.Module:
        return MultilabelLoss()

    def decode(self, raw: np.ndarray) -> np.ndarray:
        out = np.empty(len(raw), dtype=object)
        on = raw > 0
        for i in range(len(raw)):
            out[i] = tuple(self.classes_[on[i]].tolist())
        return out

    def proba(self, raw: np.ndarray) -> np.ndarray:
        return _sigmoid(raw)

    def score(self, y_true, y_pred, sample_weight=None) -> float:
        _check_label_types(
            np.array([label for labels in y_true for label in labels], dtype=object),
            self.classes_,
        )
        same = [set(t) == set(p) for t, p in zip(y_true, y_pred)]
        return float(np.average(same, weights=sample_weight))


class RegressionTask(Task):
    """A real-valued target; one output, squared (or absolute, Huber) error.

    Parameters
    ----------
    loss : {"squared_error", "absolute_error", "huber"}, default="squared_error"
        The training loss.
    standardize : bool, default=True
        Train on ``(y - mean) / std`` of the labelled training values and map predictions
        back, so that the loss scale (and so the task weight) does not depend on the target's
        unit. Logged losses are then in standardized units.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.tasks import RegressionTask
    >>> task = RegressionTask().fit(np.array([1.0, 3.0]), name="alcohol")
    >>> task.decode(np.array([[1.0]]))
    array([3.])
    """

    #: How an ensemble's members are averaged (``sk_mtl.modules.MEMBER_AVERAGES``).
    member_average = "mean"

    kind: ClassVar[str] = "regression"

    def __init__(self, loss: str = "squared_error", standardize: bool = True):
        self.loss = loss
        self.standardize = standardize

    def check_labels(self, values: np.ndarray, name: str) -> None:
        _one_label_per_row(self, values, name)

    def fit(self, values: np.ndarray, name: str, sample_weight=None) -> RegressionTask:
        if self.loss not in RegressionLoss._functions:
            raise ValueError(
                f"Task {name!r}: loss={self.loss!r} is not known; use one of "
                f"{sorted(RegressionLoss._functions)}."
            )
        values = np.asarray(values, dtype=np.float64)
        if self.standardize:
            w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
            if w is not None and not w.any():
                w = None  # no weighted label: the plain moments
            with np.errstate(over="ignore", invalid="ignore"):
                self.mean_ = float(np.average(values, weights=w))
                std = float(np.sqrt(np.average((values - self.mean_) ** 2, weights=w)))
            if not (math.isfinite(self.mean_) and math.isfinite(std)):
                raise ValueError(
                    f"Task {name!r} has labels too large to standardize (largest magnitude "
                    f"{np.abs(values).max():.3g}); rescale the target (e.g. divide it by a "
                    "power of ten)."
                )
            self.scale_ = std if std > 0 else 1.0
        else:
            self.mean_, self.scale_ = 0.0, 1.0
        self.n_outputs_ = 1
        return self

    def encode(self, values: np.ndarray, labelled: np.ndarray) -> np.ndarray:
        out = np.zeros(len(values), dtype=np.float32)
        out[labelled] = (values[labelled].astype(np.float64) - self.mean_) / self.scale_
        return out

    def make_loss(self) -> nn.Module:
        return RegressionLoss(self.loss)

    def decode(self, raw: np.ndarray) -> np.ndarray:
        return raw[:, 0].astype(np.float64) * self.scale_ + self.mean_

    def score(self, y_true, y_pred, sample_weight=None) -> float:
        y_true = np.asarray(y_true, dtype=np.float64)
        return float(r2_score(y_true, y_pred, sample_weight=sample_weight))
