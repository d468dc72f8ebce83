"""Prediction and scoring of the multi-task estimators (mixed into ``BaseMultiTaskNet``).

Every prediction goes through ``_raw_outputs``: ``X`` converted by the estimator's input
(kept for the next call on the same rows when it holds text), the retrieval columns added,
the trained network run in fixed blocks, each task's raw output checked finite; the tasks
then decode it (labels, probabilities, values in the original unit).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..data import TensorData, fingerprint
from ..tasks import as_label_array
from ._inputs import n_rows as _n_rows
from ._targets import resolve_task_weights, targets_by_task
from ._training import torch_threads

__all__ = ["PredictionMixin", "condition_network"]

#: Largest converted prediction input kept for the next prediction on the same rows.
MEMO_MAX_BYTES = 256 * 2**20


class PredictionMixin:
    """``predict``, ``predict_tasks``, ``task_scores``, ``score`` and what they share."""

    @property
    def history_(self):
        """skorch ``History`` of the last fit: one dict per epoch (see the class docstring)."""
        return self.net_.history

    @property
    def module_(self) -> nn.Module:
        """The trained torch module (trunk + heads)."""
        return self.net_.module_

    def _prediction_input(self, X):
        """``_input_data(X, reset=False)``, kept for the last ``X`` holding strings: several
        scorers, or several task weightings (``TaskWeightSearchCV``), predicting on the same
        rows convert them (TF-IDF, category codes) once. Numeric input converts faster than
        it hashes and is not kept."""
        key = fingerprint(X) if _has_text(X) else None
        memo = self.__dict__.get("_input_memo")
        if key is not None and memo is not None and memo[0] == key and memo[1] is self.net_:
            return memo[2]
        X_data = self._input_data(X, reset=False)
        self.__dict__.pop("_input_memo", None)
        if key is not None and _nbytes(X_data) <= MEMO_MAX_BYTES:
            self._input_memo = (key, self.net_, X_data)
        return X_data

    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object's is the live __dict__
        state.pop("_input_memo", None)  # a cache, not part of the model
        return state

    def _raw_outputs(self, X) -> dict[str, np.ndarray]:
        check_is_fitted(self)
        X_data = self._prediction_input(X)
        n_rows = _n_rows(X_data)
        if n_rows == 0:
            raise ValueError(
                f"Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
        condition_network(self, self.net_.module_)
        chunks: dict[str, list[np.ndarray]] = {name: [] for name in self.task_names_}
        with torch_threads(self.n_threads):
            for out in self.net_.forward_iter(TensorData(self._network_input(X_data))):
                for name in self.task_names_:
                    chunks[name].append(out[name].numpy())
        # The last prediction block is padded to the block size: keep the real rows.
        outputs = {name: np.concatenate(parts)[:n_rows] for name, parts in chunks.items()}
        for name, values in outputs.items():
            _check_finite_output(name, values)
        return outputs

    def _assemble(self, columns: list[np.ndarray]) -> np.ndarray:
        if self._single_output:
            return columns[0]
        if len({c.dtype for c in columns}) == 1 and columns[0].dtype != object:
            return np.column_stack(columns)
        out = np.empty((len(columns[0]), len(columns)), dtype=object)
        for j, c in enumerate(columns):
            out[:, j] = c
        return out

    def predict(self, X):
        """Predict each task in its original label space.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_tasks)
            1-D when the estimator was fitted on a 1-D ``y``; else one column per task, in
            ``task_names_`` order (object dtype when tasks' label types differ).
        """
        return self._assemble(list(self.predict_tasks(X).values()))

    def predict_tasks(self, X) -> dict[str, np.ndarray]:
        """Predict each task and return ``{task_name: predictions}``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input.

        Returns
        -------
        y_pred : dict of str to ndarray of shape (n_samples,)
            Predictions per task, in original label space.
        """
        raw = self._raw_outputs(X)
        return {n: self.tasks_[n].decode(raw[n]) for n in self.task_names_}

    def _predict_proba(self, X):
        raw = self._raw_outputs(X)
        probas = [
            self.tasks_[n].proba(raw[n]) if self.tasks_[n].is_classification else None
            for n in self.task_names_
        ]
        return probas[0] if self._single_output else probas

    # ------------------------------------------------------------------ scoring
    def _targets_by_task(self, y) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Labels and labelled-row masks of the predicted tasks in ``y``
        (:func:`._targets.targets_by_task`)."""
        return targets_by_task(y, self.task_names_, list(self.tasks_))

    def task_scores(self, X, y, sample_weight=None) -> dict[str, float]:
        """Score each task on its labelled rows: accuracy (classification) or R^2.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test input.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets; NaN/None/pd.NA rows are left out of that task's score.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        scores : dict of str to float
            Score per task name.
        """
        predictions = self.predict_tasks(X)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        scores = {}
        for name, (column, labelled) in self._targets_by_task(y).items():
            task = self.tasks_[name]
            y_true = as_label_array(column[labelled], name)
            w = None if sw is None else sw[labelled]
            scores[name] = task.score(y_true, predictions[name][labelled], sample_weight=w)
        return scores

    def score(self, X, y, sample_weight=None):
        """Mean over tasks of each task's score on its labelled rows.

        Each task is scored by accuracy (binary, multiclass; subset accuracy for multilabel)
        or by the coefficient of determination R^2 (regression), over the rows where it has a
        label; the score is the unweighted mean of these per-task scores. Use
        :meth:`task_scores` for the scores one by one and :func:`sk_mtl.metrics.task_scorer`
        to score one task in ``GridSearchCV`` or ``cross_validate``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test input.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            Mean of the per-task scores.
        """
        return float(np.mean(list(self.task_scores(X, y, sample_weight).values())))


def condition_network(est, module: nn.Module) -> None:
    """Make ``module`` (the fitted ``est``'s network or a copy of it) read the weights set
    now, not those of the fit: the task weights of a weight-conditioned network
    (``weighting="conditioned"``; ``set_params(task_weights__<task>=w)``) and the fusion
    weights of one conditioned on them (``fusion_conditioning``)."""
    weighting = est.net_.weighting
    if getattr(weighting, "conditions", False):
        weights = resolve_task_weights(est.task_weights, list(est.tasks_), est.task_counts_)
        module.trunk.set_condition(weighting.target(weights))
    est._input.condition(est, module)


def _check_finite_output(name: str, values: np.ndarray) -> None:
    finite = np.isfinite(values)
    if not finite.all():
        rows = int((~finite.reshape(len(values), -1).all(axis=1)).sum())
        raise ValueError(
            f"The network's output for task {name!r} is not finite on {rows} row(s) "
            "of X: their inputs are far outside what float32 arithmetic in the "
            "network can take (rescale X), or the model diverged."
        )


def _has_text(X) -> bool:
    """Whether ``X`` (or one of its modalities) holds strings or other objects."""
    if isinstance(X, Mapping) and not sp.issparse(X):
        return any(_has_text(v) for v in X.values())
    if isinstance(X, pd.DataFrame):
        return any(_text_dtype(t) for t in X.dtypes)
    if isinstance(X, (pd.Series, np.ndarray)):
        return _text_dtype(X.dtype)
    return False


def _text_dtype(dtype) -> bool:
    if isinstance(dtype, np.dtype) and dtype.kind in "OUS":
        return True
    return pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype)


def _nbytes(X_data) -> int:
    if isinstance(X_data, dict):
        return sum(_nbytes(v) for v in X_data.values())
    if isinstance(X_data, tuple):
        return sum(_nbytes(v) for v in X_data if v is not None)
    if isinstance(X_data, torch.Tensor):
        return X_data.element_size() * X_data.nelement()
    if sp.issparse(X_data):
        return X_data.data.nbytes + X_data.indices.nbytes + X_data.indptr.nbytes
    return getattr(X_data, "nbytes", 0)
