"""Modalities: ``X`` (dict, SliceDict, DataFrame + mapping, array) to one validated block each.

Each block gets a converter fitted in ``fit`` (text vocabulary, category codes, widths) that
turns it into what the encoders read: a float tensor, a CSR matrix (sparse tabular or TF-IDF
text), token ids, category codes or images, plus the mask of rows that have the modality.
"""

from __future__ import annotations

import fnmatch
import inspect
import math
import warnings
from collections import Counter
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.feature_extraction.text import TfidfVectorizer

from ._columns import columns_by_name

__all__ = [
    "PLAN_NAMES",
    "CategoricalModality",
    "ImageModality",
    "Modality",
    "TabularModality",
    "TextModality",
    "infer_column_kind",
    "infer_modality_kind",
    "make_modality",
    "plan_modalities",
    "split_modalities",
]

#: The forms a text modality can give its encoder: TF-IDF rows of word n-grams (CSR),
#: padded token ids, or dense embeddings from a pretrained model.
TEXT_FORMS = ("tfidf", "tokens", "embeddings")
#: Data kinds a block may be read as when its encoder asks for another kind than the data
#: suggests (strings as text or as categories, integer codes as categories, ...).
_READABLE_AS = {
    ("categorical", "text"), ("text", "categorical"), ("tabular", "categorical"),
    ("categorical", "tabular"), ("text", "tabular"),
}


def split_modalities(X, modalities: Mapping | None) -> dict[str, object]:
    """``X`` as ``{modality: block}``.

    ``X`` is a dict (or ``skorch.helper.SliceDict``) keyed by modality, a DataFrame with a
    ``modalities`` mapping ``{modality: column | [columns] | "pattern*"}``, or a single block
    (array, sparse matrix, DataFrame), which is the one modality ``"X"``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_mtl.data import split_modalities
    >>> df = pd.DataFrame({"txt": ["a b", "c"], "num__a": [1.0, 2.0], "num__b": [3.0, 4.0]})
    >>> blocks = split_modalities(df, {"text": "txt", "tab": "num__*"})
    >>> list(blocks["tab"].columns)
    ['num__a', 'num__b']
    """
    if isinstance(X, Mapping) and not sp.issparse(X):  # a dok_matrix is a dict
        if modalities is not None:
            raise ValueError("modalities= maps DataFrame columns; X is already a dict.")
        if not X:
            raise ValueError("X is an empty dict: at least one modality is needed.")
        return {str(k): v for k, v in X.items()}
    if modalities is None:
        return {"X": X}
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"modalities= selects columns of a DataFrame; X is a {type(X).__name__}. Pass a "
            "DataFrame (e.g. set_output(transform='pandas')) or a dict keyed by modality."
        )
    columns = [str(c) for c in X.columns]
    blocks, used = {}, set()
    for name, spec in modalities.items():
        if isinstance(spec, str) and spec in columns:
            blocks[name] = X[spec]
            used.add(spec)
            continue
        patterns = [spec] if isinstance(spec, str) else list(spec)
        chosen = []
        for pattern in patterns:
            hits = [c for c in columns if c == pattern or fnmatch.fnmatchcase(c, pattern)]
            if not hits:
                raise ValueError(
                    f"Modality {name!r}: no column matches {pattern!r}; the columns are "
                    f"{columns[:20]}{' ...' if len(columns) > 20 else ''}."
                )
            chosen += [c for c in hits if c not in chosen]
        if not chosen:
            raise ValueError(f"Modality {name!r} selects no column: {spec!r} is empty.")
        blocks[name] = X[chosen]
        used.update(chosen)
    unused = [c for c in columns if c not in used]
    if unused:
        raise ValueError(
            f"Columns {unused[:10]} of X belong to no modality; add them to modalities= or "
            "drop them."
        )
    return blocks


#: Modality names of a plan inferred from a DataFrame's columns, by column kind.
PLAN_NAMES = {"text": "text", "categorical": "categorical", "tabular": "numeric"}


def infer_column_kind(column: pd.Series) -> str:
    """``"tabular"`` (numbers, booleans, datetimes, strings of numbers), ``"categorical"``
    (pandas categories, low-cardinality strings) or ``"text"`` (free text: two or more words
    per value on average, or mostly distinct values) for one DataFrame column.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_mtl.data import infer_column_kind
    >>> [infer_column_kind(pd.Series(v)) for v in
    ...  ([1.5, None], ["Tops", "Dresses"], ["runs small, lovely", "too tight"])]
    ['tabular', 'categorical', 'text']
    """
    dtype = column.dtype
    if (pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype)
            or pd.api.types.is_datetime64_any_dtype(dtype)):
        return "tabular"
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    values = column.dropna()
    if len(values) and pd.to_numeric(values, errors="coerce").notna().all() and not all(
            isinstance(v, str) for v in values.iloc[:1000]):
        return "tabular"  # numbers in an object column
    return "text" if _is_free_text(column) else "categorical"


def plan_modalities(X: pd.DataFrame) -> dict[str, list[str]]:
    """Group a DataFrame's columns into modalities by kind (:func:`infer_column_kind`):
    ``{"text": [...], "categorical": [...], "numeric": [...]}``, the kinds present only.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_mtl.data import plan_modalities
    >>> df = pd.DataFrame({"review": ["fits well and soft", "cheap fabric, runs small"],
    ...                    "dept": ["Tops", "Tops"], "age": [31, None]})
    >>> plan_modalities(df)
    {'text': ['review'], 'categorical': ['dept'], 'numeric': ['age']}
    """
    kinds = {c: infer_column_kind(X[c]) for c in X.columns}
    return {
        name: [c for c, k in kinds.items() if k == kind]
        for kind, name in PLAN_NAMES.items() if kind in kinds.values()
    }


def _as_array(block, name: str):
    if sp.issparse(block):
        return block
    if isinstance(block, (pd.DataFrame, pd.Series)):
        return block
    if isinstance(block, torch.Tensor):
        return block.detach().cpu().numpy()
    if isinstance(block, list):
        out = np.empty(len(block), dtype=object)
        out[:] = block
        return out
    try:
        return np.asarray(block)
    except Exception as exc:
        raise TypeError(f"Modality {name!r} could not be read as an array: {exc}") from None


def _is_free_text(column: pd.Series) -> bool:
    """Text rather than categories: two or more words per value on average, or mostly
    distinct values (titles, names, comments)."""
    values = column.dropna()
    if values.empty or not all(isinstance(v, str) for v in values.iloc[:1000]):
        return False
    sample = values.iloc[:1000]
    words = float(sample.str.split().str.len().mean())
    distinct = sample.nunique() / len(sample)
    return words >= 2.0 or (len(sample) >= 20 and distinct > 0.5)


def _is_text_like(values: np.ndarray) -> bool:
    return values.dtype.kind in "OUS"


def infer_modality_kind(block, name: str, kinds=None) -> str:
    """``"tabular"``, ``"text"``, ``"categorical"`` or ``"image"`` for one block.

    The kind comes from the data; ``kinds``, the kinds the modality's encoder reads (its
    first the one it prefers), only settles what the data leaves open: a text encoder on
    string columns makes them text, a categorical one on integer codes makes them
    categorical, a tabular one asks for a numeric table, an image one for images.
    """
    preferred = kinds[0] if kinds else None
    kind = _data_kind(_as_array(block, name), name, image_requested=preferred == "image")
    if not kinds or kind in kinds:
        return kind
    if (kind, preferred) in _READABLE_AS or preferred == "image":
        return preferred
    raise ValueError(
        f"Modality {name!r} is {kind} data; its encoder reads {' or '.join(kinds)} "
        "modalities. Choose an encoder for this kind, or give the data the kind the encoder "
        "reads."
    )


def _data_kind(block, name: str, image_requested: bool = False) -> str:
    if sp.issparse(block):
        return "tabular"
    if isinstance(block, pd.Series):
        if pd.api.types.is_numeric_dtype(block.dtype):
            return "tabular"
        return "text" if _is_free_text(block) else "categorical"
    if isinstance(block, pd.DataFrame):
        numeric = [pd.api.types.is_numeric_dtype(t) for t in block.dtypes]
        if all(numeric):
            return "tabular"
        # String columns holding free text make the block one text modality (one vocabulary
        # per column); otherwise it is categorical (integer columns then count as codes).
        # encoders= overrides this guess.
        if not any(numeric) and any(_is_free_text(block[c]) for c in block.columns):
            return "text"
        return "categorical"
    values = np.asarray(block)
    if values.ndim == 1:
        return "text" if _is_text_like(values) else "tabular"
    if values.ndim == 2 and not image_requested:
        return "categorical" if _is_text_like(values) else "tabular"
    if values.ndim == 4 or image_requested:
        return "image"
    raise ValueError(
        f"Modality {name!r} has shape {values.shape}: expected a 2-D table, a 1-D array of "
        "strings, or a 4-D image array (n, C, H, W)."
    )


def _same(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays and other objects without one truth value
        return False


class Modality:
    """A fitted converter for one modality block."""

    kind = ""

    def __init__(self, name: str) -> None:
        self.name = name

    def fit(self, block) -> Modality:
        raise NotImplementedError

    def transform(self, block) -> tuple[object, np.ndarray | None]:
        """``(data, present)``: encoder input and mask of rows with the modality."""
        raise NotImplementedError

    def absent(self, n: int) -> tuple[object, np.ndarray]:
        """Input for ``n`` rows that all lack the modality."""
        raise NotImplementedError

    def __repr__(self) -> str:
        """``TextModality('review', max_len=100, n_features_=4844)``: the name, the
        settings that differ from their defaults and, once fitted, the width it gives."""
        params = list(inspect.signature(type(self).__init__).parameters.values())[2:]
        shown = [repr(self.name)]
        for p in params:
            value = getattr(self, p.name, p.default)
            if value is not p.default and not _same(value, p.default):
                shown.append(f"{p.name}={value!r}")
        if hasattr(self, "n_features_"):
            shown.append(f"n_features_={self.n_features_}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _named(self, block):
        """A DataFrame ``block`` with the columns of the fit, matched by name in any order
        (``columns_``, set by a fit on a DataFrame); anything else as it is."""
        fitted = getattr(self, "columns_", None)
        if fitted is None or not isinstance(block, pd.DataFrame):
            return block
        return columns_by_name(block, fitted, f"Modality {self.name!r}")

    def _check_width(self, given: int, fitted: int, what: str) -> None:
        """Refuse a block with another number of ``what`` (features, columns) than at fit."""
        if given != fitted:
            raise ValueError(
                f"Modality {self.name!r} has {given} {what}, but the model was fitted with "
                f"{fitted}."
            )


class TabularModality(Modality):
    """Numeric columns (dense or scipy sparse); an all-NaN row means the modality is missing.

    Dense columns are standardized with the mean and standard deviation of the training rows
    (so raw counts and ages can sit beside TF-IDF text without a scaler); sparse ones are
    left as they are, to stay sparse. A NaN in a row that has other values is imputed with
    the training mean, and every column that had such NaN in training gets a missing
    indicator column (1 where the value was missing), as gradient boosting users expect; a
    column with no NaN in training is imputed without an indicator. Datetime columns become
    numbers: days since 1970, month, day of the week, hour of the day.
    """

    kind = "tabular"

    def __init__(self, name: str, standardize: bool = True) -> None:
        super().__init__(name)
        self.standardize = standardize

    def fit(self, block) -> TabularModality:
        self.sparse_ = sp.issparse(block)
        values = self._numeric(block)
        self.n_columns_ = values.shape[1]
        self.columns_ = list(block.columns) if isinstance(block, pd.DataFrame) else None
        self.mean_ = np.zeros(self.n_columns_, dtype=np.float32)
        self.scale_ = np.ones(self.n_columns_, dtype=np.float32)
        self.indicators_ = np.zeros(0, dtype=np.int64)
        if not self.sparse_:
            present = ~np.isnan(values).all(axis=1)
            self.indicators_ = np.flatnonzero(np.isnan(values[present]).any(axis=0))
            if self.standardize:
                # float64 moments: float32 sums of large values overflow.
                rows = values[present].astype(np.float64)
                if len(rows):
                    with warnings.catch_warnings():  # an all-NaN column: mean 0, scale 1
                        warnings.simplefilter("ignore", RuntimeWarning)
                        self.mean_ = np.nan_to_num(np.nanmean(rows, axis=0)).astype(np.float32)
                        std = np.nan_to_num(np.nanstd(rows, axis=0))
                    self.scale_ = np.where(std > 0, std, 1.0).astype(np.float32)
        self.n_features_ = self.n_columns_ + len(self.indicators_)
        return self

    def _numeric(self, block):
        if sp.issparse(block):
            values = sp.csr_matrix(block, dtype=np.float32)
            if not np.isfinite(values.data).all():
                raise ValueError(f"Modality {self.name!r} (sparse) contains NaN or infinity.")
            return values
        if isinstance(block, pd.Series):
            block = block.to_frame()
        if isinstance(block, pd.DataFrame):
            block = _expand_datetimes(block)
            block = block.apply(_numbers_in_objects)
            bad = [str(c) for c, t in block.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
            if bad:
                raise ValueError(
                    f"Modality {self.name!r} is tabular but column(s) {bad} are not numeric; "
                    "encode them, or give them their own modality (text or categorical)."
                )
            block = block.to_numpy(dtype=np.float32, na_value=np.nan)
        values = np.asarray(block)
        if values.ndim == 1:
            values = values.reshape(-1, 1)
        if values.ndim != 2:
            raise ValueError(
                f"Modality {self.name!r} is tabular and must be 2-D, got shape {values.shape}."
            )
        try:
            return values.astype(np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Modality {self.name!r} is tabular but not numeric: {exc}") from None

    def transform(self, block):
        values = self._numeric(self._named(block))
        self._check_width(values.shape[1], self.n_columns_, "features")
        if self.sparse_ != sp.issparse(values):
            values = sp.csr_matrix(values) if self.sparse_ else values.toarray()
        if sp.issparse(values):
            return values, None
        if np.isinf(values).any():
            raise ValueError(f"Modality {self.name!r} contains infinity.")
        values = ((values.astype(np.float64) - self.mean_) / self.scale_).astype(np.float32)
        nan = np.isnan(values)
        missing_rows = nan.all(axis=1)
        if len(self.indicators_):
            flags = (nan[:, self.indicators_] & ~missing_rows[:, None]).astype(np.float32)
            values = np.hstack([values, flags])
            nan = np.isnan(values)
        if not nan.any():
            return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32)), None
        values = np.where(nan, 0.0, values).astype(np.float32)  # the training mean
        present = None if not missing_rows.any() else torch.from_numpy(~missing_rows)
        return torch.from_numpy(values), present

    def absent(self, n):
        if self.sparse_:
            return sp.csr_matrix((n, self.n_features_), dtype=np.float32), np.zeros(n, bool)
        return torch.zeros(n, self.n_features_), torch.zeros(n, dtype=torch.bool)


def _numbers_in_objects(column: pd.Series) -> pd.Series:
    """An object column holding only numbers (and missing values) as floats."""
    if column.dtype != object:
        return column
    converted = pd.to_numeric(column, errors="coerce")
    return converted if converted.notna().sum() == column.notna().sum() else column


def _expand_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """Each datetime column as four numeric ones: days since 1970, month, day of the week
    and hour of the day (NaT gives NaN)."""
    dates = [c for c, t in frame.dtypes.items() if pd.api.types.is_datetime64_any_dtype(t)]
    if not dates:
        return frame
    parts = {}
    for c in frame.columns:
        if c not in dates:
            parts[c] = frame[c]
            continue
        d = frame[c]
        if d.dt.tz is not None:
            d = d.dt.tz_convert("UTC").dt.tz_localize(None)
        days = (d - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        parts[f"{c}__days"] = days.astype(float)
        parts[f"{c}__month"] = d.dt.month.astype(float)
        parts[f"{c}__weekday"] = d.dt.day_of_week.astype(float)
        parts[f"{c}__hour"] = (d.dt.hour + d.dt.minute / 60).astype(float)
    return pd.DataFrame(parts, index=frame.index)


def _text_values(block, name: str) -> tuple[list[str], np.ndarray]:
    if isinstance(block, pd.DataFrame):  # several text columns: joined with a space
        parts = block.astype(object).where(block.notna(), "")
        texts = [" ".join(str(v) for v in row if str(v)) for row in parts.to_numpy()]
    else:
        values = block.to_numpy(dtype=object) if isinstance(block, pd.Series) else block
        values = np.asarray(values, dtype=object)
        if values.ndim != 1:
            raise ValueError(
                f"Modality {name!r} is text and must be 1-D (one string per row), got shape "
                f"{values.shape}."
            )
        texts = []
        for v in values.tolist():
            if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
                texts.append("")
            elif isinstance(v, (str, bytes)):
                texts.append(v.decode() if isinstance(v, bytes) else v)
            else:
                raise ValueError(
                    f"Modality {name!r} is text but holds a {type(v).__name__} ({v!r})."
                )
    present = np.array([bool(t.strip()) for t in texts])
    return texts, present


class TextModality(Modality):
    """Raw strings; None, NaN and empty strings mark the modality missing.

    The encoder says which ``form`` it reads:

    - ``"tfidf"``: CSR rows of a TF-IDF vocabulary of word n-grams fitted on the training
      text (read by a sparse first layer); with several text columns (a title and a body)
      each column gets its own vocabulary, side by side, so "great" in a title and in a body
      are different features;
    - ``"tokens"``: padded token ids (0 pad, 1 unknown) of one word vocabulary over the
      joined columns, the ``max_features`` most frequent words, ``max_len`` per text;
    - ``"embeddings"``: dense vectors of the joined columns from ``embedder`` (an object
      with ``embed(list of str) -> (n, d) array`` and ``dim``, e.g. a
      :class:`~sk_mtl.data.TextEmbedder`), with nothing fitted here.
    """

    kind = "text"

    def __init__(self, name, form="tfidf", max_features=50_000, ngram_range=(1, 2),
                 min_df=2, max_len=200, embedder=None):
        super().__init__(name)
        if form not in TEXT_FORMS:
            raise ValueError(f"Text form {form!r} is not one of {list(TEXT_FORMS)}.")
        self.form = form
        self.max_features = max_features
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_len = max_len
        self.embedder = embedder

    def _vectorizer(self, n_texts: int) -> TfidfVectorizer:
        return TfidfVectorizer(
            ngram_range=tuple(self.ngram_range) if self.form == "tfidf" else (1, 1),
            min_df=self.min_df if n_texts >= 10 * self.min_df else 1,
            max_features=self.max_features, sublinear_tf=True, dtype=np.float32,
        )

    def _columns(self, block) -> list:
        if self.form == "tfidf" and isinstance(block, pd.DataFrame) and block.shape[1] > 1:
            return [block[c] for c in block.columns]
        return [block]

    def fit(self, block) -> TextModality:
        self.columns_ = list(block.columns) if isinstance(block, pd.DataFrame) else None
        texts, present = _text_values(block, self.name)
        train = [t for t, p in zip(texts, present) if p]
        if not train:
            raise ValueError(f"Modality {self.name!r} has no non-empty text to learn from.")
        if self.form == "embeddings":
            if not (hasattr(self.embedder, "embed") and hasattr(self.embedder, "dim")):
                raise ValueError(
                    f"Modality {self.name!r} reads embeddings but has no embedder."
                )
            self.n_features_ = int(self.embedder.dim)
            return self
        self.vectorizers_ = []
        for column in self._columns(block):
            col_texts, col_present = _text_values(column, self.name)
            col_train = [t for t, p in zip(col_texts, col_present) if p]
            vectorizer = self._vectorizer(len(col_train))
            try:
                vectorizer.fit(col_train or [""])
            except ValueError as exc:  # e.g. empty vocabulary
                raise ValueError(f"Modality {self.name!r}: {exc}") from None
            self.vectorizers_.append(vectorizer)
        if self.form == "tfidf":
            self.n_features_ = sum(len(v.vocabulary_) for v in self.vectorizers_)
        else:
            analyze = self.vectorizers_[0].build_analyzer()
            counts = Counter(tok for t in train for tok in analyze(t))
            vocab = [tok for tok, _ in counts.most_common(self.max_features)]
            self.vocabulary_ = {tok: i + 2 for i, tok in enumerate(vocab)}  # 0 pad, 1 unknown
            self.n_features_ = len(vocab) + 2
        return self

    def transform(self, block):
        block = self._named(block)
        texts, present = _text_values(block, self.name)
        if self.form == "embeddings":
            values = np.asarray(self.embedder.embed(texts), dtype=np.float32)
            values[~present] = 0.0
            return torch.from_numpy(np.ascontiguousarray(values)), torch.from_numpy(present)
        if self.form == "tfidf":
            columns = self._columns(block)
            self._check_width(len(columns), len(self.vectorizers_), "text column(s)")
            parts = [v.transform(_text_values(c, self.name)[0])
                     for v, c in zip(self.vectorizers_, columns)]
            return sp.hstack(parts, format="csr", dtype=np.float32), torch.from_numpy(present)
        analyze = self.vectorizers_[0].build_analyzer()
        ids = np.zeros((len(texts), self.max_len), dtype=np.int64)
        for i, t in enumerate(texts):
            toks = [self.vocabulary_.get(tok, 1) for tok in analyze(t)[: self.max_len]]
            ids[i, : len(toks)] = toks
        return torch.from_numpy(ids), torch.from_numpy(present)

    def absent(self, n):
        if self.form == "tfidf" and len(self.vectorizers_) > 1:
            names = getattr(self, "columns_", None) or range(len(self.vectorizers_))
            return self.transform(pd.DataFrame({c: [""] * n for c in names}))
        return self.transform(np.array([""] * n, dtype=object))


class CategoricalModality(Modality):
    """String or integer codes per column; code 0 is "unknown or missing" in every column."""

    kind = "categorical"

    def _frame(self, block) -> pd.DataFrame:
        if isinstance(block, pd.Series):
            return block.to_frame()
        if isinstance(block, pd.DataFrame):
            return block
        values = np.asarray(block, dtype=object)
        if values.ndim == 1:
            values = values.reshape(-1, 1)
        if values.ndim != 2:
            raise ValueError(
                f"Modality {self.name!r} is categorical and must be 1-D or 2-D, got shape "
                f"{values.shape}."
            )
        return pd.DataFrame(values)

    def _keys(self, col: pd.Series) -> list:
        """One string key per value (``None`` when missing); integral floats count as ints, so
        codes read as 3.0 (a column with NaN) and as 3 (one without) are one category."""
        keys = []
        for v in col.tolist():
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
                keys.append(None)
            elif isinstance(v, (float, np.floating)) and float(v).is_integer():
                keys.append(str(int(v)))
            else:
                keys.append(str(v))
        return keys

    def fit(self, block) -> CategoricalModality:
        self.columns_ = list(block.columns) if isinstance(block, pd.DataFrame) else None
        frame = self._frame(block)
        for c in frame.columns:
            col = frame[c]
            if pd.api.types.is_float_dtype(col.dtype):
                values = col.dropna().to_numpy()
                if len(values) and not np.all(np.mod(values, 1) == 0):
                    raise ValueError(
                        f"Modality {self.name!r} is categorical but column {c!r} holds "
                        "non-integer numbers; give numeric columns a tabular modality of "
                        "their own."
                    )
        self.categories_ = []
        for c in frame.columns:
            seen = {k for k in self._keys(frame[c]) if k is not None}
            self.categories_.append({v: i + 1 for i, v in enumerate(sorted(seen))})
        self.cardinalities_ = [len(c) + 1 for c in self.categories_]
        self.n_features_ = len(self.categories_)
        return self

    def transform(self, block):
        frame = self._frame(self._named(block))
        self._check_width(frame.shape[1], self.n_features_, "columns")
        codes = np.zeros(frame.shape, dtype=np.int64)
        for j, (c, mapping) in enumerate(zip(frame.columns, self.categories_)):
            codes[:, j] = [0 if k is None else mapping.get(k, 0) for k in self._keys(frame[c])]
        present = frame.notna().any(axis=1).to_numpy()
        return torch.from_numpy(codes), torch.from_numpy(np.array(present, dtype=bool))

    def absent(self, n):
        return torch.zeros(n, self.n_features_, dtype=torch.long), torch.zeros(n, dtype=bool)


class ImageModality(Modality):
    """Float images ``(n, C, H, W)``; the shape is fixed at fit."""

    kind = "image"

    def _values(self, block) -> np.ndarray:
        values = np.asarray(block)
        if values.ndim != 4:
            raise ValueError(
                f"Modality {self.name!r} is an image modality and must be 4-D (n, C, H, W), "
                f"got an array of rank {values.ndim} and shape {values.shape}."
            )
        try:
            values = values.astype(np.float32)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"Modality {self.name!r} (image) is not numeric: {exc}") from None
        if not np.isfinite(values).all():
            raise ValueError(f"Modality {self.name!r} (image) contains NaN or infinity.")
        return values

    def fit(self, block) -> ImageModality:
        self.shape_ = self._values(block).shape[1:]
        self.n_features_ = int(np.prod(self.shape_))
        return self

    def transform(self, block):
        values = self._values(block)
        if values.shape[1:] != self.shape_:
            raise ValueError(
                f"Modality {self.name!r} has images of shape {values.shape[1:]}, but the "
                f"model was fitted on {self.shape_}."
            )
        return torch.from_numpy(np.ascontiguousarray(values)), None

    def absent(self, n):
        return torch.zeros(n, *self.shape_), torch.zeros(n, dtype=torch.bool)


def make_modality(name: str, block, kind: str | None = None, options=None) -> Modality:
    """An unfitted converter for ``block``: of ``kind`` (inferred from the data when
    ``None``), with ``options`` for a text modality (``form``, vocabulary sizes, ...)."""
    block = _as_array(block, name)
    kind = kind or infer_modality_kind(block, name)
    if kind == "text":
        return TextModality(name, **dict(options or {}))
    return {"tabular": TabularModality, "categorical": CategoricalModality,
            "image": ImageModality}[kind](name)
