"""Tables larger than memory: ``fit`` streams their batches instead of holding them.

:class:`ParquetTable` (Parquet files, read with pyarrow) and :class:`DaskTable` (a Dask
DataFrame, read a partition at a time) are inputs that ``MultiTaskNet*.fit`` accepts in
place of ``X, y``: the target columns are named by the table. A table is cut into *pieces*
(a Parquet row group, a Dask partition), each read in chunks of at most
:data:`CHUNK_ROWS` rows:

- **before training**, one pass over all pieces (:func:`prepare_stream`) collects, chunk by
  chunk, the vocabulary of each categorical column, the labels of each target column, the
  labelled-row counts, and a uniform random sample of ``sample_rows`` training rows (the
  ``sample_rows`` rows of smallest random key, a key per row drawn from the fit's seed and
  the piece: the same sample whatever the number of processes); it checks the numeric
  columns for NaN and infinity. The input scaling and the tasks (kinds, regression target
  scaling) are fitted on that sample; the classes are all the labels the pass found;
- **the validation set** is a held-out set of pieces (``validation``: a fraction of them,
  chosen by the fit's seed, or given files);
- **each epoch** visits the training pieces in a new order, encodes each chunk
  (:class:`StreamEncoder`: numbers scaled, categories one-hot) into a shuffle buffer of
  ``buffer_rows`` rows, and slices batches from it; memory holds the buffer, a chunk being
  read, and the sample, never the table.

Over the processes of a data-parallel fit, each process reads its own pieces (dealt to
even row counts), the pass is split among them and merged, and every process takes the
same number of steps per epoch (the rows beyond the smallest share are left out of that
epoch; the next epoch deals the pieces anew).
"""

from __future__ import annotations

import ctypes
import glob
import numbers
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ._batching import TensorData, _share, task_rows
from ._scaling import make_input_scaler
from ._targets import missing_mask

__all__ = ["CHUNK_ROWS", "DaskTable", "ParquetTable", "StreamEncoder", "StreamingTable",
           "prepare_stream"]

#: Most rows read (and encoded) at once from a piece.
CHUNK_ROWS = 65_536
#: A target column with more distinct labels than this is not a classification target.
MAX_LABELS = 1_000
#: Most categories one-hot encoded per categorical column.
MAX_CATEGORIES = 1_000
#: Largest magnitude of a numeric input (as the in-memory input checks).
MAX_INPUT = 1e15


def _as_list(value, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        out = list(value)
    except TypeError:
        raise TypeError(f"{name} must be a column name or a list of them, got {value!r}.") \
            from None
    if not all(isinstance(c, str) for c in out):
        raise TypeError(f"{name} must name columns by strings, got {out!r}.")
    return out


class StreamingTable:
    """What :class:`ParquetTable` and :class:`DaskTable` share: the columns' roles, the
    validation pieces, the pass's sample size, the shuffle buffer. Not for direct use."""

    def __init__(self, target, *, features=None, categorical=None, validation=0.05,
                 sample_rows: int = 100_000, buffer_rows: int = 131_072) -> None:
        self.target = target
        self.features = features
        self.categorical = categorical
        self.validation = validation
        self.sample_rows = sample_rows
        self.buffer_rows = buffer_rows

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()!r}, target={self.target!r})"

    # --- what a concrete table provides ---------------------------------------------------
    def _describe(self) -> str:
        raise NotImplementedError

    def _columns(self) -> dict[str, str]:
        """Column name -> kind: ``"numeric"``, ``"bool"`` or ``"other"``."""
        raise NotImplementedError

    def _pieces(self) -> list:
        """The pieces (hashable keys), in a fixed order."""
        raise NotImplementedError

    def _piece_rows(self, piece) -> int | None:
        """Rows of a piece, when known without reading it."""
        return None

    def _read(self, piece, columns: list[str]) -> Iterator[pd.DataFrame]:
        """The ``columns`` of a piece, in chunks of at most :data:`CHUNK_ROWS` rows."""
        raise NotImplementedError

    def _validation_pieces(self, pieces: list) -> list | None:
        """Pieces named by ``validation`` itself (files); ``None``: a fraction."""
        return None

    # --- checked layout -------------------------------------------------------------------
    def _check(self):
        """The target, numeric and categorical column lists, checked against the
        table's columns; the checked parameters."""
        columns = self._columns()
        targets = _as_list(self.target, "target")
        if not targets:
            raise ValueError(f"{type(self).__name__}: target names no column.")
        categorical = _as_list(self.categorical, "categorical")
        given = _as_list(self.features, "features") if self.features is not None else None
        named = targets + categorical + (given or [])
        missing = [c for c in dict.fromkeys(named) if c not in columns]
        if missing:
            raise ValueError(
                f"{type(self).__name__}: column(s) {missing} are not in the table; its "
                f"columns are {list(columns)[:20]}."
            )
        overlap = sorted(set(targets) & set(categorical + (given or [])))
        if overlap:
            raise ValueError(f"Column(s) {overlap} are both targets and features.")
        if given is None:
            given = [c for c in columns if c not in targets and c not in categorical]
        numeric = [c for c in given if c not in categorical]
        bad = [c for c in numeric if columns[c] == "other"]
        if bad:
            raise ValueError(
                f"Column(s) {bad} are not numeric; name them in categorical= to one-hot "
                "encode them, or leave them out of features=."
            )
        if not numeric and not categorical:
            raise ValueError(f"{type(self).__name__}: no feature column besides the targets.")
        for name in ("sample_rows", "buffer_rows"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        v = self.validation
        if v is not None and not isinstance(v, (list, tuple)) and not (
            isinstance(v, numbers.Real) and not isinstance(v, bool) and 0 <= v < 1
        ):
            raise ValueError(
                f"validation must be a fraction in [0, 1) of the pieces, a list of files, or "
                f"None; got {v!r}."
            )
        return targets, numeric, categorical

    def split(self, seed: int) -> tuple[list, list]:
        """The training and validation pieces: ``validation``'s files, or that fraction
        of the pieces (at least one when it is > 0) drawn with ``seed``."""
        pieces = self._pieces()
        if not pieces:
            raise ValueError(f"{self!r} holds no rows.")
        named = self._validation_pieces(pieces)
        if named is not None:
            chosen = set(named)
        elif not self.validation:
            chosen = set()
        else:
            if len(pieces) < 2:
                raise ValueError(
                    f"validation={self.validation} holds out pieces (row groups, "
                    f"partitions), but {self!r} has one; write it in more row groups or "
                    "partitions, or set validation=None."
                )
            k = max(1, round(self.validation * len(pieces)))
            rng = np.random.default_rng(seed)
            chosen = {pieces[i] for i in rng.choice(len(pieces), size=k, replace=False)}
        train = [p for p in pieces if p not in chosen]
        if not train:
            raise ValueError(f"validation holds out every piece of {self!r}.")
        return train, [p for p in pieces if p in chosen]

    def key(self) -> str:
        """What this table reads (compared between the processes of a fit)."""
        return f"{self._describe()} {self.target!r} {len(self._pieces())}"


class ParquetTable(StreamingTable):
    """A table in Parquet files that ``fit`` reads in batches instead of loading it.

    Pass it to ``MultiTaskNet*.fit`` in place of ``X`` (and no ``y``): the ``target``
    columns are the tasks, the other columns (or ``features``) the input; ``categorical``
    columns are one-hot encoded. Before training, one pass over the files collects the
    categories, the labels and a uniform sample of ``sample_rows`` rows, on which the
    input scaling and the tasks are fitted; then each epoch reads the training row groups
    in a new order through a shuffle buffer of ``buffer_rows`` rows. Needs pyarrow (the
    ``stream`` extra).

    Parameters
    ----------
    path : str, path-like or list of them
        A Parquet file, a folder of ``*.parquet`` files, a glob pattern, or a list of
        files. Files are read in sorted order; they must share their columns.
    target : str or list of str
        The target column(s): a str is one task (predictions are then 1-D), a list one
        task per column. Missing labels (null) leave the row out of that task's loss.
    features : list of str, default=None
        The input columns; ``None``: every column that is not a target.
    categorical : list of str, default=None
        Input columns to one-hot encode (strings, integers, booleans): one column per
        category the pass finds in the training pieces (at most 1,000 per column); a
        missing or unseen category is all zeros. The other input columns must be numeric,
        without NaN or infinity.
    validation : float, list of str or None, default=0.05
        The validation set, held out from training: a fraction of the row groups (at
        least one; drawn with the estimator's ``random_state``), a list of files of
        ``path``, or ``None`` (no validation set: no early stopping).
    sample_rows : int, default=100_000
        Rows of the uniform sample of training rows that the input scaling (the
        estimator's ``input_scaling``), the task kinds and the regression targets'
        scaling are fitted on.
    buffer_rows : int, default=131_072
        Rows of the shuffle buffer: training rows are shuffled within it, row groups by
        their order. Memory grows with it (rows times encoded columns, float32).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np, pandas as pd
    >>> from sk_mtl import MultiTaskNet
    >>> from sk_mtl.data import ParquetTable
    >>> rng = np.random.RandomState(0)
    >>> df = pd.DataFrame({"x": rng.normal(size=600),
    ...                    "colour": rng.choice(["red", "blue"], size=600)})
    >>> df["size"] = 2 * df["x"] + (df["colour"] == "red")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     df.to_parquet(os.path.join(folder, "part-0.parquet"), row_group_size=100)
    ...     table = ParquetTable(folder, target="size", categorical=["colour"],
    ...                          validation=0.2)
    ...     net = MultiTaskNet(max_epochs=5, random_state=0).fit(table)
    >>> net.predict(df.head(3)).shape
    (3,)

    The input: ``x`` in two views (quantile, robust), ``colour`` one-hot:

    >>> net.stream_encoder_.feature_names_out_
    ['x:q', 'x:r', 'colour=blue', 'colour=red']
    """

    def __init__(self, path, target, *, features=None, categorical=None, validation=0.05,
                 sample_rows: int = 100_000, buffer_rows: int = 131_072) -> None:
        super().__init__(target, features=features, categorical=categorical,
                         validation=validation, sample_rows=sample_rows,
                         buffer_rows=buffer_rows)
        self.path = path

    def _describe(self) -> str:
        return str(self.path)

    def _files(self) -> list[str]:
        files = getattr(self, "_files_cache", None)
        if files is not None:
            return files
        paths = self.path if isinstance(self.path, (list, tuple)) else [self.path]
        files = []
        for p in map(os.fspath, paths):
            if os.path.isdir(p):
                files += sorted(glob.glob(os.path.join(p, "*.parquet")))
            elif any(ch in p for ch in "*?["):
                files += sorted(glob.glob(p))
            elif os.path.isfile(p):
                files.append(p)
            else:
                raise FileNotFoundError(f"ParquetTable: no file or folder {p!r}.")
        if not files:
            raise FileNotFoundError(f"ParquetTable: no Parquet file in {self.path!r}.")
        self._files_cache = files
        return files

    def _file(self, path: str):
        pq = _pyarrow_parquet()
        handles = self.__dict__.setdefault("_handles", {})
        if path not in handles:
            handles[path] = pq.ParquetFile(path)
        return handles[path]

    def __getstate__(self):  # file handles stay in the process that opened them
        state = dict(self.__dict__)
        state.pop("_handles", None)
        return state

    def _columns(self) -> dict[str, str]:
        import pyarrow as pa

        files = self._files()
        schema = self._file(files[0]).schema_arrow
        for f in files[1:]:
            other = self._file(f).schema_arrow
            if other.names != schema.names:
                raise ValueError(
                    f"ParquetTable: {f!r} has columns {other.names}, {files[0]!r} has "
                    f"{schema.names}; the files must share their columns."
                )
        kinds = {}
        for name, dtype in zip(schema.names, schema.types):
            if pa.types.is_boolean(dtype):
                kinds[name] = "bool"
            elif pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
                kinds[name] = "numeric"
            else:
                kinds[name] = "other"
        return kinds

    def _pieces(self) -> list:
        return [(f, g) for f in self._files() for g in range(self._file(f).num_row_groups)]

    def _piece_rows(self, piece) -> int:
        f, g = piece
        return self._file(f).metadata.row_group(g).num_rows

    def _read(self, piece, columns: list[str]) -> Iterator[pd.DataFrame]:
        f, g = piece
        for batch in self._file(f).iter_batches(batch_size=CHUNK_ROWS, row_groups=[g],
                                                columns=columns, use_threads=False):
            yield batch.to_pandas()

    def _validation_pieces(self, pieces: list) -> list | None:
        if not isinstance(self.validation, (list, tuple)):
            return None
        wanted = {os.path.abspath(os.fspath(f)) for f in self.validation}
        known = {os.path.abspath(f) for f in self._files()}
        unknown = sorted(wanted - known)
        if unknown:
            raise ValueError(f"validation names file(s) {unknown} that are not in {self.path!r}.")
        return [p for p in pieces if os.path.abspath(p[0]) in wanted]


class DaskTable(StreamingTable):
    """A Dask DataFrame that ``fit`` reads a partition at a time instead of computing it.

    As :class:`ParquetTable`, with the DataFrame's partitions as pieces: the validation
    set is a fraction of the partitions, and each partition is computed when it is read
    (once in the pass before training, once per epoch). Each partition must fit in memory.
    Needs dask's DataFrame (the ``dask`` and ``stream`` extras).

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        The table.
    target : str or list of str
        The target column(s), as in :class:`ParquetTable`.
    features : list of str, default=None
        The input columns; ``None``: every column that is not a target.
    categorical : list of str, default=None
        Input columns to one-hot encode, as in :class:`ParquetTable`.
    validation : float or None, default=0.05
        The fraction of the partitions held out for validation (at least one), or
        ``None``.
    sample_rows : int, default=100_000
        Rows of the uniform sample the input scaling and the tasks are fitted on.
    buffer_rows : int, default=131_072
        Rows of the shuffle buffer.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import numpy as np, pandas as pd
    >>> from sk_mtl import MultiTaskNetRegressor
    >>> from sk_mtl.data import DaskTable
    >>> rng = np.random.RandomState(0)
    >>> df = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    >>> df["y"] = df["a"] - df["b"]
    >>> frame = dd.from_pandas(df, npartitions=8)
    >>> net = MultiTaskNetRegressor(max_epochs=3, random_state=0)
    >>> net = net.fit(DaskTable(frame, target="y", validation=0.25))
    >>> net.predict(df[["a", "b"]].head(2)).shape
    (2,)
    """

    def __init__(self, frame, target, *, features=None, categorical=None, validation=0.05,
                 sample_rows: int = 100_000, buffer_rows: int = 131_072) -> None:
        super().__init__(target, features=features, categorical=categorical,
                         validation=validation, sample_rows=sample_rows,
                         buffer_rows=buffer_rows)
        self.frame = frame

    def _describe(self) -> str:
        return f"dask DataFrame {getattr(self.frame, '_name', '?')}"

    def _columns(self) -> dict[str, str]:
        if not hasattr(self.frame, "npartitions") or not hasattr(self.frame, "dtypes"):
            raise TypeError(f"DaskTable takes a dask DataFrame, got {type(self.frame).__name__}.")
        kinds = {}
        for name, dtype in self.frame.dtypes.items():
            if pd.api.types.is_bool_dtype(dtype):
                kinds[str(name)] = "bool"
            elif pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(
                dtype
            ):
                kinds[str(name)] = "numeric"
            else:
                kinds[str(name)] = "other"
        return kinds

    def _pieces(self) -> list:
        return list(range(self.frame.npartitions))

    def _read(self, piece, columns: list[str]) -> Iterator[pd.DataFrame]:
        part = self.frame.get_partition(piece)[columns].compute()
        for start in range(0, len(part), CHUNK_ROWS):
            yield part.iloc[start:start + CHUNK_ROWS]

    def _validation_pieces(self, pieces: list) -> list | None:
        if isinstance(self.validation, (list, tuple)):
            raise ValueError("DaskTable's validation is a fraction of the partitions or None.")
        return None


def _pyarrow_parquet():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            "Reading Parquet needs pyarrow: pip install 'sk_mtl[stream]'."
        ) from None
    return pq


# ------------------------------------------------------------------------- the encoder
class StreamEncoder(TransformerMixin, BaseEstimator):
    """A streamed table's input columns as the network's input: the numeric columns
    scaled (``input_scaling``, fitted on a sample), the categorical ones one-hot.

    ``MultiTaskNet*`` fitted on a :class:`ParquetTable` or :class:`DaskTable` keep theirs
    in ``stream_encoder_``; their ``predict`` passes a DataFrame of the input columns
    through it.

    Parameters
    ----------
    numeric : list of str
        The numeric input columns.
    categorical : list of str
        The categorical input columns.
    input_scaling : str or None, default="auto"
        The estimator's ``input_scaling`` for the numeric columns; ``"auto"`` is
        ``"quantile+robust"`` up to 64 numeric columns, ``"quantile"`` above.

    Attributes
    ----------
    categories_ : list of ndarray
        Each categorical column's categories (sorted), in ``categorical`` order.
    scaler_ : transformer or None
        The fitted scaling of the numeric columns.
    n_features_out_ : int
        Width of the output.
    feature_names_out_ : list of str
        The output's columns: the scaled numeric ones (twice each with two views), then
        ``"<column>=<category>"``.
    """

    def __init__(self, numeric, categorical, input_scaling="auto") -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.input_scaling = input_scaling

    def fit(self, sample: pd.DataFrame, categories: dict):
        """Fit the scaling on ``sample``'s numeric columns; keep ``categories`` (column ->
        its categories)."""
        numeric, categorical = list(self.numeric), list(self.categorical)
        scaling = self.input_scaling
        if scaling == "auto":
            scaling = "quantile+robust" if len(numeric) <= 64 else "quantile"
        values = _numeric_block(sample, numeric, "the sample")
        self.scaler_ = make_input_scaler(scaling, values) if numeric else None
        self.categories_ = [np.asarray(categories[c]) for c in categorical]
        width = self._numeric_width(len(numeric), values)
        names = list(numeric) if width == len(numeric) else (
            [f"{c}:q" for c in numeric] + [f"{c}:r" for c in numeric])
        names += [f"{c}={v}" for c, cats in zip(categorical, self.categories_) for v in cats]
        self.feature_names_out_ = names
        self.n_features_out_ = len(names)
        return self

    def _numeric_width(self, n: int, values: np.ndarray) -> int:
        if self.scaler_ is None or n == 0:
            return n
        return self.scaler_.transform(values[:1]).shape[1]

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The network's input (float32) of the input columns of ``X``."""
        check_is_fitted(self)
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "A model fitted on a streamed table predicts from a pandas DataFrame with "
                f"its input columns {list(self.numeric) + list(self.categorical)}; got "
                f"{type(X).__name__}."
            )
        missing = [c for c in [*self.numeric, *self.categorical] if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks the input column(s) {missing} the model was fitted on.")
        blocks = []
        if self.numeric:
            values = _numeric_block(X, self.numeric, "X")
            if self.scaler_ is not None:
                values = self.scaler_.transform(values)
            blocks.append(np.asarray(values, dtype=np.float32))
        for column, cats in zip(self.categorical, self.categories_):
            blocks.append(_one_hot(X[column], cats))
        out = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
        return np.ascontiguousarray(out, dtype=np.float32)


def _numeric_block(df: pd.DataFrame, columns: list[str], where: str) -> np.ndarray:
    """The numeric ``columns`` as float64, checked: no NaN, infinity or huge values."""
    if not columns:
        return np.empty((len(df), 0))
    try:
        values = df[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The numeric input column(s) of {where} are not numbers: {exc}") \
            from None
    bad = ~np.isfinite(values) | (np.abs(values) > MAX_INPUT)
    if bad.any():
        cols = [columns[j] for j in np.flatnonzero(bad.any(axis=0))[:10]]
        raise ValueError(
            f"Numeric input column(s) {cols} of {where} hold NaN, infinity or values beyond "
            f"{MAX_INPUT:g}; impute, drop or rescale them before streaming (or name the "
            "column in categorical=)."
        )
    return values


def _one_hot(column: pd.Series, categories: np.ndarray) -> np.ndarray:
    codes = pd.Index(categories).get_indexer(_label_values(column))  # -1: unseen or missing
    out = np.zeros((len(codes), len(categories)), dtype=np.float32)
    known = codes >= 0
    out[np.flatnonzero(known), codes[known]] = 1.0
    return out


def _label_values(column: pd.Series) -> np.ndarray:
    """A column's values as a NumPy array whose missing entries pandas recognises."""
    if isinstance(column.dtype, np.dtype):
        return column.to_numpy()
    return column.to_numpy(dtype=object)


# --------------------------------------------------------------------- the pass before
@dataclass
class StreamPlan:
    """What the pass over a streamed table found.

    ``sample`` holds up to ``sample_rows`` training rows (uniform, without replacement);
    ``categories`` each categorical column's categories (training pieces); ``labels``
    each target column's distinct labels (all pieces; ``None`` beyond
    :data:`MAX_LABELS`); ``rows`` each piece's row count; ``train`` and ``valid`` the
    pieces.
    """

    sample: pd.DataFrame
    categories: dict
    labels: dict
    rows: dict
    train: list
    valid: list
    targets: list = field(default_factory=list)
    numeric: list = field(default_factory=list)
    categorical: list = field(default_factory=list)

    @property
    def n_train(self) -> int:
        return sum(self.rows[p] for p in self.train)

    @property
    def n_valid(self) -> int:
        return sum(self.rows[p] for p in self.valid)


def prepare_stream(table: StreamingTable, seed: int, parallel=None) -> StreamPlan:
    """The pass over ``table`` before training (see the module docstring); split among
    the processes of ``parallel`` and merged, with the same result in each."""
    targets, numeric, categorical = table._check()
    train, valid = table.split(seed)
    pieces = train + valid
    rank, world = (0, 1) if parallel is None else (parallel.rank, parallel.world_size)
    mine = pieces[rank::world]
    columns = list(dict.fromkeys(numeric + categorical + targets))
    in_train = set(train)
    part = _PassPart(table.sample_rows)
    for piece in mine:
        index = pieces.index(piece)
        rng = np.random.default_rng([seed, index])
        count = 0
        for chunk in table._read(piece, columns):
            count += len(chunk)
            where = f"{table._describe()}, piece {piece!r}"
            _numeric_block(chunk, numeric, where)
            for t in targets:
                part.add_labels(t, chunk[t])
            if piece in in_train:
                for c in categorical:
                    part.add_categories(c, chunk[c], where)
                part.add_sample(chunk, rng.random(len(chunk)))
        part.rows[piece] = count
    if parallel is not None:
        import torch.distributed as dist

        parts = [None] * world
        dist.all_gather_object(parts, part)
    else:
        parts = [part]
    merged = _PassPart.merge(parts, table.sample_rows)
    for t, labels in merged.labels.items():
        if labels is not None:
            merged.labels[t] = _sorted(labels)
    categories = {c: _sorted(merged.categories.get(c, set())) for c in categorical}
    empty = [c for c, cats in categories.items() if not len(cats)]
    if empty:
        raise ValueError(f"Categorical column(s) {empty} hold no value in the training pieces.")
    rows = {p: merged.rows[p] for p in pieces}
    if not any(rows[p] for p in train):
        raise ValueError(f"The training pieces of {table!r} hold no rows.")
    sample = merged.sample
    return StreamPlan(sample, categories, merged.labels, rows, train, valid, targets,
                      numeric, categorical)


def _sorted(values) -> np.ndarray:
    values = list(values)
    try:
        return np.asarray(sorted(values))
    except TypeError:  # mixed types: by their text
        return np.asarray(sorted(values, key=str), dtype=object)


class _PassPart:
    """One process's findings in the pass (picklable, merged across processes)."""

    def __init__(self, sample_rows: int) -> None:
        self.k = sample_rows
        self.labels: dict[str, set | None] = {}
        self.categories: dict[str, set] = {}
        self.rows: dict = {}
        self.sample: pd.DataFrame | None = None
        self.keys = np.empty(0)

    def add_labels(self, name: str, column: pd.Series) -> None:
        found = self.labels.setdefault(name, set())
        if found is None:
            return
        values = _label_values(column)
        values = values[~missing_mask(values)]
        try:
            found.update(pd.unique(values).tolist())
        except TypeError:  # unhashable labels (lists: multilabel)
            self.labels[name] = None
            return
        if len(found) > MAX_LABELS:
            self.labels[name] = None

    def add_categories(self, name: str, column: pd.Series, where: str) -> None:
        found = self.categories.setdefault(name, set())
        values = _label_values(column)
        values = values[~missing_mask(values)]
        found.update(pd.unique(values).tolist())
        if len(found) > MAX_CATEGORIES:
            raise ValueError(
                f"Categorical column {name!r} has more than {MAX_CATEGORIES} categories "
                f"({where}); one-hot encoding it would make the input too wide. Encode it "
                "as numbers (e.g. target or frequency encoding) and pass it as numeric."
            )

    def add_sample(self, chunk: pd.DataFrame, keys: np.ndarray) -> None:
        if self.sample is not None and len(self.keys) >= self.k:
            keep = keys < self.keys.max()
            chunk, keys = chunk[keep], keys[keep]
            if not len(keys):
                return
        frame = chunk.reset_index(drop=True)
        if self.sample is not None:
            frame = pd.concat([self.sample, frame], ignore_index=True)
            keys = np.concatenate([self.keys, keys])
        if len(keys) > self.k:
            best = np.argpartition(keys, self.k - 1)[:self.k]
            frame, keys = frame.iloc[best].reset_index(drop=True), keys[best]
        self.sample, self.keys = frame, keys

    @staticmethod
    def merge(parts: Sequence[_PassPart], k: int) -> _PassPart:
        out = _PassPart(k)
        for p in parts:
            for name, labels in p.labels.items():
                have = out.labels.setdefault(name, set())
                if labels is None or have is None:
                    out.labels[name] = None
                else:
                    have.update(labels)
                    if len(have) > MAX_LABELS:
                        out.labels[name] = None
            for name, cats in p.categories.items():
                out.categories.setdefault(name, set()).update(cats)
            out.rows.update(p.rows)
            if p.sample is not None:
                out.add_sample(p.sample, p.keys)
        if out.sample is not None:
            # Rows in key order: the same sample, in the same order, whoever read them.
            order = np.argsort(out.keys, kind="stable")
            out.sample, out.keys = out.sample.iloc[order].reset_index(drop=True), out.keys[order]
        return out


# -------------------------------------------------------------------- batches in epochs
class StreamData(torch.utils.data.Dataset):
    """The training or validation pieces of a streamed table, encoded chunk by chunk
    into :class:`~sk_mtl.data.TensorData` (``encode(frame) -> TensorData``); the skorch
    net asks it for its batches (:meth:`iterator`) instead of slicing whole tensors."""

    def __init__(self, table: StreamingTable, pieces: list, rows: dict, columns: list[str],
                 encode, task_names: list[str]) -> None:
        self.table = table
        self.pieces = list(pieces)
        self.rows = {p: rows[p] for p in self.pieces}
        self.columns = columns
        self.encode = encode
        self.targets = {name: None for name in task_names}  # the net's "has targets" test

    def __len__(self) -> int:
        return sum(self.rows.values())

    def __getitem__(self, i):  # pragma: no cover - read in batches only
        raise TypeError("StreamData is read in batches.")

    def iterator(self, batch_size: int, training: bool, generator: torch.Generator | None,
                 device, shard: tuple[int, int] | None) -> StreamIterator:
        return StreamIterator(self, batch_size, training, generator, device, shard)


def deal(pieces: list, rows: dict, world: int) -> list[list]:
    """The pieces of each of ``world`` processes: each piece, in order, to the process
    with the fewest rows so far (the lowest rank on ties)."""
    shares: list[list] = [[] for _ in range(world)]
    totals = [0] * world
    for p in pieces:
        r = min(range(world), key=lambda i: (totals[i], i))
        shares[r].append(p)
        totals[r] += rows[p]
    return shares


class StreamIterator:
    """One epoch's batches of a :class:`StreamData` in this process.

    Training: the pieces in an order drawn from ``generator`` (the same in every process),
    dealt to the processes; the chunks read (one ahead, in a thread) into a buffer of
    ``table.buffer_rows`` rows that is shuffled and cut into batches of this process's
    part of ``batch_size``; with several processes, every process stops after the number
    of steps the smallest share allows. Validation: the pieces in order, batches of
    ``batch_size`` rows, each process its share.
    """

    def __init__(self, data: StreamData, batch_size: int, training: bool, generator, device,
                 shard: tuple[int, int] | None) -> None:
        self.data = data
        self.batch_size = batch_size
        self.training = training
        self.generator = generator
        self.device = torch.device(device)
        self.shard = shard

    def _plan(self):
        """This process's pieces, its batch size, its number of steps (None: all rows)
        and the generator of its row shuffles."""
        data = self.data
        pieces = list(data.pieces)
        rank, world = self.shard or (0, 1)
        rows_rng = None
        if self.training:
            order = torch.randperm(len(pieces), generator=self.generator).tolist()
            pieces = [pieces[i] for i in order]
            seed = int(torch.randint(2**62, (1,), generator=self.generator))
            rows_rng = torch.Generator().manual_seed(seed + rank)
        shares = deal(pieces, data.rows, world)
        start, stop = _share(self.batch_size, rank, world) if self.training else (0, 0)
        local = stop - start if self.training else self.batch_size
        steps = None
        if self.training and world > 1:
            rows = [sum(data.rows[p] for p in share) for share in shares]
            parts = [_share(self.batch_size, r, world) for r in range(world)]
            steps = min(n // (stop - start) for n, (start, stop) in zip(rows, parts))
            if not steps:  # the same in every process: all raise, none waits
                raise ValueError(
                    f"{len(data.pieces)} training pieces dealt to {world} processes leave one "
                    f"with {min(rows)} rows, less than its part of a batch of "
                    f"{self.batch_size}; write the table in more, smaller row groups or "
                    "partitions, or use fewer processes."
                )
        return shares[rank], local, steps, rows_rng

    def __len__(self) -> int:
        mine, local, steps, _ = self._plan()
        if steps is not None:
            return steps
        n = sum(self.data.rows[p] for p in mine)
        return -(-n // local)

    def __iter__(self) -> Iterator:
        mine, local, steps, rows_rng = self._plan()
        data = self.data
        buffer: list[TensorData] = []
        held = 0
        done = 0
        limit = data.table.buffer_rows if self.training else local
        for chunk in _prefetch(self._chunks(mine)):
            buffer.append(chunk)
            held += len(chunk)
            if held < max(limit, local):
                continue
            merged = _concat(buffer)
            if self.training:
                merged = merged.take(torch.randperm(len(merged), generator=rows_rng).numpy())
            n_full = (len(merged) // local) * local
            for start in range(0, n_full, local):
                if steps is not None and done >= steps:
                    return
                yield self._batch(merged, start, start + local)
                done += 1
            rest = np.arange(n_full, len(merged))
            buffer, held = ([merged.take(rest)], len(rest)) if len(rest) else ([], 0)
            del merged
            _release_memory()
        if not held or (steps is not None and done >= steps):
            return
        merged = _concat(buffer)
        if self.training:
            merged = merged.take(torch.randperm(len(merged), generator=rows_rng).numpy())
        for start in range(0, len(merged), local):
            end = min(start + local, len(merged))
            if steps is not None and done >= steps:
                return
            if self.training and end - start < 2:
                return  # a one-row training batch: left out of this epoch
            yield self._batch(merged, start, end)
            done += 1

    def _chunks(self, pieces) -> Iterator[TensorData]:
        data = self.data
        for piece in pieces:
            for frame in data.table._read(piece, data.columns):
                if len(frame):
                    yield data.encode(frame)

    def _batch(self, data: TensorData, start: int, end: int):
        rows = slice(start, end)
        X = data.X[rows].to(self.device, non_blocking=True)
        ys = {}
        for task in data.targets:
            target, mask = task_rows(data, task, rows)
            ys[task] = (target.to(self.device), None if mask is None else mask.to(self.device))
        return X, ys


_LIBC = None


def _release_memory() -> None:
    """Give the heap memory freed since the last call back to the system (glibc's
    ``malloc_trim``; nothing elsewhere).

    A stream allocates and frees arrays of tens of MB, chunk after chunk; glibc serves
    those from its heap once a freed one raised its mmap threshold, and without a trim
    the freed pages pile up: a fit on 3M rows of ``benchmarks/bench_scale.py``'s census
    table grew by about 225 MB per million rows without it and stayed flat with it."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):  # not glibc
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


def _concat(parts: list[TensorData]) -> TensorData:
    """Row-wise concatenation of encoded chunks (a mask of ``None``: all labelled)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]

    def cat(values, n_rows):
        if all(v is None for v in values):
            return None
        return torch.cat([torch.ones(n, dtype=torch.bool) if v is None else v
                          for v, n in zip(values, n_rows)])

    sizes = [len(p) for p in parts]
    X = torch.cat([p.X for p in parts])
    targets = {t: torch.cat([p.targets[t] for p in parts]) for t in first.targets}
    masks = {t: cat([p.masks.get(t) for p in parts], sizes) for t in first.targets}
    weights = {t: torch.cat([p.weights[t] for p in parts]) for t in first.weights}
    return TensorData(X, targets, masks, weights)


_DONE = object()


def _prefetch(iterable, depth: int = 2):
    """Iterate over ``iterable`` with up to ``depth`` items made ahead in a thread (the
    next chunk is read and encoded while the network trains on this one)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in iterable:
                if not put(item):
                    return
            put(_DONE)
        except BaseException as exc:  # re-raised in the consumer
            put(exc)

    thread = threading.Thread(target=work, daemon=True, name="sk_mtl-stream-reader")
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
