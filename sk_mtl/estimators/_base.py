"""The shared estimator: the fit and predict flow over the seams.

:class:`BaseMultiTaskNet` runs ``fit`` / ``partial_fit`` / ``predict`` / ``score`` and
nothing else; each step is one of the package's seams:

- the parameters are checked by :func:`._params.check_params` (a table of constraints);
- ``X`` goes through the estimator's input (``_input``: :mod:`._inputs`);
- ``y`` and the task parameters become a :class:`._targets.TaskPlan`;
- the network is built by :func:`._builder.build_network`, which :func:`sk_mtl.load` calls
  as well;
- training is the private skorch net of :mod:`._net`.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from ..data import TensorData, fingerprint, resolve_batch_size, split_targets
from ..data._stream import StreamingTable
from ..trunks import make_trunk
from ..weighting import make_weighting
from . import _builder
from ._builder import build_network, fixed_split, torch_device
from ._inputs import NetworkInput, dropout_candidates
from ._inputs import n_rows as _n_rows
from ._parallel import current_group
from ._params import check_params
from ._prediction import PredictionMixin
from ._set_params import apply_entries, split_params
from ._streaming import fit_stream
from ._targets import (
    TaskPlan,
    check_labels,
    encode_rows,
    sample_weights,
)
from ._training import MIN_VALID_ROWS, CosineDecay, show_progress, torch_threads

__all__ = ["BaseMultiTaskNet"]

# Where pickles of estimators written by sk_mtl 0.1.0.dev0 look for the early-stopping sink
# and the validation split of their net.
_silent, _FixedSplit = _builder._silent, _builder._FixedSplit

class BaseMultiTaskNet(PredictionMixin, BaseEstimator):
    """Common machinery of the multi-task estimators; not for direct use.

    A subclass declares its parameters in ``__init__`` and sets two class attributes:
    ``_input`` (how ``X`` becomes the network's input, :mod:`._inputs`) and ``_kinds``
    (the task kinds it takes and infers: ``"any"``, ``"classification"`` or
    ``"regression"``).
    """

    _input: ClassVar[NetworkInput]
    _kinds: ClassVar[str] = "any"
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
        plain, updates, nested = split_params(self, params)
        super().set_params(**plain)
        apply_entries(self, updates, nested)
        return self

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, sample_weight=None):
        """Fit the network on ``X`` and the target(s) ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features), or a streamed table
            Numeric training input. A DataFrame's column names are kept in
            ``feature_names_in_``, and later DataFrames (``predict``, ``warm_start``,
            ``partial_fit``) are read by them, in any order; a scipy sparse matrix is
            densified batch by batch.
            ``MultiTaskNet*`` also take a :class:`~sk_mtl.data.ParquetTable` or
            :class:`~sk_mtl.data.DaskTable`, a table larger than memory that is read in
            batches (its target columns are the tasks; ``y`` is then ``None``): see the
            user guide's "Scaling out".
        y : array-like of shape (n_samples,) or (n_samples, n_tasks)
            Target(s). A 1-D ``y`` is one task; each column of a 2-D array or DataFrame is a
            task. NaN, ``None`` or ``pd.NA`` marks a missing label, which removes that row
            from that task's loss only. Required, except with a streamed table.
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
        if isinstance(X, StreamingTable):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    f"A streamed table ({type(X).__name__}) holds its targets "
                    f"(target={X.target!r}): fit it with y=None and no sample_weight."
                )
            self._atomic(self._fit_stream, X)
        else:
            fit_fn = self._fit_more if self.warm_start and _is_fitted(self) else self._fit_new
            self._atomic(fit_fn, X, y, sample_weight=sample_weight)
        if self._kinds != "regression":
            # classes_ as scikit-learn's classifiers have it (MultiTaskNet's: per task).
            classes = [getattr(self.tasks_[n], "classes_", None) for n in self.task_names_]
            self.classes_ = classes[0] if self._single_output else classes
        return self

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
        if isinstance(X, StreamingTable):
            raise TypeError(
                f"partial_fit takes arrays; a {type(X).__name__} is fitted by fit, which "
                "streams it epoch after epoch."
            )
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
            fit_fn(*args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def _input_data(self, X, reset: bool):
        """``X`` converted by the estimator's input (fitted on it when ``reset``)."""
        if reset:
            return self._input.fit_transform(self, X)
        return self._input.transform(self, X)

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
        check_params(self)
        if partial and self.retrieval not in (None, "auto"):
            raise ValueError(
                f"partial_fit trains without retrieval features (they need the whole training "
                f"set at once); retrieval={self.retrieval!r} asks for them. Use fit, or "
                "retrieval=None."
            )
        device = torch_device(self.device)
        parallel = self._data_parallel(device)
        X_data, targets = self._data_and_targets(X, y, reset=True)
        plan, weighting, sample_weight = self._plan(targets, classes, sample_weight)
        _check_parallel_weighting(parallel, weighting, self.weighting)
        data, codes, self.class_weight_ = encode_rows(
            X_data, targets, plan.tasks, device, stratify=self.stratify,
            class_weight=self.class_weight, sample_weight=sample_weight, balanced=not partial,
        )
        self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if parallel is not None:  # one seed: the same split, weights and shuffles everywhere
            self._seed = parallel.broadcast_int(self._seed)
        all_rows = data
        data, valid = (data, None) if partial else self._input.split(self, data, codes)
        self._record_plan(plan, targets)
        self.retrieval_ = None if partial else self._input.make_retrieval(self, X_data)
        if self.retrieval_ is not None:
            data, valid = self._add_retrieval(data, valid, plan.tasks)
        # "auto": stop early when the validation split is large enough to judge by.
        early_stopping = not partial and (self.early_stopping is True or (
            self.early_stopping == "auto" and valid is not None and len(valid) >= MIN_VALID_ROWS
        ))
        self.batch_size_ = resolve_batch_size(self.batch_size, len(data))
        # dropout="auto" trains once per candidate rate, from the same seed (same initial
        # weights, shuffles and split), and keeps the network with the lowest validation
        # loss; a data-parallel group trains once (its processes would have to agree).
        rates = dropout_candidates(self, judged=early_stopping and parallel is None)
        setup = (fingerprint(X), fingerprint(y), len(data), 0 if valid is None else len(valid))
        best = None
        for rate in rates:
            self.dropout_ = rate
            self._train_network(plan.tasks, weighting, data, valid, device, parallel, setup,
                                early_stopping=early_stopping, partial=partial,
                                epochs=1 if partial else None)
            if len(rates) > 1:
                score = _best_valid_loss(self.net_)
                if self.verbose:
                    print(f"dropout={rate:g}: best valid_loss {score:.4f}")
                if best is None or score < best[0]:
                    best = (score, rate, self.net_)
        if best is not None:
            _, self.dropout_, self.net_ = best
            if self.verbose:
                print(f"dropout='auto' chose {self.dropout_:g}")
        self.refit_epochs_ = self.validation_history_ = None
        epochs = _refit_epochs(self, early_stopping, valid)
        if epochs is not None:
            data = self._refit_full(all_rows, plan.tasks, plan.weights, epochs, device,
                                    parallel)
        self._after_training(data)

    def _refit_full(self, data, tasks, weights, epochs: int, device, parallel) -> TensorData:
        """``refit_full``: train a new network, from the same seed (so the same initial
        weights), on all rows (``data``, before the validation split) for ``epochs`` epochs,
        the schedule's horizon still ``max_epochs``; keep the first training's history as
        ``validation_history_``. The retrieval index is rebuilt over all rows. Returns the
        training rows (with their retrieval columns)."""
        self.validation_history_ = [dict(epoch) for epoch in self.net_.history]
        weighting = make_weighting(self.weighting)  # a new one: some keep training state
        weighting.bind(list(tasks), weights)
        if self.retrieval_ is not None:
            data, _ = self._add_retrieval(data, None, tasks)
        self.batch_size_ = resolve_batch_size(self.batch_size, len(data))
        self._train_network(tasks, weighting, data, None, device, parallel,
                            ("refit_full", "all rows", len(data), 0), early_stopping=False,
                            partial=False, epochs=epochs)
        self.refit_epochs_ = epochs
        return data

    def _train_network(self, tasks, weighting, data, valid, device, parallel, setup, *,
                       early_stopping: bool, partial: bool, epochs: int | None) -> None:
        """Build ``net_`` anew from the fit's seed (so the same initial weights each time)
        and train it on ``data`` for ``epochs`` (``None``: up to ``max_epochs``), validated
        on ``valid``; ``setup`` is what a data-parallel group's processes must agree on."""
        with torch.random.fork_rng(devices=_cuda(device)), torch_threads(self.n_threads):
            torch.manual_seed(self._seed)
            self.net_ = build_network(
                self, tasks, weighting, seed=self._seed, device=device, valid=valid,
                early_stopping=early_stopping, schedule=not partial, n_train=len(data),
                parallel=parallel,
            )
            self._start_parallel(parallel, setup)
            self.net_.progress_delay_ = self._progress_delay(partial, parallel)
            self.net_.partial_fit(data, None, epochs=epochs)

    def _fit_stream(self, table):
        fit_stream(self, table)

    def _plan(self, targets, classes, sample_weight):
        """The task plan of ``targets``, the weighting bound to it, the checked weights."""
        if classes is not None and not isinstance(classes, Mapping):
            if len(targets.names) != 1:
                raise ValueError(
                    f"classes must be a dict task -> classes when y has several tasks "
                    f"{list(targets.names)}."
                )
            classes = {targets.names[0]: classes}
        sample_weight = sample_weights(sample_weight, len(targets))
        plan = TaskPlan.fit(
            targets, tasks=self.tasks, auxiliary_tasks=self.auxiliary_tasks,
            task_weights=self.task_weights, kinds=self._kinds, owner=type(self).__name__,
            classes=classes, sample_weight=sample_weight,
        )
        weighting = make_weighting(self.weighting)
        weighting.bind(list(plan.tasks), plan.weights)
        if self.stratify is not None and (
            self.stratify not in plan.tasks or not plan.tasks[self.stratify].is_classification
        ):
            raise ValueError(
                f"stratify={self.stratify!r} must name a classification task among "
                f"{list(plan.tasks)}."
            )
        return plan, weighting, sample_weight

    def _record_plan(self, plan: TaskPlan, targets) -> None:
        self.tasks_ = plan.tasks
        self.task_names_ = plan.predicted
        self.auxiliary_task_names_ = plan.auxiliary
        self.task_weights_ = plan.weights
        self.task_counts_ = plan.counts
        self._single_output = targets.one_dimensional or (
            bool(plan.auxiliary) and len(plan.predicted) == 1
        )

    def _progress_delay(self, partial: bool, parallel=None) -> float | None:
        """Seconds before this call's epoch progress bar appears; ``None``: no bar (nor in
        a data-parallel fit's processes other than rank 0)."""
        if parallel is not None and not parallel.is_main:
            return None
        return show_progress(self.progress_bar, partial=partial, verbose=int(self.verbose))

    def _data_parallel(self, device):
        """The data-parallel group this fit trains over (or ``None``), checked: an input
        that supports it, a backend that moves this device's tensors."""
        parallel = current_group()
        self.data_parallel_ = None if parallel is None else parallel.record()
        if parallel is None:
            return None
        if not getattr(self._input, "data_parallel", False):
            raise ValueError(
                f"{type(self).__name__} does not train data-parallel (over the "
                f"{parallel.world_size} processes of torch.distributed's process group); "
                "MultiTaskNet, MultiTaskNetClassifier and MultiTaskNetRegressor do. Fit it "
                "before init_process_group, or in a process outside the group."
            )
        parallel.check_device(device)
        return parallel

    def _start_parallel(self, parallel, setup, reseed: bool = True) -> None:
        """Check that every process trains the same setup (data, sizes, network) and hand
        the group to the net; in processes other than rank 0, draw the training's random
        numbers (dropout) from another seed (``reseed``: a new fit)."""
        net = self.net_
        net.data_parallel_ = parallel
        if parallel is None:
            return
        n_weights = sum(p.numel() for p in net.module_.parameters())
        parallel.check_same("the data (X, y), training/validation rows and weights",
                            (*setup, n_weights))
        if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
               for m in net.module_.modules()):
            raise ValueError(
                "Data-parallel training does not support BatchNorm layers (each process "
                "would normalise its own share of the batch); use batch_norm=False."
            )
        n_train, n_valid, world = setup[2], setup[3], parallel.world_size
        if min(n_train, self.batch_size_) < world or 0 < n_valid < world:
            raise ValueError(
                f"Data-parallel training over {world} processes needs at least {world} "
                f"rows per batch, each process one or more; there are {n_train} training "
                f"rows, {n_valid} validation rows and batch_size={self.batch_size_}."
            )
        if reseed and parallel.rank:
            torch.manual_seed(self._seed + parallel.rank)

    def _fit_more(self, X, y, partial: bool = False, sample_weight=None):
        """Continue training the fitted network (``warm_start=True`` or ``partial_fit``)."""
        check_params(self)
        X_data, targets = self._data_and_targets(X, y, reset=False)
        if list(targets.names) != list(self.tasks_):
            raise ValueError(
                f"Continuing a fit needs the same tasks: y has {list(targets.names)}, the model "
                f"was fitted on {list(self.tasks_)}. Set warm_start=False to start anew."
            )
        check_labels(targets, self.tasks_)
        device = torch_device(self.device)
        parallel = self._data_parallel(device)
        _check_parallel_weighting(parallel, self.net_.weighting, self.weighting)
        # partial_fit goes on with the class weights of the first call; a warm-started fit
        # weighs its own data.
        data, codes, class_weights = encode_rows(
            X_data, targets, self.tasks_, device, stratify=self.stratify,
            class_weight=self.class_weight,
            sample_weight=sample_weights(sample_weight, len(targets)),
            class_weights=self.class_weight_ if partial else None,
        )
        if not partial:
            self.class_weight_ = class_weights
        net = self.net_
        valid, epochs, all_rows = None, 1, data
        if not partial:
            data, valid = self._input.split(self, data, codes)
            epochs = self._epochs_left()
        if self.retrieval_ is not None:
            data, valid = self._add_retrieval(data, valid, self.tasks_, refit=False)
        net.max_epochs = self.max_epochs
        if not partial:
            _stretch_schedule(net, self.max_epochs)
        net.train_split = fixed_split(valid)
        self._start_parallel(parallel, (fingerprint(X), fingerprint(y), len(data),
                                        0 if valid is None else len(valid)), reseed=False)
        net.progress_delay_ = self._progress_delay(partial, parallel)
        with torch.random.fork_rng(devices=_cuda(device)), torch_threads(self.n_threads):
            net.resume(data, max(epochs, 0))
        # A first training resumed to its end (after an interruption) is refitted as the
        # uninterrupted fit would have been.
        stops = "early_stopping" in dict(getattr(net, "callbacks_", None) or [])
        refit = None if partial else _refit_epochs(self, stops, valid)
        if refit is not None:
            data = self._refit_full(all_rows, self.tasks_, self.task_weights_, refit, device,
                                    parallel)
        self._after_training(data)

    def _epochs_left(self) -> int:
        """Epochs a warm-started fit trains: up to ``max_epochs`` (warns at none)."""
        net = self.net_
        epochs = self.max_epochs - len(net.history)
        if getattr(net, "snapshot_", None) is not None:  # interrupted: from its last epoch
            epochs = self.max_epochs - net.snapshot_["epochs"]
        if epochs <= 0:
            warnings.warn(
                f"warm_start: the model has already trained {len(net.history)} epochs, "
                f"max_epochs={self.max_epochs}; raise max_epochs to train more.",
                UserWarning,
                stacklevel=5,
            )
        return epochs

    def _after_training(self, data) -> None:
        """Tidy up after training on ``data`` (the training rows) and let the input record
        what the trained network says."""
        net = self.net_
        net.train_split = None  # do not keep (and pickle) the validation data
        self._input.after_training(self, data)
        if net.interrupted_:
            done = net.snapshot_["epochs"] if getattr(net, "snapshot_", None) else 0
            warnings.warn(
                f"Training interrupted by user after {done} complete epoch(s) of "
                f"max_epochs={self.max_epochs}. The model is usable as it is; fit again with "
                "warm_start=True to resume from the last complete epoch.",
                UserWarning,
                stacklevel=5,
            )

    # ------------------------------------------------------------------ retrieval
    def _add_retrieval(self, data: TensorData, valid: TensorData | None, tasks,
                       refit: bool = True):
        """Fit ``retrieval_`` on the training part (unless ``refit=False``) and add its
        columns to the training (leave-one-out where they are the indexed rows) and
        validation rows."""
        rows = self._input.retrieval_rows(self, data.X)
        if refit:
            self.retrieval_.fit(rows, _retrieval_targets(data),
                                {n: t.n_outputs_ for n, t in tasks.items()})
        exclude_self = refit or self.retrieval_.is_index(rows)
        data = self._with_retrieval(data, self.retrieval_.transform(rows, exclude_self))
        if valid is not None:
            valid_rows = self._input.retrieval_rows(self, valid.X)
            # Validation rows that are the training rows themselves (cross-fitting) leave
            # themselves out, as the training rows do.
            extra = self.retrieval_.transform(
                valid_rows, exclude_self=self.retrieval_.is_index(valid_rows)
            )
            valid = self._with_retrieval(valid, extra)
        return data, valid

    def _with_retrieval(self, data: TensorData, columns: np.ndarray) -> TensorData:
        X = self._input.with_retrieval(self, data.X, columns)
        return TensorData(X, data.targets, data.masks, data.weights, data.members)

    def _network_input(self, X_data):
        """What the network reads at prediction: the input plus retrieval columns, if any."""
        if getattr(self, "retrieval_", None) is None:
            return X_data
        rows = self._input.retrieval_rows(self, X_data)
        extra = self.retrieval_.transform(rows, exclude_self=False)
        return self._input.with_retrieval(self, X_data, extra)

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


def _check_parallel_weighting(parallel, weighting, spec) -> None:
    """A data-parallel fit averages the processes' gradients of their losses: right for a
    weighting whose objective is linear in each task's loss (``data_parallel = True``)."""
    if parallel is not None and not getattr(weighting, "data_parallel", False):
        raise ValueError(
            f"weighting={spec!r} does not train data-parallel: its gradient is not the "
            "average of the processes' gradients (it aggregates per-task gradients, "
            "normalises gradient norms or draws task weights per row). Use 'static', "
            "'uncertainty' or 'dwa' over several processes."
        )


def _retrieval_targets(data: TensorData) -> dict:
    """Each task's encoded labels and the rows that count: labelled, and of weight > 0 (a
    row of weight 0 in a task is no one's neighbour there: it has no influence)."""
    targets = {}
    for name in data.targets:
        mask = data.masks.get(name)
        mask = None if mask is None else mask.cpu().numpy()
        weights = data.weights.get(name)
        if weights is not None:
            kept = (weights > 0).cpu().numpy()
            mask = kept if mask is None else mask & kept
        targets[name] = (data.targets[name].cpu().numpy(), mask)
    return targets


def _cuda(device: torch.device) -> list:
    """The devices whose random state a seeded fit forks: the CUDA one, if any."""
    return [device] if device.type == "cuda" else []


def _refit_epochs(est, early_stopping: bool, valid) -> int | None:
    """The epochs ``refit_full`` trains for on all rows: the epoch early stopping restored,
    or ``None`` when the fit is not refitted (``refit_full=False``, no early stopping,
    cross-fitted members, whose validation rows train the other members, or a training
    interrupted by the user)."""
    net = est.net_
    if not (est.refit_full and early_stopping and valid is not None) or net.interrupted_:
        return None
    if est._input.cross_fitted(est):
        return None
    stopper = dict(net.callbacks_).get("early_stopping")
    epoch = getattr(stopper, "best_epoch_", None)
    return int(epoch) if epoch else None


def _best_valid_loss(net) -> float:
    """The lowest ``valid_loss`` of a fit's epochs: the restored epoch's, or within early
    stopping's relative ``tol`` of it (an improvement smaller than ``tol`` does not move
    the epoch it restores)."""
    losses = [float(h["valid_loss"]) for h in net.history if "valid_loss" in h]
    return min(losses) if losses else float("inf")


def _is_fitted(estimator) -> bool:
    return hasattr(estimator, "net_")


def _stretch_schedule(net, max_epochs: int) -> None:
    """A warm-started fit decays the learning rate over its own ``max_epochs``: the cosine
    schedule of the first fit reached 0 at its ``max_epochs``, so raising ``max_epochs``
    would otherwise train every further epoch at a learning rate of 0. Epoch ``e`` then
    trains at the factor ``CosineDecay(max_epochs)(e)``, as if the fit had been asked for
    ``max_epochs`` from the start."""
    for _, callback in getattr(net, "callbacks_", []):
        decay = getattr(callback, "lr_lambda", None)
        if isinstance(decay, CosineDecay):
            decay.max_epochs = max_epochs
