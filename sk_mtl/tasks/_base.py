"""The task contract: what the estimators ask of each output kind."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator
from torch import nn

__all__ = ["Task", "holds_collections"]

#: What a multilabel row may be: a collection of labels.
COLLECTIONS = (list, tuple, set, frozenset, np.ndarray)


def holds_collections(values: np.ndarray) -> bool:
    """Whether a column of labelled values (checked by :func:`~sk_mtl.tasks.as_label_array`,
    so all rows or none are collections) holds one collection of labels per row."""
    return values.dtype == object and len(values) > 0 and isinstance(values[0], COLLECTIONS)


class Task(BaseEstimator):
    """One output of a multi-task network: its labels, head size, loss and output transform.

    A task is a small scikit-learn style object: its constructor stores hyper-parameters,
    :meth:`fit` learns the label encoding from the labelled training values, and the fitted
    attributes end with ``_``. Estimators clone the task objects given in ``tasks=`` before
    fitting, so one object can be shared by several estimators.

    Subclasses set ``kind`` (the name used in ``tasks={"name": kind}``) and
    ``is_classification``, and implement :meth:`fit`, :meth:`encode`, :meth:`make_loss`,
    :meth:`decode` and, for classification, :meth:`proba`; :meth:`check_labels` refuses
    labels of a form the kind cannot read.
    """

    kind: ClassVar[str] = ""
    is_classification: ClassVar[bool] = False

    def check_labels(self, values: np.ndarray, name: str) -> None:
        """Raise a ``ValueError`` naming task ``name`` when its labelled ``values`` (as
        :func:`~sk_mtl.tasks.as_label_array` returns them) have a form this kind cannot
        read. Called before :meth:`fit` and before scoring; the default accepts anything."""

    def fit(self, values: np.ndarray, name: str, sample_weight=None) -> Task:
        """Learn the label encoding from the labelled values of task ``name`` (1-D array);
        ``sample_weight``, the labelled rows' weights when ``fit`` was given some, weighs
        what is estimated from the labels (a regression target's mean and scale)."""
        raise NotImplementedError

    def encode(self, values: np.ndarray, labelled: np.ndarray) -> np.ndarray:
        """Encode a whole target column for the loss (float32 or int64 rows).

        ``labelled`` is the boolean mask of rows that carry a label; the other rows get any
        valid filler value, since the loss masks them out.
        """
        raise NotImplementedError

    def make_loss(self) -> nn.Module:
        """A fresh masked loss module ``loss(pred, target, mask) -> scalar``."""
        raise NotImplementedError

    def decode(self, raw: np.ndarray) -> np.ndarray:
        """Turn the head's raw output ``(n, n_outputs_)`` into predictions in label space."""
        raise NotImplementedError

    def proba(self, raw: np.ndarray) -> np.ndarray:
        """Class probabilities from the head's raw output (classification tasks only)."""
        raise TypeError(f"A {self.kind} task has no class probabilities.")

    def score(
        self, y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> float:
        """Default score of this task on labelled rows: accuracy or R^2."""
        raise NotImplementedError
