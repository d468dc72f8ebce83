"""The network's own scaling of its numeric input, fitted in ``fit``."""

from __future__ import annotations

import scipy.sparse as sp
from sklearn.preprocessing import QuantileTransformer, StandardScaler

__all__ = ["INPUT_SCALINGS", "make_input_scaler"]

#: Most quantiles a quantile scaling keeps per column.
MAX_QUANTILES = 1000


def _quantile(n_rows: int):
    # Normal output: the network reads roughly standard-normal columns whatever their
    # distribution (skewed counts, sentinel values, heavy tails), and any monotone transform
    # a user applied before (a StandardScaler, a log) changes nothing.
    return QuantileTransformer(
        n_quantiles=max(min(MAX_QUANTILES, n_rows), 2), output_distribution="normal",
        subsample=None, copy=True,
    )


def _standard(n_rows: int):
    return StandardScaler()


#: ``input_scaling=`` names: what each builds for a table of ``n_rows`` rows (None: no
#: scaling, the input as given).
INPUT_SCALINGS = {"quantile": _quantile, "standard": _standard, None: None}


def make_input_scaler(input_scaling, X):
    """The scaler ``input_scaling`` names, fitted on the dense float32 ``X``; None for none
    or for sparse input (kept sparse, unscaled)."""
    make = INPUT_SCALINGS[input_scaling]
    if make is None or sp.issparse(X) or X.shape[0] < 2:
        return None
    return make(X.shape[0]).fit(X)
