"""Retrieval features: what the nearest training rows' labels say about a row.

A simplified form of retrieval-augmented tabular networks (TabR, Gorishniy et al., ICLR 2024;
ModernNCA, Ye et al., 2024): instead of learning the retrieval, each row's ``k`` nearest
training rows are found in standardized input space (an exact search, :func:`nearest`) and
summaries of their encoded labels join the row's features. The network then learns how much to
trust its neighbours, e.g. fully for an exact duplicate of a training row, little for an
isolated one. Training rows never see their own label: their neighbours are looked up among
the *other* training rows (leave-one-out).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from ._fingerprint import fingerprint

__all__ = ["NeighbourTargets", "make_retrieval"]

#: ``retrieval="auto"`` looks up this many neighbours...
AUTO_RETRIEVAL_NEIGHBORS = 16
#: ...for dense inputs of at most this many columns in a ``FusionNet`` (the joined tables:
#: on 161 columns of which 128 were text components, neighbours measured no better and cost
#: a kNN search)...
AUTO_RETRIEVAL_MAX_FEATURES = 64
#: ...or this many in a ``MultiTaskNet`` (the suite's wide tables gained: ujiindoorloc's 520
#: signal strengths, scene's 294 image features, rf1's 64 columns and their missing
#: indicators; docs/defaults.md)...
AUTO_TABLE_RETRIEVAL_MAX_FEATURES = 1024
#: ...and at most this many training rows: the exact search is quadratic in the rows (20,000
#: x 32 columns: 1.4 s at fit; 50,000 x 64: 11 s, as long as the whole fit).
AUTO_RETRIEVAL_MAX_ROWS = 20_000

#: Added to distances before they are inverted into neighbour weights (in standardized units).
_DISTANCE_EPS = 0.1



class NeighbourTargets:
    """Label summaries of each row's nearest training rows, as extra input columns.

    Parameters
    ----------
    n_neighbors : int
        Neighbours per row (fewer when the training set is smaller).

    For every task ``t`` the features are the inverse-distance weighted mean of the encoded
    labels of the neighbours that have a label for ``t`` (a z-scored target, a 0/1 label, one
    column per class for multiclass tasks, one per label for multilabel tasks) and the label of
    the nearest such neighbour; then ``log1p`` of the distance to the nearest neighbour and of
    the mean distance. A row with no labelled neighbour for a task gets the task's training
    mean. Fitted attributes end in ``_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl.data import NeighbourTargets
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]], dtype=np.float32)
    >>> retrieval = NeighbourTargets(n_neighbors=1).fit(X, {"y": (np.array([0.0, 0, 1, 1]), None)})
    >>> retrieval.n_features_out_
    4
    >>> retrieval.transform(np.array([[4.9]]), exclude_self=False)[:, :2]
    array([[1., 1.]], dtype=float32)
    >>> retrieval.transform(X, exclude_self=True)[:, 0]  # each row's label comes from another
    array([0., 0., 1., 1.], dtype=float32)
    """

    def __init__(self, n_neighbors: int = 16) -> None:
        self.n_neighbors = n_neighbors

    def fit(
        self,
        X: np.ndarray | sp.csr_matrix,
        targets: Mapping[str, tuple[np.ndarray, np.ndarray | None]],
        n_outputs: Mapping[str, int] | None = None,
    ) -> NeighbourTargets:
        """Index the training rows ``X`` and their encoded ``targets``.

        Parameters
        ----------
        X : ndarray or CSR matrix of shape (n_samples, n_features)
            Training input.
        targets : mapping of str to (ndarray, ndarray or None)
            Per task, the encoded labels (float 1-D or 2-D, or integer class indices) and the
            boolean mask of labelled rows (``None``: all).
        n_outputs : mapping of str to int, optional
            Number of classes of tasks given as integer class indices.
        """
        n = X.shape[0]
        self.k_ = int(min(self.n_neighbors, max(n - 1, 1)))
        self.scaler_mean_, self.scaler_scale_ = _moments(X)
        self.X_ = self._standardize(X)
        # Brute force (BLAS matrix products, chunked), fitted once: :func:`nearest` asks it
        # for candidates at every lookup.
        self.index_ = NearestNeighbors(algorithm="brute").fit(self.X_)
        self.values_, self.labelled_, self.fill_ = {}, {}, {}
        for name, (target, mask) in targets.items():
            target = np.asarray(target)
            if target.dtype.kind in "iu":
                width = int((n_outputs or {}).get(name, target.max() + 1))
                values = np.zeros((n, width), dtype=np.float32)
                values[np.arange(n), target] = 1.0
            else:
                values = target.reshape(n, -1).astype(np.float32)
            labelled = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
            self.values_[name] = values
            self.labelled_[name] = labelled
            self.fill_[name] = (
                values[labelled].mean(axis=0) if labelled.any() else np.zeros(values.shape[1])
            )
        self.n_features_out_ = 2 * sum(v.shape[1] for v in self.values_.values()) + 2
        return self

    def _standardize(self, X):
        if sp.issparse(X):
            # Centring would densify: scale only (distances are shift-invariant anyway).
            return sp.csr_matrix(X.multiply(1.0 / self.scaler_scale_), dtype=np.float32)
        return ((np.asarray(X, dtype=np.float32) - self.scaler_mean_) / self.scaler_scale_)

    def is_index(self, X) -> bool:
        """Whether ``X`` holds exactly the indexed training rows, in training order (then
        :meth:`transform` should leave each row out of its own neighbours)."""
        if X.shape != self.X_.shape:
            return False
        Xz = self._standardize(X)
        if sp.issparse(Xz):
            return (Xz != self.X_).nnz == 0
        return bool(np.array_equal(Xz, self.X_))

    def transform(self, X, exclude_self: bool) -> np.ndarray:
        """The retrieval features of the rows of ``X``.

        Parameters
        ----------
        X : ndarray or CSR matrix of shape (n_samples, n_features)
            Rows to look up; with ``exclude_self=True`` they must be the training rows, in
            training order.
        exclude_self : bool
            Leave each row out of its own neighbours (for the training rows).

        Returns
        -------
        features : ndarray of shape (n_samples, ``n_features_out_``), float32
        """
        Xz = self.X_ if exclude_self else self._standardize(X)
        # The last lookup is kept: scoring several task weightings or scorers on the same
        # rows (TaskWeightSearchCV) repeats it with the same input.
        key = (exclude_self, fingerprint(Xz))
        cached = getattr(self, "_last", None)
        if cached is not None and cached[0] == key:
            return cached[1].copy()
        out = self._lookup(Xz, exclude_self)
        self._last = (key, out)
        return out.copy()

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_last", None)
        return state

    def _lookup(self, Xz, exclude_self: bool) -> np.ndarray:
        n_train = self.X_.shape[0]
        k = self.k_
        n_query = min(k + 1, n_train) if exclude_self else min(k, n_train)
        dist, idx = nearest(Xz, self.X_, n_query, index=getattr(self, "index_", None))
        if exclude_self:
            dist, idx = _drop_self(dist, idx, k)
        weights = 1.0 / (dist + _DISTANCE_EPS)
        columns = []
        for name, values in self.values_.items():
            labelled = self.labelled_[name][idx]  # (n, k)
            w = weights * labelled
            total = w.sum(axis=1, keepdims=True)
            neighbour_values = values[idx]  # (n, k, width)
            mean = np.einsum("nk,nkw->nw", w, neighbour_values) / np.maximum(total, 1e-12)
            first = np.argmax(labelled, axis=1)  # nearest labelled neighbour
            closest = neighbour_values[np.arange(len(idx)), first]
            none = total[:, 0] == 0
            mean[none] = self.fill_[name]
            closest[none] = self.fill_[name]
            columns += [mean, closest]
        columns += [np.log1p(dist[:, :1]), np.log1p(dist.mean(axis=1, keepdims=True))]
        return np.hstack(columns).astype(np.float32)


#: The resolution of the neighbour ranking, in squared standardized units: distances that
#: are equal but for rounding errors (common with integer columns: 51 and 53 are as far
#: from 52) rank as equal, and equal ones in row order.
RANK_QUANTUM = 1e-8


def rank_key(score: np.ndarray) -> np.ndarray:
    """The ranking key of ``score = 2 q.r - |r|^2`` (``|q - r|^2 - |q|^2`` negated): lower
    is nearer, equal within :data:`RANK_QUANTUM` is equal. The exported ONNX graph ranks by
    the same key."""
    return np.round(-score / RANK_QUANTUM)


def nearest(queries, rows, n_neighbors: int,
            index: NearestNeighbors | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_neighbors`` rows of ``rows`` nearest to each query row (euclidean, exact),
    nearest first, and their distances; equally near rows (:func:`rank_key`) in the order
    of ``rows``.

    scikit-learn's brute-force search (BLAS matrix products, chunked: 5-7x faster than the
    trees ``"auto"`` picks for ~10 columns) finds one neighbour more than asked; they are
    ranked by :func:`rank_key`, and where rows tie across the last place (tables of integers
    have many) the query is searched again over all rows. The same neighbours then count in
    Python and in the exported graph, whatever order either search met them in. ``index``
    is a brute-force ``NearestNeighbors`` already fitted on ``rows`` (fitted here if not
    given).
    """
    n_rows = rows.shape[0]
    k = min(int(n_neighbors), n_rows)
    extra = min(k + 1, n_rows)
    if index is None:
        index = NearestNeighbors(algorithm="brute").fit(rows)
    _, idx = index.kneighbors(queries, n_neighbors=extra)
    score, q_sq = _scores(queries, rows, idx)
    key = rank_key(score)
    order = np.lexsort((idx, key), axis=1)  # by key, then row
    idx, score, key = (np.take_along_axis(a, order, axis=1) for a in (idx, score, key))
    dist = np.sqrt(np.maximum(q_sq[:, None] - score, 0.0))
    if extra > k:
        tied = np.flatnonzero(key[:, k - 1] == key[:, k])
        if len(tied):
            dist[tied, :k], idx[tied, :k] = _exact(queries[tied], rows, k)
    return dist[:, :k], idx[:, :k]


def _scores(queries, rows, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``2 q.r - |r|^2`` of each query and its candidate rows ``idx``, float64, and
    ``|q|^2``."""
    if sp.issparse(queries):
        q = sp.csr_matrix(queries, dtype=np.float64)
        q_sq = np.asarray(q.multiply(q).sum(axis=1)).ravel()
    else:
        q = np.asarray(queries, dtype=np.float64)
        q_sq = (q * q).sum(axis=1)
    score = np.empty(idx.shape)
    for j in range(idx.shape[1]):
        r = rows[idx[:, j]]
        if sp.issparse(r):
            r = sp.csr_matrix(r, dtype=np.float64)
            dot = np.asarray(r.multiply(q).sum(axis=1)).ravel()
            r_sq = np.asarray(r.multiply(r).sum(axis=1)).ravel()
        else:
            r = np.asarray(r, dtype=np.float64)
            dot, r_sq = (r * q).sum(axis=1), (r * r).sum(axis=1)
        score[:, j] = 2.0 * dot - r_sq
    return score, q_sq


#: Query rows per block of :func:`_exact` (its memory: block x training rows, float64).
_EXACT_BLOCK = 256


def _exact(queries, rows, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest rows to each query over all ``rows``, by :func:`rank_key` and then row
    order, in blocks of queries."""
    if sp.issparse(rows):
        rows_t = sp.csr_matrix(rows, dtype=np.float64).T.tocsc()
        sq = np.asarray(rows_t.multiply(rows_t).sum(axis=0)).ravel()
    else:
        rows_t = np.ascontiguousarray(np.asarray(rows, dtype=np.float64).T)
        sq = (rows_t * rows_t).sum(axis=0)
    dists, indices = [], []
    for start in range(0, queries.shape[0], _EXACT_BLOCK):
        q = queries[start:start + _EXACT_BLOCK]
        if sp.issparse(q):
            q = sp.csr_matrix(q, dtype=np.float64)
            score = q @ rows_t
            score = score.toarray() if sp.issparse(score) else np.asarray(score)
            q_sq = np.asarray(q.multiply(q).sum(axis=1)).ravel()
        else:
            q = np.asarray(q, dtype=np.float64)
            score, q_sq = q @ rows_t, (q * q).sum(axis=1)
        score *= 2.0
        score -= sq
        key = rank_key(score)
        # The k-th smallest key; every row below it, then the first rows equal to it.
        kth = np.partition(key, k - 1, axis=1)[:, k - 1:k]
        ties = key == kth
        room = k - (key < kth).sum(axis=1, keepdims=True)
        chosen = (key < kth) | (ties & (np.cumsum(ties, axis=1) <= room))
        idx = np.nonzero(chosen)[1].reshape(len(score), k)  # row order
        order = np.argsort(np.take_along_axis(key, idx, axis=1), axis=1, kind="stable")
        idx = np.take_along_axis(idx, order, axis=1)  # nearest first, ties in row order
        best = np.take_along_axis(score, idx, axis=1)
        dists.append(np.sqrt(np.maximum(q_sq[:, None] - best, 0.0)))
        indices.append(idx)
    return np.vstack(dists), np.vstack(indices)


def _moments(X) -> tuple[np.ndarray, np.ndarray]:
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float64)
        mean = np.asarray(X.mean(axis=0)).ravel()
        var = np.asarray(X.multiply(X).mean(axis=0)).ravel() - mean**2
    else:
        X = np.asarray(X, dtype=np.float64)
        mean, var = X.mean(axis=0), X.var(axis=0)
    scale = np.sqrt(np.maximum(var, 0.0))
    scale[~(scale > 1e-12)] = 1.0
    return mean.astype(np.float32), scale.astype(np.float32)


def _drop_self(dist: np.ndarray, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Remove row ``i`` from row ``i``'s neighbours (by index, not by position: an exact
    duplicate may come first), keeping ``k`` of them."""
    rows = np.arange(len(idx))[:, None]
    keep = idx != rows
    # Where the row itself is not among its k + 1 neighbours (many exact duplicates), drop
    # the farthest instead.
    missing_self = keep.all(axis=1)
    keep[missing_self, -1] = False
    width = min(k, idx.shape[1] - 1) if idx.shape[1] > 1 else idx.shape[1]
    if idx.shape[1] == 1:  # a single training row: it is its own (only) neighbour
        return dist, idx
    order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
    return np.take_along_axis(dist, order, axis=1), np.take_along_axis(idx, order, axis=1)


def make_retrieval(
    retrieval, shape: tuple[int, int], sparse: bool, custom: bool,
    max_features: int = AUTO_RETRIEVAL_MAX_FEATURES,
) -> NeighbourTargets | None:
    """The retrieval-feature maker that ``retrieval=`` asks for on rows of ``shape``.

    Checked at fit, before any training. ``custom`` says the network reading the rows was
    written for their width (a custom trunk or encoder), which ``"auto"`` leaves alone;
    ``"auto"`` looks up no neighbours in rows wider than ``max_features``.
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
        too_big = n_features > max_features or n_rows > AUTO_RETRIEVAL_MAX_ROWS
        if custom or too_big or sparse:
            return None
        return NeighbourTargets(n_neighbors=AUTO_RETRIEVAL_NEIGHBORS)
    return NeighbourTargets(n_neighbors=int(r))
