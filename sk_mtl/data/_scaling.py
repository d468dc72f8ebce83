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
    """Two views of every column side by side: its quantiles mapped to a standard normal,
    then its robust, smoothly clipped value (:class:`RobustSmoothClip`).

    The quantile view spreads skewed columns, sentinel values and outliers evenly; the
    robust view keeps a column's linear scale near its centre, which the quantile view
    bends (a target that is nearly linear in a column is then nearly linear in an input).
    On the 20-table suite the two views together beat either alone (``docs/defaults.md``).

    Parameters
    ----------
    n_quantiles : int, default=1000
        Most quantiles kept per column (at most the number of rows).

    Attributes
    ----------
    quantile_ : QuantileTransformer
        The fitted quantile view.
    robust_ : RobustSmoothClip
        The fitted robust view.
    n_features_in_ : int
        Number of columns seen in ``fit``; the output has twice as many.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.data import QuantileRobust
    >>> X = np.arange(20.0).reshape(10, 2) ** 2
    >>> QuantileRobust().fit_transform(X).shape
    (10, 4)
    """

    def __init__(self, n_quantiles: int = MAX_QUANTILES) -> None:
        self.n_quantiles = n_quantiles

    def fit(self, X, y=None):
        """Fit both views on ``X``; returns self."""
        X = validate_data(self, X, dtype=np.float64)
        self.quantile_ = _quantile(min(self.n_quantiles, X.shape[0])).fit(X)
        self.robust_ = RobustSmoothClip().fit(X)
        return self

    def transform(self, X):
        """The quantile view and the robust view of ``X``, side by side."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return np.hstack([self.quantile_.transform(X), self.robust_.transform(X)])


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
