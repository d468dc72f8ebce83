"""FusionNet, FusionNetClassifier and FusionNetRegressor: one encoder per modality."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ..data import NeighbourTargets, make_modality, split_modalities
from ..data._modalities import TEXT_ENCODERS
from ..modules import (
    FUSION_LAYERS,
    CategoricalEncoder,
    CNNEncoder,
    FusionTrunk,
    GRUTextEncoder,
    LateFusionModule,
    LinearEncoder,
    MultiTaskModule,
    SparseMLPEncoder,
    SparseRows,
    TokenBagEncoder,
    infer_out_features,
)
from ..tasks import Task
from ._base import MAX_WEIGHT, BaseMultiTaskNet, _host, _n_rows
from ._multitask import (
    _ATTRIBUTES,
    _CLASSES_DOC,
    _PARAMETERS,
    ClassificationTasksMixin,
    MultiTaskNet,
    RegressionTasksMixin,
    make_retrieval,
)

__all__ = ["FUSIONS", "FusionNet", "FusionNetClassifier", "FusionNetRegressor"]

#: Names accepted by ``fusion=``: the fusion layers, and late (decision-level) fusion.
FUSIONS = (*sorted(FUSION_LAYERS), "late")
#: The network's name for the retrieval features, read as one more modality.
RETRIEVAL_MODALITY = "_neighbours"
#: Encoder names accepted in ``encoders=``, by modality kind.
ENCODERS = {
    "tabular": ("mlp", "linear"),
    "text": TEXT_ENCODERS,
    "categorical": ("embedding",),
    "image": ("cnn", "linear"),
}

_FUSION_PARAMETERS = """
    modalities : dict of str to (str or list of str), default=None
        For a DataFrame ``X``: the columns of each modality, by name, list of names, or
        shell-style pattern (``"num__*"`` selects a ``ColumnTransformer``'s ``num`` output).
        Every column must belong to a modality. ``None`` when ``X`` is a dict (or
        ``skorch.helper.SliceDict``) keyed by modality, or a single block.
    encoders : dict of str to (str or nn.Module), default=None
        Encoder of each modality; by default chosen from the data: ``"mlp"`` for numeric
        tables (dense ones standardized; scipy sparse ones read by a sparse first layer),
        ``"tfidf"`` for text (a TF-IDF vocabulary of word n-grams fitted on the training text,
        read as a TF-IDF-weighted sum of n-gram embeddings), ``"embedding"`` for string
        categories (integer columns among them count as codes; an all-integer block is a
        table unless given ``"embedding"``), ``"cnn"`` for ``(n, C, H, W)`` images. String
        columns are text when they hold free text (two or more words per value on average,
        or mostly distinct values), categories otherwise. Also ``"bag"`` (mean of token
        embeddings) and ``"gru"`` (bidirectional GRU) for text, ``"linear"`` for tables and
        images, or any ``nn.Module`` taking that modality's batch (deep-copied at fit).
    fusion : {"concat", "early", "weighted_sum", "attention", "gated", "late"}, \\
            default="concat"
        How modalities are joined: ``"early"`` sums linear projections of the raw inputs (one
        linear layer over the joined tables, TF-IDF text and pixels; categories, ``"bag"`` and
        ``"gru"`` text keep their embedding encoders) before the shared MLP; ``"concat"``
        concatenates the encoder outputs; ``"weighted_sum"`` is ``sum_m w_m proj_m(h_m)``;
        ``"attention"`` weighs the projected embeddings by learned attention per row;
        ``"gated"`` is a gated multimodal unit; ``"late"`` gives each modality its own MLP
        and heads and averages their outputs with ``fusion_weights``.
    fusion_weights : dict of str to float, default=None
        ``w_m`` of each modality for ``"weighted_sum"`` and ``"late"`` (1.0 when left out);
        ``set_params(fusion_weights__<modality>=w)`` changes one.
    learn_fusion_weights : bool, default=False
        Train the fusion weights (starting from ``fusion_weights``) with the network.
    encoder_dim : int, default=64
        Output width of each encoder.
    fusion_dim : int, default=64
        Common width of the projections in early, weighted-sum, attention and gated fusion.
    modality_dropout : float, default=0.0
        In training, hide each modality of a row with this probability (the row keeps at
        least one), so the network learns the "missing" embeddings; needed to predict on data
        where a whole modality is absent.
    text_max_features : int, default=50000
        Vocabulary size of text modalities.
    text_ngram_range : tuple of int, default=(1, 2)
        Word n-grams of the ``"tfidf"`` text encoder.
    text_min_df : int, default=2
        Minimum number of training texts an n-gram of the ``"tfidf"`` encoder must appear in
        (1 when there are fewer than ``10 * text_min_df`` texts); the ``"bag"`` and ``"gru"``
        vocabularies keep the ``text_max_features`` most frequent words.
    text_max_len : int, default=200
        Tokens kept per text for the ``"bag"`` and ``"gru"`` encoders.
    retrieval : "auto", int or None, default="auto"
        Retrieval features over the dense numeric (tabular) modalities, as in
        :class:`MultiTaskNet`: each row's ``k`` nearest training rows in their joined,
        standardized columns, and summaries of those rows' labels (per task the
        distance-weighted mean label and the nearest neighbour's label; two distances),
        looked up leave-one-out for training rows. They enter the network as one more
        modality (``"_neighbours"``, with its own MLP encoder and fusion weight 1.0), missing
        for a row where a table is. An int is ``k``; ``"auto"`` uses 16 neighbours when the
        tables have at most 64 columns in all and there are at most 20,000 rows, and none
        otherwise; ``None`` turns it off; without a dense table there are none."""

_FUSION_ATTRIBUTES = """
    modalities_ : dict of str to Modality
        Fitted converter of each modality (kind, vocabulary, category codes, widths).
    modality_names_ : list of str
        Modality names in the order the network reads them."""


_FUSION_DEFAULTS = [
    ("hidden_dims : tuple of int, default=(128, 128)",
     "hidden_dims : tuple of int, default=(100,)"),
    ("dropout : float, default=0.1", "dropout : float, default=0.5"),
    ('optimizer : str or torch.optim.Optimizer class, default="adamw"',
     'optimizer : str or torch.optim.Optimizer class, default="adam"'),
    ("lr : float, default=2e-3", "lr : float, default=1e-3"),
    ('lr_schedule : {"cosine", "constant"} or None, default="cosine"',
     'lr_schedule : {"cosine", "constant"} or None, default=None'),
    ("max_epochs : int, default=100", "max_epochs : int, default=50"),
    ('batch_size : int or "auto", default="auto"', 'batch_size : int or "auto", default=256'),
    ('early_stopping : bool or "auto", default="auto"',
     'early_stopping : bool or "auto", default=True'),
    ("n_iter_no_change : int, default=10", "n_iter_no_change : int, default=3"),
    ("n_threads : int or None, default=1", "n_threads : int or None, default=None"),
    ("        keeps torch's setting. One thread is the default because these layers are too "
     "small\n        to gain from more, and threads that spin-wait for a core another process "
     "holds\n        (``GridSearchCV(n_jobs=...)``, a busy machine) slow an epoch down "
     "several-fold; see\n        ``docs/defaults.md``.",
     "        keeps torch's setting (the default here: the text encoders' larger layers fitted\n"
     "        the clothing reviews 1.25-1.5x faster on two threads of an idle 2-core machine;\n"
     "        ``n_threads=1`` is the safer choice on a busy machine, see ``docs/defaults.md``)."),
    ("        Dropout probability after each trunk layer.",
     "        Dropout probability after each trunk layer and encoder."),
]


def _fusion_doc(summary: str, infer: str, classes: str, examples: str) -> str:
    params = _PARAMETERS.format(infer=infer).rstrip() + _FUSION_PARAMETERS + "\n"
    for old, new in _FUSION_DEFAULTS:
        params = params.replace(old, new)
    attributes = _ATTRIBUTES.format(classes=classes).rstrip()
    attributes = attributes.replace(
        "    n_features_in_ : int\n        Number of features seen during fit.",
        "    n_features_in_ : int or dict of str to int\n        Number of features seen "
        "during fit: an int for a single 2-D block, else per modality.",
    )
    attributes, notes = attributes.split("\n\n    Notes\n")
    notes = "\n\n    Notes\n" + notes.rstrip()
    return summary + params + attributes + _FUSION_ATTRIBUTES + notes + "\n" + examples


class FusionMixin:
    """Input handling and module building of the fusion estimators."""

    _dict_params = ("task_weights", "optimizer_params", "fusion_weights")

    # Defaults differ from MultiTaskNet's where text makes a network overfit within a few
    # epochs: dropout=0.5 (trunk and encoders), early stopping with patience 3 on the 10%
    # validation split, batch_size=256, max_epochs=50 (measured on the clothing reviews in
    # benchmarks/bench_fusion_clothing.py).
    def __init__(
        self,
        *,
        modalities=None,
        encoders=None,
        fusion="concat",
        fusion_weights=None,
        learn_fusion_weights=False,
        encoder_dim=64,
        fusion_dim=64,
        modality_dropout=0.0,
        text_max_features=50_000,
        text_ngram_range=(1, 2),
        text_min_df=2,
        text_max_len=200,
        retrieval="auto",
        tasks=None,
        task_weights=None,
        auxiliary_tasks=None,
        weighting="static",
        hidden_dims=(100,),
        activation="relu",
        dropout=0.5,
        batch_norm=False,
        trunk=None,
        lambda_l1=0.0,
        lambda_l2=0.0,
        optimizer="adam",
        lr=1e-3,
        optimizer_params=None,
        lr_schedule=None,
        max_epochs=50,
        batch_size=256,
        validation_fraction=0.1,
        stratify=None,
        early_stopping=True,
        n_iter_no_change=3,
        tol=1e-4,
        callbacks=None,
        verbose=0,
        progress_bar=False,
        random_state=None,
        device="cpu",
        n_threads=None,
        warm_start=False,
        on_divergence="raise",
    ):
        # BaseMultiTaskNet's, not the next class's: FusionNet's MRO passes MultiTaskNet,
        # whose ``retrieval`` parameter FusionNet does not have.
        BaseMultiTaskNet.__init__(
            self,
            tasks=tasks, task_weights=task_weights, auxiliary_tasks=auxiliary_tasks,
            weighting=weighting, hidden_dims=hidden_dims, activation=activation,
            dropout=dropout, batch_norm=batch_norm, trunk=trunk, lambda_l1=lambda_l1,
            lambda_l2=lambda_l2, optimizer=optimizer, lr=lr, optimizer_params=optimizer_params,
            lr_schedule=lr_schedule, max_epochs=max_epochs, batch_size=batch_size,
            validation_fraction=validation_fraction, stratify=stratify,
            early_stopping=early_stopping, n_iter_no_change=n_iter_no_change, tol=tol,
            callbacks=callbacks, verbose=verbose, progress_bar=progress_bar,
            random_state=random_state, device=device, n_threads=n_threads,
            warm_start=warm_start, on_divergence=on_divergence,
        )
        self.modalities = modalities
        self.encoders = encoders
        self.fusion = fusion
        self.fusion_weights = fusion_weights
        self.learn_fusion_weights = learn_fusion_weights
        self.encoder_dim = encoder_dim
        self.fusion_dim = fusion_dim
        self.modality_dropout = modality_dropout
        self.text_max_features = text_max_features
        self.text_ngram_range = text_ngram_range
        self.text_min_df = text_min_df
        self.text_max_len = text_max_len
        self.retrieval = retrieval

    # ------------------------------------------------------------------ retrieval
    def _retrieval_sources(self) -> list[str]:
        """The dense tabular modalities, whose joined columns the retrieval looks up."""
        return [
            m for m in self.modality_names_
            if self.modalities_[m].kind == "tabular" and not self.modalities_[m].sparse_
        ]

    def _make_retrieval(self, X_data) -> NeighbourTargets | None:
        sources = self._retrieval_sources()
        width = sum(self.modalities_[m].n_features_ for m in sources)
        return make_retrieval(self.retrieval, (_n_rows(X_data), width), False, False)

    def _retrieval_rows(self, X_data) -> np.ndarray:
        # Standardized by their modality; a row without the modality reads zeros (the
        # training mean) and its retrieval features are marked missing with it.
        return np.hstack([_host(X_data[m][0]) for m in self._retrieval_sources()])

    def _with_retrieval(self, X_data: dict, columns: np.ndarray) -> dict:
        masks = [X_data[m][1] for m in self._retrieval_sources()]
        masks = [mask for mask in masks if mask is not None]
        present = None
        if masks:
            present = masks[0]
            for mask in masks[1:]:
                present = present & mask
        values = torch.from_numpy(columns).to(_tensor_device(X_data))
        return {**X_data, RETRIEVAL_MODALITY: (values, present)}

    # ------------------------------------------------------------------ parameters
    def _check_fusion_params(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion={self.fusion!r} is not known; use one of {list(FUSIONS)}.")
        for name in ("encoder_dim", "fusion_dim", "text_max_features", "text_min_df",
                     "text_max_len"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        md = self.modality_dropout
        if not (isinstance(md, numbers.Real) and 0 <= md < 1):
            raise ValueError(f"modality_dropout must be in [0, 1), got {md!r}.")
        if self.encoders is not None and not isinstance(self.encoders, Mapping):
            raise TypeError(f"encoders must be a dict modality -> encoder, got {self.encoders!r}.")
        if self.fusion_weights is not None and not isinstance(self.fusion_weights, Mapping):
            raise TypeError(
                f"fusion_weights must be a dict modality -> weight, got {self.fusion_weights!r}."
            )

    def _resolve_fusion_weights(self, names: list[str]) -> dict[str, float]:
        given = dict(self.fusion_weights or {})
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(
                f"fusion_weights has key(s) {unknown} that are not modalities; the modalities "
                f"are {names}."
            )
        weights = {}
        for m in names:
            w = given.get(m, 1.0)
            if not isinstance(w, numbers.Real) or not math.isfinite(w) or w < 0:
                raise ValueError(f"fusion_weights[{m!r}] must be a finite number >= 0, got {w!r}.")
            if w > MAX_WEIGHT:
                raise ValueError(
                    f"fusion_weights[{m!r}]={w!r} is larger than {MAX_WEIGHT:g}: it scales "
                    "float32 embeddings, which would overflow."
                )
            weights[m] = float(w)
        if not any(weights.values()):
            raise ValueError("fusion_weights are all zero: no modality would be used.")
        return weights

    # ------------------------------------------------------------------ input
    def _is_single_table(self, X) -> bool:
        """Whether ``X`` is one numeric table, validated the scikit-learn way.

        Everything that is not a dict, a mapped DataFrame, free text (1-D strings), string
        categories (2-D strings) or images (4-D) goes through ``validate_data``, which also
        gives scikit-learn's messages for 1-D or 3-D numeric input.
        """
        if sp.issparse(X):  # before Mapping: a dok_matrix is a dict
            return self.modalities is None
        if self.modalities is not None or isinstance(X, Mapping):
            return False
        if isinstance(X, pd.DataFrame):
            return all(pd.api.types.is_numeric_dtype(t) for t in X.dtypes)
        if isinstance(X, pd.Series):
            return pd.api.types.is_numeric_dtype(X.dtype)
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):  # let validate_data report it
            return True
        if arr.ndim == 4 or arr.dtype.kind in "US":
            return False
        if arr.dtype.kind == "O":
            try:
                arr.astype(np.float64)
            except ValueError:  # strings: text (1-D) or categories (2-D)
                return arr.ndim not in (1, 2)
            except TypeError:  # e.g. a dict in a cell: validate_data says so
                return True
        return True

    def _input_data(self, X, reset: bool):
        if reset:
            self._check_fusion_params()
        else:
            check_is_fitted(self)
        if self._is_single_table(X):
            # The 2-D single-modality form: scikit-learn's own validation and messages.
            values = self._validate_X(X, reset=reset)
            if reset:
                converter = make_modality("X", values, None, {}).fit(values)
                self.modalities_ = {"X": converter}
                self.modality_names_ = ["X"]
            return {"X": self.modalities_["X"].transform(values)}
        blocks = split_modalities(X, self.modalities)
        if reset:
            self.__dict__.pop("feature_names_in_", None)  # left by an earlier 2-D fit
            return self._fit_modalities(blocks)
        return self._transform_modalities(blocks)

    def _text_params(self) -> dict:
        return dict(max_features=self.text_max_features, ngram_range=self.text_ngram_range,
                    min_df=self.text_min_df, max_len=self.text_max_len)

    def _fit_modalities(self, blocks: dict) -> dict:
        encoders = dict(self.encoders or {})
        unknown = sorted(set(encoders) - set(blocks))
        if unknown:
            raise ValueError(
                f"encoders has key(s) {unknown} that are not modalities of X; the modalities "
                f"are {list(blocks)}."
            )
        self._check_rows(blocks)
        if RETRIEVAL_MODALITY in blocks:
            raise ValueError(
                f"The modality name {RETRIEVAL_MODALITY!r} is reserved for the retrieval "
                "features; rename that modality."
            )
        converters = {}
        for m, block in blocks.items():
            spec = encoders.get(m)
            converter = make_modality(m, block, spec, self._text_params())
            if isinstance(spec, str) and spec not in ENCODERS[converter.kind]:
                raise ValueError(
                    f"Modality {m!r} is {converter.kind}; encoders[{m!r}]={spec!r} does not "
                    f"fit it (use one of {list(ENCODERS[converter.kind])} or an nn.Module)."
                )
            if spec is not None and not isinstance(spec, (str, nn.Module)):
                raise TypeError(
                    f"encoders[{m!r}] must be a name or an nn.Module, got {type(spec).__name__}."
                )
            converters[m] = converter.fit(block)
            if converter.n_features_ < 1:
                shape = getattr(converter, "shape_", None)
                raise ValueError(
                    f"Modality {m!r} has no "
                    + (f"pixels or channels (images of shape {shape})" if shape is not None
                       else "columns")
                    + "; drop it from X or give it data."
                )
        self.modalities_ = converters
        self.modality_names_ = list(converters)
        self.n_features_in_ = {m: c.n_features_ for m, c in converters.items()}
        self._resolve_fusion_weights(self.modality_names_)
        return {m: converters[m].transform(block) for m, block in blocks.items()}

    def _check_rows(self, blocks: dict) -> None:
        rows = {m: (b.shape[0] if hasattr(b, "shape") else len(b)) for m, b in blocks.items()}
        if len(set(rows.values())) > 1:
            raise ValueError(
                f"The modalities have different numbers of rows: {rows}; each row of X is one "
                "sample in every modality."
            )

    def _transform_modalities(self, blocks: dict) -> dict:
        unknown = sorted(set(blocks) - set(self.modality_names_))
        if unknown:
            raise ValueError(
                f"X has modality(ies) {unknown} that the model was not fitted on; its "
                f"modalities are {self.modality_names_}."
            )
        self._check_rows(blocks)
        n = next(iter(blocks.values()))
        n = n.shape[0] if hasattr(n, "shape") else len(n)
        out = {}
        for m in self.modality_names_:
            if m in blocks:
                out[m] = self.modalities_[m].transform(blocks[m])
            elif self.modality_dropout > 0:
                out[m] = self.modalities_[m].absent(n)
            else:
                raise ValueError(
                    f"Modality {m!r} is absent from X. A model predicts without a whole "
                    "modality only when trained for it: fit with modality_dropout > 0."
                )
        return out

    # ------------------------------------------------------------------ the network
    def _encoder(self, m: str, converter, spec, dim: int, early: bool) -> nn.Module:
        if isinstance(spec, nn.Module):
            encoder = copy.deepcopy(spec)
            if not isinstance(getattr(encoder, "out_features", None), int):
                encoder.out_features = self._dry_run_width(m, encoder, converter)
            return encoder
        kind, n = converter.kind, converter.n_features_
        name = spec or {"tabular": "mlp", "text": getattr(converter, "encoder", "tfidf"),
                        "categorical": "embedding", "image": "cnn"}[kind]
        if kind == "categorical":
            return CategoricalEncoder(converter.cardinalities_, dim)
        if name == "bag":
            return TokenBagEncoder(n, dim)
        if name == "gru":
            return GRUTextEncoder(n, dim)
        sparse = kind == "text" or getattr(converter, "sparse_", False)
        if early or name == "linear":
            return LinearEncoder(n, dim, sparse_grad=sparse)
        if name == "cnn":
            return CNNEncoder(converter.shape_[0], dim)
        return SparseMLPEncoder(n, (dim,), dropout=self.dropout, sparse_grad=sparse)

    def _dry_run_width(self, m, encoder, converter) -> int:
        data, _ = converter.absent(2)
        if sp.issparse(data):
            data = SparseRows.from_csr(data)
        encoder.eval()
        try:
            with torch.no_grad():
                out = encoder(data)
        except Exception as exc:
            raise ValueError(
                f"The encoder of modality {m!r} ({type(encoder).__name__}) failed on a batch "
                f"of that modality: {exc}"
            ) from exc
        finally:
            encoder.train()
        if not isinstance(out, torch.Tensor) or out.ndim != 2:
            raise ValueError(
                f"The encoder of modality {m!r} must return a 2-D tensor (n, width), got "
                f"{getattr(out, 'shape', type(out))}."
            )
        return int(out.shape[1])

    def _build_module(self, tasks: dict[str, Task], n_conditions: int = 0) -> nn.Module:
        if n_conditions:
            raise ValueError(
                "weighting__conditioning='input' appends the task weights to one input table; "
                "a FusionNet has modalities: use weighting__conditioning='film'."
            )
        names = list(self.modality_names_)
        specs = dict(self.encoders or {})
        early = self.fusion == "early"
        dim = self.fusion_dim if early else self.encoder_dim
        encoders = {
            m: self._encoder(m, self.modalities_[m], specs.get(m), dim, early) for m in names
        }
        weights = self._resolve_fusion_weights(names)
        if self.retrieval_ is not None:
            # The neighbours' labels are a modality of their own, with its own MLP encoder.
            n = self.retrieval_.n_features_out_
            encoders[RETRIEVAL_MODALITY] = (
                LinearEncoder(n, dim) if early
                else SparseMLPEncoder(n, (dim,), dropout=self.dropout)
            )
            weights[RETRIEVAL_MODALITY] = 1.0
            names.append(RETRIEVAL_MODALITY)
        in_dims = {m: e.out_features for m, e in encoders.items()}
        head_sizes = {n: t.n_outputs_ for n, t in tasks.items()}
        if self.fusion == "late":
            if self.trunk is not None:
                raise ValueError(
                    "fusion='late' gives each modality its own MLP (hidden_dims); a custom "
                    "trunk= is not supported with it."
                )
            mlps = {m: self._make_trunk(in_dims[m], list(tasks))[0] for m in names}
            trunk = FusionTrunk(encoders, None, mlps, self.modality_dropout)
            return LateFusionModule(trunk, head_sizes, weights, self.learn_fusion_weights)
        fusion = FUSION_LAYERS[self.fusion](
            in_dims, self.fusion_dim, weights, self.learn_fusion_weights
        )
        mlp, _ = self._make_trunk(fusion.out_features, list(tasks))
        trunk = FusionTrunk(encoders, fusion, _with_width(mlp, fusion.out_features),
                            self.modality_dropout)
        return MultiTaskModule(trunk, trunk.out_features, head_sizes)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.dict = True
        return tags


def _tensor_device(X_data: dict) -> torch.device:
    for values, _ in X_data.values():
        if isinstance(values, torch.Tensor):
            return values.device
    return torch.device("cpu")


def _with_width(module: nn.Module, in_features: int) -> nn.Module:
    if not isinstance(getattr(module, "out_features", None), int):
        module.out_features = infer_out_features(module, in_features)
    return module


_FUSION_EXAMPLE = """
    Examples
    --------
    >>> import numpy as np
    >>> from sk_mtl import {cls}
    >>> rng = np.random.RandomState(0)
    >>> words = np.array(["good", "great", "bad", "awful"])
    >>> label = rng.randint(0, 2, size=120)
    >>> text = np.array([" ".join(rng.choice(words[2 * (1 - y):2 * (1 - y) + 2], 3))
    ...                  for y in label], dtype=object)
    >>> X = {{"text": text, "tab": rng.normal(size=(120, 3))}}
    >>> net = {cls}(max_epochs=15, lr=0.01, random_state=0){fit}
    >>> {check}
    True
"""


class FusionNet(FusionMixin, MultiTaskNet):
    __doc__ = _fusion_doc(
        """Multimodal multi-task network: one encoder per modality, a fusion, shared MLP, heads.

    ``X`` holds several modalities (tables, text, categories, images) as a dict or a
    DataFrame with ``modalities=``; ``y`` is one or several targets of any kind, as for
    :class:`MultiTaskNet` (missing labels, task weights, per-task history and scorers). A row
    may lack a modality (NaN or empty text, an all-NaN table row): that modality's learned
    "missing" embedding stands in for its encoder output.
""",
        " as :class:`MultiTaskNet` does",
        _CLASSES_DOC.format(none=" (``None`` for regression)"),
        _FUSION_EXAMPLE.format(
            cls="FusionNet", fit=".fit(X, label)",
            check='bool(net.score(X, label) > 0.9) and net.modalities_["text"].kind == "text"',
        ),
    )


class FusionNetClassifier(ClassificationTasksMixin, ClassifierMixin, FusionMixin, MultiTaskNet):
    __doc__ = _fusion_doc(
        """Multimodal multi-task classifier: one encoder per modality, a fusion, one head per task.

    As :class:`FusionNet` with classification tasks only; with a 1-D ``y`` it behaves as any
    scikit-learn classifier.
""",
        ": two classes are binary, more are multiclass, label lists are multilabel",
        _CLASSES_DOC.format(none=""),
        _FUSION_EXAMPLE.format(
            cls="FusionNetClassifier", fit=".fit(X, label)",
            check="bool((net.predict(X) == label).mean() > 0.9)",
        ),
    )


class FusionNetRegressor(RegressionTasksMixin, RegressorMixin, FusionMixin, BaseMultiTaskNet):
    __doc__ = _fusion_doc(
        """Multimodal multi-task regressor: one encoder per modality, a fusion, a head per target.

    As :class:`FusionNet` with regression tasks only; with a 1-D ``y`` it behaves as any
    scikit-learn regressor.
""",
        ': every task is ``"regression"``',
        "",
        _FUSION_EXAMPLE.format(
            cls="FusionNetRegressor", fit=".fit(X, label * 2.0)",
            check="bool(net.score(X, label * 2.0) > 0.8)",
        ),
    )
