"""sk_mtl.fusion: the fusion specifications of ``fusion=`` (the table, make_fusion, the
networks each builds) and each fusion at work in a FusionNet.

(``estimators/test_fusion.py`` tests the FusionNet estimators; pytest needs distinct
basenames in the suite's folders, hence ``_specs``.)
"""

import numpy as np
import pytest
import torch
from _helpers import FUSION, multimodal
from sklearn.base import BaseEstimator, clone
from torch import nn

from sk_mtl import FusionNetClassifier
from sk_mtl.fusion import (
    FUSIONS,
    Attention,
    Concat,
    Early,
    Fusion,
    Gated,
    WeightedSum,
    make_fusion,
)
from sk_mtl.modules import MLPTrunk

N = 5
#: Encoder output widths of the two modalities of the unit tests.
WIDTHS = {"a": 3, "b": 4}
HEADS = {"price": 1, "grade": 3}


class _Encoder(nn.Module):
    """A linear encoder with the ``out_features`` every fusion reads."""

    def __init__(self, width):
        super().__init__()
        self.linear = nn.Linear(2, width)
        self.out_features = width

    def forward(self, x):
        return self.linear(x)


def _build(spec, weights=None, learn_weights=False, fusion_dim=6):
    """The network ``spec`` builds over two modalities, its encoders as wide as it asks
    (WIDTHS, or the projection width of early fusion); seeded."""
    spec = make_fusion(spec)
    torch.manual_seed(0)
    encoders = {m: _Encoder(spec.encoder_width(w, fusion_dim)) for m, w in WIDTHS.items()}
    return spec.build(
        encoders, HEADS, lambda width: MLPTrunk(width, (8,)),
        weights=weights or dict.fromkeys(WIDTHS, 1.0), learn_weights=learn_weights,
        fusion_dim=fusion_dim, modality_dropout=0.0,
    ).eval()


def _batch(seed=0):
    rng = torch.Generator().manual_seed(seed)
    return {m: (torch.randn(N, 2, generator=rng), None) for m in WIDTHS}


# ======================================================================== the table, make_fusion
def test_every_name_builds_its_class_with_the_defaults():
    assert set(FUSIONS) == {"attention", "concat", "early", "gated", "late", "weighted_sum"}
    for name, cls in FUSIONS.items():
        spec = make_fusion(name)
        assert type(spec) is cls and isinstance(spec, (Fusion, BaseEstimator))
        assert spec.get_params() == cls().get_params()
        assert make_fusion(name) is not spec


def test_a_spec_is_cloned_not_shared():
    spec = WeightedSum(dim=12)
    made = make_fusion(spec)
    assert made is not spec and repr(made) == "WeightedSum(dim=12)"
    made.set_params(dim=3)
    assert spec.dim == 12
    assert repr(clone(Gated(dim=2))) == "Gated(dim=2)"


def test_unknown_names_and_other_objects_are_refused():
    with pytest.raises(ValueError, match=r"fusion='sum' is not known; use one of \['attention'"):
        make_fusion("sum")
    with pytest.raises(TypeError, match=r"fusion must be .*got int"):
        make_fusion(1)


def test_what_each_fusion_asks_of_the_estimator():
    reads = {name for name, cls in FUSIONS.items() if cls.reads_weights}
    assert reads == {"concat", "early", "late", "weighted_sum"}  # the others learn their own
    assert [n for n, c in FUSIONS.items() if c.linear_encoders] == ["early"]
    assert [n for n, c in FUSIONS.items() if c.mlp_per_modality] == ["late"]
    # Early fusion projects the raw inputs to the fusion width; the others keep encoder_dim.
    assert Early().encoder_width(16, 8) == 8 and Early(dim=5).encoder_width(16, 8) == 5
    assert Concat().encoder_width(16, 8) == 16 and WeightedSum(dim=5).encoder_width(16, 8) == 16


# ======================================================================== the networks they build
@pytest.mark.parametrize("name", sorted(FUSIONS))
def test_each_fusion_builds_a_network_with_one_output_per_task(name):
    net = _build(name)
    with torch.no_grad():
        out = net(_batch())
    assert list(out) == list(HEADS)
    assert {t: tuple(o.shape) for t, o in out.items()} == {"price": (N, 1), "grade": (N, 3)}
    assert all(torch.isfinite(o).all() for o in out.values())
    # Seeded builds are the same network.
    with torch.no_grad():
        again = _build(name)(_batch())
    for task in HEADS:
        torch.testing.assert_close(again[task], out[task], rtol=0, atol=0)


@pytest.mark.parametrize(
    ("spec", "width"),
    [(Concat(), 7), (Early(), 6), (WeightedSum(), 6), (WeightedSum(dim=3), 3), (Attention(), 6),
     (Gated(dim=2), 2)],
    ids=repr,
)
def test_the_fusion_layer_width(spec, width):
    """Concat joins the encoder widths (3 + 4); the others project to ``dim``, by default
    the estimator's fusion_dim (6 here)."""
    assert _build(spec).trunk.fusion.out_features == width


def test_late_fusion_has_an_mlp_and_heads_per_modality():
    net = _build("late")
    assert net.trunk.fusion is None and len(net.trunk.mlps) == len(WIDTHS)
    assert [len(heads) for heads in net.heads] == [len(WIDTHS)] * len(HEADS)


@pytest.mark.parametrize("name", ["concat", "early", "weighted_sum", "late"])
def test_a_zero_weight_silences_a_modality_in_the_built_network(name):
    net = _build(name, weights={"a": 0.0, "b": 1.0})
    batch, other = _batch(0), _batch(1)
    changed_a = {"a": other["a"], "b": batch["b"]}
    with torch.no_grad():
        out, out_a = net(batch), net(changed_a)
        out_b = net({"a": batch["a"], "b": other["b"]})
    for task in HEADS:
        torch.testing.assert_close(out_a[task], out[task])
        assert not torch.allclose(out_b[task], out[task])


def test_learned_weights_are_parameters_and_fixed_ones_are_not():
    fixed = _build("weighted_sum", weights={"a": 2.0, "b": 1.0})
    learned = _build("weighted_sum", weights={"a": 2.0, "b": 1.0}, learn_weights=True)
    held = fixed.trunk.fusion.modality_weights
    assert held.weights.tolist() == [2.0, 1.0] and not held.weights.requires_grad
    assert learned.trunk.fusion.modality_weights.weights.requires_grad


@pytest.mark.parametrize("dim", [0, -2, 2.5, True])
def test_a_bad_dim_is_refused_when_the_network_is_built(dim):
    spec = WeightedSum(dim=dim)  # scikit-learn style: __init__ stores, the build checks
    with pytest.raises(ValueError, match=f"WeightedSum: dim must be a positive int, got {dim}"):
        _build(spec)


def test_the_base_spec_leaves_the_layer_to_subclasses():
    with pytest.raises(NotImplementedError):
        Fusion().layer(WIDTHS, 6, dict.fromkeys(WIDTHS, 1.0), False)


# ======================================================================== in a FusionNet
@pytest.mark.parametrize("fusion", FUSIONS)
def test_every_fusion_trains(fusion):
    X, y = multimodal()
    net = FusionNetClassifier(fusion=fusion, **FUSION).fit(X, y["label"])
    assert (net.predict(X) == y["label"]).mean() > 0.85, fusion


@pytest.mark.parametrize("fusion", ["concat", "early", "weighted_sum", "late"])
def test_a_zero_fusion_weight_removes_the_modality(fusion):
    X, y = multimodal()
    net = FusionNetClassifier(fusion=fusion, fusion_weights={"text": 0.0}, **FUSION)
    net.fit(X, y["label"])
    shuffled = {**X, "text": X["text"][::-1]}
    np.testing.assert_allclose(net.predict_proba(shuffled), net.predict_proba(X), atol=1e-6)
    assert net.fusion_weights_["text"] == 0.0


@pytest.mark.parametrize("fusion", ["attention", "gated"])
def test_fusions_that_weigh_rows_refuse_fusion_weights_and_report_their_mean(fusion):
    X, y = multimodal()
    with pytest.raises(ValueError, match=rf"fusion='{fusion}' learns its own weights.*"
                                         r"\{'text': 2.0\}.*concat"):
        FusionNetClassifier(fusion=fusion, fusion_weights={"text": 2.0}, **FUSION).fit(
            X, y["label"])
    with pytest.raises(ValueError, match="learn_fusion_weights=True would be ignored"):
        FusionNetClassifier(fusion=fusion, learn_fusion_weights=True, **FUSION).fit(
            X, y["label"])
    net = FusionNetClassifier(fusion=fusion, fusion_weights={"text": 1.0}, **FUSION)
    net.fit(X, y["label"])
    weights = net.fusion_weights_
    assert set(weights) == {"text", "tab", "cat"}
    assert abs(sum(weights.values()) - 1.0) < 1e-4 and min(weights.values()) > 0


def test_late_fusion_rejects_a_custom_trunk_and_trains_its_weights_under_pcgrad():
    X, y = multimodal()
    with pytest.raises(ValueError, match=r"fusion='late'.*trunk"):
        FusionNetClassifier(fusion="late", trunk="mmoe", **FUSION).fit(X, y["label"])
    net = FusionNetClassifier(fusion="late", learn_fusion_weights=True, weighting="pcgrad",
                              **FUSION).fit(X, y["label"])
    assert not torch.allclose(net.module_.modality_weights.weights, torch.ones(3))
