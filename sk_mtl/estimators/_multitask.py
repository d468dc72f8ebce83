"""MultiTaskNet, MultiTaskNetClassifier and MultiTaskNetRegressor."""

from __future__ import annotations

from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if

from ._base import BaseMultiTaskNet
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

_PARAMETERS = """
    Parameters
    ----------
    tasks : dict of str to str or Task, default=None
        Kind of each task, keyed by task name: ``"binary"``, ``"multiclass"``,
        ``"multilabel"``, ``"regression"``, or a :class:`sk_mtl.tasks.Task` object (cloned at
        fit). Tasks left out are inferred from ``y``{infer}. Task names are a DataFrame's
        column names, a named Series' name, ``"y"`` for another 1-D ``y``, and ``"y0"``,
        ``"y1"``, ... for the columns of a 2-D array.
    task_weights : dict of str to float, default=None
        Weight ``w_t`` of each task's loss in the objective; missing tasks weigh 1.0.
        ``set_params(task_weights__<task>=w)`` changes one entry, before or after fit (it
        takes effect at the next fit), so ``GridSearchCV`` can search it.
    class_weight : "balanced", dict or None, default=None
        Weights of the classes in the losses of binary and multiclass tasks (regression
        and multilabel tasks take none). ``"balanced"`` weighs each class of every binary
        and multiclass task by ``n_labelled / (n_classes * count)`` over the labelled
        training rows, as scikit-learn does. A dict keyed by task names weighs tasks one by
        one, each with ``"balanced"``, a dict class -> weight (classes left out weigh 1) or
        ``None``: ``class_weight={{"fraud": "balanced"}}``;
        ``set_params(class_weight__<task>=...)`` sets one entry, so ``GridSearchCV`` can
        search it. A dict whose values are all numbers is scikit-learn's form, class ->
        weight, for the single classification task. A row's weight in a task's loss is its
        ``sample_weight`` times its class's weight; the loss stays a weighted mean. The
        validation rows are weighted the same way.
    auxiliary_tasks : list of str, default=None
        Tasks (columns of ``y``) that are trained, and so shape the shared trunk, but are not
        returned by ``predict``/``predict_proba`` nor counted by ``score``. With one predicted
        task left, predictions are 1-D as for a single-output estimator.
    weighting : str or Weighting, default="static"
        How task losses become gradients: ``"static"`` (``sum_t w_t * L_t``),
        ``"uncertainty"``, ``"dwa"``, ``"gradnorm"``, ``"pcgrad"``, ``"mgda"`` (see
        :mod:`sk_mtl.weighting`), or a :class:`sk_mtl.weighting.Weighting` object whose
        hyper-parameters are searchable as ``weighting__<param>``.
    hidden_dims : tuple of int, default=(128, 128)
        Widths of the shared MLP trunk's hidden layers; ``()`` gives linear heads on the input.
    activation : str or nn.Module class, default="relu"
        Non-linearity of the trunk (see :data:`sk_mtl.modules.ACTIVATIONS`).
    dropout : float, default=0.1
        Dropout probability after each trunk layer.
    batch_norm : bool, default=False
        Whether to put ``BatchNorm1d`` before each trunk activation.
    trunk : str, TrunkSpec, nn.Module or callable, default=None
        A shared trunk replacing the MLP: ``"mmoe"`` or a :class:`sk_mtl.trunks.MMoE`
        (multi-gate mixture of experts, searchable as ``trunk__n_experts`` etc.), an
        ``nn.Module`` mapping ``(n, n_features)`` to ``(n, width)`` (deep-copied at each
        fit), or a callable ``n_features -> nn.Module``. Its width is read from a forward
        pass on two rows, which also checks it before training. ``hidden_dims``,
        ``activation``, ``dropout`` and ``batch_norm`` are then ignored.
    lambda_l1 : float, default=0.0
        L1 penalty ``lambda_l1 * sum |W|`` on the weight matrices (not biases, not the
        sparse-gradient n-gram tables of FusionNet text encoders).
    lambda_l2 : float, default=0.0
        L2 penalty ``lambda_l2 * sum W**2`` on the same weight matrices.
    optimizer : str or torch.optim.Optimizer class, default="adamw"
        ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"sgd"`` or an optimizer class. Embedding
        tables with sparse gradients (FusionNet's first layer over TF-IDF text or sparse
        tables) are updated by ``torch.optim.SparseAdam`` with the same ``lr`` instead;
        ``optimizer_params`` and skorch LR schedulers act on the other parameters.
    lr : float, default=2e-3
        (Initial) learning rate.
    optimizer_params : dict, default=None
        Other optimizer arguments, e.g. ``{{"momentum": 0.9}}``;
        ``set_params(optimizer_params__momentum=0.9)`` sets one.
    lr_schedule : {{"cosine", "constant"}} or None, default="cosine"
        ``"cosine"`` decays the learning rate from ``lr`` to 0 over ``max_epochs`` (cosine
        annealing, stepped each epoch); ``"constant"`` or ``None`` keeps ``lr``.
    max_epochs : int, default=100
        Number of passes over the training data (fewer with early stopping).
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``-1`` for full batch. ``"auto"`` takes the power of two
        nearest ``n_train / 16``, clipped to ``[32, 512]`` (the value used is
        ``batch_size_``).
    validation_fraction : float or None, default=0.1
        Share of rows held out to compute ``valid_loss`` and ``valid_loss_<task>`` each epoch;
        ``None`` or 0 trains on all rows. Skipped when it would hold out less than one row.
    stratify : str, default=None
        Name of a classification task to stratify the validation split on (rows missing
        that label form their own stratum).
    early_stopping : bool or "auto", default="auto"
        Stop when ``valid_loss`` (the unweighted sum of task losses) has not improved by a
        relative ``tol`` for ``n_iter_no_change`` epochs, and restore the best weights.
        ``"auto"`` does so when the validation split holds at least 20 rows and trains all
        ``max_epochs`` otherwise; ``True`` requires a validation split.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    tol : float, default=1e-4
        Relative improvement that counts for early stopping.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks (copied at fit); they see ``task_losses`` in ``on_batch_end``.
    verbose : int, default=0
        1 prints a table of per-epoch losses (total and per task).
    progress_bar : bool or "auto", default="auto"
        A tqdm bar over the epochs, with each task's latest loss (validation, else
        training) in its postfix: a widget in Jupyter, a text bar on a terminal. ``"auto"``
        draws it when someone is watching (a Jupyter kernel, or stderr on a terminal) and
        the fit lasts over 2 seconds, but not when the fit is called by code that fits many
        copies (searches and their refit, cross-validation, ensembles, joblib and Dask
        workers; ``GridSearchCV(verbose=...)`` reports those), for ``partial_fit``, nor with
        ``verbose`` > 0. ``True`` always draws it, at once; ``False`` never.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation split, without
        touching torch's global random state. On CPU two fits with the same int give the same
        predictions.
    device : str, default="cpu"
        Torch device to train and predict on, e.g. ``"cuda"`` or ``"cuda:1"``.
    n_threads : int or None, default=1
        Torch intra-op threads during ``fit`` and prediction (restored afterwards); ``None``
        keeps torch's setting. One thread is the default because these layers are too small
        to gain from more, and threads that spin-wait for a core another process holds
        (``GridSearchCV(n_jobs=...)``, a busy machine) slow an epoch down several-fold; see
        ``docs/defaults.md``.
    warm_start : bool, default=False
        When fitted, ``fit`` continues the same network (weights, optimizer, schedule, early
        stopping and random states) until its history holds ``max_epochs`` epochs in all,
        with ``X``, ``y`` encoded by the fitted preprocessing (same tasks; no new classes).
        After an interrupted fit it resumes from the last complete epoch, so a seeded fit
        ends with the weights of an uninterrupted one. With nothing left to train it warns.
    on_divergence : {{"raise", "restore"}}, default="raise"
        What a non-finite training loss or weight does: ``"raise"`` raises
        :class:`sk_mtl.exceptions.TrainingDivergedError` (the estimator stays as it was
        before the fit); ``"restore"`` puts back the weights of the last finite epoch, warns
        and ends the fit there (it raises when the first epoch already diverges).
"""

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
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape ``(n_features_in_,)``
        Names of features seen during fit, when ``X`` has string column names.
    net_ : skorch.NeuralNet
        The private skorch net that trained the module: ``net_.save_params(f_params=...)``
        and ``net_.load_params`` save and load weights.
    history_ : skorch.History
        Per-epoch records: ``train_loss`` and ``valid_loss`` (unweighted sums of task
        losses), ``train_loss_<task>`` and ``valid_loss_<task>`` (mean loss over labelled
        rows; regression losses in standardized units), ``train_objective`` (weighted loss
        plus penalties, what is minimised), ``weight_<task>``, ``dur``.
    module_ : torch.nn.Module
        The trained network: ``module_.trunk`` and one head per task.
    class_weight_ : dict of str to ndarray
        The class weights of the last fit, per task that ``class_weight`` weighs, ordered
        as that task's classes (empty without class weights).
"""

_NOTES = """
    Notes
    -----
    A fit that raises leaves the estimator as it was (unfitted, or the earlier model).
    Ctrl-C during ``fit`` warns, keeps the model trained so far, and ``warm_start=True``
    resumes it. ``predict`` raises instead of returning non-finite values.
"""

_RETRIEVAL_DOC = """    retrieval : "auto", int or None, default="auto"
        Retrieval features (a simplified TabR): each row's ``k`` nearest training rows are
        found in standardized input space and summaries of their labels (per task: the
        distance-weighted mean label and the nearest neighbour's label; and two distances)
        are appended to the row's input; training rows look up the *other* training rows
        (leave-one-out), so they never see their own label. The network learns how far to
        trust its neighbours (fully for an exact duplicate of a training row). An int is
        ``k``; ``"auto"`` uses 16 neighbours for dense inputs of at most 64 columns and
        20,000 rows and none otherwise (sparse or wide inputs, where it measured no better;
        larger tables, where the exact search costs as much as the fit; custom
        ``trunk`` modules or callables, written for the input's width); ``None`` turns it
        off. With retrieval the trunk reads ``n_features_in_ + retrieval_.n_features_out_``
        columns. The training rows are kept in ``retrieval_`` for prediction.
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
"""

_TABLE_DOC = """    input_scaling : str or None, default="auto"
        One of ``"auto"``, ``"quantile+robust"``, ``"quantile"``, ``"robust"``,
        ``"standard"`` or ``None``.
        How the network scales its own numeric input, fitted on the training rows in
        ``fit`` (kept in ``input_scaler_``). ``"quantile+robust"`` gives the network two
        views of each column side by side (:class:`sk_mtl.data.QuantileRobust`): the
        ``"quantile"`` one and the ``"robust"`` one, whose linear scale near the centre
        keeps nearly linear relations nearly linear; ``"auto"`` is ``"quantile+robust"`` for
        dense inputs of at most 64 columns, and ``"quantile"`` for wider ones (where the
        second view would double the cost of the widest layer) and for a custom ``trunk``
        module or callable (written for the input's width). ``"quantile"`` maps each
        column through its empirical quantiles to a standard normal (scikit-learn's
        ``QuantileTransformer``, up to 1,000 quantiles): skewed columns, sentinel values
        and outliers become well-spread, and a scaler or any monotone transform in front
        changes nothing;
        ``"robust"``: median and interquartile range with a smooth clip to (-3, 3)
        (RealMLP's; :class:`sk_mtl.data.RobustSmoothClip`); ``"standard"``: mean and
        standard deviation; ``None``: the input as given. Sparse input is never scaled.
    ensemble_size : int or "auto", default="auto"
        Members of an efficient ensemble (TabM's BatchEnsemble, ``tabm`` package): the
        members share each hidden layer's weight matrix, each with its own scalings, biases
        and task heads, in one forward pass; each member has its own loss in training, and
        predictions are the members' mean (mean value, mean probability). ``1`` trains one
        plain network. ``"auto"``: 8 members for up to 10,000 rows, one network for more
        (where the members measured no better and cost ~10 times the fit time), and 8
        with ``cross_fit=True``; the number used is ``ensemble_size_``. Applies to the
        default MLP trunk (``trunk=None``); any other trunk is one network.
    cross_fit : bool, default=False
        Train ensemble member ``j`` on all rows but fold ``j`` of ``ensemble_size`` folds
        (stratified by ``stratify`` when given), with independent weights, and stop early
        on the out-of-fold loss (each row judged by the member that did not train on it);
        no validation split is held out (``validation_fraction`` is not used). Needs
        ``ensemble_size >= 2``.
    numeric_embedding : {"periodic"} or None, default=None
        ``"periodic"``: periodic embeddings of every input column (PLR-lite, from
        ``rtdl_num_embeddings``) in front of the trunk; ``None``: the columns as they are.
"""


class _TableNet(BaseMultiTaskNet):
    """The one-table estimators: :class:`BaseMultiTaskNet`'s parameters plus the table's."""

    _input = TableInput()

    __init__ = declare_init(TABLE)


_CLASSES_DOC = """
    classes_ : ndarray or list of ndarray
        Class labels of the task (1-D ``y``) or a list with one entry per task{none}."""


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
        + _PARAMETERS.format(
            infer=(
                " as scikit-learn's ``type_of_target`` does: non-integer numbers are "
                "regression, other labels are classes (declare ``\"regression\"`` for "
                "integer-valued targets such as grades or counts); a column of label lists "
                "is multilabel"
            )
        )
        + _RETRIEVAL_DOC
        + _TABLE_DOC
        + _ATTRIBUTES.format(classes=_CLASSES_DOC.format(none=" (``None`` for regression)"))
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
        + _PARAMETERS.format(
            infer=(
                ": two classes are binary, more are multiclass, label lists are multilabel; a "
                "continuous target raises ``ValueError``"
            )
        )
        + _RETRIEVAL_DOC
        + _TABLE_DOC
        + _ATTRIBUTES.format(classes=_CLASSES_DOC.format(none=""))
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
        + _PARAMETERS.format(infer=": every task is ``\"regression\"``")
        + _RETRIEVAL_DOC
        + _TABLE_DOC
        + _ATTRIBUTES.format(classes="")
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

