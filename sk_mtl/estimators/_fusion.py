"""FusionNet, FusionNetClassifier and FusionNetRegressor: one encoder per modality."""

from __future__ import annotations

import pandas as pd
from sklearn.base import ClassifierMixin, RegressorMixin

from ..encoders import make_encoder
from ..fusion import FUSIONS, make_fusion, make_fusion_conditioning
from ._base import BaseMultiTaskNet
from ._docs import FUSION_PARAMETERS, FUSION_TEXT, PARAMETERS, parameters_doc
from ._modality_input import RETRIEVAL_MODALITY, ModalityInput
from ._multitask import (
    _ATTRIBUTES,
    _CLASSES_DOC,
    _NOTES,
    ClassificationTasksMixin,
    MixedTasksMixin,
    RegressionTasksMixin,
)
from ._params import FUSION, declare_init

__all__ = ["FUSIONS", "RETRIEVAL_MODALITY", "FusionNet", "FusionNetClassifier",
           "FusionNetRegressor"]


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
        ``"gated"``, which weigh per row, the mean weight over the training rows; with
        ``fusion_conditioning``, the weights validation read (``fusion_weights`` at fit),
        while ``predict`` reads ``fusion_weights`` as set now.
    fusion_ : Fusion
        The fusion specification the network was built with (``fusion``, made from its
        name if it is one).
    initial_fusion_weights_ : dict of str to float
        The fusion weight of each modality the network started from: ``fusion_weights``
        checked and completed with 1.0 (the learned ones start there with
        ``learn_fusion_weights=True``)."""


def _fusion_doc(summary: str, infer: str, classes: str, examples: str) -> str:
    params = parameters_doc(FUSION, {**PARAMETERS, **FUSION_PARAMETERS}, infer=infer,
                            **FUSION_TEXT)
    attributes = _ATTRIBUTES.format(classes=classes, n_features_in=_N_FEATURES_IN).rstrip()
    notes = "\n" + _NOTES.rstrip()
    return summary + params + attributes + _FUSION_ATTRIBUTES + notes + "\n" + examples


#: ``n_features_in_``'s entry for the multimodal estimators.
_N_FEATURES_IN = ("int or dict of str to int\n        Number of features seen during fit: an "
                  "int for a single 2-D block, else per modality.")


class _FusionNetBase(BaseMultiTaskNet):
    """The multimodal estimators: :class:`BaseMultiTaskNet`'s parameters (with defaults of
    their own) plus the modalities', encoders' and fusion's."""

    _input = ModalityInput()
    _dict_params = (
        "task_weights", "class_weight", "optimizer_params", "fusion_weights", "encoders"
    )
    _named_specs = {**BaseMultiTaskNet._named_specs, "fusion": make_fusion,
                    "fusion_conditioning": make_fusion_conditioning}
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

    A plain dict is enough for ``fit`` and ``predict``; scikit-learn's splitters
    (``GridSearchCV``, ``cross_validate``, ``train_test_split``) slice ``X`` by rows, which a
    dict cannot do (they report "inconsistent numbers of samples: [<n_modalities>,
    <n_rows>]"), so give them ``skorch.helper.SliceDict(**X)``, or a DataFrame.
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
    scikit-learn classifier. A dict ``X`` fits and predicts; ``GridSearchCV`` and
    ``cross_validate`` need it as ``skorch.helper.SliceDict(**X)``.
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
    scikit-learn regressor. A dict ``X`` fits and predicts; ``GridSearchCV`` and
    ``cross_validate`` need it as ``skorch.helper.SliceDict(**X)``.
""",
        ': every task is ``"regression"``',
        "",
        _FUSION_EXAMPLE.format(
            cls="FusionNetRegressor", fit=".fit(X, label * 2.0)",
            check="bool(net.score(X, label * 2.0) > 0.8)",
        ),
    )
