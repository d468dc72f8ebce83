"""MultiTaskNet, MultiTaskNetClassifier and MultiTaskNetRegressor."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from torch import nn

from ..data import NeighbourTargets, QuantileRobust
from ..data._scaling import make_input_scaler
from ..modules import EnsembleMLPTrunk, MultiTaskModule, PeriodicInput
from ..trunks import TrunkSpec
from ._base import BaseMultiTaskNet

#: ``input_scaling="auto"`` gives two views of each column up to this many columns.
AUTO_TWO_VIEWS_MAX_FEATURES = 64
#: ``ensemble_size="auto"`` trains this many members...
AUTO_ENSEMBLE_SIZE = 8
#: ...on at most this many rows, and one network on more: on the suite's three tables above
#: it (ujiindoorloc, gas_turbine_emissions, 14,000-24,000 training rows) eight members
#: scored lower than one network and took 12-14 times as long (docs/defaults.md).
AUTO_ENSEMBLE_MAX_ROWS = 10_000
#: ``retrieval="auto"`` looks up this many neighbours...
AUTO_RETRIEVAL_NEIGHBORS = 16
#: ...for dense inputs of at most this many columns (nearest neighbours in wide inputs, e.g.
#: 161 columns of text components, measured no better and cost a kNN search)...
AUTO_RETRIEVAL_MAX_FEATURES = 64
#: ...and at most this many training rows: the exact search is quadratic in the rows (20,000
#: x 32 columns: 1.4 s at fit; 50,000 x 64: 11 s, as long as the whole fit).
AUTO_RETRIEVAL_MAX_ROWS = 20_000

#: ``numeric_embedding=`` names: the module each puts in front of the trunk.
NUMERIC_EMBEDDINGS = {"periodic": PeriodicInput, None: None}

__all__ = [
    "ClassificationTasksMixin",
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
    """The one-table estimators: :class:`BaseMultiTaskNet`'s parameters plus ``retrieval``."""

    def __init__(
        self,
        *,
        tasks=None,
        task_weights=None,
        auxiliary_tasks=None,
        class_weight=None,
        weighting="static",
        hidden_dims=(128, 128),
        activation="relu",
        dropout=0.1,
        batch_norm=False,
        trunk=None,
        lambda_l1=0.0,
        lambda_l2=0.0,
        optimizer="adamw",
        lr=2e-3,
        optimizer_params=None,
        lr_schedule="cosine",
        max_epochs=100,
        batch_size="auto",
        validation_fraction=0.1,
        stratify=None,
        early_stopping="auto",
        n_iter_no_change=10,
        tol=1e-4,
        callbacks=None,
        verbose=0,
        progress_bar="auto",
        random_state=None,
        device="cpu",
        n_threads=1,
        warm_start=False,
        on_divergence="raise",
        retrieval="auto",
        input_scaling="auto",
        ensemble_size="auto",
        cross_fit=False,
        numeric_embedding=None,
    ):
        super().__init__(
            tasks=tasks, task_weights=task_weights, auxiliary_tasks=auxiliary_tasks,
            class_weight=class_weight,
            weighting=weighting, hidden_dims=hidden_dims, activation=activation,
            dropout=dropout, batch_norm=batch_norm, trunk=trunk, lambda_l1=lambda_l1,
            lambda_l2=lambda_l2, optimizer=optimizer, lr=lr,
            optimizer_params=optimizer_params, lr_schedule=lr_schedule,
            max_epochs=max_epochs, batch_size=batch_size,
            validation_fraction=validation_fraction, stratify=stratify,
            early_stopping=early_stopping, n_iter_no_change=n_iter_no_change, tol=tol,
            callbacks=callbacks, verbose=verbose, progress_bar=progress_bar,
            random_state=random_state, device=device, n_threads=n_threads,
            warm_start=warm_start, on_divergence=on_divergence,
        )
        self.retrieval = retrieval
        self.input_scaling = input_scaling
        self.ensemble_size = ensemble_size
        self.cross_fit = cross_fit
        self.numeric_embedding = numeric_embedding

    def _input_data(self, X, reset: bool):
        """Validate ``X``; dense input is scaled by ``input_scaler_`` (fitted when
        ``reset``), sparse input is kept as it is."""
        X = self._validate_X(X, reset=reset)
        if reset:
            scaling = self.input_scaling
            if scaling == "auto":
                # A custom trunk module or callable was written for the input's width: one
                # view per column for it; two for the networks sk_mtl builds, up to
                # AUTO_TWO_VIEWS_MAX_FEATURES columns (beyond, the second view doubles the
                # widest layer's cost for tables whose many columns say enough already).
                two = not self._custom_trunk() and X.shape[1] <= AUTO_TWO_VIEWS_MAX_FEATURES
                scaling = "quantile+robust" if two else "quantile"
            self.input_scaler_ = make_input_scaler(scaling, X)
            self.ensemble_size_ = self._resolve_ensemble_size(X.shape[0])
        if self.input_scaler_ is not None and not sp.issparse(X):
            X = np.asarray(self.input_scaler_.transform(X), dtype=np.float32)
        return X if sp.issparse(X) else torch.from_numpy(np.ascontiguousarray(X))

    def _custom_trunk(self) -> bool:
        return self.trunk is not None and not isinstance(self.trunk, (str, TrunkSpec))

    def _input_width(self) -> int:
        scaler = getattr(self, "input_scaler_", None)
        if scaler is None:
            return self.n_features_in_
        return 2 * self.n_features_in_ if isinstance(scaler, QuantileRobust) else (
            self.n_features_in_)

    def _resolve_ensemble_size(self, n_rows: int) -> int:
        """``ensemble_size`` checked, ``"auto"`` made a number for a fit on ``n_rows`` rows."""
        k = self.ensemble_size
        if k == "auto":
            if self.cross_fit is True or n_rows <= AUTO_ENSEMBLE_MAX_ROWS:
                return AUTO_ENSEMBLE_SIZE
            return 1
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(
                f'ensemble_size must be a positive integer or "auto", got {k!r}.'
            )
        return int(k)

    def _cross_fitted(self) -> bool:
        """Whether the members are cross-fitted: checked, and only for an ensemble trunk."""
        if self.cross_fit not in (True, False):
            raise ValueError(f"cross_fit must be True or False, got {self.cross_fit!r}.")
        if not self.cross_fit:
            return False
        if self.trunk is not None or self.ensemble_size_ < 2:
            raise ValueError(
                "cross_fit=True trains each ensemble member on all but one fold of the rows: "
                f"it needs the default trunk (trunk=None) and ensemble_size >= 2, got "
                f"trunk={self.trunk!r}, ensemble_size={self.ensemble_size!r}."
            )
        return True

    def _split(self, data, codes):
        """Cross-fitting: member ``j`` trains on the rows outside fold ``j`` and is validated
        on fold ``j`` (the out-of-fold loss), so every row trains and validates; else the
        usual validation split."""
        if not self._cross_fitted():
            return super()._split(data, codes)
        k, n = self.ensemble_size_, len(data)
        if n < k:
            raise ValueError(
                f"cross_fit=True with ensemble_size={k} needs at least {k} training rows, "
                f"got {n}."
            )
        fold = cross_fit_folds(n, k, codes, self._seed)
        held_out = torch.zeros(n, k)
        held_out[torch.arange(n), torch.from_numpy(fold)] = 1.0
        device = data.targets[next(iter(data.targets))].device
        held_out = held_out.to(device)
        return data.with_members(1.0 - held_out), data.with_members(held_out)

    def _build_module(self, tasks, n_conditions: int = 0):
        if self.numeric_embedding not in NUMERIC_EMBEDDINGS:
            raise ValueError(
                f"numeric_embedding={self.numeric_embedding!r} is not known; use one of "
                f"{sorted(NUMERIC_EMBEDDINGS, key=str)}."
            )
        if self.trunk is not None or (self.ensemble_size_ == 1 and not self.numeric_embedding):
            return super()._build_module(tasks, n_conditions)
        n_features = self._input_width() + n_conditions
        if self.retrieval_ is not None:
            n_features += self.retrieval_.n_features_out_
        front = None
        if self.numeric_embedding is not None:
            front = NUMERIC_EMBEDDINGS[self.numeric_embedding](n_features)
            n_features = front.out_features
        heads = {n: t.n_outputs_ for n, t in tasks.items()}
        if self.ensemble_size_ > 1:
            trunk = EnsembleMLPTrunk(n_features, self._hidden_dims(), self.activation,
                                     self.dropout, k=self.ensemble_size_,
                                     shared=not self._cross_fitted(),
                                     batch_norm=self.batch_norm)
            averages = {n: t.member_average for n, t in tasks.items()}
        else:
            trunk = self._make_trunk(n_features, list(tasks))[0]
            averages = None
        if front is not None:
            k = getattr(trunk, "k", None)
            trunk = nn.Sequential(front, trunk)
            if k is not None:
                trunk.k = k
        return MultiTaskModule(trunk, trunk[-1].out_features if front is not None
                               else trunk.out_features, heads, member_averages=averages)

    def _make_retrieval(self, X_data) -> NeighbourTargets | None:
        # A custom trunk module or callable was written for the input's width: leave it.
        custom = self._custom_trunk()
        # "auto" judges the table by its own columns, not by the scaled views of them.
        shape = (X_data.shape[0], self.n_features_in_)
        return make_retrieval(self.retrieval, shape, sp.issparse(X_data), custom)


def cross_fit_folds(n: int, k: int, codes, seed: int) -> np.ndarray:
    """The fold (0 to ``k - 1``) of each of ``n`` rows: stratified on ``codes`` (integer
    class codes of the ``stratify`` task) where each class has ``k`` rows, else shuffled."""
    from sklearn.model_selection import KFold, StratifiedKFold

    fold = np.empty(n, dtype=np.int64)
    splitter = KFold(k, shuffle=True, random_state=seed)
    if codes is not None and np.bincount(np.asarray(codes)).min(initial=k) >= k:
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
    for j, (_, rows) in enumerate(splitter.split(np.zeros(n), codes)):
        fold[rows] = j
    return fold


def make_retrieval(
    retrieval, shape: tuple[int, int], sparse: bool, custom: bool
) -> NeighbourTargets | None:
    """The retrieval-feature maker that ``retrieval=`` asks for on rows of ``shape``.

    Checked here, at fit, rather than in ``_check_params``; it still runs before any
    training. ``custom`` says the network reading the rows was written for their width
    (a custom trunk or encoder), which ``"auto"`` leaves alone.
    """
    r = retrieval
    if not (r is None or (isinstance(r, str) and r == "auto") or (
        isinstance(r, numbers.Integral) and not isinstance(r, bool) and r >= 1
    )):
        raise ValueError(
            f"retrieval must be 'auto', None or a number of neighbours >= 1, got {r!r}."
        )
    n_rows, n_features = shape
    if r is None or n_rows < 2 or n_features < 1:
        return None
    if r == "auto":
        too_big = n_features > AUTO_RETRIEVAL_MAX_FEATURES or n_rows > AUTO_RETRIEVAL_MAX_ROWS
        if custom or too_big or sparse:
            return None
        return NeighbourTargets(n_neighbors=AUTO_RETRIEVAL_NEIGHBORS)
    return NeighbourTargets(n_neighbors=int(r))


_CLASSES_DOC = """
    classes_ : ndarray or list of ndarray
        Class labels of the task (1-D ``y``) or a list with one entry per task{none}."""


class MultiTaskNet(_TableNet):
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

    def fit(self, X, y, sample_weight=None):
        super().fit(X, y, sample_weight=sample_weight)
        self._set_classes()
        return self

    fit.__doc__ = BaseMultiTaskNet.fit.__doc__

    def _set_classes(self) -> None:
        classes = [getattr(self.tasks_[n], "classes_", None) for n in self.task_names_]
        self.classes_ = classes[0] if self._single_output else classes

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


class ClassificationTasksMixin:
    """Classifier behaviour shared by the classifiers: classification tasks only, a clear
    error for continuous targets, ``predict_proba`` for every task, mean-accuracy ``score``."""

    _allowed_kinds = frozenset({"binary", "multiclass", "multilabel"})

    def _infer_task_kind(self, values: np.ndarray, name: str) -> str:
        kind = super()._infer_task_kind(values, name)
        if kind == "regression":
            raise ValueError(
                f"Unknown label type: task {name!r} holds continuous values, but "
                f"{type(self).__name__} needs class labels. Use a regressor, or "
                f"MultiTaskNet/FusionNet with tasks={{{name!r}: 'regression'}}."
            )
        return kind

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

    _allowed_kinds = frozenset({"regression"})

    def _infer_task_kind(self, values: np.ndarray, name: str) -> str:
        return "regression"

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

