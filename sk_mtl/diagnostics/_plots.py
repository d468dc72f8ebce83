"""plot_history: per-task losses, task weights and gradient cosines of a history."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure


__all__ = ["plot_history"]

_PLOT_EXTRA = 'pip install "sk_mtl[plot]"'


def plot_history(history, *, tasks: Sequence[str] | None = None, ax=None) -> Figure:
    """Plot per-task losses, task weights and gradient cosines over the epochs.

    Three panels: the training (solid) and validation (dashed) loss of each task
    (``train_loss_<task>``, ``valid_loss_<task>``); the task weights (``weight_<task>``); and
    the cosines between task gradients recorded by :class:`GradientCosine`
    (``grad_cos_<a>__<b>``), or a note saying how to record them when there are none.

    Parameters
    ----------
    history : skorch.History, list of dict, estimator or Pipeline
        A fitted estimator's ``history_`` (or ``validation_history_``, the first training's
        epochs after a ``refit_full`` fit, whose ``history_`` has no validation losses), or
        the fitted sk_mtl estimator (or a ``Pipeline`` ending in one) itself.
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
