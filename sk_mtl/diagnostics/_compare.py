"""compare_single_task: a multi-task estimator against one single-task copy per task."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import check_cv, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from ..data import missing_mask, split_targets
from ..metrics import task_scorer

__all__ = ["compare_single_task"]


def compare_single_task(
    estimator,
    X,
    y,
    *,
    cv=5,
    scoring: Mapping[str, str | Callable | None] | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Cross-validate a multi-task estimator against one single-task copy per task.

    For each task, the multi-task estimator (fitted on all tasks) and a clone of it fitted
    on that task alone are scored on the same cross-validation splits. The single-task
    clones keep every hyper-parameter of ``estimator`` (network, optimizer, epochs, seed), so
    the difference measures what training the tasks together brings to each task.

    Parameters
    ----------
    estimator : estimator object
        An unfitted sk_mtl multi-task estimator, or a ``Pipeline`` whose last step is one
        (possibly nested). Each single-task clone keeps only that task's entries of the
        ``tasks`` and ``task_weights`` parameters, drops a ``stratify`` that names another
        task, and has no ``auxiliary_tasks``. Auxiliary tasks are trained by the
        multi-task estimator but neither scored nor compared: the table then tells whether
        they help the predicted tasks.
    X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
        Input, as accepted by ``estimator``.
    y : array-like of shape (n_samples, n_tasks) or DataFrame
        Targets, at least two tasks: a DataFrame (tasks named by its columns) or a 2-D
        array (tasks named ``"y0"``, ``"y1"``, ...). Missing labels (NaN, ``None``,
        ``pd.NA``) are left out of each task's score; the single-task clone of a task is
        also fitted only on the rows where that task has a label.
    cv : int, cross-validation generator or iterable, default=5
        Splitting strategy, resolved once with :func:`sklearn.model_selection.check_cv`; an
        int gives ``KFold`` (multi-output targets are never stratified). The same splits are
        used for every fit.
    scoring : dict of str to (str, callable or None), default=None
        Scoring per task name: a scikit-learn scorer name or a callable
        ``scorer(estimator, X, y)`` (see :func:`sk_mtl.metrics.task_scorer`), greater is
        better. ``None``, or a task left out of the dict, uses the task's own score:
        accuracy for classification, R^2 for regression.
    n_jobs : int, default=None
        Number of jobs that fit the folds of each cross-validation in parallel (see
        :func:`sklearn.model_selection.cross_validate`).

    Returns
    -------
    comparison : pandas.DataFrame
        One row per predicted (non-auxiliary) task, in task order, with columns ``task``,
        ``multi_task_mean``, ``multi_task_std``, ``single_task_mean``, ``single_task_std``
        (mean and standard deviation of the test scores over folds) and
        ``relative_improvement_pct``
        ``= 100 * (multi_task_mean - single_task_mean) / |single_task_mean|``. The mean of
        ``relative_improvement_pct`` over tasks, the multi-task performance ``delta_m`` of
        Maninis et al. [1]_ as used by LibMTL [2]_, is in ``comparison.attrs["delta_m"]``;
        positive values mean the multi-task network does better on average.

    Raises
    ------
    ValueError
        If ``y`` holds a single task, if ``scoring`` names a task that is not compared, if
        a compared task's weight is 0, or if a task has no labelled row in the training
        part (or, for a compared task, the test part) of a split.
    TypeError
        If ``estimator`` is not (a Pipeline ending in) a multi-task estimator.

    See Also
    --------
    sk_mtl.metrics.task_scorer : Score one task of a multi-task estimator.
    GradientCosine : Whether the tasks' gradients agree during training.

    Notes
    -----
    The multi-task estimator is fitted ``n_splits`` times and each single-task clone
    ``n_splits`` times, ``(n_compared_tasks + 1) * n_splits`` fits in all. Each task is
    scored on the same rows by both: the test rows of the split where it has a label.

    References
    ----------
    .. [1] K.-K. Maninis, I. Radosavovic and I. Kokkinos, "Attentive Single-Tasking of
       Multiple Tasks", CVPR 2019.
    .. [2] B. Lin and Y. Zhang, "LibMTL: A Python Library for Multi-Task Learning", JMLR
       24(209), 2023.

    Examples
    --------
    Two regression tasks that read the same features, the case where sharing may help:

    >>> import numpy as np, pandas as pd
    >>> from sklearn.datasets import make_regression
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.diagnostics import compare_single_task
    >>> X, Y = make_regression(n_samples=120, n_features=4, n_targets=2, random_state=0)
    >>> y = pd.DataFrame(Y, columns=["a", "b"])
    >>> net = MultiTaskNet(hidden_dims=(16,), max_epochs=10, lr=0.01, random_state=0)
    >>> table = compare_single_task(net, X, y, cv=2)
    >>> table.columns.tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['task', 'multi_task_mean', 'multi_task_std', 'single_task_mean', 'single_task_std',
     'relative_improvement_pct']
    >>> table["task"].tolist()
    ['a', 'b']
    >>> bool(np.isclose(table.attrs["delta_m"], table["relative_improvement_pct"].mean()))
    True
    """
    targets = split_targets(y)
    names = targets.names
    if targets.one_dimensional or len(names) < 2:
        raise ValueError(
            "compare_single_task needs a multi-task y (a DataFrame or 2-D array with at "
            f"least two target columns); got a single task {names}."
        )
    prefix, final = _multitask_step(estimator)
    auxiliary = _auxiliary_names(final)
    compared = [name for name in names if name not in auxiliary]
    scorings = _task_scorings(scoring, compared, auxiliary)
    n_samples = len(targets)
    if _num_rows(X) != n_samples:
        raise ValueError(f"X has {_num_rows(X)} rows but y has {n_samples}; they must match.")

    splits = [(np.asarray(train), np.asarray(test)) for train, test in check_cv(cv).split(X, y)]
    labelled = {name: ~missing_mask(col) for name, col in zip(names, targets.columns)}
    for name in names:
        for i, (train, test) in enumerate(splits):
            parts = [("training", train)] + ([("test", test)] if name in compared else [])
            for part, rows in parts:
                if not labelled[name][rows].any():
                    raise ValueError(
                        f"Task {name!r} has no labelled row in the {part} part of split {i}; "
                        "use fewer folds or a splitter that spreads its labelled rows."
                    )

    single_params = {name: _single_task_params(prefix, final, name) for name in compared}

    multi = cross_validate(
        clone(estimator),
        X,
        y,
        cv=splits,
        scoring={name: task_scorer(name, scorings[name]) for name in compared},
        n_jobs=n_jobs,
        error_score="raise",
    )

    records = []
    for name in compared:
        j = names.index(name)
        rows = np.flatnonzero(labelled[name])
        position = np.full(n_samples, -1)
        position[rows] = np.arange(len(rows))
        task_splits = [
            (position[train[labelled[name][train]]], position[test[labelled[name][test]]])
            for train, test in splits
        ]
        single_estimator = clone(estimator).set_params(**single_params[name])
        single = cross_validate(
            single_estimator,
            _safe_indexing(X, rows),
            _task_frame(y, targets, j).iloc[rows],
            cv=task_splits,
            scoring={name: task_scorer(name, scorings[name])},
            n_jobs=n_jobs,
            error_score="raise",
        )
        mt = np.asarray(multi[f"test_{name}"], dtype=np.float64)
        st = np.asarray(single[f"test_{name}"], dtype=np.float64)
        mt_mean, st_mean = np.mean(mt), np.mean(st)
        with np.errstate(divide="ignore", invalid="ignore"):
            improvement = 100.0 * (mt_mean - st_mean) / np.abs(st_mean)
        records.append(
            {
                "task": name,
                "multi_task_mean": float(mt_mean),
                "multi_task_std": float(np.std(mt)),
                "single_task_mean": float(st_mean),
                "single_task_std": float(np.std(st)),
                "relative_improvement_pct": float(improvement),
            }
        )
    comparison = pd.DataFrame.from_records(records)
    comparison.attrs["delta_m"] = float(comparison["relative_improvement_pct"].mean())
    return comparison


def _multitask_step(estimator) -> tuple[str, Any]:
    """The ``set_params`` prefix of the multi-task step and the step itself."""
    prefix, final = "", estimator
    while isinstance(final, Pipeline):
        step_name, final = final.steps[-1]
        prefix += f"{step_name}__"
    params = final.get_params(deep=False) if hasattr(final, "get_params") else {}
    if "tasks" not in params or "task_weights" not in params:
        where = f" (the last step of the Pipeline is {final!r})" if prefix else ""
        raise TypeError(
            "compare_single_task needs an sk_mtl multi-task estimator (with `tasks` and "
            f"`task_weights` parameters) or a Pipeline ending in one; got "
            f"{type(estimator).__name__}{where}."
        )
    return prefix, final


def _auxiliary_names(final) -> set[str]:
    aux = final.get_params(deep=False).get("auxiliary_tasks")
    if aux is None or isinstance(aux, str):
        return set()  # a malformed value is left to the estimator's own error
    return set(aux)


def _task_scorings(
    scoring, names: list[str], auxiliary: set[str]
) -> dict[str, str | Callable | None]:
    if scoring is None:
        return dict.fromkeys(names)
    if not isinstance(scoring, Mapping):
        raise TypeError(
            "scoring must be None or a dict task name -> scorer name or callable; got "
            f"{scoring!r}."
        )
    unknown = sorted(set(scoring) - set(names), key=str)
    if unknown:
        aux = (
            f" (auxiliary tasks {sorted(auxiliary)} are trained, not scored)" if auxiliary else ""
        )
        raise ValueError(
            f"scoring has key(s) {unknown} that are not compared tasks; the tasks compared "
            f"are {names}{aux}."
        )
    return {name: scoring.get(name) for name in names}


def _single_task_params(prefix: str, final, name: str) -> dict[str, Any]:
    """Parameters that make a clone of the multi-task step learn task ``name`` only."""
    params: dict[str, Any] = {}
    tasks = final.tasks
    if isinstance(tasks, Mapping):
        params[prefix + "tasks"] = {k: v for k, v in tasks.items() if k == name} or None
    weights = final.task_weights
    if isinstance(weights, Mapping):
        kept = {k: v for k, v in weights.items() if k == name}
        if kept and isinstance(kept[name], numbers.Real) and kept[name] == 0:
            raise ValueError(
                f"task_weights[{name!r}] is 0: a single-task network for {name!r} would not "
                "train, so there is nothing to compare."
            )
        params[prefix + "task_weights"] = kept or None
    stratify = getattr(final, "stratify", None)
    if stratify is not None and stratify != name:
        params[prefix + "stratify"] = None
    if getattr(final, "auxiliary_tasks", None) is not None:
        params[prefix + "auxiliary_tasks"] = None
    return params


def _task_frame(y, targets, j: int) -> pd.DataFrame:
    """Column ``j`` of ``y`` as a one-column DataFrame named after its task."""
    name = targets.names[j]
    if isinstance(y, pd.DataFrame):
        frame = y.iloc[:, [j]].copy()
        frame.columns = [name]
        return frame.reset_index(drop=True)
    return pd.DataFrame({name: targets.columns[j]})


def _num_rows(X) -> int:
    if hasattr(X, "shape"):
        return int(X.shape[0])
    return len(X)


# =============================================================================== plots
