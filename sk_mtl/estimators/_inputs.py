"""The input seam: what turns an estimator's ``X`` into what its network reads.

An estimator holds one input (its class attribute ``_input``) and never asks which kind it
is: :class:`TableInput` for the one-table ``MultiTaskNet*`` (validation, in-network scaling,
dense or sparse rows, the ensemble trunk), :class:`~._modality_input.ModalityInput` for the
``FusionNet*`` (modalities, converters, encoders, fusion). An input holds no state of its
own: what it fits is kept on the estimator (``n_features_in_``, ``input_scaler_``,
``modalities_``, ...), so a model file and ``clone`` see plain estimator attributes.

The methods, each given the estimator:

- ``check_params``: the input's own parameters, before anything is fitted;
- ``fit_transform`` / ``transform``: ``X`` to the converted input (fitting on the first);
- ``split``: training and validation rows of the encoded data;
- ``make_retrieval``, ``retrieval_rows``, ``with_retrieval``: what retrieval looks up and
  where its columns go;
- ``build_module``: the untrained torch module (trunk or encoders and fusion, and heads);
- ``net_options``: extra arguments of the skorch net (given the weighting);
- ``after_training``: what the estimator records from the trained network;
- ``condition``: what a conditioned network reads from the parameters as they are now.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils.validation import validate_data
from torch import nn

from ..data import QuantileRobust, validation_split
from ..data._columns import columns_by_name
from ..data._retrieval import AUTO_TABLE_RETRIEVAL_MAX_FEATURES, make_retrieval
from ..data._scaling import make_input_scaler
from ..modules import (
    EnsembleMLPTrunk,
    FrontScale,
    MultiTaskModule,
    PeriodicInput,
    PiecewiseLinearInput,
)
from ..trunks import TrunkSpec
from ._builder import dropout_rate, hidden_dims, network_dims, trunk_module

__all__ = ["NetworkInput", "TableInput", "dropout_candidates", "n_rows", "resolve_hidden_dims",
           "validate_table"]

#: Largest input magnitude a one-table network reads: the sums and squares of float32
#: activations overflow soon after.
MAX_INPUT = 1e15
#: ``input_scaling="auto"`` gives two views of each column up to this many columns.
AUTO_TWO_VIEWS_MAX_FEATURES = 64
#: ``ensemble_size="auto"``: (most rows, members) pairs; the first pair whose row count the
#: rows given to ``fit`` stay within gives the members, one network beyond the last. Chosen
#: on the suite (docs/defaults.md): on its small multi-label tables 32 members beat 8
#: (birds, foodtruck, scene, yeast...), and the fit time grows with members x rows, so
#: larger tables get fewer; above 10,000 rows (ujiindoorloc, gas_turbine_emissions,
#: 14,000-24,000 training rows) eight members scored lower than one network and took 12-14
#: times as long.
AUTO_ENSEMBLE_SIZES = ((2_500, 32), (10_000, 8))
#: ``hidden_dims="auto"``: (most rows, widths) pairs; the first pair whose row count the rows
#: given to ``fit`` stay within gives the trunk's hidden layers, :data:`AUTO_HIDDEN_DIMS_LARGE`
#: beyond the last (where ``ensemble_size="auto"`` trains one network). Chosen on the suite
#: (docs/defaults.md): on its two tables of more than 10,000 rows wider layers than (128, 128)
#: won gas_turbine_emissions' NOX against the random forest; three layers of 256 were chosen
#: first, and (256, 256) since the weights' moving average and the front scale made
#: ujiindoorloc's fits run their 100 epochs (64 s per fold with three layers, 45 s with two,
#: winning the same tasks); between 300 and 10,000 rows (256, 256) was no better than
#: (128, 128) and 1.6x slower, and (64, 64) lost birds and enb. Up to 300 rows (the suite's
#: five smallest tables in 3-fold CV) (64, 64) scored as (128, 128) did over eight fold plans
#: (flags up, slump down), fitted in about 0.6x the time and left fewer foodtruck labels at
#: chance (11 of 96 label-plans against 16).
AUTO_HIDDEN_DIMS = ((300, (64, 64)), (10_000, (128, 128)))
AUTO_HIDDEN_DIMS_LARGE = (256, 256)
#: The members of ``cross_fit=True`` with ``ensemble_size="auto"`` (one per fold).
AUTO_CROSS_FIT_SIZE = 8
#: ``dropout="auto"``: the rates a fit trains the network with (same seed, same validation
#: split), keeping the one with the lowest validation loss; the first alone where there is
#: no early stopping to judge by. Chosen on the suite (docs/defaults.md): 0 wins the smooth,
#: nearly deterministic targets (rf1, air_quality, slump), 0.1 the noisy multi-label
#: tables (birds, foodtruck, yeast), and no single rate wins both.
AUTO_DROPOUTS = (0.1, 0.0)
#: ``numeric_embedding=`` names: the module each puts in front of the trunk.
NUMERIC_EMBEDDINGS = {"periodic": PeriodicInput, "piecewise": PiecewiseLinearInput, None: None}
#: Bins per column of ``numeric_embedding="piecewise"`` (TabM's and the PLE paper's 48).
PIECEWISE_BINS = 48


class NetworkInput:
    """What every input does the same way; see the module docstring for the interface."""

    #: The rates ``dropout="auto"`` chooses between (None: the family does not take it).
    auto_dropouts: tuple[float, ...] | None = None

    def check_params(self, est) -> None:
        """Check the input's own parameters (nothing here)."""

    def cross_fitted(self, est) -> bool:
        """Whether every row both trains and validates (members on other folds'
        rows), so that no row is held out of training (none here)."""
        return False

    def split(self, est, data, codes):
        """The training and validation parts (the same split for the same seed)."""
        vf = est.validation_fraction
        if vf and len(data) * vf >= 1:
            train_idx, valid_idx = validation_split(
                len(data), vf, codes, est._seed, task_name=est.stratify
            )
            return data.take(train_idx), data.take(valid_idx)
        if est.early_stopping is True:
            raise ValueError(
                f"early_stopping=True needs validation rows, but validation_fraction="
                f"{vf} of {len(data)} sample(s) holds out none; use more samples, "
                "a larger validation_fraction, or early_stopping=False."
            )
        return data, None

    def retrieval_rows(self, est, X_data):
        """The rows the retrieval looks up: the input itself (a host array or CSR)."""
        return X_data.cpu().numpy() if isinstance(X_data, torch.Tensor) else X_data

    def with_retrieval(self, est, X_data, columns: np.ndarray):
        """``X_data`` with the retrieval ``columns`` appended on the right."""
        if isinstance(X_data, torch.Tensor):
            return torch.cat([X_data, torch.from_numpy(columns).to(X_data.device)], dim=1)
        return sp.hstack([X_data, sp.csr_matrix(columns)], format="csr", dtype=np.float32)

    def net_options(self, est, weighting) -> dict:
        """Extra arguments of the skorch net trained with ``weighting`` (none here)."""
        return {}

    def after_training(self, est, data) -> None:
        """Record what the trained network says (nothing here)."""

    def condition(self, est, module: nn.Module) -> None:
        """Set what ``module`` (``est``'s network or a copy) reads from ``est``'s parameters
        as they are now, before a prediction or an export (nothing here)."""


class TableInput(NetworkInput):
    """One numeric table, dense or scipy sparse, scaled by the network itself.

    Reads the estimator's ``input_scaling``, ``ensemble_size``, ``cross_fit``,
    ``numeric_embedding``, ``front_scale`` and ``retrieval``.
    """

    #: A fit may train over the processes of a torch.distributed group (``_parallel.py``).
    data_parallel = True
    #: ``fit`` takes a streamed table (``_streaming.py``).
    streams = True
    auto_dropouts = AUTO_DROPOUTS

    def check_params(self, est) -> None:
        if est.cross_fit not in (True, False):
            raise ValueError(f"cross_fit must be True or False, got {est.cross_fit!r}.")
        if est.numeric_embedding not in NUMERIC_EMBEDDINGS:
            raise ValueError(
                f"numeric_embedding={est.numeric_embedding!r} is not known; use one of "
                f"{sorted(NUMERIC_EMBEDDINGS, key=str)}."
            )
        k = est.ensemble_size
        if k != "auto" and (not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1):
            raise ValueError(f'ensemble_size must be a positive integer or "auto", got {k!r}.')
        scale = est.front_scale
        if scale is not None and (isinstance(scale, bool) or not isinstance(scale, numbers.Real)
                                  or not math.isfinite(scale) or scale <= 0):
            raise ValueError(f"front_scale must be None or a number > 0, got {scale!r}.")

    def fit_transform(self, est, X):
        est.__dict__.pop("stream_encoder_", None)  # left by an earlier streamed fit
        X = validate_table(est, X, reset=True)
        scaling = est.input_scaling
        if scaling == "auto":
            # A custom trunk module or callable was written for the input's width: one
            # view per column for it. The networks sk_mtl builds read the few-valued
            # columns' one-hot levels too, and two views up to AUTO_TWO_VIEWS_MAX_FEATURES
            # columns (beyond, the second view doubles the widest layer's cost for tables
            # whose many columns say enough already).
            if _custom_trunk(est):
                scaling = "quantile"
            elif X.shape[1] <= AUTO_TWO_VIEWS_MAX_FEATURES:
                scaling = "quantile+robust+levels"
            else:
                scaling = "quantile+levels"
        est.input_scaler_ = make_input_scaler(scaling, X)
        est.ensemble_size_ = _ensemble_size(est, X.shape[0])
        est.hidden_dims_ = resolve_hidden_dims(est, X.shape[0])
        X = self._scaled(est, X)
        est.__dict__.pop("numeric_bins_", None)  # left by an earlier fit with other settings
        if est.numeric_embedding == "piecewise":
            if sp.issparse(X):
                raise ValueError(
                    'numeric_embedding="piecewise" embeds each column of a dense input; X is '
                    "sparse. Use numeric_embedding=None for sparse input."
                )
            est.numeric_bins_ = piecewise_bins(X, PIECEWISE_BINS)
        return X

    def transform(self, est, X):
        encoder = getattr(est, "stream_encoder_", None)
        if encoder is not None:  # fitted on a streamed table: its input columns, encoded
            return torch.from_numpy(encoder.transform(X))
        return self._scaled(est, validate_table(est, X, reset=False))

    @staticmethod
    def _scaled(est, X):
        """Dense input scaled by ``input_scaler_``, as a tensor; sparse input as it is."""
        if sp.issparse(X):
            return X
        if est.input_scaler_ is not None:
            X = np.asarray(est.input_scaler_.transform(X), dtype=np.float32)
        return torch.from_numpy(np.ascontiguousarray(X))

    def cross_fitted(self, est) -> bool:
        return _cross_fitted(est)

    def split(self, est, data, codes):
        """Cross-fitting: member ``j`` trains on the rows outside fold ``j`` and is
        validated on fold ``j`` (the out-of-fold loss), so every row trains and validates;
        else the usual validation split."""
        if not _cross_fitted(est):
            return super().split(est, data, codes)
        k, n = est.ensemble_size_, len(data)
        if n < k:
            raise ValueError(
                f"cross_fit=True with ensemble_size={k} needs at least {k} training rows, "
                f"got {n}."
            )
        fold = cross_fit_folds(n, k, codes, est._seed)
        held_out = torch.zeros(n, k)
        held_out[torch.arange(n), torch.from_numpy(fold)] = 1.0
        held_out = held_out.to(data.targets[next(iter(data.targets))].device)
        return data.with_members(1.0 - held_out), data.with_members(held_out)

    def make_retrieval(self, est, X_data):
        # A custom trunk module or callable was written for the input's width: leave it.
        # "auto" judges the table by its own columns, not by the scaled views of them.
        shape = (X_data.shape[0], est.n_features_in_)
        return make_retrieval(est.retrieval, shape, sp.issparse(X_data), _custom_trunk(est),
                              max_features=AUTO_TABLE_RETRIEVAL_MAX_FEATURES)

    def build_module(self, est, tasks, n_conditions: int = 0) -> nn.Module:
        """The trunk over the (scaled) columns, the retrieval columns and the conditions
        (``n_conditions`` task weights read as inputs), and one head per task."""
        n_features = _input_width(est) + n_conditions
        if est.retrieval_ is not None:
            n_features += est.retrieval_.n_features_out_
        heads = {n: t.n_outputs_ for n, t in tasks.items()}
        if est.trunk is not None or (est.ensemble_size_ == 1 and not est.numeric_embedding
                                     and est.front_scale is None):
            trunk, width = trunk_module(est, n_features, list(tasks))
            return MultiTaskModule(trunk, width, heads)
        fronts = []  # the numeric embedding, then the front scale of what the trunk reads
        if est.numeric_embedding == "piecewise":
            bins = [torch.as_tensor(b) for b in est.numeric_bins_]
            fronts.append(PiecewiseLinearInput(bins, n_passed=n_features - len(bins)))
        elif est.numeric_embedding is not None:
            fronts.append(NUMERIC_EMBEDDINGS[est.numeric_embedding](n_features))
        n_features = fronts[-1].out_features if fronts else n_features
        if est.front_scale is not None:
            fronts.append(FrontScale(n_features, est.front_scale))
        averages = None
        if est.ensemble_size_ > 1:
            trunk = EnsembleMLPTrunk(n_features, network_dims(est), est.activation,
                                     dropout_rate(est), k=est.ensemble_size_,
                                     shared=not _cross_fitted(est), batch_norm=est.batch_norm)
            averages = {n: t.member_average for n, t in tasks.items()}
        else:
            trunk = trunk_module(est, n_features, list(tasks))[0]
        width = trunk.out_features
        if fronts:
            k = getattr(trunk, "k", None)
            trunk = nn.Sequential(*fronts, trunk)
            if k is not None:
                trunk.k = k
        return MultiTaskModule(trunk, width, heads, member_averages=averages)


def piecewise_bins(X: torch.Tensor, n_bins: int) -> list[np.ndarray]:
    """Each column's bin edges for piecewise-linear embeddings: quantile bins
    (``rtdl_num_embeddings.compute_bins``), one bin around the value of a constant column."""
    from rtdl_num_embeddings import compute_bins

    edges = []
    for j in range(X.shape[1]):
        column = X[:, j:j + 1]
        lo, hi = float(column.min()), float(column.max())
        if lo == hi:
            edges.append(np.array([lo - 0.5, hi + 0.5], dtype=np.float32))
        else:
            edges.append(compute_bins(column, n_bins)[0].numpy().astype(np.float32))
    return edges


def n_rows(X_data) -> int:
    """Rows of a converted input: a tensor, CSR, ``(values, present)`` or a dict of them."""
    if isinstance(X_data, dict):
        return n_rows(next(iter(X_data.values())))
    if isinstance(X_data, tuple):  # (values, present-mask) of one modality
        return n_rows(X_data[0])
    return X_data.shape[0]


def _custom_trunk(est) -> bool:
    return est.trunk is not None and not isinstance(est.trunk, (str, TrunkSpec))


def _input_width(est) -> int:
    """Columns the network reads before retrieval columns: two views per column with
    :class:`~sk_mtl.data.QuantileRobust`."""
    encoder = getattr(est, "stream_encoder_", None)
    if encoder is not None:  # fitted on a streamed table
        return encoder.n_features_out_
    scaler = getattr(est, "input_scaler_", None)
    if isinstance(scaler, QuantileRobust):  # files of before the levels: two views
        return getattr(scaler, "n_features_out_", 2 * est.n_features_in_)
    return est.n_features_in_


def dropout_candidates(est, judged: bool) -> tuple[float, ...]:
    """The dropout rates a fit trains with, in order: ``dropout`` itself, or for
    ``"auto"`` the input's :attr:`~NetworkInput.auto_dropouts` when early stopping will
    judge them on a validation split (``judged``) and the built-in MLP reads the rate, else
    their first."""
    if not (isinstance(est.dropout, str) and est.dropout == "auto"):
        return (float(est.dropout),)
    rates = est._input.auto_dropouts
    return tuple(rates) if judged and est.trunk is None else (rates[0],)


def resolve_hidden_dims(est, n_rows: int) -> tuple[int, ...]:
    """``hidden_dims`` as the tuple of widths for a fit on ``n_rows`` rows (``"auto"`` by
    :data:`AUTO_HIDDEN_DIMS`)."""
    if isinstance(est.hidden_dims, str) and est.hidden_dims == "auto":
        return next((dims for most, dims in AUTO_HIDDEN_DIMS if n_rows <= most),
                    AUTO_HIDDEN_DIMS_LARGE)
    return tuple(int(d) for d in hidden_dims(est.hidden_dims))


def _ensemble_size(est, n_rows: int) -> int:
    """``ensemble_size`` made a number for a fit on ``n_rows`` rows."""
    if est.ensemble_size == "auto":
        if est.cross_fit is True:
            return AUTO_CROSS_FIT_SIZE
        return next((k for rows, k in AUTO_ENSEMBLE_SIZES if n_rows <= rows), 1)
    return int(est.ensemble_size)


def _cross_fitted(est) -> bool:
    """Whether the members are cross-fitted: only for an ensemble trunk."""
    if not est.cross_fit:
        return False
    if est.trunk is not None or est.ensemble_size_ < 2:
        raise ValueError(
            "cross_fit=True trains each ensemble member on all but one fold of the rows: "
            f"it needs the default trunk (trunk=None) and ensemble_size >= 2, got "
            f"trunk={est.trunk!r}, ensemble_size={est.ensemble_size!r}."
        )
    return True


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


def validate_table(est, X, reset: bool, allow_nan: bool = False):
    """``X`` as one float32 table (dense or CSR) through scikit-learn's ``validate_data``
    (which sets or checks ``n_features_in_`` and ``feature_names_in_``), with errors that
    name the columns at fault: text, NaN, infinity, magnitudes float32 cannot take.

    A DataFrame given to a model fitted on one (``feature_names_in_``) is read by column
    name, in any order (:func:`~sk_mtl.data._columns.columns_by_name`)."""
    if isinstance(X, pd.DataFrame):
        names = getattr(est, "feature_names_in_", None)
        if not reset and names is not None:
            X = columns_by_name(X, names, "X")
        bad = [str(c) for c, dt in X.dtypes.items() if not _is_numeric_dtype(dt)]
        if bad:
            raise ValueError(
                f"X has non-numeric column(s) {bad}; encode them first (e.g. OneHotEncoder "
                "or OrdinalEncoder in a ColumnTransformer), or use a FusionNet* "
                "estimator, which reads text, categorical and numeric columns itself."
            )
    try:
        X = validate_data(est, X, reset=reset, accept_sparse="csr", dtype=np.float32,
                          ensure_all_finite=False)
    except ValueError as exc:
        if "could not convert" in str(exc):
            raise ValueError(f"X must be numeric: {exc}") from None
        raise
    values = X.data if sp.issparse(X) else X
    bad = np.isinf(values) if allow_nan else ~np.isfinite(values)
    if bad.any():
        where = _columns(est, X, bad)
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
        raise ValueError(
            f"Input X has values of magnitude up to {np.abs(values).max():.3g} in "
            f"column(s) {_columns(est, X, huge)}; beyond {MAX_INPUT:g} the network's float32 "
            "arithmetic overflows. Scale X first, e.g. with sklearn.preprocessing.StandardScaler."
        )
    return X


def _columns(est, X, bad: np.ndarray) -> list:
    """The first ten columns (names if known) where ``bad`` holds."""
    cols = np.unique(X.indices[bad]) if sp.issparse(X) else np.flatnonzero(bad.any(axis=0))
    names = getattr(est, "feature_names_in_", None)
    return [str(names[c]) if names is not None else int(c) for c in cols[:10]]


def _is_numeric_dtype(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
