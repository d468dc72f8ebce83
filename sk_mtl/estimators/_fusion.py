"""FusionNet, FusionNetClassifier and FusionNetRegressor: one encoder per modality."""

from __future__ import annotations

import pandas as pd
from sklearn.base import ClassifierMixin, RegressorMixin

from ..encoders import make_encoder
from ..fusion import FUSIONS, make_fusion
from ._base import BaseMultiTaskNet
from ._modality_input import RETRIEVAL_MODALITY, ModalityInput
from ._params import FUSION, declare_init
from ._multitask import (
    _ATTRIBUTES,
    _CLASSES_DOC,
    _NOTES,
    _PARAMETERS,
    ClassificationTasksMixin,
    MixedTasksMixin,
    RegressionTasksMixin,
)

__all__ = ["FUSIONS", "RETRIEVAL_MODALITY", "FusionNet", "FusionNetClassifier",
           "FusionNetRegressor"]


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
        ``"gated"``, which weigh per row, the mean weight over the training rows.
    initial_fusion_weights_ : dict of str to float
        The fusion weight of each modality the network started from: ``fusion_weights``
        checked and completed with 1.0 (the learned ones start there with
        ``learn_fusion_weights=True``)."""


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


class _FusionNetBase(BaseMultiTaskNet):
    """The multimodal estimators: :class:`BaseMultiTaskNet`'s parameters (with defaults of
    their own) plus the modalities', encoders' and fusion's."""

    _input = ModalityInput()
    _dict_params = (
        "task_weights", "class_weight", "optimizer_params", "fusion_weights", "encoders"
    )
    _named_specs = {**BaseMultiTaskNet._named_specs, "fusion": make_fusion}
    _spec_dicts = {"encoders": make_encoder}

    __init__ = declare_init(FUSION)

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.dict = True
        tags.input_tags.allow_nan = True  # imputed, with missing indicators
        return tags


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


class FusionNet(MixedTasksMixin, _FusionNetBase):
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


class FusionNetClassifier(ClassificationTasksMixin, ClassifierMixin, FusionNet):
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


class FusionNetRegressor(RegressionTasksMixin, RegressorMixin, _FusionNetBase):
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
