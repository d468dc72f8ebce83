"""The shared estimator: validation, task resolution, training through a private skorch net."""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from torch import nn

from ..data import (
    NeighbourTargets,
    TensorData,
    check_class_weight,
    class_row_weights,
    encode_targets,
    fingerprint,
    missing_mask,
    resolve_batch_size,
    resolve_class_weights,
    split_targets,
    validation_split,
)
from ..modules import (
    ACTIVATIONS,
    ConditionedTrunk,
    MLPTrunk,
    MultiTaskModule,
    infer_out_features,
)
from ..tasks import Task, as_label_array, infer_kind, make_task
from ..trunks import TrunkSpec, make_trunk
from ..weighting import GradientWeighting, make_weighting
from ._net import MultiTaskCriterion, MultiTaskSkorchNet
from ._training import (
    LR_SCHEDULES,
    MIN_VALID_ROWS,
    EpochProgressBar,
    ResumableEarlyStopping,
    show_progress,
    torch_threads,
)

__all__ = ["BaseMultiTaskNet"]

#: Largest task or fusion weight: beyond it float32 losses and embeddings overflow.
MAX_WEIGHT = 1e6
#: Largest input magnitude a one-table network reads (it does not rescale its input): the
#: sums and squares of float32 activations overflow soon after.
MAX_INPUT = 1e15
#: Largest converted prediction input kept for the next prediction on the same rows.
MEMO_MAX_BYTES = 256 * 2**20
#: What ``on_divergence=`` may ask for when the training loss or weights stop being finite.
ON_DIVERGENCE = ("raise", "restore")

#: Names accepted by ``optimizer=``; a torch optimizer class works too.
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}


class BaseMultiTaskNet(BaseEstimator):
    """Common machinery of the multi-task estimators; not for direct use.

    Subclasses set ``_allowed_kinds`` (``None`` for any) and ``_infer_task_kind``.
    """

    _allowed_kinds: ClassVar[frozenset[str] | None] = None
    #: Parameters that are dicts and accept ``set_params(<name>__<key>=value)``.
    _dict_params: ClassVar[tuple[str, ...]] = (
        "task_weights", "class_weight", "optimizer_params"
    )
    #: Parameters that may be given by name and also take ``<name>__<param>`` settings,
    #: with the function that turns a name into the object it stands for.
    _named_specs: ClassVar[dict] = {"weighting": make_weighting, "trunk": make_trunk}
    #: Dict parameters whose values are such objects: ``<name>__<key>__<param>`` sets a
    #: parameter of one value.
    _spec_dicts: ClassVar[dict] = {}

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
    ):
        self.tasks = tasks
        self.task_weights = task_weights
        self.auxiliary_tasks = auxiliary_tasks
        self.class_weight = class_weight
        self.weighting = weighting
        self.hidden_dims = hidden_dims
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.trunk = trunk
        self.lambda_l1 = lambda_l1
        self.lambda_l2 = lambda_l2
        self.optimizer = optimizer
        self.lr = lr
        self.optimizer_params = optimizer_params
        self.lr_schedule = lr_schedule
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.stratify = stratify
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.callbacks = callbacks
        self.verbose = verbose
        self.progress_bar = progress_bar
        self.random_state = random_state
        self.device = device
        self.n_threads = n_threads
        self.warm_start = warm_start
        self.on_divergence = on_divergence

    # ------------------------------------------------------------------ parameters
    def set_params(self, **params):
        """Set parameters; ``task_weights__<task>=w`` updates one entry of ``task_weights``.

        The same ``<name>__<key>`` form works for ``optimizer_params``. A new dict is stored, so
        an estimator never changes a dict it shares with a clone. ``weighting__<param>`` and
        ``trunk__<param>`` on a ``weighting``/``trunk`` given by name first replace the name
        by the object it stands for.

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            Estimator instance.
        """
        updates: dict[str, dict] = {}
        nested: dict[str, dict] = {}
        plain = {}
        params = dict(params)
        for key in list(params):
            name, sep, _ = key.partition("__")
            if not (sep and name in self._named_specs):
                continue
            # "weighting__alpha" with weighting="gradnorm" (set now or before): the name
            # becomes the object it stands for, whose parameter is then set.
            make = self._named_specs[name]
            if isinstance(params.get(name), str):
                params[name] = make(params[name])
            elif name not in params and isinstance(getattr(self, name), str):
                setattr(self, name, make(getattr(self, name)))
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if sep and name in self._spec_dicts and "__" in sub:
                nested.setdefault(name, {})[sub] = value
            elif sep and name in self._dict_params:
                updates.setdefault(name, {})[sub] = value
            else:
                plain[key] = value
        super().set_params(**plain)
        for name, entries in updates.items():
            current = getattr(self, name)
            if isinstance(current, str):
                raise ValueError(
                    f"Cannot set {name}__{next(iter(entries))}: {name}={current!r} is a rule "
                    f"for every task; set {name} to a dict (e.g. {name}={{}}) first, or in the "
                    "same call."
                )
            merged = dict(current or {})
            merged.update(entries)
            setattr(self, name, merged)
        for name, entries in nested.items():
            # "encoders__text__max_features": a copy of that entry's object (made from its
            # name if it is one), with the parameter set.
            merged = dict(getattr(self, name) or {})
            for sub, value in entries.items():
                key, _, param = sub.partition("__")
                if key not in merged:
                    raise ValueError(
                        f"Cannot set {name}__{sub}: {name} has no entry {key!r}; set "
                        f"{name}__{key} to a name or an object first (or in the same call)."
                    )
                spec = self._spec_dicts[name](merged[key], key)
                merged[key] = spec.set_params(**{param: value})
            setattr(self, name, merged)
        return self

    def _check_params(self) -> None:
        def positive_int(name, value, allow=()):
            if value in allow:
                return
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")

        def non_negative(name, value):
            if not isinstance(value, numbers.Real) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}.")

        if self.trunk is None:
            for d in self._hidden_dims():
                positive_int("each of hidden_dims", d)
            if isinstance(self.activation, str) and self.activation not in ACTIVATIONS:
                raise ValueError(
                    f"activation={self.activation!r} is not known; use one of "
                    f"{sorted(ACTIVATIONS)} or an nn.Module class."
                )
            if not (isinstance(self.dropout, numbers.Real) and 0 <= self.dropout < 1):
                raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}.")
        elif isinstance(self.trunk, str):
            make_trunk(self.trunk)
        elif not isinstance(self.trunk, (TrunkSpec, nn.Module)) and not callable(self.trunk):
            raise TypeError(
                "trunk must be None, a name in sk_mtl.trunks.TRUNKS, a TrunkSpec, an nn.Module, "
                f"or a callable n_features -> nn.Module; got {type(self.trunk).__name__}."
            )
        check_class_weight(self.class_weight)
        if not (isinstance(self.progress_bar, bool) or self.progress_bar == "auto"):
            raise ValueError(
                f"progress_bar must be True, False or 'auto', got {self.progress_bar!r}."
            )
        non_negative("lambda_l1", self.lambda_l1)
        non_negative("lambda_l2", self.lambda_l2)
        if not (isinstance(self.lr, numbers.Real) and self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}.")
        positive_int("max_epochs", self.max_epochs)
        positive_int("batch_size", self.batch_size, allow=(-1, "auto"))
        positive_int("n_threads", self.n_threads, allow=(None,))
        schedule = self.lr_schedule
        if not isinstance(schedule, (str, type(None))) or schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule={self.lr_schedule!r} is not known; use one of "
                f"{sorted(LR_SCHEDULES, key=str)}."
            )
        if self.early_stopping not in (True, False, "auto"):
            raise ValueError(
                f"early_stopping must be True, False or 'auto', got {self.early_stopping!r}."
            )
        positive_int("n_iter_no_change", self.n_iter_no_change)
        non_negative("tol", self.tol)
        vf = self.validation_fraction
        if vf is not None and not (isinstance(vf, numbers.Real) and 0 <= vf < 1):
            raise ValueError(f"validation_fraction must be None or in [0, 1), got {vf!r}.")
        if self.early_stopping is True and not vf:
            raise ValueError(
                "early_stopping=True needs a validation split: set validation_fraction > 0."
            )
        if self.warm_start not in (True, False):
            raise ValueError(f"warm_start must be True or False, got {self.warm_start!r}.")
        if not (isinstance(self.on_divergence, str) and self.on_divergence in ON_DIVERGENCE):
            raise ValueError(
                f"on_divergence must be one of {list(ON_DIVERGENCE)}, got "
                f"{self.on_divergence!r}."
            )
        self._optimizer_class()
        self._device()

    def _hidden_dims(self) -> tuple:
        dims = self.hidden_dims
        if isinstance(dims, numbers.Integral):
            return (dims,)
        try:
            return tuple(dims)
        except TypeError:
            raise TypeError(
                f"hidden_dims must be a tuple of positive ints, got {self.hidden_dims!r}."
            ) from None

    def _optimizer_class(self) -> type[torch.optim.Optimizer]:
        opt = self.optimizer
        if isinstance(opt, str):
            if opt not in OPTIMIZERS:
                raise ValueError(
                    f"optimizer={opt!r} is not known; use one of {sorted(OPTIMIZERS)} or a "
                    "torch.optim.Optimizer class."
                )
            return OPTIMIZERS[opt]
        if isinstance(opt, type) and issubclass(opt, torch.optim.Optimizer):
            return opt
        raise TypeError(
            f"optimizer must be a name in {sorted(OPTIMIZERS)} or a torch.optim.Optimizer "
            f"class, got {opt!r}."
        )

    def _device(self) -> torch.device:
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device={self.device!r} is not a torch device: {exc}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={self.device!r} was asked for but CUDA is not available.")
        return device

    # ------------------------------------------------------------------ input validation
    def _validate_X(self, X, reset: bool, allow_nan: bool = False):
        if isinstance(X, pd.DataFrame):
            bad = [str(c) for c, dt in X.dtypes.items() if not _is_numeric_dtype(dt)]
            if bad:
                raise ValueError(
                    f"X has non-numeric column(s) {bad}; encode them first (e.g. OneHotEncoder "
                    "or OrdinalEncoder in a ColumnTransformer), or use a FusionNet* "
                    "estimator, which reads text, categorical and numeric columns itself."
                )
        try:
            X = validate_data(
                self,
                X,
                reset=reset,
                accept_sparse="csr",
                dtype=np.float32,
                ensure_all_finite=False,
            )
        except ValueError as exc:
            if "could not convert" in str(exc):
                raise ValueError(f"X must be numeric: {exc}") from None
            raise
        values = X.data if sp.issparse(X) else X
        bad = np.isinf(values) if allow_nan else ~np.isfinite(values)
        if bad.any():
            if sp.issparse(X):
                cols = np.unique(X.indices[bad])
            else:
                cols = np.flatnonzero(bad.any(axis=0))
            names = getattr(self, "feature_names_in_", None)
            where = [str(names[c]) if names is not None else int(c) for c in cols[:10]]
            if np.isnan(values[bad]).any():
                raise ValueError(
                    f"Input X contains NaN (or other non-finite values) in column(s) {where}; "
                    "impute or drop them first, e.g. with sklearn.impute.SimpleImputer."
                )
            raise ValueError(
                f"Input X contains infinity in column(s) {where} (values beyond +-3.4e38, "
                "float32's range, become infinity); drop them or rescale the column(s)."
            )
        huge = np.abs(values) > MAX_INPUT
        if huge.any():
            if sp.issparse(X):
                cols = np.unique(X.indices[huge])
            else:
                cols = np.flatnonzero(huge.any(axis=0))
            names = getattr(self, "feature_names_in_", None)
            where = [str(names[c]) if names is not None else int(c) for c in cols[:10]]
            raise ValueError(
                f"Input X has values of magnitude up to {np.abs(values).max():.3g} in "
                f"column(s) {where}; beyond {MAX_INPUT:g} the network's float32 arithmetic "
                "overflows. Scale X first, e.g. with sklearn.preprocessing.StandardScaler."
            )
        return X

    def _resolve_tasks(self, targets, classes: dict | None = None,
                       sample_weight: np.ndarray | None = None) -> dict[str, Task]:
        """The fitted task of each target column; ``classes`` adds labels per task that the
        column may lack (``partial_fit``'s first chunk); ``sample_weight`` weighs what the
        tasks estimate from their labels."""
        given = self.tasks or {}
        if not isinstance(given, dict):
            raise TypeError(f"tasks must be None or a dict name -> kind, got {given!r}.")
        unknown = sorted(set(given) - set(targets.names))
        if unknown:
            raise ValueError(
                f"tasks names {unknown} that are not targets; the targets are {targets.names}."
            )
        tasks = {}
        for name, column in zip(targets.names, targets.columns):
            labelled = ~missing_mask(column)
            if not labelled.any():
                raise ValueError(
                    f"Task {name!r} has no labelled row (all NaN/None): y contains NaN only."
                )
            values = as_label_array(column[labelled], name)
            if name in given:
                task = make_task(given[name], name)
            else:
                task = make_task(self._infer_task_kind(values, name), name)
            if self._allowed_kinds is not None and task.kind not in self._allowed_kinds:
                raise ValueError(
                    f"Task {name!r} is {task.kind!r}, but {type(self).__name__} takes only "
                    f"{sorted(self._allowed_kinds)} tasks; use MultiTaskNet for mixed kinds."
                )
            if not task.is_classification:
                if values.dtype.kind not in "biuf":
                    raise ValueError(
                        f"Task {name!r} is a regression task but its labels are not numbers "
                        f"(e.g. {values[0]!r})."
                    )
                if not np.isfinite(values.astype(np.float64)).all():
                    raise ValueError(
                        f"Task {name!r} contains infinity; only finite targets (or NaN for a "
                        "missing label) are allowed."
                    )
            if classes and name in classes and task.is_classification:
                values = np.concatenate([values, as_label_array(classes[name], name)])
            if sample_weight is None:
                tasks[name] = task.fit(values, name)
            else:
                tasks[name] = task.fit(values, name, sample_weight=sample_weight[labelled])
        return tasks

    def _infer_task_kind(self, values: np.ndarray, name: str) -> str:
        return infer_kind(values, name)

    def _resolve_auxiliary(self, names: list[str]) -> set[str]:
        aux = self.auxiliary_tasks
        if aux is None:
            return set()
        if isinstance(aux, str) or not all(isinstance(a, str) for a in aux):
            raise TypeError(f"auxiliary_tasks must be a list of task names, got {aux!r}.")
        unknown = sorted(set(aux) - set(names))
        if unknown:
            raise ValueError(
                f"auxiliary_tasks {unknown} are not targets; the targets are {names}."
            )
        if set(aux) >= set(names):
            raise ValueError(
                "auxiliary_tasks cover every task: at least one task must be predicted."
            )
        return set(aux)

    def _resolve_task_weights(
        self, names: list[str], counts: dict[str, int] | None = None
    ) -> dict[str, float]:
        """The weight of each task: ``task_weights`` completed with 1.0, or a rule's weights
        from the labelled-row ``counts`` (the fitted ``task_counts_`` by default)."""
        given = self.task_weights or {}
        if isinstance(given, str):
            if given not in TASK_WEIGHT_RULES:
                raise ValueError(
                    f"task_weights={given!r} is not a rule; use one of "
                    f"{list(TASK_WEIGHT_RULES)} or a dict task -> weight."
                )
            counts = self.task_counts_ if counts is None else counts
            return TASK_WEIGHT_RULES[given]({n: counts[n] for n in names})
        if not isinstance(given, dict):
            raise TypeError(
                f"task_weights must be None, a rule name in {list(TASK_WEIGHT_RULES)} or a "
                f"dict task -> weight, got {given!r}."
            )
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(
                f"task_weights has key(s) {unknown} that are not tasks; the tasks are {names}."
            )
        weights = {}
        for name in names:
            w = given.get(name, 1.0)
            if not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
                raise ValueError(
                    f"task_weights[{name!r}] must be a finite number >= 0, got {w!r}."
                )
            if w > MAX_WEIGHT:
                raise ValueError(
                    f"task_weights[{name!r}]={w!r} is larger than {MAX_WEIGHT:g}: the weighted "
                    "float32 loss would overflow. Only the ratios of the weights matter for "
                    "the direction of training; scale them all down together."
                )
            weights[name] = float(w)
        if not any(weights.values()):
            raise ValueError("task_weights are all zero: no task would be trained.")
        return weights

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y, sample_weight=None):
        """Fit the network on ``X`` and the target(s) ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Numeric training input. A DataFrame's column names are kept in
            ``feature_names_in_``; a scipy sparse matrix is densified batch by batch.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Target(s). A 1-D ``y`` is one task; each column of a 2-D array or DataFrame is a
            task. NaN, ``None`` or ``pd.NA`` marks a missing label, which removes that row
            from that task's loss only.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row, applied to every task's loss on the rows where
            that task has a label: each task's loss is the weighted mean
            ``sum_i w_i l_it / sum_i w_i`` over its labelled rows (so the weights' scale does
            not matter, and a weight of 2 counts a row twice). The validation rows keep their
            weights, in the validation loss that early stopping reads. With
            ``sklearn.set_config(enable_metadata_routing=True)``, ``set_fit_request(
            sample_weight=True)`` routes it through ``Pipeline`` and the searches.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        fit_fn = self._fit_more if self.warm_start and _is_fitted(self) else self._fit_new
        return self._atomic(fit_fn, X, y, sample_weight=sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``X``, ``y``: on the first call set up from them as ``fit``
        does, on later calls continue the same network.

        Meant for data that arrives in chunks and for searches that prune by epoch. Every
        call trains on all its rows (no validation split, no early stopping) at the constant
        learning rate ``lr`` (a schedule needs a known end; after ``fit``, its schedule goes
        on, an epoch per call); without the whole training set
        at once, retrieval features are off (``retrieval="auto"``; an explicit ``k`` is an
        error). Classes, scalers and vocabularies come from the first call: later chunks
        must not bring new classes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training input.
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Target(s), as in :meth:`fit`.
        classes : array-like or dict of str to array-like, default=None
            All classes of the classification task(s), needed on the first call when its
            chunk lacks some: an array for a single task (scikit-learn's form), else a dict
            task name -> classes. Ignored on later calls.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row of this chunk, as in :meth:`fit`. ``class_weight`` is fixed
            by the first call, so it must be a dict class -> weight there, not
            ``"balanced"`` (a chunk's class counts are not the data's).

        Returns
        -------
        self : object
            The estimator, trained one more epoch.
        """
        if _is_fitted(self):
            return self._atomic(self._fit_more, X, y, True, sample_weight=sample_weight)
        return self._atomic(self._fit_new, X, y, True, classes, sample_weight=sample_weight)

    def _atomic(self, fit_fn, *args, **kwargs):
        """Run ``fit_fn``; if it raises, put the estimator back as it was (unfitted, or the
        earlier model intact) and re-raise."""
        before = dict(self.__dict__)
        if fit_fn == self._fit_more:  # trains the fitted net in place
            before["net_"] = copy.deepcopy(self.net_)
        try:
            return fit_fn(*args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _data_and_targets(self, X, y, reset: bool):
        """The converted input and the target columns, checked to match row for row."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X_data = self._input_data(X, reset=reset)
        n_rows = _n_rows(X_data)
        targets = split_targets(y)
        if len(targets) != n_rows:
            raise ValueError(f"X has {n_rows} rows but y has {len(targets)}; they must match.")
        return X_data, targets

    def _fit_new(self, X, y, partial: bool = False, classes=None, sample_weight=None):
        self._check_params()
        retrieval = getattr(self, "retrieval", None)
        if partial and retrieval not in (None, "auto"):
            raise ValueError(
                f"partial_fit trains without retrieval features (they need the whole training "
                f"set at once); retrieval={retrieval!r} asks for them. Use fit, or "
                "retrieval=None."
            )
        X_data, targets = self._data_and_targets(X, y, reset=True)
        if classes is not None and not isinstance(classes, Mapping):
            if len(targets.names) != 1:
                raise ValueError(
                    f"classes must be a dict task -> classes when y has several tasks "
                    f"{list(targets.names)}."
                )
            classes = {targets.names[0]: classes}
        sample_weight = _sample_weights(sample_weight, len(targets))
        tasks = self._resolve_tasks(targets, classes, sample_weight)
        names = list(tasks)
        counts = {
            name: int((~missing_mask(column)).sum())
            for name, column in zip(targets.names, targets.columns)
        }
        task_weights = self._resolve_task_weights(names, counts)
        weighting = make_weighting(self.weighting)
        weighting.bind(names, task_weights)
        if self.stratify is not None and (
            self.stratify not in tasks or not tasks[self.stratify].is_classification
        ):
            raise ValueError(
                f"stratify={self.stratify!r} must name a classification task among {names}."
            )

        device = self._device()
        data, codes = self._encode(X_data, targets, tasks, device, sample_weight,
                                   balanced=not partial)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        self._seed = seed
        if partial:
            valid = None
        else:
            data, valid = self._split(data, codes)

        auxiliary = self._resolve_auxiliary(names)
        self.tasks_ = tasks
        self.task_names_ = [n for n in names if n not in auxiliary]
        self.auxiliary_task_names_ = [n for n in names if n in auxiliary]
        self.task_weights_ = task_weights
        self.task_counts_ = counts
        self._single_output = targets.one_dimensional or (
            bool(auxiliary) and len(self.task_names_) == 1
        )
        self.retrieval_ = None if partial else self._make_retrieval(X_data)
        if self.retrieval_ is not None:
            data, valid = self._add_retrieval(data, valid, tasks)
        # "auto": stop early when the validation split is large enough to judge by.
        early_stopping = not partial and (self.early_stopping is True or (
            self.early_stopping == "auto" and valid is not None and len(valid) >= MIN_VALID_ROWS
        ))
        self.batch_size_ = resolve_batch_size(self.batch_size, len(data))
        devices = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch_threads(self.n_threads):
            torch.manual_seed(seed)
            self.net_ = self._new_net(
                tasks, weighting, valid, seed, device, early_stopping, schedule=not partial,
                n_train=len(data),
            )
            self.net_.progress_delay_ = self._progress_delay(partial)
            self.net_.partial_fit(data, None, epochs=1 if partial else None)
        return self._after_training(data)

    def _progress_delay(self, partial: bool) -> float | None:
        """Seconds before this call's epoch progress bar appears; ``None``: no bar."""
        return show_progress(self.progress_bar, partial=partial, verbose=int(self.verbose))

    def _new_module(self, tasks, weighting) -> nn.Module:
        """The untrained torch module for ``tasks``, reading the task weights when
        ``weighting`` is a weight conditioning."""
        if not getattr(weighting, "conditions", False):
            return self._build_module(tasks)
        if weighting.conditioning == "input":
            module = self._build_module(tasks, n_conditions=len(tasks))
        else:
            module = self._build_module(tasks)
        return _conditioned(module, len(tasks), weighting.conditioning)

    def _new_net(self, tasks, weighting, valid, seed, device, early_stopping,
                 schedule: bool = True, n_train: int | None = None) -> MultiTaskSkorchNet:
        """The initialized, untrained skorch net of this estimator for ``tasks`` (``weighting``
        bound to them). Called under the fit's seeded random state: the weights it draws
        depend on it. ``n_train`` rows are checked against BatchNorm layers."""
        module = self._new_module(tasks, weighting)
        if n_train is not None:
            self._check_batch_norm(module, n_train)
        if isinstance(weighting, GradientWeighting) and not any(
            p.requires_grad for p in module.trunk.parameters()
        ):
            raise ValueError(
                f"weighting={self.weighting!r} aggregates the tasks' gradients on the shared "
                "trunk, but this trunk has no trainable parameters (e.g. hidden_dims=()); "
                "use a trunk with layers or a loss-level weighting."
            )
        criterion = MultiTaskCriterion(
            {n: t.make_loss() for n, t in tasks.items()}, weighting.make_module()
        )
        net = self._build_net(
            module, criterion, weighting, valid, seed, device, early_stopping, schedule=schedule
        )
        return net.initialize()

    def _fit_more(self, X, y, partial: bool = False, sample_weight=None):
        """Continue training the fitted network (``warm_start=True`` or ``partial_fit``)."""
        self._check_params()
        X_data, targets = self._data_and_targets(X, y, reset=False)
        if list(targets.names) != list(self.tasks_):
            raise ValueError(
                f"Continuing a fit needs the same tasks: y has {list(targets.names)}, the model "
                f"was fitted on {list(self.tasks_)}. Set warm_start=False to start anew."
            )
        device = self._device()
        sample_weight = _sample_weights(sample_weight, len(targets))
        # partial_fit goes on with the class weights of the first call; a warm-started fit
        # weighs its own data.
        data, codes = self._encode(X_data, targets, self.tasks_, device, sample_weight,
                                   class_weights=self.class_weight_ if partial else None)
        net = self.net_
        if partial:
            valid, epochs = None, 1
        else:
            data, valid = self._split(data, codes)
            epochs = self.max_epochs - len(net.history)
            if getattr(net, "snapshot_", None) is not None:  # interrupted: from its last epoch
                epochs = self.max_epochs - net.snapshot_["epochs"]
            if epochs <= 0:
                warnings.warn(
                    f"warm_start: the model has already trained {len(net.history)} epochs, "
                    f"max_epochs={self.max_epochs}; raise max_epochs to train more.",
                    UserWarning,
                    stacklevel=3,
                )
        if self.retrieval_ is not None:
            data, valid = self._add_retrieval(data, valid, self.tasks_, refit=False)
        net.max_epochs = self.max_epochs
        net.train_split = _fixed_split(valid)
        devices = [device] if device.type == "cuda" else []
        net.progress_delay_ = self._progress_delay(partial)
        with torch.random.fork_rng(devices=devices), torch_threads(self.n_threads):
            net.resume(data, max(epochs, 0))
        return self._after_training(data)

    def _encode(self, X_data, targets, tasks, device, sample_weight=None, balanced=True,
                class_weights=None):
        """``TensorData`` of the input, encoded targets and each task's row weights (sample
        weights times class weights), and the stratification codes.

        The class weights are ``class_weights`` if given, else resolved from
        ``class_weight`` on these targets and kept in ``class_weight_``; ``balanced=False``
        (``partial_fit``'s first call) refuses ``"balanced"``."""
        encoded, masks, codes = encode_targets(targets, tasks, self.stratify)
        if class_weights is None:
            labels = {
                name: t if masks[name] is None else t[masks[name]]
                for name, t in encoded.items() if tasks[name].is_classification
            }
            class_weights = resolve_class_weights(
                self.class_weight, tasks, labels, allow_balanced=balanced
            )
            self.class_weight_ = class_weights
        row_weights = class_row_weights(class_weights, encoded)
        if sample_weight is not None:
            for name in encoded:
                w = row_weights.get(name)
                row_weights[name] = sample_weight if w is None else w * sample_weight
        for name, w in row_weights.items():
            labelled = masks[name]
            if (labelled is None or labelled.any()) and not (
                w if labelled is None else w[labelled]
            ).sum() > 0:
                raise ValueError(
                    f"Every labelled row of task {name!r} has weight 0 (sample_weight times "
                    "class_weight): the task would not be trained."
                )
        weights = {
            name: torch.from_numpy(np.asarray(w, dtype=np.float32)).to(device)
            for name, w in row_weights.items()
        }
        encoded = {name: torch.from_numpy(t).to(device) for name, t in encoded.items()}
        masks = {name: None if m is None else torch.from_numpy(m).to(device)
                 for name, m in masks.items()}
        return TensorData(_to_device(X_data, device), encoded, masks, weights), codes

    def _split(self, data: TensorData, codes):
        """The training and validation parts (the same split for the same seed)."""
        if self.validation_fraction and len(data) * self.validation_fraction >= 1:
            train_idx, valid_idx = validation_split(
                len(data), self.validation_fraction, codes, self._seed, task_name=self.stratify
            )
            return data.take(train_idx), data.take(valid_idx)
        if self.early_stopping is True:
            raise ValueError(
                f"early_stopping=True needs validation rows, but validation_fraction="
                f"{self.validation_fraction} of {len(data)} sample(s) holds out none; use more "
                "samples, "
                "a larger validation_fraction, or early_stopping=False."
            )
        return data, None

    def _check_batch_norm(self, module: nn.Module, n_train: int) -> None:
        if not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules()):
            return
        if n_train < 2 or self.batch_size_ == 1:
            raise ValueError(
                "The network has BatchNorm layers (batch_norm=True, or an encoder with them), "
                "which need at least 2 rows per training batch; "
                + (f"there are {n_train} training row(s)" if n_train < 2
                   else "batch_size=1")
                + ". Use more rows, a larger batch_size, or batch_norm=False."
            )

    def _after_training(self, data=None):
        """Tidy up after training on ``data`` (the training rows; for subclasses that
        summarise them)."""
        net = self.net_
        net.train_split = None  # do not keep (and pickle) the validation data
        if net.interrupted_:
            done = net.snapshot_["epochs"] if getattr(net, "snapshot_", None) else 0
            warnings.warn(
                f"Training interrupted by user after {done} complete epoch(s) of "
                f"max_epochs={self.max_epochs}. The model is usable as it is; fit again with "
                "warm_start=True to resume from the last complete epoch.",
                UserWarning,
                stacklevel=3,
            )
        return self

    def _input_data(self, X, reset: bool):
        """Validate ``X`` and return what :class:`TensorData` holds: a host tensor or CSR."""
        X = self._validate_X(X, reset=reset)
        return X if sp.issparse(X) else torch.from_numpy(np.ascontiguousarray(X))

    # ------------------------------------------------------------------ retrieval
    def _make_retrieval(self, X_data) -> NeighbourTargets | None:
        """The retrieval-feature maker for this fit, or None (estimators without it)."""
        return None

    def _retrieval_rows(self, X_data):
        """The rows the retrieval looks up: the input itself (a host array or CSR)."""
        return _host(X_data)

    def _with_retrieval(self, X_data, columns: np.ndarray):
        """``X_data`` with the retrieval ``columns`` added: appended on the right."""
        return _append_columns(X_data, columns)

    def _add_retrieval(
        self, data: TensorData, valid: TensorData | None, tasks, refit: bool = True
    ):
        """Fit ``retrieval_`` on the training part (unless ``refit=False``) and add its
        columns to the training (leave-one-out where they are the indexed rows) and
        validation rows."""
        rows = self._retrieval_rows(data.X)
        if refit:
            # A row of weight 0 in a task is no one's neighbour there: it has no influence.
            targets = {}
            for name in data.targets:
                mask = data.masks.get(name)
                mask = None if mask is None else mask.cpu().numpy()
                weights = data.weights.get(name)
                if weights is not None:
                    kept = (weights > 0).cpu().numpy()
                    mask = kept if mask is None else mask & kept
                targets[name] = (data.targets[name].cpu().numpy(), mask)
            self.retrieval_.fit(rows, targets, {n: t.n_outputs_ for n, t in tasks.items()})
        exclude_self = refit or self.retrieval_.is_index(rows)
        data = TensorData(
            self._with_retrieval(
                data.X, self.retrieval_.transform(rows, exclude_self=exclude_self)
            ),
            data.targets,
            data.masks,
            data.weights,
            data.members,
        )
        if valid is not None:
            valid_rows = self._retrieval_rows(valid.X)
            # Validation rows that are the training rows themselves (cross-fitting) leave
            # themselves out, as the training rows do.
            extra = self.retrieval_.transform(
                valid_rows, exclude_self=self.retrieval_.is_index(valid_rows)
            )
            valid = TensorData(self._with_retrieval(valid.X, extra), valid.targets, valid.masks,
                               valid.weights, valid.members)
        return data, valid

    def _network_input(self, X_data):
        """What the network reads at prediction: the input plus retrieval columns, if any."""
        if getattr(self, "retrieval_", None) is None:
            return X_data
        extra = self.retrieval_.transform(self._retrieval_rows(X_data), exclude_self=False)
        return self._with_retrieval(X_data, extra)

    def _build_module(self, tasks: dict[str, Task], n_conditions: int = 0) -> nn.Module:
        """The untrained network; ``n_conditions`` more input columns for a weight-conditioned
        network that reads the weights as inputs."""
        n_features = self._input_width() + n_conditions
        if self.retrieval_ is not None:
            n_features += self.retrieval_.n_features_out_
        trunk, width = self._make_trunk(n_features, list(tasks))
        return MultiTaskModule(trunk, width, {n: t.n_outputs_ for n, t in tasks.items()})

    def _input_width(self) -> int:
        """Columns of the converted input the network reads (before retrieval columns)."""
        return self.n_features_in_

    def _make_trunk(self, n_features: int, task_names: list[str]) -> tuple[nn.Module, int]:
        """The shared trunk over ``n_features`` inputs, and its output width."""
        if self.trunk is None:
            dims = tuple(int(d) for d in self._hidden_dims())
            trunk = MLPTrunk(n_features, dims, self.activation, self.dropout, self.batch_norm)
        elif isinstance(self.trunk, (str, TrunkSpec)):
            trunk = make_trunk(self.trunk).build(n_features, task_names)
        elif isinstance(self.trunk, nn.Module):
            trunk = copy.deepcopy(self.trunk)
        else:
            trunk = self.trunk(n_features)
            if not isinstance(trunk, nn.Module):
                raise TypeError(
                    f"trunk({n_features}) must return an nn.Module, got {type(trunk).__name__}."
                )
        return trunk, infer_out_features(trunk, n_features)

    def _build_net(self, module, criterion, weighting, valid, seed, device, early_stopping,
                   schedule: bool = True):
        callbacks = list(copy.deepcopy(self.callbacks) or [])
        schedule = LR_SCHEDULES[self.lr_schedule] if schedule else None
        if schedule is not None:
            callbacks.append(("lr_schedule", schedule(self.max_epochs)))
        # Always there, drawing only when the call that trains says so (progress_delay_);
        # before early stopping, which ends the fit from its own on_epoch_end.
        callbacks.append(("progress_bar", EpochProgressBar(delay=None, desc=type(self).__name__)))
        if early_stopping:
            callbacks.append(
                ("early_stopping", ResumableEarlyStopping(
                    monitor="valid_loss",
                    patience=self.n_iter_no_change,
                    threshold=self.tol,
                    threshold_mode="rel",
                    load_best=True,
                    sink=print if self.verbose else _silent,
                ))
            )
        optimizer_kwargs = {f"optimizer__{k}": v for k, v in (self.optimizer_params or {}).items()}
        return MultiTaskSkorchNet(
            module=module,
            criterion=criterion,
            optimizer=self._optimizer_class(),
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size_,
            train_split=_fixed_split(valid),
            callbacks=callbacks or None,
            verbose=int(self.verbose),
            device=str(device),
            weighting=weighting,
            lambda_l1=float(self.lambda_l1),
            lambda_l2=float(self.lambda_l2),
            shuffle_seed=seed,
            on_divergence=self.on_divergence,
            alignment_weight=float(getattr(self, "alignment_weight", 0.0)),
            **optimizer_kwargs,
        )

    # ------------------------------------------------------------------ prediction
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
        if _n_rows(X_data) == 0:
            raise ValueError(
                f"Found array with 0 sample(s) while a minimum of 1 is required by "
                f"{type(self).__name__}."
            )
        weighting = self.net_.weighting
        if getattr(weighting, "conditions", False):
            # The weights set now (set_params(task_weights__<task>=w)), not those of the fit.
            target = weighting.target(self._resolve_task_weights(list(self.tasks_)))
            self.net_.module_.trunk.set_condition(target)
        chunks: dict[str, list[np.ndarray]] = {name: [] for name in self.task_names_}
        with torch_threads(self.n_threads):
            for out in self.net_.forward_iter(TensorData(self._network_input(X_data))):
                for name in self.task_names_:
                    chunks[name].append(out[name].numpy())
        # The last prediction block is padded to the block size: keep the real rows.
        n_rows = _n_rows(X_data)
        outputs = {name: np.concatenate(parts)[:n_rows] for name, parts in chunks.items()}
        for name, values in outputs.items():
            finite = np.isfinite(values)
            if not finite.all():
                rows = int((~finite.reshape(len(values), -1).all(axis=1)).sum())
                raise ValueError(
                    f"The network's output for task {name!r} is not finite on {rows} row(s) "
                    "of X: their inputs are far outside what float32 arithmetic in the "
                    "network can take (rescale X), or the model diverged."
                )
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
        """Labels and labelled-row masks of the predicted tasks in ``y``.

        A DataFrame is matched by column name (auxiliary and other columns are ignored); an
        array must have a column per predicted task, or a column per trained task (predicted
        and auxiliary, in training order).
        """
        targets = split_targets(y)
        if isinstance(y, pd.DataFrame):
            missing = [n for n in self.task_names_ if n not in targets.names]
            if missing:
                raise ValueError(
                    f"y's columns {targets.names} lack the task(s) {missing}; the tasks are "
                    f"{self.task_names_}."
                )
            by_name = dict(zip(targets.names, targets.columns))
            columns = [by_name[n] for n in self.task_names_]
        elif len(targets.columns) == len(self.task_names_):
            columns = targets.columns
        elif len(targets.columns) == len(self.tasks_):
            by_name = dict(zip(self.tasks_, targets.columns))
            columns = [by_name[n] for n in self.task_names_]
        else:
            raise ValueError(
                f"y has {len(targets.columns)} column(s) but the estimator predicts "
                f"{len(self.task_names_)} task(s) {self.task_names_}"
                + (f" (and trains {len(self.tasks_)})" if self.auxiliary_task_names_ else "")
                + "."
            )
        out = {}
        for name, column in zip(self.task_names_, columns):
            labelled = ~missing_mask(column)
            out[name] = (column, labelled)
        return out

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

    # ------------------------------------------------------------------ tags
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.target_tags.required = True
        tags.target_tags.single_output = True
        tags.target_tags.multi_output = True
        # On CPU two fits with one random_state give identical predictions; CUDA kernels
        # (atomics in backward) do not promise that.
        tags.non_deterministic = str(self.device).startswith("cuda")
        return tags


def _sample_weights(sample_weight, n_rows: int) -> np.ndarray | None:
    """``sample_weight`` checked (scikit-learn's checks: one finite non-negative weight per
    row, not all zero), and not spanning more than float32 losses keep."""
    if sample_weight is None:
        return None
    weights = _check_sample_weight(sample_weight, np.empty((n_rows, 0)), dtype=np.float64,
                                   ensure_non_negative=True)
    if weights.max() > MAX_WEIGHT * max(float(np.median(weights[weights > 0])), 1e-12):
        raise ValueError(
            f"sample_weight spans more than {MAX_WEIGHT:g}x (max {weights.max():.3g}); "
            "float32 losses would lose the small weights."
        )
    return weights


def _conditioned(module: nn.Module, n_tasks: int, mode: str) -> nn.Module:
    """``module`` with its trunk reading the task-weight vector (``WeightConditioning``)."""
    width = module.head.in_features if isinstance(module, MultiTaskModule) else (
        module.trunk.out_features
    )
    module.trunk = ConditionedTrunk(module.trunk, width, n_tasks, mode)
    return module


def _inverse_counts(counts: dict[str, int], power: float) -> dict[str, float]:
    raw = {n: 1.0 / max(c, 1) ** power for n, c in counts.items()}
    mean = sum(raw.values()) / len(raw)
    return {n: w / mean for n, w in raw.items()}


#: ``task_weights=`` rules: weights from each task's number of labelled training rows,
#: normalised to mean 1 (tasks with fewer labels weigh more).
TASK_WEIGHT_RULES = {
    "inverse_count": lambda counts: _inverse_counts(counts, 1.0),
    "inverse_sqrt_count": lambda counts: _inverse_counts(counts, 0.5),
}


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


def _is_fitted(estimator) -> bool:
    return hasattr(estimator, "net_")


def _n_rows(X_data) -> int:
    if isinstance(X_data, dict):
        return _n_rows(next(iter(X_data.values())))
    if isinstance(X_data, tuple):  # (values, present-mask) of one modality
        return _n_rows(X_data[0])
    return X_data.shape[0]


def _to_device(X_data, device):
    if isinstance(X_data, torch.Tensor):
        return X_data.to(device)
    if isinstance(X_data, dict):
        return {k: _to_device(v, device) for k, v in X_data.items()}
    if isinstance(X_data, tuple):
        return tuple(_to_device(v, device) for v in X_data)
    return X_data  # scipy sparse stays on the host; batches move


def _host(X):
    """A dense tensor as a numpy array on the host; CSR as it is."""
    return X.cpu().numpy() if isinstance(X, torch.Tensor) else X


def _append_columns(X, columns: np.ndarray):
    """``X`` (tensor or CSR) with ``columns`` appended on the right."""
    if isinstance(X, torch.Tensor):
        return torch.cat([X, torch.from_numpy(columns).to(X.device)], dim=1)
    return sp.hstack([X, sp.csr_matrix(columns)], format="csr", dtype=np.float32)


def _silent(*args, **kwargs) -> None:
    pass


def _is_numeric_dtype(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


class _FixedSplit:
    """skorch ``train_split`` that returns a validation set made beforehand (or none)."""

    def __init__(self, valid: TensorData | None) -> None:
        self.valid = valid

    def __call__(self, dataset, y=None, **fit_params):
        return dataset, self.valid


def _fixed_split(valid: TensorData | None) -> _FixedSplit | None:
    return None if valid is None else _FixedSplit(valid)
