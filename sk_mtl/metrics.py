"""Per-task scorers for ``GridSearchCV(scoring=..., refit=...)`` and ``cross_validate``.

A multi-task estimator predicts every task at once; these scorers pick one task, drop the
rows where that task has no label, and apply any scikit-learn scorer to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from .tasks import as_label_array

__all__ = ["task_scorer", "task_scorers"]


class _TaskView(BaseEstimator):
    """One task of a fitted multi-task estimator, seen as a single-output estimator."""

    def __init__(self, estimator, task):
        self.estimator = estimator
        self.task = task

    @property
    def classes_(self):
        return self.estimator.tasks_[self.task].classes_

    def predict(self, X):
        return self.estimator.predict_tasks(X)[self.task]

    def __sklearn_is_fitted__(self):
        return True


class _ClassifierTaskView(ClassifierMixin, _TaskView):
    def predict_proba(self, X):
        raw = self.estimator._raw_outputs(X)[self.task]
        return self.estimator.tasks_[self.task].proba(raw)


class _RegressorTaskView(RegressorMixin, _TaskView):
    pass


class _TaskScorer:
    """Callable ``scorer(estimator, X, y)`` for one task (see :func:`task_scorer`)."""

    def __init__(self, task: str, scoring: str | Callable | None):
        self.task = task
        self.scoring = scoring

    def __call__(self, estimator, X, y, sample_weight=None):
        # In a Pipeline, score the final multi-task step on the transformed input.
        while isinstance(estimator, Pipeline):
            if len(estimator) > 1:
                X = estimator[:-1].transform(X)
            estimator = estimator[-1]
        check_is_fitted(estimator)
        if self.task not in estimator.task_names_:
            raise ValueError(
                f"task_scorer: {self.task!r} is not a task of this estimator; its tasks are "
                f"{estimator.task_names_}."
            )
        column, labelled = estimator._targets_by_task(y)[self.task]
        rows = np.flatnonzero(labelled)
        if isinstance(X, dict):  # a plain dict of modalities (a SliceDict indexes itself)
            X_task = {k: _safe_indexing(v, rows) for k, v in X.items()}
        else:
            X_task = _safe_indexing(X, rows)
        y_task = as_label_array(column[rows], self.task)
        weights = None if sample_weight is None else np.asarray(sample_weight)[rows]
        task = estimator.tasks_[self.task]
        if self.scoring is None:
            y_pred = estimator.predict_tasks(X_task)[self.task]
            return task.score(y_task, y_pred, sample_weight=weights)
        view_cls = _ClassifierTaskView if task.is_classification else _RegressorTaskView
        view = view_cls(estimator, self.task)
        scorer = get_scorer(self.scoring) if isinstance(self.scoring, str) else self.scoring
        self._check_kind(scorer, task)
        try:
            if weights is None:
                return scorer(view, X_task, y_task)
            return scorer(view, X_task, y_task, sample_weight=weights)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{self!r} failed on task {self.task!r}, a {task.kind} task: {exc}"
            ) from exc

    def _check_kind(self, scorer, task) -> None:
        """A scikit-learn metric of the other kind (``"r2"`` on a classification task,
        ``"accuracy"`` on a regression task) is refused, naming the task and the scorer."""
        module = getattr(getattr(scorer, "_score_func", None), "__module__", "") or ""
        for_regression = module.endswith("._regression")
        for_classes = module.endswith(("._classification", "._ranking"))
        if task.is_classification and for_regression:
            wanted = "a classification scorer (e.g. 'accuracy', 'roc_auc', 'neg_log_loss')"
        elif not task.is_classification and for_classes:
            wanted = "a regression scorer (e.g. 'r2', 'neg_mean_absolute_error')"
        else:
            return
        raise ValueError(
            f"{self!r}: task {self.task!r} is a {task.kind} task, but scoring="
            f"{self.scoring!r} is a metric for "
            f"{'regression' if for_regression else 'classification'}; use {wanted}."
        )

    def __repr__(self) -> str:
        return f"task_scorer({self.task!r}, scoring={self.scoring!r})"


def task_scorer(task: str, scoring: str | Callable | None = None) -> Callable:
    """Make a scorer that scores one task of a multi-task estimator.

    Rows where ``task`` has no label (NaN, ``None``, ``pd.NA``) are left out. The estimator
    may be a multi-task estimator or a ``Pipeline`` ending in one.

    Parameters
    ----------
    task : str
        Task name, as in the estimator's ``task_names_``.
    scoring : str or callable, default=None
        A scikit-learn scorer name (``"accuracy"``, ``"roc_auc"``,
        ``"neg_mean_absolute_error"``, ...) or a scorer ``scorer(estimator, X, y)``; it sees
        the task as a single-output classifier or regressor. ``None`` uses the task's own
        score: accuracy for classification, R^2 for regression. A scikit-learn metric of
        the other kind (``"r2"`` on a classification task, ``"accuracy"`` on a regression
        task) raises a ``ValueError`` naming the task and the scorer, and so does any
        error of the scorer itself.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)`` returning a float, greater is better.

    See Also
    --------
    task_scorers : Scorers for several tasks, as a dict for ``scoring=``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sklearn.metrics import mean_absolute_error
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.metrics import task_scorer
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = pd.DataFrame({"a": X[:, 0] > 0, "b": X[:, 1] * 3.0})
    >>> y.loc[:19, "b"] = np.nan  # the first 20 rows have no label for "b"
    >>> net = MultiTaskNet(max_epochs=20, lr=0.01, random_state=0).fit(X, y)
    >>> scorer = task_scorer("b", "neg_mean_absolute_error")
    >>> mae = mean_absolute_error(y["b"][20:], net.predict_tasks(X[20:])["b"])
    >>> bool(np.isclose(scorer(net, X, y), -mae))  # scored on the 80 labelled rows
    True
    """
    return _TaskScorer(task, scoring)


def task_scorers(
    scoring: Mapping[str, str | Callable | Sequence[str | Callable] | None],
) -> dict[str, Callable]:
    """Make a dict of per-task scorers for ``scoring=`` in model selection.

    Parameters
    ----------
    scoring : dict of str to (str, callable, None or list of those)
        For each task name, one scoring (see :func:`task_scorer`) or a list of them.

    Returns
    -------
    scorers : dict of str to callable
        Keyed ``"<task>"`` for ``None`` (the task's own score) and ``"<task>_<scoring>"``
        for named scorings (``"<task>_<i>"`` for the i-th callable), ready for
        ``GridSearchCV(scoring=scorers, refit="<key>")`` or ``cross_validate``.

    Examples
    --------
    >>> from sk_mtl.metrics import task_scorers
    >>> sorted(task_scorers({"quality": ["r2", "neg_mean_absolute_error"],
    ...                      "color": "accuracy"}))
    ['color_accuracy', 'quality_neg_mean_absolute_error', 'quality_r2']
    """
    scorers = {}
    for task, spec in scoring.items():
        specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
        for i, one in enumerate(specs):
            if one is None:
                key = task
            elif isinstance(one, str):
                key = f"{task}_{one}"
            else:
                key = f"{task}_{i}"
            scorers[key] = task_scorer(task, one)
    return scorers
