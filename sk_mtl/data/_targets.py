"""Targets: ``y`` (1-D, 2-D array, Series or DataFrame) to named task columns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["TargetColumns", "encode_targets", "missing_mask", "split_targets"]


@dataclass
class TargetColumns:
    """``y`` split into one 1-D array per task.

    Attributes
    ----------
    names : list of str
        Task names: a DataFrame's column names; a named Series' name; ``"y"`` for any other
        1-D ``y``; ``"y0", "y1", ...`` for the columns of a 2-D array.
    columns : list of ndarray
        One 1-D array per task (``object`` dtype where labels are text, collections or carry
        ``None``/``pd.NA``).
    one_dimensional : bool
        Whether ``y`` was 1-D (predictions then come back 1-D).
    """

    names: list[str]
    columns: list[np.ndarray]
    one_dimensional: bool

    def __len__(self) -> int:
        return len(self.columns[0])


def _series_values(s: pd.Series) -> np.ndarray:
    if isinstance(s.dtype, np.dtype):
        return s.to_numpy()
    # Extension dtypes (Int64, boolean, string, category): object array with None/pd.NA/NaN.
    return s.to_numpy(dtype=object)


def split_targets(y) -> TargetColumns:
    """Split ``y`` into named task columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.data import split_targets
    >>> split_targets(np.array([[0, 1.5], [1, 2.5]])).names
    ['y0', 'y1']
    """
    if sp.issparse(y):
        raise TypeError("A sparse y is not supported; pass a dense array or a DataFrame.")
    if isinstance(y, pd.DataFrame):
        names = [str(c) for c in y.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"y has duplicate column names {names}; task names must be unique.")
        return TargetColumns(names, [_series_values(y[c]) for c in y.columns], False)
    if isinstance(y, pd.Series):
        name = y.name if isinstance(y.name, str) else "y"
        return TargetColumns([name], [_series_values(y)], True)
    if y is None:
        raise ValueError("y is required: this estimator is supervised.")
    arr = np.asarray(y) if not isinstance(y, list) else _list_to_array(y)
    if arr.ndim == 1:
        return TargetColumns(["y"], [arr], True)
    if arr.ndim == 2:
        if arr.shape[1] == 0:
            raise ValueError("y has no column; at least one task is needed.")
        return TargetColumns([f"y{j}" for j in range(arr.shape[1])], list(arr.T), False)
    raise ValueError(
        f"y must be 1-D or 2-D, got an array of shape {arr.shape}; a multilabel task takes "
        "one flat list, tuple or set of labels per row."
    )


def _list_to_array(y: list) -> np.ndarray:
    try:
        arr = np.asarray(y)
    except ValueError:  # ragged: e.g. one list of labels per row (a multilabel task)
        out = np.empty(len(y), dtype=object)
        out[:] = y
        return out
    if arr.dtype.kind in "US":
        # numpy turns [1, "a", nan] into three strings; keep each label's own type, so a
        # column that mixes numbers and strings is refused by name and NaN stays missing.
        labels = np.asarray(y, dtype=object)
        if labels.shape == arr.shape and not all(isinstance(v, str) for v in labels.flat):
            return labels
    return arr


def missing_mask(column: np.ndarray) -> np.ndarray:
    """Boolean mask of rows without a label: NaN, ``None``, ``pd.NA`` or ``NaT``."""
    kind = column.dtype.kind
    if kind in "fc":
        return np.isnan(column)
    if kind == "O":
        return np.asarray(pd.isna(column), dtype=bool)
    return np.zeros(len(column), dtype=bool)


def encode_targets(targets: TargetColumns, tasks: dict, stratify: str | None = None):
    """Each task's encoded labels, the mask of its labelled rows (``None``: all), and the
    stratification codes of task ``stratify`` (-1 where unlabelled; ``None`` without it).

    ``tasks`` maps each task name to its fitted :class:`~sk_mtl.tasks.Task`, which encodes
    the labelled rows of its column.
    """
    encoded, masks, codes = {}, {}, None
    for name, column in zip(targets.names, targets.columns):
        labelled = ~missing_mask(column)
        try:
            target = tasks[name].encode(column, labelled)
        except ValueError as exc:  # e.g. a label the task was not fitted on
            raise ValueError(f"Task {name!r}: {exc}") from None
        encoded[name] = target
        masks[name] = None if labelled.all() else labelled
        if name == stratify:
            if target.ndim != 1:
                raise ValueError(
                    f"stratify={name!r} needs a single-label classification task; task "
                    f"{name!r} is {tasks[name].kind!r}."
                )
            codes = np.where(labelled, target.astype(np.int64), -1)
    return encoded, masks, codes
