"""The helpers that several classes now share keep each class's behaviour and messages:
Modality._check_width (tabular, text and categorical blocks of another width),
_TokenEncoder.build (TokenBag, GRU) and _LearnedWeights.layer (Attention, Gated)."""

import re

import numpy as np
import pandas as pd
import pytest

from sk_mtl.data import CategoricalModality, TabularModality, TextModality
from sk_mtl.encoders import GRU, TokenBag
from sk_mtl.fusion import Attention, Gated
from sk_mtl.modules import AttentionFusion, GatedFusion, GRUTextEncoder, TokenBagEncoder

TEXT = pd.DataFrame({"a": ["good day", "bad day", "fine day"],
                     "b": ["nice shirt", "red shirt", "blue shirt"]})


@pytest.mark.parametrize(("modality", "fit", "other", "message"), [
    (TabularModality("t"), np.ones((4, 2)), np.ones((4, 3)),
     "Modality 't' has 3 features, but the model was fitted with 2."),
    (CategoricalModality("c"), np.array([["a", "b"]] * 4, dtype=object),
     np.array([["a", "b", "c"]] * 4, dtype=object),
     "Modality 'c' has 3 columns, but the model was fitted with 2."),
    # Several text columns come as a DataFrame, read by name: a narrower one lacks a column.
    (TextModality("x", min_df=1), TEXT, TEXT[["a"]],
     "Modality 'x' lacks column(s) ['b']; columns are matched by name, in any order, and "
     "must be those of the fit: ['a', 'b']."),
])
def test_block_of_another_width_is_refused_with_its_message(modality, fit, other, message):
    modality.fit(fit)
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        modality.transform(other)


def test_token_encoders_build_their_torch_encoder():
    modality = TextModality("x", form="tokens", min_df=1, max_len=4).fit(TEXT["a"].to_numpy())
    for spec, module in [(TokenBag(), TokenBagEncoder), (GRU(), GRUTextEncoder)]:
        built = spec.build(modality, width=5)
        assert type(built) is module
        assert built.out_features == 5


def test_learned_weight_fusions_build_their_layer_and_refuse_fusion_weights():
    for spec, layer in [(Attention(), AttentionFusion), (Gated(), GatedFusion)]:
        assert spec.reads_weights is False
        built = spec.layer({"a": 3, "b": 4}, 6, weights={"a": 1.0, "b": 1.0},
                           learn_weights=False)
        assert type(built) is layer
        assert built.out_features == 6
