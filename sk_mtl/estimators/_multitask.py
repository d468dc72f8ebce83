"""MultiTaskNet, MultiTaskNetClassifier and MultiTaskNetRegressor."""

from __future__ import annotations

from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if

from ._base import BaseMultiTaskNet
from ._docs import PARAMETERS, TABLE_TEXT, parameters_doc
from ._inputs import TableInput
from ._params import TABLE, declare_init

__all__ = [
    "ClassificationTasksMixin",
    "MixedTasksMixin",
    "MultiTaskNet",
    "MultiTaskNetClassifier",
    "MultiTaskNetRegressor",
    "RegressionTasksMixin",
]

_ATTRIBUTES = """
    Attributes
    ----------
    tasks_ : dict of str to Task
        Fitted task objects (label encoding, head size, loss) by task name, auxiliary tasks
        included.
    task_names_ : list of str
        Names of the predicted tasks, in output order.
    auxiliary_task_names_ : list of str
        Names of the auxiliary tasks (trained, not predicted).
    task_weights_ : dict of str to float
        Task weights used in the last fit.{classes}
    n_features_in_ : {n_features_in}
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during fit, when ``X`` has string column names. A later
        DataFrame is read by these names, in any order; a missing or unseen column raises
        a ``ValueError`` naming it.
    net_ : skorch.NeuralNet
        The private skorch net that trained the module: ``net_.save_params(f_params=...)``
        and ``net_.load_params`` save and load weights.
    history_ : skorch.History
        Per-epoch records: ``train_loss`` and ``valid_loss`` (unweighted sums of task
        losses), ``train_loss_<task>`` and ``valid_loss_<task>`` (mean loss over labelled
        rows; regression losses in standardized units), ``train_objective`` (weighted loss
        plus penalties, what is minimised), ``weight_<task>``, ``dur``. After a
        ``refit_full`` training: its epochs on all rows (no ``valid_loss``).
    refit_epochs_ : int or None
        The epochs ``refit_full`` trained the kept network for on all rows (the epoch
        early stopping restored); ``None`` when the fit was not refitted.
    validation_history_ : list of dict or None
        With ``refit_full``: the first training's per-epoch records, validation losses
        and all, by which the epochs were chosen; else ``None``.
    module_ : torch.nn.Module
        The trained network: ``module_.trunk`` and one head per task.
    class_weight_ : dict of str to ndarray
        The class weights of the last fit, per task that ``class_weight`` weighs, ordered
        as that task's classes (empty without class weights).
    data_parallel_ : dict or None
        For a fit trained data-parallel over the processes of a ``torch.distributed``
        group (``MultiTaskNet*`` only; see the user guide's "Scaling out"): this process's
        ``{{"rank", "world_size", "backend"}}``; ``None`` for a fit in one process.
"""

#: ``n_features_in_``'s entry for the one-table estimators.
_N_FEATURES_IN = "int\n        Number of features seen during fit."

_NOTES = """
    Notes
    -----
    A fit that raises leaves the estimator as it was (unfitted, or the earlier model).
    Ctrl-C during ``fit`` warns, keeps the model trained so far, and ``warm_start=True``
    resumes it. ``predict`` raises instead of returning non-finite values.
"""

_RETRIEVAL_ATTRIBUTE = """    retrieval_ : NeighbourTargets or None
        The fitted retrieval-feature maker (training rows and their encoded labels), or
        ``None`` when no retrieval features were used.
    input_scaler_ : transformer or None
        The fitted scaling of the input (``input_scaling``), or ``None`` (no scaling, or a
        sparse input).
    ensemble_size_ : int
        The number of ensemble members trained (``ensemble_size``, ``"auto"`` resolved by
        the rows of the first fit).
    hidden_dims_ : tuple of int
        The widths of the trunk's hidden layers (``hidden_dims``, ``"auto"`` resolved by
        the rows of the fit).
    dropout_ : float
        The dropout rate of the network kept (``dropout``, or the rate ``"auto"`` chose by
        the validation loss).
    numeric_bins_ : list of ndarray
        With ``numeric_embedding="piecewise"``: the bin edges of each scaled input column.
"""

_CLASSES_DOC = """
    classes_ : ndarray or list of ndarray
        Class labels of the task (1-D ``y``) or a list with one entry per task{none}."""


class _TableNet(BaseMultiTaskNet):
    """The one-table estimators: :class:`BaseMultiTaskNet`'s parameters plus the table's."""

    _input = TableInput()
    __init__ = declare_init(TABLE)


class MixedTasksMixin:
    """Behaviour of the estimators whose tasks may be of any kind (``MultiTaskNet``,
    ``FusionNet``): both classifier and regressor tags, ``predict_proba`` when a task is
    a classification task."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Neither a classifier nor a regressor, but it does both kinds of task.
        if tags.classifier_tags is None:
            tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=True)
        if tags.regressor_tags is None:
            tags.regressor_tags = RegressorTags()
        return tags

    def _has_classification_task(self) -> bool:
        if not hasattr(self, "tasks_"):
            return True
        return any(t.is_classification for t in self.tasks_.values())

    @available_if(_has_classification_task)
    def predict_proba(self, X):
        """Class probabilities of each classification task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input.

        Returns
        -------
        proba : ndarray or list of ndarray
            For a 1-D ``y``, one array ``(n_samples, n_classes)``; else a list with one entry
            per task: ``(n_samples, n_classes)`` columns in ``classes_`` order for binary and
            multiclass tasks, ``(n_samples, n_labels)`` for multilabel tasks and ``None`` for
            regression tasks.
        """
        return self._predict_proba(X)


class MultiTaskNet(MixedTasksMixin, _TableNet):
    __doc__ = (
        """Multi-task neural network: shared trunk, one head per task, mixed task kinds.

    Fits one network on a table with one or several target columns of any kind (binary,
    multiclass, multilabel, regression) and predicts all of them. Missing labels (NaN,
    ``None``, ``pd.NA``) are left out of that task's loss only. The objective is
    ``sum_t w_t * L_t + lambda_l1 * ||W||_1 + lambda_l2 * ||W||_2^2``.
"""
        + parameters_doc(TABLE, PARAMETERS, **TABLE_TEXT, infer=(
                " as scikit-learn's ``type_of_target`` does: non-integer numbers are "
                "regression, other labels are classes (declare ``\"regression\"`` for "
                "integer-valued targets such as grades or counts); a column of label lists "
                "is multilabel"
            )
        )
        + _ATTRIBUTES.format(classes=_CLASSES_DOC.format(none=" (``None`` for regression)"),
                             n_features_in=_N_FEATURES_IN)
        + _RETRIEVAL_ATTRIBUTE
        + _NOTES
        + """
    See Also
    --------
    MultiTaskNetClassifier : All tasks are classification.
    MultiTaskNetRegressor : All tasks are regression.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_mtl import MultiTaskNet
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(200, 4)).astype("float32")
    >>> y = pd.DataFrame({"size": X[:, 0] * 2.0 + 0.1 * rng.normal(size=200),
    ...                   "colour": np.where(X[:, 1] > 0, "red", "blue")})
    >>> net = MultiTaskNet(max_epochs=30, lr=0.01, random_state=0).fit(X, y)
    >>> net.task_names_
    ['size', 'colour']
    >>> {name: task.kind for name, task in net.tasks_.items()}
    {'size': 'regression', 'colour': 'binary'}
    >>> net.predict(X[:2]).shape
    (2, 2)
    >>> scores = net.task_scores(X, y)
    >>> bool(scores["size"] > 0.9 and scores["colour"] > 0.9)
    True
"""
    )


class ClassificationTasksMixin:
    """Classifier behaviour shared by the classifiers: classification tasks only, a clear
    error for continuous targets, ``predict_proba`` for every task, mean-accuracy ``score``."""

    _kinds = "classification"

    def predict_proba(self, X):
        """Class probabilities of each task.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input.

        Returns
        -------
        proba : ndarray or list of ndarray
            For a 1-D ``y``, one array ``(n_samples, n_classes)``; else a list with one
            ``(n_samples, n_classes)`` array per task (``(n_samples, n_labels)`` for multilabel
            tasks), columns in ``classes_`` order.
        """
        return self._predict_proba(X)

    score = BaseMultiTaskNet.score


class MultiTaskNetClassifier(ClassificationTasksMixin, ClassifierMixin, MultiTaskNet):
    __doc__ = (
        """Multi-task neural network classifier: shared trunk, one head per task.

    Each column of ``y`` is a classification task (binary, multiclass, or multilabel with
    one list of labels per row); labels of any type come back in their original space.
    With a 1-D ``y`` it behaves as any scikit-learn classifier. Missing labels (NaN, ``None``,
    ``pd.NA``) are left out of that task's loss only.
"""
        + parameters_doc(TABLE, PARAMETERS, **TABLE_TEXT, infer=(
                ": two classes are binary, more are multiclass, label lists are multilabel; a "
                "continuous target raises ``ValueError``"
            )
        )
        + _ATTRIBUTES.format(classes=_CLASSES_DOC.format(none=""),
                             n_features_in=_N_FEATURES_IN)
        + _RETRIEVAL_ATTRIBUTE
        + _NOTES
        + """
    See Also
    --------
    MultiTaskNet : Mixed classification and regression tasks.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sk_mtl import MultiTaskNetClassifier
    >>> X, Y = make_multilabel_classification(n_samples=200, n_classes=3, random_state=0)
    >>> clf = MultiTaskNetClassifier(max_epochs=20, random_state=0).fit(X, Y)
    >>> clf.predict(X[:3]).shape
    (3, 3)
    >>> [p.shape for p in clf.predict_proba(X[:3])]
    [(3, 2), (3, 2), (3, 2)]
    """
    )


class RegressionTasksMixin:
    """Regressor behaviour shared by the regressors: every task is a regression task and
    ``score`` is the mean R^2."""

    _kinds = "regression"

    score = BaseMultiTaskNet.score


class MultiTaskNetRegressor(RegressionTasksMixin, RegressorMixin, _TableNet):
    __doc__ = (
        """Multi-task neural network regressor: shared trunk, one head per target.

    Each column of ``y`` is a regression task, trained on standardized targets and predicted
    in the original unit. With a 1-D ``y`` it behaves as any scikit-learn regressor. Missing
    targets (NaN, ``None``, ``pd.NA``) are left out of that task's loss only.
"""
        + parameters_doc(TABLE, PARAMETERS, **TABLE_TEXT,
                         infer=": every task is ``\"regression\"``")
        + _ATTRIBUTES.format(classes="", n_features_in=_N_FEATURES_IN)
        + _RETRIEVAL_ATTRIBUTE
        + _NOTES
        + """
    See Also
    --------
    MultiTaskNet : Mixed classification and regression tasks.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sk_mtl import MultiTaskNetRegressor
    >>> X, Y = make_regression(n_samples=200, n_features=5, n_targets=2, random_state=0)
    >>> reg = MultiTaskNetRegressor(max_epochs=50, lr=0.01, random_state=0).fit(X, Y)
    >>> reg.predict(X[:3]).shape
    (3, 2)
    >>> bool(reg.score(X, Y) > 0.9)
    True
    """
    )

