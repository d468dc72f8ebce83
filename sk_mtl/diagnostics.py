"""Diagnostics for multi-task networks: gradient conflict, benefit over single-task, plots.

- :class:`GradientCosine` is a skorch callback that records, every epoch, the cosine
  similarity between the tasks' loss gradients on the shared trunk (negative values mean the
  tasks pull the shared parameters in conflicting directions) and each gradient's norm.
- :func:`compare_single_task` cross-validates a multi-task estimator against one single-task
  copy of it per task, on the same splits, and reports the relative improvement per task and
  its mean ``delta_m``.
- :func:`plot_history` draws the per-task losses, task weights and gradient cosines of a
  fitted estimator's ``history_`` (needs matplotlib: ``pip install "sk_mtl[plot]"``).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.model_selection import check_cv, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback
from torch import Tensor, nn

from .data import BatchIterator, missing_mask, split_targets
from .metrics import task_scorer

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["GradientCosine", "compare_single_task", "plot_history"]

_PLOT_EXTRA = 'pip install "sk_mtl[plot]"'


# =============================================================================== callback
class GradientCosine(Callback):
    """Record the cosine similarity of the tasks' gradients on the shared trunk every epoch.

    At the end of each epoch, the callback takes a fixed sample of training rows, computes
    each task's (unweighted) loss on it with one forward pass, and the gradient of each task
    loss with respect to the shared parameters (``module_.trunk.parameters()``) with
    :func:`torch.autograd.grad`. It records in the net's history, for every pair of tasks
    ``a``, ``b`` (in task order), ``grad_cos_<a>__<b>``: the cosine similarity of the two
    flattened gradients, and for every task ``grad_norm_<task>``: the Euclidean norm of its
    gradient. A cosine near 1 means the tasks push the trunk the same way; a negative cosine
    means they conflict.

    The measurement does not change training: the module and criterion are put in eval
    mode for it (so dropout adds no noise and batch-norm statistics are not updated) and
    their modes are restored afterwards; no ``.grad`` attribute, optimizer state or torch
    random number generator is touched, so a fit gives the same network with or without
    the callback. It costs one forward and one backward pass per task over at most
    ``max_rows`` rows per epoch.

    Parameters
    ----------
    max_rows : int, default=1024
        Largest number of training rows in the sample. The rows are drawn without
        replacement at the first epoch of each fit and reused at every epoch, so that the
        curves show the change of the network rather than of the sample. All training rows
        are used when there are no more than ``max_rows``. Sparse rows are densified.
    random_state : int, RandomState instance or None, default=None
        Draws the sample of rows (with numpy, not torch, so training is unaffected). Pass
        an int for the same rows in every fit.

    Attributes
    ----------
    sample_indices_ : ndarray of shape (n_sample_rows,)
        Sorted positions, in the net's training data, of the rows measured on.

    See Also
    --------
    compare_single_task : Whether training the tasks together helps each task.
    plot_history : Plot the recorded cosines beside the per-task losses.

    Notes
    -----
    The cosine is NaN when one of the two gradients is zero, for instance for a task that
    has no labelled row in the sample, or when the trunk has no trainable parameter
    (``hidden_dims=()``). Gradients are those of the task losses ``L_t`` before the task
    weights ``w_t`` are applied; a positive weight changes a gradient's norm, never a cosine.

    Each gradient reaches the trunk through its task's own head, so the cosine compares
    what the tasks ask of the shared representation, not the targets themselves: two copies
    of one task with independently initialised heads do not give 1 (their heads read the
    trunk differently), while two copies with equal heads give exactly 1, and so do ``y``
    and ``-y`` with opposite heads.

    References
    ----------
    .. [1] T. Yu, S. Kumar, A. Gupta, S. Levine, K. Hausman and C. Finn, "Gradient Surgery
       for Multi-Task Learning", NeurIPS 2020.
    .. [2] Y. Du, W. M. Czarnecki, S. M. Jayakumar, M. Farajtabar, R. Pascanu and
       B. Lakshminarayanan, "Adapting Auxiliary Losses Using Gradient Similarity",
       arXiv:1812.02224, 2018.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.diagnostics import GradientCosine
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = pd.DataFrame({"a": X[:, 0] > 0, "b": X[:, 0] + X[:, 1]})
    >>> net = MultiTaskNet(hidden_dims=(16,), max_epochs=3, random_state=0,
    ...                    callbacks=[GradientCosine(random_state=0)]).fit(X, y)
    >>> sorted(key for key in net.history_[-1] if key.startswith("grad_"))
    ['grad_cos_a__b', 'grad_norm_a', 'grad_norm_b']
    >>> len(net.history_[:, "grad_cos_a__b"])
    3
    """

    def __init__(self, max_rows: int = 1024, random_state=None) -> None:
        self.max_rows = max_rows
        self.random_state = random_state

    def initialize(self) -> GradientCosine:
        """Check the parameters and forget the sample of a previous fit."""
        max_rows = self.max_rows
        if (
            not isinstance(max_rows, numbers.Integral)
            or isinstance(max_rows, bool)
            or max_rows < 1
        ):
            raise ValueError(f"max_rows must be a positive integer, got {max_rows!r}.")
        self.sample_indices_ = None
        return self

    def on_train_begin(self, net, X=None, y=None, **kwargs) -> None:
        """Forget the sample of a previous fit: a new one is drawn at the first epoch."""
        self.sample_indices_ = None

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs) -> None:
        """Measure the gradients on the sample and record them in ``net.history``."""
        if dataset_train is None or len(dataset_train) == 0:
            return
        if not hasattr(dataset_train, "take"):
            raise TypeError(
                "GradientCosine works with sk_mtl estimators, whose training data is an "
                f"sk_mtl.data.TensorData; got {type(dataset_train).__name__}."
            )
        if getattr(self, "sample_indices_", None) is None:
            self.sample_indices_ = _sample_rows(
                len(dataset_train), self.max_rows, self.random_state
            )
        sample = dataset_train.take(self.sample_indices_)
        cosines, norms = _task_gradient_stats(net, sample)
        for name, value in norms.items():
            net.history.record(f"grad_norm_{name}", value)
        for (a, b), value in cosines.items():
            net.history.record(f"grad_cos_{a}__{b}", value)


def _sample_rows(n: int, max_rows: int, random_state) -> np.ndarray:
    if n <= max_rows:
        return np.arange(n)
    rng = check_random_state(random_state)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def _shared_parameters(module: nn.Module) -> list[Tensor]:
    trunk = getattr(module, "trunk", None)
    if not isinstance(trunk, nn.Module):
        raise TypeError(
            "GradientCosine needs a module with a shared `trunk` submodule (an "
            f"sk_mtl.modules.MultiTaskModule); got {type(module).__name__}."
        )
    return [p for p in trunk.parameters() if p.requires_grad]


def _task_gradient_stats(net, sample) -> tuple[dict[tuple[str, str], float], dict[str, float]]:
    """Cosines between task gradients and their norms, on the shared parameters."""
    module, criterion = net.module_, net.criterion_
    params = _shared_parameters(module)
    modes = [(m, m.training) for m in itertools.chain(module.modules(), criterion.modules())]
    try:
        module.eval()
        criterion.eval()
        with torch.enable_grad():
            X_batch, y_batch = next(iter(BatchIterator(sample, -1, device=net.device)))
            losses = criterion(module(X_batch), y_batch)
            names = list(losses)
            flat = {}
            for i, name in enumerate(names):
                flat[name] = _flat_gradient(losses[name], params, retain_graph=i < len(names) - 1)
    finally:
        for m, training in modes:
            m.training = training
    norms = {name: float(g.norm()) for name, g in flat.items()}
    cosines = {}
    for a, b in itertools.combinations(names, 2):
        if norms[a] > 0 and norms[b] > 0:
            cos = float(flat[a] @ flat[b]) / (norms[a] * norms[b])
            cosines[a, b] = min(1.0, max(-1.0, cos))
        else:
            cosines[a, b] = math.nan
    return cosines, norms


def _flat_gradient(loss: Tensor, params: list[Tensor], retain_graph: bool) -> Tensor:
    """``d loss / d params`` flattened into one float64 vector (zeros where unused)."""
    if not params:
        return torch.zeros(0, dtype=torch.float64)
    if loss.requires_grad:
        grads = torch.autograd.grad(loss, params, retain_graph=retain_graph, allow_unused=True)
    else:  # a loss that does not depend on any parameter
        grads = (None,) * len(params)
    return torch.cat(
        [
            (torch.zeros_like(p) if g is None else g.to_dense() if g.is_sparse else g)
            .reshape(-1)
            .double()
            for g, p in zip(grads, params)
        ]
    )


# =============================================================================== comparison
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
    >>> import numpy as np, pandas as pd
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.diagnostics import compare_single_task
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(120, 4))
    >>> y = pd.DataFrame({"a": X[:, 0] > 0, "b": X[:, 0] - X[:, 1]})
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
def plot_history(history, *, tasks: Sequence[str] | None = None, ax=None) -> Figure:
    """Plot per-task losses, task weights and gradient cosines over the epochs.

    Three panels: the training (solid) and validation (dashed) loss of each task
    (``train_loss_<task>``, ``valid_loss_<task>``); the task weights (``weight_<task>``); and
    the cosines between task gradients recorded by :class:`GradientCosine`
    (``grad_cos_<a>__<b>``), or a note saying how to record them when there are none.

    Parameters
    ----------
    history : skorch.History, estimator or Pipeline
        A fitted estimator's ``history_``, or the fitted sk_mtl estimator (or a ``Pipeline``
        ending in one) itself.
    tasks : list of str, default=None
        Tasks to plot; ``None`` plots all of them. Gradient cosines are shown for pairs of
        these tasks.
    ax : array-like of 3 matplotlib Axes, default=None
        Axes to draw the three panels on; ``None`` makes a new figure with three panels.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure that holds the panels.

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install "sk_mtl[plot]"``).

    See Also
    --------
    GradientCosine : Record the gradient cosines plotted in the third panel.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.diagnostics import GradientCosine, plot_history
    >>> rng = np.random.RandomState(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = pd.DataFrame({"a": X[:, 0] > 0, "b": X[:, 0] + X[:, 1]})
    >>> net = MultiTaskNet(hidden_dims=(16,), max_epochs=3, random_state=0,
    ...                    callbacks=[GradientCosine(random_state=0)]).fit(X, y)
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig = plot_history(net)
    >>> len(fig.axes)
    3
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"plot_history needs matplotlib, an optional dependency: {_PLOT_EXTRA}"
        ) from exc

    rows, known_tasks = _history_rows(history)
    if tasks is None:
        tasks = known_tasks
    else:
        tasks = [tasks] if isinstance(tasks, str) else list(tasks)
        unknown = [t for t in tasks if t not in known_tasks]
        if unknown:
            raise ValueError(
                f"tasks {unknown} are not in the history; its tasks are {known_tasks}."
            )

    if ax is None:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
        axes = list(np.ravel(axes))
    else:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != 3:
            raise ValueError(f"ax must hold 3 matplotlib Axes, got {len(axes)}.")
        fig = axes[0].figure

    epochs = [row.get("epoch", i + 1) for i, row in enumerate(rows)]

    def series(key: str) -> list[float] | None:
        if not any(key in row for row in rows):
            return None
        return [float(row.get(key, math.nan)) for row in rows]

    loss_ax, weight_ax, cos_ax = axes
    for i, task in enumerate(tasks):
        color = f"C{i % 10}"
        for split, style in (("train", "-"), ("valid", "--")):
            values = series(f"{split}_loss_{task}")
            if values is not None:
                loss_ax.plot(epochs, values, style, color=color, label=f"{task} ({split})")
        values = series(f"weight_{task}")
        if values is not None:
            weight_ax.plot(epochs, values, color=color, label=task)
    loss_ax.set(title="Task losses", xlabel="epoch", ylabel="loss")
    weight_ax.set(title="Task weights", xlabel="epoch", ylabel="weight")

    n_pairs = 0
    for a, b in itertools.combinations(tasks, 2):
        values = series(f"grad_cos_{a}__{b}")
        if values is None:
            values = series(f"grad_cos_{b}__{a}")
        if values is not None:
            cos_ax.plot(epochs, values, color=f"C{n_pairs % 10}", label=f"{a} / {b}")
            n_pairs += 1
    cos_ax.set(title="Gradient cosine on the shared trunk", xlabel="epoch", ylabel="cosine")
    if n_pairs:
        cos_ax.axhline(0.0, color="0.6", linewidth=0.8)
        cos_ax.set_ylim(-1.05, 1.05)
    else:
        cos_ax.text(
            0.5,
            0.5,
            "no grad_cos_* entries:\nadd sk_mtl.diagnostics.GradientCosine()\nto callbacks",
            ha="center",
            va="center",
            transform=cos_ax.transAxes,
        )
    for panel in axes:
        if panel.get_legend_handles_labels()[0]:
            panel.legend(fontsize="small")
    return fig


def _history_rows(history) -> tuple[list[dict], list[str]]:
    """The epoch records of ``history`` and its task names (in task order)."""
    task_names = None
    while isinstance(history, Pipeline):
        history = history[-1]
    if hasattr(history, "get_params") and hasattr(type(history), "history_"):
        check_is_fitted(history)
        # tasks_ holds every trained task, auxiliary ones included, in training order.
        task_names = list(getattr(history, "tasks_", None) or history.task_names_)
        history = history.history_
    elif not isinstance(history, list) and hasattr(history, "history"):  # a skorch net
        history = history.history
    if not isinstance(history, list) or not all(isinstance(r, Mapping) for r in history):
        raise TypeError(
            "history must be a fitted sk_mtl estimator (or Pipeline ending in one) or its "
            f"history_ (a skorch History); got {type(history).__name__}."
        )
    rows = list(history)
    if not rows:
        raise ValueError("history is empty: fit the estimator first.")
    if not task_names:
        keys = list(dict.fromkeys(k for row in rows for k in row))
        task_names = [k[len("weight_") :] for k in keys if k.startswith("weight_")]
        if not task_names:
            task_names = [
                k[len("train_loss_") :]
                for k in keys
                if k.startswith("train_loss_") and k != "train_loss_best"
            ]
    return rows, task_names
