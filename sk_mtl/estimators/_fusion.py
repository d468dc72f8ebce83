"""FusionNet, FusionNetClassifier and FusionNetRegressor: one encoder per modality."""

from __future__ import annotations

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

from ..data import NeighbourTargets, plan_modalities, split_modalities
from ..encoders import MLP, make_encoder, plan_modality
from ..fusion import FUSIONS, make_fusion
from ..modules import (
    FusionTrunk,
    ModalityAligner,
    ModalityWeights,
    WidePath,
    infer_out_features,
)
from ..tasks import Task
from ..weighting import GradientWeighting, make_weighting
from ._base import MAX_WEIGHT, BaseMultiTaskNet, _host, _n_rows
from ._multitask import (
    _ATTRIBUTES,
    _CLASSES_DOC,
    _NOTES,
    _PARAMETERS,
    ClassificationTasksMixin,
    MultiTaskNet,
    RegressionTasksMixin,
    make_retrieval,
)
from ._training import torch_threads

__all__ = ["FUSIONS", "FusionNet", "FusionNetClassifier", "FusionNetRegressor"]

#: The network's name for the retrieval features, read as one more modality.
RETRIEVAL_MODALITY = "_neighbours"

_FUSION_PARAMETERS = """
    modalities : dict of str to (str or list of str), default=None
        For a DataFrame ``X``: the columns of each modality, by name, list of names, or
        shell-style pattern (``"num__*"`` selects a ``ColumnTransformer``'s ``num`` output).
        Every column must belong to a modality. ``None`` when ``X`` is a dict (or
        ``skorch.helper.SliceDict``) keyed by modality, or a single block; for a DataFrame
        with text or string columns, ``None`` groups its columns by kind into ``"text"``,
        ``"categorical"`` and ``"numeric"`` modalities (see ``modality_plan_``).
    encoders : dict of str to (str, Encoder or nn.Module), default=None
        Encoder of each modality: a name in ``sk_mtl.encoders.ENCODERS``, an
        ``sk_mtl.encoders`` specification (its parameters searchable as
        ``encoders__<modality>__<param>``), or any ``nn.Module`` taking that modality's batch
        (deep-copied at fit). By default it is chosen from the data: ``"mlp"`` for numeric
        tables (dense ones standardized; scipy sparse ones read by a sparse first layer),
        ``"tfidf"`` for text (a TF-IDF vocabulary of word n-grams fitted on the training
        text, read as a TF-IDF-weighted sum of n-gram embeddings), ``"embedding"`` for string
        categories (integer columns among them count as codes; an all-integer block is a
        table unless given ``"embedding"``), ``"cnn"`` for ``(n, C, H, W)`` images. String
        columns are text when they hold free text (two or more words per value on average,
        or mostly distinct values), categories otherwise. Also ``"bag"`` (mean of token
        embeddings) and ``"gru"`` (bidirectional GRU) for text, ``"sentence"`` (a frozen
        pretrained sentence-transformers model; the ``text`` extra), ``"linear"`` for
        tables and images. The fitted choice is in ``encoders_``.
    fusion : str or Fusion, default="concat"
        How modalities are joined, a name in ``sk_mtl.fusion.FUSIONS`` or an
        ``sk_mtl.fusion`` specification (parameters searchable as ``fusion__<param>``):
        ``"early"`` sums linear projections of the raw inputs (one linear layer over the
        joined tables, TF-IDF text and pixels; categories, ``"bag"`` and ``"gru"`` text keep
        their embedding encoders) before the shared MLP; ``"concat"`` concatenates the
        encoder outputs; ``"weighted_sum"`` is ``sum_m w_m proj_m(h_m)``; ``"attention"``
        weighs the projected embeddings by learned attention per row; ``"gated"`` is a
        gated multimodal unit; ``"late"`` gives each modality its own MLP and heads and
        averages their outputs with ``fusion_weights``.
    fusion_weights : dict of str to float, default=None
        ``w_m`` of each modality (1.0 when left out; 0 drops a modality):
        ``"concat"`` scales each embedding by it, ``"early"`` and ``"weighted_sum"`` sum the
        projections with it, ``"late"`` averages the outputs with it.
        ``"attention"`` and ``"gated"`` learn their own weights per row and refuse weights
        other than 1. ``set_params(fusion_weights__<modality>=w)`` changes one.
    learn_fusion_weights : bool, default=False
        Train the fusion weights (starting from ``fusion_weights``) with the network; for
        the fusions that read them.
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
        otherwise; ``None`` turns it off; without a dense table there are none.
    alignment_weight : float, default=0.0
        Weight of an auxiliary alignment loss: each modality's encoder output is projected
        (linearly, to ``fusion_dim``) into a shared space, and the symmetric InfoNCE loss
        between every pair of modalities (the CLIP objective: a row's two views must pick
        each other among the batch's rows, temperature 0.1) on the rows that have both is
        added to the training objective, times this weight. Logged per epoch as
        ``train_alignment`` and ``valid_alignment``; ``valid_loss`` stays the sum of the
        task losses. 0 turns it off."""

_FUSION_ATTRIBUTES = """
    modalities_ : dict of str to Modality
        Fitted converter of each modality (kind, vocabulary, category codes, widths).
    modality_names_ : list of str
        Modality names in the order the network reads them.
    encoders_ : dict of str to Encoder
        The encoder specification of each modality, given or chosen from its data.
    modality_plan_ : DataFrame
        After a fit on a DataFrame: each column's modality, kind and encoder. Without
        ``modalities=`` the columns are grouped by kind: ``"text"`` (free text: two or more
        words per value on average, or mostly distinct values), ``"categorical"`` (pandas
        categories, other strings) and ``"numeric"`` (numbers, booleans, datetimes; NaN
        imputed with missing indicators); later data is read with the same plan.
    fusion_weights_ : dict of str to float
        The fusion weight of each modality in effect after fit (with ``"_neighbours"`` for
        the retrieval features): the fixed or learned ``w_m``; for ``"attention"`` and
        ``"gated"``, which weigh per row, the mean weight over the training rows."""


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
    notes = "\n" + _NOTES.rstrip()
    return summary + params + attributes + _FUSION_ATTRIBUTES + notes + "\n" + examples


class FusionMixin:
    """Input handling and module building of the fusion estimators."""

    _dict_params = (
        "task_weights", "class_weight", "optimizer_params", "fusion_weights", "encoders"
    )
    _named_specs = {**BaseMultiTaskNet._named_specs, "fusion": make_fusion}
    _spec_dicts = {"encoders": make_encoder}

    def _cross_fitted(self) -> bool:
        # The fusion estimators have no cross-fitted ensemble (MultiTaskNet's cross_fit).
        return False

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
        alignment_weight=0.0,
        tasks=None,
        task_weights=None,
        auxiliary_tasks=None,
        class_weight=None,
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
        progress_bar="auto",
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
            class_weight=class_weight,
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
        self.alignment_weight = alignment_weight

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
        make_fusion(self.fusion)
        for name in ("encoder_dim", "fusion_dim", "text_max_features", "text_min_df",
                     "text_max_len"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        md = self.modality_dropout
        if not (isinstance(md, numbers.Real) and 0 <= md < 1):
            raise ValueError(f"modality_dropout must be in [0, 1), got {md!r}.")
        aw = self.alignment_weight
        if (not isinstance(aw, numbers.Real) or isinstance(aw, bool) or not math.isfinite(aw)
                or not 0 <= aw <= MAX_WEIGHT):
            raise ValueError(
                f"alignment_weight must be a finite number in [0, {MAX_WEIGHT:g}], got {aw!r}."
            )
        if aw > 0 and isinstance(make_weighting(self.weighting), GradientWeighting):
            raise ValueError(
                f"alignment_weight > 0 adds a loss outside the tasks, which a gradient-level "
                f"weighting (weighting={self.weighting!r}) does not aggregate; use a "
                "loss-level weighting (static, uncertainty, dwa, gradnorm) with it."
            )
        if self.encoders is not None and not isinstance(self.encoders, Mapping):
            raise TypeError(f"encoders must be a dict modality -> encoder, got {self.encoders!r}.")
        if self.fusion_weights is not None and not isinstance(self.fusion_weights, Mapping):
            raise TypeError(
                f"fusion_weights must be a dict modality -> weight, got {self.fusion_weights!r}."
            )

    def _resolve_fusion_weights(self, names: list[str]) -> dict[str, float]:
        """The fusion weight of every modality, checked once per fit; a fusion that does not
        read them refuses weights other than 1 and ``learn_fusion_weights``."""
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
        if not make_fusion(self.fusion).reads_weights:
            fixed = {m: w for m, w in weights.items() if w != 1.0}
            if fixed or self.learn_fusion_weights:
                what = f"fusion_weights {fixed}" if fixed else "learn_fusion_weights=True"
                raise ValueError(
                    f"fusion={self.fusion!r} learns its own weights per row and does not read "
                    f"fusion weights, so {what} would be ignored. Use a fusion that reads "
                    f"them ({sorted(n for n, c in FUSIONS.items() if c.reads_weights)}), or "
                    "leave them out."
                )
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
            # The 2-D single-modality form: scikit-learn's own validation and messages; NaN
            # is imputed by the tabular modality.
            values = self._validate_X(X, reset=reset, allow_nan=True)
            if reset:
                self.__dict__.pop("_modality_plan", None)
                return self._fit_modalities({"X": values}, single=True)
            return {"X": self.modalities_["X"].transform(values)}
        mapping = self.modalities
        if isinstance(X, pd.DataFrame) and mapping is None:
            # A raw DataFrame: its columns grouped by kind at fit, that plan used after.
            mapping = plan_modalities(X) if reset else self._fitted_mapping(X)
        blocks = split_modalities(X, mapping)
        if not reset:
            return self._transform_modalities(blocks)
        self.__dict__.pop("feature_names_in_", None)  # left by an earlier 2-D fit
        self.__dict__.pop("_modality_plan", None)
        data = self._fit_modalities(blocks)
        if isinstance(X, pd.DataFrame):
            # Plain tuples, so that a model file holds them; modality_plan_ shows a table.
            self._modality_plan = [
                (str(c), m, self.modalities_[m].kind, type(self.encoders_[m]).__name__)
                for m, block in blocks.items()
                for c in (block.columns if isinstance(block, pd.DataFrame) else [block.name])
            ]
        return data

    @property
    def modality_plan_(self) -> pd.DataFrame:
        """Each column of the DataFrame ``X`` was fitted on: its modality, kind and encoder
        (inferred when ``modalities=None``)."""
        plan = self.__dict__.get("_modality_plan")
        if plan is None:
            raise AttributeError(
                "modality_plan_ is set by a fit on a DataFrame with several modalities."
            )
        return pd.DataFrame(plan, columns=["column", "modality", "kind", "encoder"]).set_index(
            "column")

    def _fitted_mapping(self, X) -> dict:
        plan = self.modality_plan_ if "_modality_plan" in self.__dict__ else None
        if plan is None:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.modality_names_} without a "
                "DataFrame; predict with the same form of X."
            )
        missing = [c for c in plan.index if c not in {str(c) for c in X.columns}]
        extra = [str(c) for c in X.columns if str(c) not in plan.index]
        if extra:
            raise ValueError(
                f"X has column(s) {extra[:10]} that the model was not fitted on; its columns "
                f"are {list(plan.index)[:20]}."
            )
        present = plan.drop(index=missing)
        if missing and self.modality_dropout == 0:
            raise ValueError(
                f"X lacks column(s) {missing[:10]} the model was fitted on. A model predicts "
                "without a whole modality only when trained for it: fit with "
                "modality_dropout > 0."
            )
        full = plan.groupby("modality", sort=False).size()
        kept = present.groupby("modality", sort=False).size()
        partial = [m for m in kept.index if kept[m] != full[m]]
        if partial:
            raise ValueError(
                f"X lacks some but not all columns of modality(ies) {partial}: missing "
                f"{missing[:10]}."
            )
        return {m: list(cols.index) for m, cols in present.groupby("modality", sort=False)}

    def _modality_defaults(self) -> dict:
        """What encoders leave to the estimator: the ``text_*`` settings and the device."""
        return dict(max_features=self.text_max_features, ngram_range=self.text_ngram_range,
                    min_df=self.text_min_df, max_len=self.text_max_len, device=self.device)

    def _fit_modalities(self, blocks: dict, single: bool = False) -> dict:
        """Fit each modality's converter and choose its encoder (``single``: ``X`` was one
        2-D block, whose ``n_features_in_`` validation has set)."""
        given = dict(self.encoders or {})
        unknown = sorted(set(given) - set(blocks))
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
        defaults = self._modality_defaults()
        converters, encoders = {}, {}
        for m, block in blocks.items():
            spec = make_encoder(given[m], m) if m in given else None
            encoders[m], converter = plan_modality(m, block, spec, defaults)
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
        self.encoders_ = encoders
        if not single:
            self.n_features_in_ = {m: c.n_features_ for m, c in converters.items()}
        self.fusion_weights_ = self._resolve_fusion_weights(self.modality_names_)
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
    def _build_module(self, tasks: dict[str, Task], n_conditions: int = 0) -> nn.Module:
        if n_conditions:
            raise ValueError(
                "weighting__conditioning='input' appends the task weights to one input table; "
                "a FusionNet has modalities: use weighting__conditioning='film'."
            )
        fusion = make_fusion(self.fusion)
        if fusion.mlp_per_modality and self.trunk is not None:
            raise ValueError(
                f"fusion={self.fusion!r} gives each modality its own MLP (hidden_dims); a "
                "custom trunk= is not supported with it."
            )
        width = fusion.encoder_width(self.encoder_dim, self.fusion_dim)
        linear = fusion.linear_encoders
        encoders = {
            m: self.encoders_[m].build(self.modalities_[m], width, self.dropout, linear)
            for m in self.modality_names_
        }
        if self.retrieval_ is not None:
            # The neighbours' labels are a modality of their own, with its own MLP encoder.
            neighbours = _Width(self.retrieval_.n_features_out_)
            encoders[RETRIEVAL_MODALITY] = MLP().build(neighbours, width, self.dropout, linear)
        weights = {m: self.fusion_weights_.get(m, 1.0) for m in encoders}
        head_sizes = {n: t.n_outputs_ for n, t in tasks.items()}
        # Wide paths of the modalities in use (a zero fusion weight drops a modality).
        wide = {m: self.encoders_[m].wide_features(self.modalities_[m])
                for m in self.modality_names_ if weights[m] > 0}
        wide = {m: w for m, w in wide.items() if w is not None}

        def make_mlp(n_features: int) -> nn.Module:
            mlp, _ = self._make_trunk(n_features, list(tasks))
            return _with_width(mlp, n_features)

        aligner = None
        if self.alignment_weight > 0:
            if len(self.modality_names_) < 2:
                raise ValueError(
                    f"alignment_weight={self.alignment_weight} aligns modalities with each "
                    f"other; X has one ({self.modality_names_}). Set alignment_weight=0."
                )
            aligner = ModalityAligner(
                {m: encoders[m].out_features for m in self.modality_names_}, self.fusion_dim
            )
        return fusion.build(
            encoders, head_sizes, make_mlp, aligner=aligner,
            weights=weights, learn_weights=self.learn_fusion_weights,
            fusion_dim=self.fusion_dim, modality_dropout=self.modality_dropout,
            wide=WidePath(
                {m: n for m, (n, _) in wide.items()}, sum(head_sizes.values()),
                {m: lr for m, (_, lr) in wide.items()},
            ) if wide else None,
        )

    def _after_training(self, data=None):
        self.fusion_weights_ = self._weights_in_effect(data)
        return super()._after_training(data)

    def _weights_in_effect(self, data) -> dict[str, float]:
        """The fixed or learned fusion weights; for a fusion that weighs each row (attention,
        gates), its mean weights over the training rows of ``data``."""
        module = self.net_.module_
        trunk = next(m for m in module.modules() if isinstance(m, FusionTrunk))
        held = [m for m in module.modules() if isinstance(m, ModalityWeights)]
        if held:
            values = held[0].weights.detach().cpu().tolist()
            return dict(zip(held[0].names, map(float, values)))
        if data is None or not hasattr(trunk.fusion, "row_weights"):
            return dict(self.fusion_weights_)
        total, n = torch.zeros(len(trunk.names)), 0
        was_training = module.training
        module.eval()
        try:
            with torch.no_grad(), torch_threads(self.n_threads):
                for batch, _ in self.net_.get_iterator(data):
                    rows = trunk.fusion.row_weights(trunk.embed(batch))
                    total += rows.sum(0).cpu()
                    n += len(rows)
        finally:
            module.train(was_training)
        return dict(zip(trunk.names, (total / max(n, 1)).tolist()))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.dict = True
        tags.input_tags.allow_nan = True  # imputed, with missing indicators
        return tags


def _tensor_device(X_data: dict) -> torch.device:
    for values, _ in X_data.values():
        if isinstance(values, torch.Tensor):
            return values.device
    return torch.device("cpu")


class _Width:
    """Stands in for a fitted modality where an encoder needs only its width."""

    def __init__(self, n_features: int) -> None:
        self.n_features_ = n_features


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
