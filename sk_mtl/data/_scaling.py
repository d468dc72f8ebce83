"""The network's own scaling of its numeric input, fitted in ``fit``."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import QuantileTransformer, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["INPUT_SCALINGS", "QuantileRobust", "RobustSmoothClip", "make_input_scaler"]

#: Most quantiles a quantile scaling keeps per column.
MAX_QUANTILES = 1000
#: The ``"...+levels"`` scalings (``input_scaling="auto"``) one-hot encode the columns with
#: at least 3 and at most this many distinct values (:class:`QuantileRobust`).
AUTO_MAX_LEVELS = 16
#: Rows a column's distinct values are counted in first (:func:`_few_valued`).
_LEVELS_PROBE_ROWS = 2_000


class RobustSmoothClip(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Robust scaling followed by a smooth clip, as RealMLP scales its input.

    Each column is centred on its median and divided by its interquartile range (by half
    its range where the quartiles coincide, e.g. a column that is mostly one sentinel
    value; by 1 for a constant column), then squashed smoothly into ``(-clip, clip)`` by
    ``x / sqrt(1 + (x / clip)^2)``: linear near the centre, so near-linear relations stay
    near-linear, while outliers and sentinel values cannot dominate (Holzmüller et al.,
    "Better by default: strong pre-tuned MLPs and boosted trees on tabular data", NeurIPS
    2024).

    Parameters
    ----------
    clip : float, default=3.0
        Where the smooth clip levels off.

    Attributes
    ----------
    center_ : ndarray of shape (n_features,)
        The columns' medians.
    scale_ : ndarray of shape (n_features,)
        What each centred column is divided by.
    n_features_in_ : int
        Number of columns seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.data import RobustSmoothClip
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0], [1000.0]])
    >>> RobustSmoothClip().fit_transform(X).round(2).ravel().tolist()
    [-0.95, -0.49, 0.0, 0.49, 3.0]
    """

    def __init__(self, clip: float = 3.0) -> None:
        self.clip = clip

    def fit(self, X, y=None):
        """Fit the medians and scales on ``X``; returns self."""
        X = validate_data(self, X, dtype=np.float64)
        q1, median, q3 = np.percentile(X, [25, 50, 75], axis=0)
        scale = q3 - q1
        half_range = (X.max(axis=0) - X.min(axis=0)) / 2
        scale = np.where(scale > 0, scale, half_range)
        self.center_ = median
        self.scale_ = np.where(scale > 0, scale, 1.0)
        return self

    def transform(self, X):
        """Scale and smoothly clip ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        z = (X - self.center_) / self.scale_
        return z / np.sqrt(1.0 + (z / self.clip) ** 2)


class QuantileRobust(TransformerMixin, BaseEstimator):
    """Views of every column side by side: its quantiles mapped to a standard normal, then
    its robust, smoothly clipped value (:class:`RobustSmoothClip`); optionally, first, the
    one-hot levels of its few-valued columns.

    The quantile view spreads skewed columns, sentinel values and outliers evenly; the
    robust view keeps a column's linear scale near its centre, which the quantile view
    bends (a target that is nearly linear in a column is then nearly linear in an input).
    On the 20-table suite the two views together beat either alone (``docs/defaults.md``).

    With ``max_levels``, each column with at least 3 and at most ``max_levels`` distinct
    values in ``fit`` (a grid of design values, a survey answer, a clinical code) is also
    one-hot encoded, one column per value (a value not seen in ``fit``: all zeros), and the
    views are taken of the columns and their one-hot columns together: the network then
    reads a separate input per level, as a tree splits on each, where the numeric views
    alone make it bend a function through them. Where the one-hot columns would number
    more than ``max_level_columns`` (many few-valued columns, e.g. rarely detected signal
    strengths), no column is one-hot encoded.

    Parameters
    ----------
    n_quantiles : int, default=1000
        Most quantiles kept per column (at most the number of rows).
    robust : bool, default=True
        Whether to add the robust view (else the quantile view alone).
    max_levels : int, default=0
        Most distinct values of a column that is one-hot encoded (0: none is).
    max_level_columns : int, default=256
        Most one-hot columns in all; beyond, none.

    Attributes
    ----------
    levels_ : list of (int, ndarray)
        The one-hot encoded columns (index, sorted values), in column order; empty for
        none.
    quantile_ : QuantileTransformer
        The fitted quantile view.
    robust_ : RobustSmoothClip or None
        The fitted robust view.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    n_features_out_ : int
        Width of the output: each view's columns, ``n_features_in_`` plus the one-hot
        columns each.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.data import QuantileRobust
    >>> X = np.arange(40.0).reshape(20, 2) ** 2
    >>> QuantileRobust().fit_transform(X).shape
    (20, 4)
    >>> X[:, 1] = np.arange(20) % 3  # three values: three one-hot columns
    >>> QuantileRobust(max_levels=16).fit_transform(X).shape
    (20, 10)
    """

    def __init__(self, n_quantiles: int = MAX_QUANTILES, robust: bool = True,
                 max_levels: int = 0, max_level_columns: int = 256) -> None:
        self.n_quantiles = n_quantiles
        self.robust = robust
        self.max_levels = max_levels
        self.max_level_columns = max_level_columns

    def fit(self, X, y=None):
        """Fit the one-hot levels and the views on ``X``; returns self."""
        X = validate_data(self, X, dtype=np.float64)
        self.levels_ = _few_valued(X, self.max_levels, self.max_level_columns)
        X = self._with_levels(X)
        self.quantile_ = _quantile(min(self.n_quantiles, X.shape[0])).fit(X)
        self.robust_ = RobustSmoothClip().fit(X) if self.robust else None
        self.n_features_out_ = X.shape[1] * (2 if self.robust else 1)
        return self

    def transform(self, X):
        """The views of ``X`` (and of its one-hot levels), side by side."""
        check_is_fitted(self)
        X = self._with_levels(validate_data(self, X, dtype=np.float64, reset=False))
        views = [self.quantile_.transform(X)]
        if self.robust_ is not None:
            views.append(self.robust_.transform(X))
        return np.hstack(views)

    def _with_levels(self, X):
        levels = getattr(self, "levels_", [])
        if not levels:
            return X
        return np.hstack([X, *((X[:, [j]] == values).astype(np.float64)
                               for j, values in levels)])


def _few_valued(X, max_levels: int, max_columns: int) -> list:
    """The columns of ``X`` with 3 to ``max_levels`` distinct values and their values; none
    when their values number more than ``max_columns`` in all."""
    levels = []
    if max_levels < 3:
        return levels
    probe = X[:_LEVELS_PROBE_ROWS]
    for j in range(X.shape[1]):
        # A column with too many values among its first rows has too many in all: the
        # sort of every row is left for the few others.
        if len(np.unique(probe[:, j])) > max_levels:
            continue
        values = np.unique(X[:, j])
        if 3 <= len(values) <= max_levels:
            levels.append((j, values))
    if sum(len(v) for _, v in levels) > max_columns:
        return []
    return levels


def _quantile(n_rows: int):
    # Normal output: the network reads roughly standard-normal columns whatever their
    # distribution, and any monotone transform a user applied before changes nothing.
    return QuantileTransformer(
        n_quantiles=max(min(MAX_QUANTILES, n_rows), 2), output_distribution="normal",
        subsample=None, copy=True,
    )


#: ``input_scaling=`` names: what each builds for a table of ``n_rows`` rows (None: no
#: scaling, the input as given).
INPUT_SCALINGS = {
    "quantile+robust+levels": lambda n_rows: QuantileRobust(max_levels=AUTO_MAX_LEVELS),
    "quantile+levels": lambda n_rows: QuantileRobust(robust=False,
                                                     max_levels=AUTO_MAX_LEVELS),
    "quantile+robust": lambda n_rows: QuantileRobust(),
    "robust": lambda n_rows: RobustSmoothClip(),
    "quantile": _quantile,
    "standard": lambda n_rows: StandardScaler(),
    None: None,
}


def make_input_scaler(input_scaling, X):
    """The scaler ``input_scaling`` names, fitted on the dense ``X``; None for none or for
    sparse input (kept sparse, unscaled)."""
    if not isinstance(input_scaling, (str, type(None))) or input_scaling not in INPUT_SCALINGS:
        raise ValueError(
            f"input_scaling={input_scaling!r} is not known; use one of "
            f"{sorted(INPUT_SCALINGS, key=str)}."
        )
    make = INPUT_SCALINGS[input_scaling]
    if make is None or sp.issparse(X) or X.shape[0] < 2:
        return None
    return make(X.shape[0]).fit(X)
