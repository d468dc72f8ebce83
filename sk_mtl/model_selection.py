"""Task- and fusion-weight search at the cost of one fit per fold, and the Pareto front.

:class:`TaskWeightSearchCV` fits one weight-conditioned network
(``weighting="conditioned"``, :class:`sk_mtl.weighting.WeightConditioning`) per fold and
scores every task-weight vector of a grid by conditioning it, where ``GridSearchCV`` would fit
one network per vector and fold; :class:`FusionWeightSearchCV` does the same for the
``fusion_weights`` of a ``FusionNet*`` trained for every fusion-weight vector
(``fusion_conditioning``, :class:`sk_mtl.fusion.FusionConditioning`). Their results have
``GridSearchCV``'s form (``cv_results_``, ``best_params_``, ``best_estimator_``), plus the
non-dominated vectors (``pareto_front_``), the hypervolume they cover, and
:meth:`TaskWeightSearchCV.plot_pareto`.
"""

from __future__ import annotations

import itertools
import numbers
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from .data import split_targets
from .fusion import make_fusion_conditioning
from .metrics import task_scorers
from .weighting import MAX_WEIGHT, TASK_WEIGHT_RULES, is_weight, make_weighting

__all__ = ["FusionWeightSearchCV", "TaskWeightSearchCV", "pareto_mask"]

#: ``weight_grid=<int>`` with two tasks: ratios log-spaced over this range.
_RATIO_RANGE = (1 / 16, 16)


def pareto_mask(scores: np.ndarray) -> np.ndarray:
    """Boolean mask of the rows of ``scores`` (n_points, n_objectives) that no other row
    dominates, every objective maximised (moocore's non-dominated sorting).

    Examples
    --------
    >>> import numpy as np
    >>> pareto_mask(np.array([[0.5, 0.9], [0.6, 0.8], [0.4, 0.7]])).tolist()
    [True, True, False]
    """
    import moocore

    return np.asarray(moocore.is_nondominated(np.asarray(scores, float), maximise=True))


def _hypervolume(scores: np.ndarray, ref: np.ndarray) -> float:
    import moocore

    above = np.all(scores > ref, axis=1)
    if not above.any():
        return 0.0
    return float(moocore.hypervolume(scores[above], ref=ref, maximise=True))


def _final_step(estimator):
    while isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    return estimator


class _WeightSearchCV(MetaEstimatorMixin, BaseEstimator):
    """What the task- and fusion-weight searches share: one conditioned fit per fold, every
    vector of the grid scored by ``set_params(<param>=vector)``, the results in
    ``GridSearchCV``'s form, the Pareto front. A search names its parameter (``_param``),
    what the grid's keys are (``_unit``), and gives :meth:`_check_estimator` and
    :meth:`_weight_names`."""

    #: The estimator parameter each vector sets.
    _param: ClassVar[str]
    #: What the grid's keys are, singular, plural and either, in messages.
    _unit: ClassVar[tuple[str, str, str]]
    #: ``weight_grid=<int>`` with two names: ratios log-spaced over this range.
    _ratio_range: ClassVar[tuple[float, float]] = _RATIO_RANGE
    #: Whether a grid may name vectors by rule (``"inverse_count"``).
    _rules: ClassVar[bool] = False

    # ------------------------------------------------------------------ checks
    def _check_estimator(self) -> None:
        raise NotImplementedError

    def _weight_names(self, X, targets) -> list[str] | None:
        """The names the grid's vectors weigh (``None``: not known before fitting)."""
        raise NotImplementedError

    def _named_vectors(self) -> list[str]:
        """Vectors named by a rule, scored after the grid's (none here)."""
        return []

    def _check_rule(self, name: str) -> None:
        raise TypeError(
            f"weight_grid entries must be dicts {self._unit[0]} -> weight, got {name!r}."
        )

    def _vectors(self, names: list[str] | None) -> list[dict | str]:
        grid = self.weight_grid
        unit, units, _ = self._unit
        defaults = dict.fromkeys(names or (), 1.0)
        if isinstance(grid, numbers.Integral) and not isinstance(grid, bool):
            if grid < 1:
                raise ValueError(f"weight_grid must be >= 1 vector, got {grid}.")
            if names is None:
                raise ValueError(
                    f"weight_grid={grid} makes vectors over the {units}, which are not known "
                    f"before fitting here; give the vectors as dicts {unit} -> weight."
                )
            if len(names) == 2:
                ratios = np.geomspace(*self._ratio_range, int(grid)) if grid > 1 else [1.0]
                vectors = [{names[0]: float(r), names[1]: 1.0} for r in ratios]
            else:
                draws = np.random.RandomState(0).dirichlet(np.ones(len(names)), int(grid) - 1)
                vectors = [dict.fromkeys(names, 1.0)] + [
                    {t: float(w * len(names)) for t, w in zip(names, row)} for row in draws
                ]
        elif isinstance(grid, Mapping):
            self._check_names(grid, names)
            keys = list(grid)
            lists = []
            for key in keys:
                values = grid[key]
                if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                    values = list(np.atleast_1d(values))
                lists.append(list(values))
            vectors = [
                {**defaults, **dict(zip(keys, combo))}
                for combo in itertools.product(*lists)
            ]
        elif isinstance(grid, Sequence) and not isinstance(grid, str):
            vectors = []
            for one in grid:
                if isinstance(one, str):
                    self._check_rule(one)
                    vectors.append(one)
                elif isinstance(one, Mapping):
                    self._check_names(one, names)
                    vectors.append({**defaults, **one})
                else:
                    raise TypeError(
                        f"weight_grid entries must be dicts {unit} -> weight"
                        + (" or rule names" if self._rules else "") + f", got {one!r}."
                    )
        else:
            raise TypeError(
                f"weight_grid must be a dict {unit} -> list of weights, a list of dicts"
                + (" or rule names" if self._rules else "")
                + f", or a number of vectors; got {type(grid).__name__}."
            )
        for rule in self._named_vectors():
            if rule not in vectors:
                vectors.append(rule)
        for vector in vectors:
            self._check_vector(vector)
        if not vectors:
            raise ValueError("weight_grid holds no vector.")
        return vectors

    def _check_names(self, vector: Mapping, names: list[str] | None) -> None:
        if names is None:
            return
        unknown = sorted(set(map(str, vector)) - set(names))
        if unknown:
            _, units, either = self._unit
            what = "targets" if units == "tasks" else "modalities of X"
            raise ValueError(
                f"weight_grid names {either} {unknown} that are not {what}; the {units} "
                f"are {names}."
            )

    def _check_vector(self, vector) -> None:
        if isinstance(vector, str):
            self._check_rule(vector)
            return
        for name, w in vector.items():
            if not is_weight(w):
                raise ValueError(
                    f"weight_grid: the weight of {self._unit[0]} {name!r} must be a finite "
                    f"number in [0, {MAX_WEIGHT:g}], got {w!r} in {vector}."
                )
        if not any(vector.values()):
            raise ValueError(f"weight_grid: the vector {vector} is all zero.")

    def _scorers(self, tasks: list[str]) -> dict[str, Callable]:
        if self.scoring is None:
            return task_scorers(dict.fromkeys(tasks))
        if not isinstance(self.scoring, Mapping) or not self.scoring:
            raise TypeError(
                "scoring must be None or a non-empty dict name -> scorer (e.g. "
                "sk_mtl.metrics.task_scorers({...})), one per objective."
            )
        return dict(self.scoring)

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, **fit_params):
        """Fit one conditioned estimator per fold, score every weight vector, refit.

        Parameters
        ----------
        X : array-like, sparse matrix, DataFrame or dict of modalities
            Input, as the estimator takes it.
        y : array-like or DataFrame of shape (n_samples, n_tasks)
            Targets, one column per task.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
            The fitted search.
        """
        self._check_estimator()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y with one column per task.")
        final = _final_step(self.estimator)
        auxiliary = set(getattr(final, "auxiliary_tasks", None) or ())
        targets = split_targets(y)
        vectors = self._vectors(self._weight_names(X, targets))
        scorers = self._scorers([t for t in targets.names if t not in auxiliary])
        if isinstance(self.refit, str) and self.refit not in scorers:
            raise ValueError(
                f"refit={self.refit!r} is not a scorer; the scorers are {list(scorers)}."
            )
        cv = check_cv(self.cv, y, classifier=False)
        # Split on the row count: X may be a dict of modalities, which splitters cannot size.
        splits = list(cv.split(np.zeros((len(targets), 1)), y))
        folds = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_and_score_fold)(
                clone(self.estimator), X, y, train, test, self._param, vectors, scorers,
                fit_params, self.verbose, f"[{type(self).__name__}] fold {k}",
            )
            for k, (train, test) in enumerate(splits)
        )
        self.n_splits_ = len(splits)
        self.scorer_names_ = list(scorers)
        self.cv_results_ = self._results(vectors, folds)
        self._front()
        if self.refit is not False:
            self.best_index_ = self._best_index()
            self.best_params_ = self.cv_results_["params"][self.best_index_]
            if not callable(self.refit):
                key = self.refit if isinstance(self.refit, str) else None
                self.best_score_ = float(
                    self.cv_results_[f"mean_test_{key}"][self.best_index_] if key
                    else np.mean([self.cv_results_[f"mean_test_{s}"][self.best_index_]
                                  for s in self.scorer_names_])
                )
            start = time.perf_counter()
            best = clone(self.estimator).fit(X, y, **fit_params)
            _set_weights(best, self._param, self.best_params_[self._param])
            self.refit_time_ = time.perf_counter() - start
            self.best_estimator_ = best
        return self

    def _results(self, vectors, folds) -> dict:
        n = len(vectors)
        results: dict[str, object] = {
            "params": [{self._param: v} for v in vectors],
        }
        param = np.ma.MaskedArray(np.empty(n, dtype=object), mask=False)
        for i, v in enumerate(vectors):
            param[i] = v
        results[f"param_{self._param}"] = param
        fit_times = np.array([fold["fit_time"] for fold in folds])
        score_times = np.array([fold["score_times"] for fold in folds])  # (folds, n)
        results["mean_fit_time"] = np.full(n, fit_times.mean())
        results["std_fit_time"] = np.full(n, fit_times.std())
        results["mean_score_time"] = score_times.mean(axis=0)
        results["std_score_time"] = score_times.std(axis=0)
        for name in self.scorer_names_:
            table = np.array([fold["scores"][name] for fold in folds])  # (folds, n)
            for k in range(len(folds)):
                results[f"split{k}_test_{name}"] = table[k]
            mean = table.mean(axis=0)
            results[f"mean_test_{name}"] = mean
            results[f"std_test_{name}"] = table.std(axis=0)
            order = np.argsort(-mean, kind="stable")
            ranks = np.empty(n, dtype=np.int32)
            ranks[order] = np.arange(1, n + 1)
            results[f"rank_test_{name}"] = ranks
        return results

    def _scores_matrix(self) -> np.ndarray:
        return np.column_stack(
            [self.cv_results_[f"mean_test_{s}"] for s in self.scorer_names_]
        )

    def _front(self) -> None:
        scores = self._scores_matrix()
        mask = pareto_mask(scores)
        index = np.flatnonzero(mask)
        index = index[np.argsort(scores[index, 0], kind="stable")]
        self.pareto_front_ = {
            "index": index,
            "params": [self.cv_results_["params"][i] for i in index],
            **{s: scores[index, j] for j, s in enumerate(self.scorer_names_)},
        }
        self.hypervolume_ref_ = scores.min(axis=0)
        self.hypervolume_ = _hypervolume(scores[index], self.hypervolume_ref_)

    def hypervolume(self, ref) -> float:
        """Hypervolume of the front above the reference point ``ref`` (one value per
        scorer, in ``scorer_names_`` order; greater is better), e.g. to compare searches."""
        check_is_fitted(self, "pareto_front_")
        scores = self._scores_matrix()[self.pareto_front_["index"]]
        return _hypervolume(scores, np.asarray(ref, dtype=float))

    def spread(self, reference=None):
        """How far each objective moves across the weight vectors: does the conditioned
        network follow the weights at all?

        The spread of a scorer is the largest minus the smallest of its mean test scores
        over the searched vectors (the rule vectors included). A conditioned network that
        serves the average weighting and ignores the weights has spreads near zero where
        one fit per vector would move; ``reference`` gives those per-vector spreads.

        Parameters
        ----------
        reference : fitted search or dict, optional
            A per-vector search over the same vectors with the same scorer names (e.g.
            ``GridSearchCV(net, {"task_weights": vectors}, scoring=...)``, or over
            ``"fusion_weights"``), or its ``cv_results_``.

        Returns
        -------
        spread : DataFrame
            One row per scorer: ``conditioned`` (this search's spread) and, with a
            reference, ``per-vector`` (its spread) and ``ratio`` (conditioned / per-vector).
        """
        import pandas as pd

        check_is_fitted(self, "cv_results_")

        def spreads(results) -> dict:
            return {s: float(np.ptp(np.asarray(results[f"mean_test_{s}"], dtype=float)))
                    for s in self.scorer_names_}

        table = pd.DataFrame({"conditioned": spreads(self.cv_results_)})
        if reference is not None:
            results = getattr(reference, "cv_results_", reference)
            missing = [s for s in self.scorer_names_ if f"mean_test_{s}" not in results]
            if missing:
                raise ValueError(
                    f"The reference has no mean_test_ scores for {missing}; score it with "
                    f"the same scorer names {self.scorer_names_}."
                )
            table["per-vector"] = pd.Series(spreads(results))
            table["ratio"] = table["conditioned"] / table["per-vector"].where(
                table["per-vector"] > 0)
        table.index.name = "scorer"
        return table

    def _best_index(self) -> int:
        if callable(self.refit):
            index = self.refit(self.cv_results_)
            if not isinstance(index, numbers.Integral) or not 0 <= index < len(
                self.cv_results_["params"]
            ):
                raise ValueError(f"refit callable returned {index!r}, not a vector index.")
            return int(index)
        if isinstance(self.refit, str):
            return int(np.argmax(self.cv_results_[f"mean_test_{self.refit}"]))
        return int(np.argmax(self._scores_matrix().mean(axis=1)))

    # ------------------------------------------------------------------ plot
    def plot_pareto(self, ax=None):
        """Plot the mean test scores of every vector with the front (2 objectives: one
        scatter; more: one panel per pair), the refit choice marked. Needs matplotlib.

        Returns
        -------
        ax : matplotlib Axes, or ndarray of Axes for 3+ objectives
        """
        check_is_fitted(self, "pareto_front_")
        import matplotlib.pyplot as plt

        scores = self._scores_matrix()
        names = self.scorer_names_
        front = self.pareto_front_["index"]
        best = getattr(self, "best_index_", None)
        labels = [_label(p[self._param]) for p in self.cv_results_["params"]]
        pairs = list(itertools.combinations(range(len(names)), 2))
        if ax is None:
            _, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4), squeeze=False)
            axes = axes[0]
        else:
            axes = np.atleast_1d(ax)
        for panel, (i, j) in zip(axes, pairs):
            panel.scatter(scores[:, i], scores[:, j], color="0.6", label="weight vectors")
            order = front[np.argsort(scores[front, i])]
            panel.plot(scores[order, i], scores[order, j], "o-", color="C0", label="Pareto front")
            for k, text in enumerate(labels):
                panel.annotate(text, (scores[k, i], scores[k, j]), fontsize=7,
                               xytext=(3, 3), textcoords="offset points")
            if best is not None:
                panel.scatter(scores[best, i], scores[best, j], marker="*", s=200,
                              color="C3", label="refit choice", zorder=3)
            panel.set_xlabel(names[i])
            panel.set_ylabel(names[j])
            panel.legend(fontsize=8)
        return axes[0] if len(axes) == 1 else axes

    # ------------------------------------------------------------------ delegation
    def _has(name):
        def check(self):
            return hasattr(self.estimator, name)
        return check

    @available_if(_has("predict"))
    def predict(self, X):
        """Predict with ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities from ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_has("predict_tasks"))
    def predict_tasks(self, X):
        """Per-task predictions from ``best_estimator_``."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_tasks(X)

    def score(self, X, y):
        """``best_estimator_``'s score; with ``refit`` naming a scorer, that scorer's."""
        check_is_fitted(self, "best_estimator_")
        if isinstance(self.refit, str):
            tasks = _final_step(self.best_estimator_).task_names_
            return float(self._scorers(tasks)[self.refit](self.best_estimator_, X, y))
        return float(self.best_estimator_.score(X, y))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        return tags


class TaskWeightSearchCV(_WeightSearchCV):
    """Search task weights with one weight-conditioned fit per fold.

    Parameters
    ----------
    estimator : estimator
        A multi-task estimator with ``weighting="conditioned"`` (or a
        :class:`~sk_mtl.weighting.WeightConditioning` object), or a ``Pipeline`` ending in one.
    weight_grid : dict, list or int
        The task-weight vectors to score. A dict ``{task: [w, ...]}`` is the product of the
        lists (tasks left out weigh 1.0), as ``GridSearchCV``'s ``param_grid`` over
        ``task_weights__<task>``; a list holds one ``{task: w}`` dict per vector, or a rule
        name (``"inverse_count"``, ``"inverse_sqrt_count"``); an int ``n`` makes ``n``
        vectors: for two tasks, ratios of the first task's weight to the second's
        log-spaced over [1/16, 16]; for more, ``n`` draws on the simplex (``RandomState(0)``)
        after equal weights.
    scoring : dict of str to scorer, default=None
        Per-task scorers, e.g. :func:`sk_mtl.metrics.task_scorers`; ``None`` scores each
        predicted task by its own score (accuracy or R^2). Every scorer is an objective of the
        Pareto front (greater is better).
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV`` (5-fold ``KFold`` by default).
    refit : bool, str or callable, default=True
        Refit the estimator on all data and set it to the best vector: ``True`` picks the
        vector with the best mean of the scorers' mean test scores, a scorer name picks by
        that scorer, a callable ``refit(cv_results_) -> index`` picks by its own rule.
        ``False`` refits nothing (the front is still computed).
    rules : sequence of str, default=("inverse_count",)
        Rule names from ``task_weights`` scored as extra named vectors (so the plot shows
        where the rule of thumb lands).
    n_jobs : int, default=None
        Folds fitted in parallel (joblib).
    verbose : int, default=0
        Print one line per fold.

    Attributes
    ----------
    cv_results_ : dict of str to ndarray
        One entry per weight vector, with ``GridSearchCV``'s keys: ``params``,
        ``param_task_weights``, ``split<k>_test_<scorer>``, ``mean_test_<scorer>``,
        ``std_test_<scorer>``, ``rank_test_<scorer>``, ``mean_fit_time`` (the fold's one fit,
        shared by every vector), ``mean_score_time``; ``pd.DataFrame(cv_results_)`` reads it.
    best_index_, best_params_, best_score_ : int, dict, float
        The chosen vector (``refit``), its parameters and its refit criterion's score.
    best_estimator_ : estimator
        Refitted on all data, set to ``best_params_`` (``refit`` not ``False``).
    pareto_front_ : dict of str to ndarray
        The non-dominated vectors: ``index`` (into ``cv_results_``), ``params`` and the mean
        test score of each scorer, sorted by the first scorer.
    hypervolume_ : float
        Hypervolume of the front above ``hypervolume_ref_`` (the lowest mean test score of
        each scorer over all vectors); :meth:`hypervolume` takes another reference.
        :meth:`spread` says how far each objective moves across the vectors (against a
        per-vector search's spread when given one).
    scorer_names_ : list of str
        The objectives, in ``pareto_front_`` order.
    n_splits_ : int
        Number of folds.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.model_selection import TaskWeightSearchCV
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(300, 4))
    >>> y = pd.DataFrame({"a": X[:, 0] + 0.3 * rng.normal(size=300), "b": X[:, 1] > 0})
    >>> net = MultiTaskNet(weighting="conditioned", max_epochs=10, random_state=0)
    >>> search = TaskWeightSearchCV(net, {"a": [0.25, 1.0, 4.0]}, cv=3).fit(X, y)
    >>> len(search.cv_results_["params"])  # 3 vectors + the inverse_count rule
    4
    >>> sorted(search.best_params_)
    ['task_weights']
    """

    _param = "task_weights"
    _unit = ("task", "tasks", "task(s)")
    _rules = True

    def __init__(self, estimator, weight_grid, *, scoring=None, cv=None, refit=True,
                 rules=("inverse_count",), n_jobs=None, verbose=0):
        self.estimator = estimator
        self.weight_grid = weight_grid
        self.scoring = scoring
        self.cv = cv
        self.refit = refit
        self.rules = rules
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_estimator(self) -> None:
        final = _final_step(self.estimator)
        weighting = getattr(final, "weighting", None)
        try:
            conditions = getattr(make_weighting(weighting), "conditions", False)
        except (TypeError, ValueError):
            conditions = False
        if not conditions:
            raise ValueError(
                f"TaskWeightSearchCV needs an estimator trained for every task weighting: "
                f"set weighting='conditioned' on {type(final).__name__} (it has "
                f"weighting={weighting!r}). For per-vector fits use GridSearchCV over "
                "task_weights."
            )

    def _weight_names(self, X, targets) -> list[str]:
        return list(targets.names)

    def _named_vectors(self) -> list[str]:
        return list(self.rules or ())

    def _check_rule(self, name: str) -> None:
        if name not in TASK_WEIGHT_RULES:
            raise ValueError(
                f"{name!r} is not a task-weight rule; use one of {list(TASK_WEIGHT_RULES)}."
            )


class FusionWeightSearchCV(_WeightSearchCV):
    """Search fusion weights with one fusion-weight-conditioned fit per fold.

    :class:`TaskWeightSearchCV`'s search over a ``FusionNet*``'s ``fusion_weights``: the
    estimator is trained for every fusion-weight vector (``fusion_conditioning``, e.g.
    ``"log_uniform"``: :class:`sk_mtl.fusion.FusionConditioning`), so each fold fits it once
    and scores every vector of the grid by ``set_params(fusion_weights=vector)``, where
    ``GridSearchCV(net, {"fusion_weights": vectors})`` fits one network per vector and fold.
    The grid is checked before any fit: a modality that ``X`` does not have, a weight that is
    negative, not finite or above 1e6, and a vector of zeros are refused with the modality
    named; a vector with a weight that training does not draw (outside ``[low, high]`` of
    :class:`~sk_mtl.fusion.LogUniformWeights`) is scored with a warning, since the network
    then extrapolates. ``weighting="conditioned"`` may be set as well: every vector is then
    scored at the estimator's ``task_weights``.

    Parameters
    ----------
    estimator : estimator
        A ``FusionNet*`` with ``fusion_conditioning`` set, or a ``Pipeline`` ending in one
        (the modalities are then checked before fitting only when it has ``modalities=``).
    weight_grid : dict, list or int
        The fusion-weight vectors to score. A dict ``{modality: [w, ...]}`` is the product of
        the lists (modalities left out weigh 1.0), as ``GridSearchCV``'s ``param_grid`` over
        ``fusion_weights__<modality>``; a list holds one ``{modality: w}`` dict per vector
        (0 turns a modality off); an int ``n`` makes ``n`` vectors: for two modalities,
        ratios of the first one's weight to the second's log-spaced over [1/8, 8]; for
        more, ``n`` draws on the simplex (``RandomState(0)``, scaled to mean 1) after equal
        weights.
    scoring : dict of str to scorer, default=None
        Per-task scorers, e.g. :func:`sk_mtl.metrics.task_scorers`; ``None`` scores each
        predicted task by its own score (accuracy or R^2). Every scorer is an objective of
        the Pareto front (greater is better).
    cv : int, cross-validation generator or iterable, default=None
        As in ``GridSearchCV`` (5-fold ``KFold`` by default).
    refit : bool, str or callable, default=True
        As in :class:`TaskWeightSearchCV`: the best mean of the scorers' mean test scores,
        a scorer's, or a callable's choice; ``False`` refits nothing.
    n_jobs : int, default=None
        Folds fitted in parallel (joblib).
    verbose : int, default=0
        Print one line per fold.

    Attributes
    ----------
    cv_results_ : dict of str to ndarray
        One entry per vector, with ``GridSearchCV``'s keys (``params``,
        ``param_fusion_weights``, ``split<k>_test_<scorer>``, ``mean_test_<scorer>``,
        ``std_test_<scorer>``, ``rank_test_<scorer>``, ``mean_fit_time`` (the fold's one
        fit), ``mean_score_time``).
    best_index_, best_params_, best_score_ : int, dict, float
        The chosen vector (``refit``), its parameters and its refit criterion's score.
    best_estimator_ : estimator
        Refitted on all data, set to ``best_params_`` (``refit`` not ``False``).
    pareto_front_ : dict of str to ndarray
        The non-dominated vectors, as in :class:`TaskWeightSearchCV`.
    hypervolume_ : float
        Hypervolume of the front above ``hypervolume_ref_``; :meth:`hypervolume` takes
        another reference, :meth:`spread` says how far each objective moves.
    scorer_names_ : list of str
        The objectives, in ``pareto_front_`` order.
    n_splits_ : int
        Number of folds.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch.helper import SliceDict
    >>> from sk_mtl import FusionNetRegressor
    >>> from sk_mtl.model_selection import FusionWeightSearchCV
    >>> rng = np.random.RandomState(0)
    >>> X = SliceDict(a=rng.normal(size=(300, 2)), b=rng.normal(size=(300, 2)))
    >>> y = X["a"][:, 0] + 0.5 * X["b"][:, 0]
    >>> net = FusionNetRegressor(fusion_conditioning="log_uniform", max_epochs=5,
    ...                          retrieval=None, random_state=0)
    >>> search = FusionWeightSearchCV(net, {"b": [0.0, 0.5, 1.0, 2.0]}, cv=3).fit(X, y)
    >>> [p["fusion_weights"]["b"] for p in search.cv_results_["params"]]
    [0.0, 0.5, 1.0, 2.0]
    >>> sorted(search.best_params_)
    ['fusion_weights']
    """

    _param = "fusion_weights"
    _unit = ("modality", "modalities", "modality(ies)")
    _ratio_range = (1 / 8, 8)

    def __init__(self, estimator, weight_grid, *, scoring=None, cv=None, refit=True,
                 n_jobs=None, verbose=0):
        self.estimator = estimator
        self.weight_grid = weight_grid
        self.scoring = scoring
        self.cv = cv
        self.refit = refit
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_estimator(self) -> None:
        final = _final_step(self.estimator)
        if "fusion_conditioning" not in final.get_params(deep=False):
            raise ValueError(
                f"FusionWeightSearchCV searches the fusion weights of a FusionNet*; "
                f"{type(final).__name__} has none. For task weights use TaskWeightSearchCV."
            )
        if make_fusion_conditioning(final.fusion_conditioning) is None:
            raise ValueError(
                "FusionWeightSearchCV needs an estimator trained for every fusion-weight "
                f"vector: set fusion_conditioning='log_uniform' on {type(final).__name__} "
                "(it has fusion_conditioning=None). For per-vector fits use GridSearchCV "
                "over fusion_weights."
            )

    def _weight_names(self, X, targets) -> list[str] | None:
        final = _final_step(self.estimator)
        if final is self.estimator:
            return final._input.modality_names(final, X)
        if isinstance(final.modalities, Mapping):
            return [str(m) for m in final.modalities]
        return None  # a Pipeline's steps make the modalities: checked at prediction

    def _vectors(self, names):
        vectors = super()._vectors(names)
        spec = make_fusion_conditioning(_final_step(self.estimator).fusion_conditioning)
        outside = {m for v in vectors for m in spec.outside(v)}
        if outside:
            warnings.warn(
                f"weight_grid gives modality(ies) {sorted(outside)} weights that "
                f"fusion_conditioning={spec!r} never draws in training; the network "
                "extrapolates there.",
                UserWarning,
                stacklevel=3,
            )
        return vectors


def _set_weights(estimator, param: str, weights) -> None:
    _final_step(estimator).set_params(**{param: weights})


def _take(X, rows):
    if isinstance(X, Mapping) and not hasattr(X, "shape"):  # a dict of modalities
        return {k: _safe_indexing(v, rows) for k, v in X.items()}
    return _safe_indexing(X, rows)


def _label(vector) -> str:
    if isinstance(vector, str):
        return vector
    return ":".join(f"{w:g}" for w in vector.values())


def _fit_and_score_fold(estimator, X, y, train, test, param, vectors, scorers, fit_params,
                        verbose, label) -> dict:
    X_train, y_train = _take(X, train), _safe_indexing(y, train)
    X_test, y_test = _take(X, test), _safe_indexing(y, test)
    start = time.perf_counter()
    estimator.fit(X_train, y_train, **fit_params)
    fit_time = time.perf_counter() - start
    scores = {name: [] for name in scorers}
    score_times = []
    for vector in vectors:
        _set_weights(estimator, param, vector)
        start = time.perf_counter()
        for name, scorer in scorers.items():
            scores[name].append(float(scorer(estimator, X_test, y_test)))
        score_times.append(time.perf_counter() - start)
    if verbose:
        print(f"{label}: fit {fit_time:.1f} s, {len(vectors)} vectors scored in "
              f"{sum(score_times):.1f} s")
    return {"fit_time": fit_time, "scores": scores, "score_times": score_times}
