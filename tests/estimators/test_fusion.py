"""FusionNet estimators: modalities, encoders, fusions, missing modalities, bad input."""

import pickle
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from _helpers import FUSION, multimodal
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import Callback
from skorch.helper import SliceDict

from sk_mtl import FusionNet, FusionNetClassifier, MultiTaskNetClassifier
from sk_mtl.encoders import MLP, Embedding, Tfidf
from sk_mtl.estimators._fusion import RETRIEVAL_MODALITY
from sk_mtl.estimators._training import CosineDecay
from sk_mtl.fusion import FUSIONS, WeightedSum
from sk_mtl.metrics import task_scorers
from sk_mtl.modules import SparseRows


def test_dict_input_kinds_and_scores():
    X, y = multimodal()
    net = FusionNet(tasks={"amount": "regression"}, **FUSION).fit(X, y)
    kinds = {m: c.kind for m, c in net.modalities_.items()}
    assert kinds == {"text": "text", "tab": "tabular", "cat": "categorical"}
    assert net.n_features_in_["tab"] == 3 and net.n_features_in_["cat"] == 1
    scores = net.task_scores(X, y)
    assert scores["label"] > 0.9 and scores["amount"] > 0.5
    assert net.predict(X).shape == (len(y), 2)


def test_grid_search_over_fusion_and_fusion_weights_is_one_line():
    X, y = multimodal(120)
    X = SliceDict(**X)
    search = GridSearchCV(
        FusionNetClassifier(**{**FUSION, "max_epochs": 3}),
        {"fusion": ["weighted_sum", "late"], "fusion_weights__text": [0.5, 2.0]},
        cv=2,
    ).fit(X, y["label"])
    assert search.best_params_["fusion_weights__text"] in (0.5, 2.0)
    assert search.best_estimator_.fusion_weights["text"] == search.best_params_[
        "fusion_weights__text"]


def test_fusion_weights_reach_the_module_and_can_be_learned():
    X, y = multimodal()
    fixed = FusionNetClassifier(fusion="weighted_sum", fusion_weights={"text": 3.0}, **FUSION)
    fixed.fit(X, y["label"])
    held = fixed.module_.trunk.fusion.modality_weights
    assert held.weights[held.names.index("text")].item() == 3.0
    assert not held.weights.requires_grad
    assert fixed.fusion_weights_ == {"text": 3.0, "tab": 1.0, "cat": 1.0}
    learned = FusionNetClassifier(fusion="late", learn_fusion_weights=True, **FUSION)
    learned.fit(X, y["label"])
    assert learned.module_.modality_weights.weights.requires_grad
    assert set(learned.fusion_weights_) == {"text", "tab", "cat"}
    assert not np.allclose(list(learned.fusion_weights_.values()), 1.0)


def test_encoder_and_fusion_parameters_are_searchable():
    X, y = multimodal(120)
    net = FusionNetClassifier(encoders={"text": "tfidf"}, fusion="weighted_sum",
                              **{**FUSION, "max_epochs": 2})
    net.set_params(encoders__text__ngram_range=(1, 1), fusion__dim=8)
    assert repr(net.encoders) == repr({"text": Tfidf(ngram_range=(1, 1))})
    assert repr(net.fusion) == repr(WeightedSum(dim=8))
    net.fit(X, y["label"])
    assert net.modalities_["text"].vectorizers_[0].ngram_range == (1, 1)
    assert net.module_.trunk.fusion.out_features == 8
    assert isinstance(net.encoders_["tab"], MLP)
    assert isinstance(net.encoders_["cat"], Embedding)
    search = GridSearchCV(
        clone(net), {"encoders__text__max_features": [5, 50], "fusion__dim": [4, 8]}, cv=2,
    ).fit(SliceDict(**X), y["label"])
    best = search.best_estimator_
    assert best.modalities_["text"].n_features_ <= best.encoders["text"].max_features
    with pytest.raises(ValueError, match="encoders has no entry 'img'"):
        net.set_params(encoders__img__channels=(4,))
    # An estimator-level text setting is the default a spec's None leaves to it.
    net = FusionNetClassifier(text_max_features=7, **{**FUSION, "max_epochs": 1}).fit(
        X, y["label"])
    assert net.modalities_["text"].n_features_ == 7


def test_dataframe_modalities_with_patterns_after_column_transformer():
    X, y = multimodal()
    df = pd.DataFrame({"review": X["text"], "x0": X["tab"][:, 0], "x1": X["tab"][:, 1],
                       "shop": X["cat"][:, 0]})
    pre = ColumnTransformer(
        [("num", StandardScaler(), ["x0", "x1"]), ("cat", OneHotEncoder(sparse_output=False),
                                                    ["shop"]),
         ("txt", "passthrough", ["review"])],
    ).set_output(transform="pandas")
    pipe = make_pipeline(pre, FusionNet(
        modalities={"text": "txt__review", "tab": ["num__*", "cat__*"]},
        tasks={"amount": "regression"}, **FUSION,
    ))
    pipe.fit(df, y)
    assert pipe[-1].modalities_["tab"].n_features_ == 5
    cv = cross_validate(pipe, df, y, cv=2,
                        scoring=task_scorers({"label": "accuracy", "amount": "r2"}))
    assert cv["test_label_accuracy"].mean() > 0.7


def test_missing_modality_rows_and_absent_modalities():
    X, y = multimodal(200)
    X["text"] = X["text"].copy()
    X["text"][:40] = None
    X["text"][40:50] = ""
    X["tab"] = X["tab"].copy()
    X["tab"][50:60] = np.nan  # whole rows missing
    net = FusionNetClassifier(modality_dropout=0.3, **FUSION).fit(X, y["label"])
    assert net.predict(X).shape == (200,)
    without_text = {"tab": X["tab"], "cat": X["cat"]}
    assert net.predict(without_text).shape == (200,)
    plain = FusionNetClassifier(**FUSION).fit(X, y["label"])
    with pytest.raises(ValueError, match=r"Modality 'text' is absent.*modality_dropout > 0"):
        plain.predict(without_text)


def test_modality_dropout_never_hides_every_modality_of_a_row():
    X, y = multimodal(64)
    net = FusionNetClassifier(modality_dropout=0.9, **{**FUSION, "max_epochs": 1})
    net.fit(X, y["label"])
    drop = net.module_.input_dropout.train()
    batch = {m: (torch.zeros(64, 1), None) for m in net.module_.trunk.names}
    torch.manual_seed(0)
    out = drop(batch)
    kept = torch.stack([out[m].present for m in drop.names], dim=1)
    assert kept.any(dim=1).all()
    assert (~kept).any()


@pytest.mark.parametrize("fusion", ["concat", "late"])
def test_modality_dropout_hides_a_modality_from_the_wide_path_too(fusion):
    """A text that modality dropout hid from a training row is hidden from every path: the
    deep path reads the text's "missing" embedding on exactly the rows where the wide path
    (the n-grams straight into the heads) reads nothing."""
    X, y = multimodal(96)
    net = FusionNetClassifier(modality_dropout=0.5, fusion=fusion, **{**FUSION, "max_epochs": 1})
    net.fit(X, y["label"])
    module, trunk = net.module_, net.module_.trunk
    assert module.wide.names == ["text"]
    with torch.no_grad():
        module.wide.linears[0].bag.weight.normal_()  # a wide path whose output shows
    batch = {m: (SparseRows.from_csr(v) if sp.issparse(v) else v, present)
             for m, (v, present) in net._input.transform(net, X).items()}
    text = trunk.names.index("text")
    seen = {}
    embed = trunk.embed

    def recording_embed(x):
        hs = embed(x)
        seen["deep_missing"] = (hs["text"] == trunk.missing[text]).all(dim=1)
        return hs

    trunk.embed = recording_embed
    hook = module.wide.register_forward_hook(
        lambda _, __, out: seen.update(wide_silent=(out == 0).all(dim=1)))
    try:
        module.train()
        torch.manual_seed(0)
        with torch.no_grad():
            module(batch)
    finally:
        hook.remove()
        del trunk.embed
        module.eval()
    missing = seen["deep_missing"]
    assert 0 < int(missing.sum()) < 96  # the dropout hid the text of some rows
    assert torch.equal(seen["wide_silent"], missing)


def test_the_alignment_loss_pairs_the_true_modalities_under_modality_dropout():
    X, y = multimodal(64)
    net = FusionNetClassifier(modality_dropout=0.5, alignment_weight=0.5,
                              **{**FUSION, "max_epochs": 1}).fit(X, y["label"])
    module, trunk = net.module_, net.module_.trunk
    batch = {m: (SparseRows.from_csr(v) if sp.issparse(v) else v, present)
             for m, (v, present) in net._input.transform(net, X).items()}
    masks = []
    hook = trunk.aligner.register_forward_pre_hook(lambda _, args: masks.append(args[1]))
    try:
        module.train()
        trunk.record_alignment = True
        torch.manual_seed(0)
        with torch.no_grad():
            hidden = module.input_dropout(batch)
            module(batch)
    finally:
        hook.remove()
        trunk.record_alignment = False
        module.eval()
    assert not hidden["text"].present.all()  # the dropout hid some rows' text...
    (given,) = masks  # ...which every row has: the aligner reads every row's text
    assert sorted(given) == ["cat", "tab", "text"]
    assert all(mask is None or bool(mask.all()) for mask in given.values())


class _Rates(Callback):
    """Records every parameter group's learning rate of every optimizer, each epoch."""

    def initialize(self):
        self.rates = []
        return self

    def on_epoch_begin(self, net, **kwargs):
        self.rates.append({name: [group["lr"] for group in optimizer.param_groups]
                           for name, optimizer in net.optimizers().items()})


def test_lr_schedule_acts_on_the_sparse_groups_too():
    """The cosine schedule decays the SparseAdam groups (the n-gram table of the text
    encoder at lr, the wide path at wide_lr times lr) as it does the dense parameters."""
    X, y = multimodal(96)
    rates = _Rates()
    net = FusionNetClassifier(lr_schedule="cosine", callbacks=[rates],
                              **{**FUSION, "max_epochs": 4}).fit(X, y["label"])
    lr = FUSION["lr"]
    wide_lr = net.encoders_["text"].wide_lr * lr
    for epoch, seen in enumerate(dict(net.net_.callbacks_)["_Rates"].rates):
        factor = CosineDecay(4)(epoch)
        assert seen["optimizer"] == pytest.approx([lr * factor])
        assert seen["optimizer_sparse"] == pytest.approx([lr * factor, wide_lr * factor])
    constant = FusionNetClassifier(lr_schedule=None, **{**FUSION, "max_epochs": 2})
    constant.fit(X, y["label"])
    sparse = constant.net_.optimizer_sparse_
    assert [g["lr"] for g in sparse.param_groups] == pytest.approx([lr, wide_lr])


def test_a_sparse_optimizer_without_a_schedule_start_resumes_one():
    """A net whose sparse groups never followed a schedule (a model file saved before they
    did) resumes the schedule from their rates now, without torch's "initial_lr" error."""
    X, y = multimodal(64)
    net = FusionNetClassifier(lr_schedule="cosine", **{**FUSION, "max_epochs": 2})
    net.fit(X, y["label"])
    sparse = net.net_.optimizer_sparse_
    for group in sparse.param_groups:
        del group["initial_lr"]
        group["lr"] = 0.5
    schedule = dict(net.net_.callbacks_)["lr_schedule"]
    resumed = schedule._get_scheduler(net.net_, torch.optim.lr_scheduler.LambdaLR,
                                      lr_lambda=CosineDecay(4))
    assert [g["initial_lr"] for g in sparse.param_groups] == [0.5, 0.5]
    assert [g["lr"] for g in sparse.param_groups] == pytest.approx([0.5 * CosineDecay(4)(2)] * 2)
    resumed.step()
    assert [g["lr"] for g in sparse.param_groups] == pytest.approx([0.5 * CosineDecay(4)(3)] * 2)


@pytest.mark.slow
def test_sparse_tfidf_with_100k_columns_trains_without_densifying():
    rng = np.random.RandomState(0)
    n, d = 600, 100_000
    X = sp.random(n, d, density=30 / d, format="csr", random_state=0, dtype=np.float32)
    y = (np.asarray(X[:, : d // 2].sum(axis=1)).ravel() > np.median(
        np.asarray(X[:, : d // 2].sum(axis=1)).ravel())).astype(int)
    y[rng.rand(n) < 0.0] = 0
    net = FusionNetClassifier(**{**FUSION, "max_epochs": 2, "batch_size": 64})
    start = time.perf_counter()
    net.fit({"words": X}, y)
    assert time.perf_counter() - start < 30
    first = net.module_.trunk.encoders[0].first
    assert first.bag.sparse  # sparse gradients for the 100k x 16 table
    assert "optimizer_sparse" in net.net_._optimizers


def test_image_modality_with_cnn():
    rng = np.random.RandomState(0)
    n = 120
    label = rng.randint(0, 2, size=n)
    images = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    images[label == 1, :, :4, :] += 2.0
    net = FusionNetClassifier(**FUSION).fit({"img": images, "tab": rng.normal(size=(n, 2))},
                                          label)
    assert net.modalities_["img"].kind == "image"
    assert (net.predict({"img": images, "tab": rng.normal(size=(n, 2))}) == label).mean() > 0.8


def test_pickle_clone_and_determinism():
    X, y = multimodal()
    net = FusionNet(tasks={"amount": "regression"}, **FUSION).fit(X, y)
    again = clone(net).fit(X, y)
    np.testing.assert_array_equal(net.predict(X), again.predict(X))
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda X: {**X, "extra": X["tab"]}, r"modality\(ies\) \['extra'\] that the model"),
        (lambda X: {**X, "tab": X["tab"][:10]}, "different numbers of rows"),
        (lambda X: {**X, "tab": X["tab"][:, :2]}, "Modality 'tab' has 2 features"),
    ],
)
def test_bad_modality_input_at_predict(change, match):
    X, y = multimodal(60)
    net = FusionNetClassifier(**{**FUSION, "max_epochs": 1}).fit(X, y["label"])
    with pytest.raises(ValueError, match=match):
        net.predict(change(X))


@pytest.mark.parametrize(
    ("kwargs", "X_change", "error", "match"),
    [
        ({}, lambda X: {**X, "tab": X["tab"][:10]}, ValueError, "different numbers of rows"),
        ({"encoders": {"tab": "mlp"}},
         lambda X: {**X, "tab": pd.DataFrame({"a": X["tab"][:, 0], "s": ["x"] * len(X["tab"])})},
         ValueError, r"Modality 'tab' is tabular but column\(s\) \['s'\] are not numeric"),
        ({}, lambda X: {**X, "img": np.zeros((len(X["tab"]), 8, 8))}, ValueError,
         "shape .* expected a 2-D table, a 1-D array of strings, or a 4-D image"),
        ({"encoders": {"img": "cnn"}}, lambda X: {**X, "img": np.zeros((len(X["tab"]), 8))},
         ValueError, "image modality and must be 4-D"),
        ({"fusion": "sum"}, lambda X: X, ValueError, "fusion='sum' is not known"),
        ({"fusion_weights": {"audio": 1.0}}, lambda X: X, ValueError,
         r"fusion_weights has key\(s\) \['audio'\] that are not modalities"),
        ({"fusion_weights": {"text": -1.0}}, lambda X: X, ValueError,
         r"fusion_weights\['text'\] must be a finite number >= 0"),
        ({"encoders": {"audio": "mlp"}}, lambda X: X, ValueError,
         r"encoders has key\(s\) \['audio'\]"),
        ({"encoders": {"tab": "gru"}}, lambda X: X, ValueError,
         "Modality 'tab' is tabular data; its encoder reads text modalities"),
        ({"modality_dropout": 1.0}, lambda X: X, ValueError, "modality_dropout must be in"),
        ({}, lambda X: {**X, "text": np.array([1.5] * len(X["tab"]), dtype=object)},
         ValueError, "Modality 'text'"),
    ],
)
def test_bad_input_raises_before_training(kwargs, X_change, error, match):
    X, y = multimodal(60)
    calls = []
    net = FusionNetClassifier(**{**FUSION, **kwargs},
                              callbacks=[("spy", _Spy(calls))])
    with pytest.raises(error, match=match):
        net.fit(X_change(X), y["label"])
    assert not calls  # no epoch started


class _Spy:
    def __init__(self, calls):
        self.calls = calls

    def initialize(self):
        return self

    def on_train_begin(self, net, **kwargs):
        self.calls.append("train")

    def __getattr__(self, name):
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def test_modalities_mapping_errors():
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "c": ["x", "y"]})
    with pytest.raises(ValueError, match="no column matches 'zz\\*'"):
        FusionNet(modalities={"t": "zz*"}).fit(df, [0, 1])
    with pytest.raises(ValueError, match=r"Columns \['c'\] of X belong to no modality"):
        FusionNet(modalities={"t": ["a", "b"]}).fit(df, [0, 1])
    with pytest.raises(TypeError, match="modalities= selects columns of a DataFrame"):
        FusionNet(modalities={"t": ["a"]}).fit(np.zeros((2, 2)), [0, 1])


@pytest.mark.slow
def test_grid_search_on_clothing_reviews(clothing):
    X, y = clothing
    keep = X["Review Text"].notna()
    X, y = X[keep].iloc[:1200], y[keep].iloc[:1200]
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    modalities = {
        "text": ["Title", "Review Text"],
        "num": ["Age", "Positive Feedback Count"],
        "cat": ["Division Name", "Department Name", "Class Name", "Clothing ID"],
    }
    search = GridSearchCV(
        FusionNetClassifier(modalities=modalities, **{**FUSION, "max_epochs": 3,
                                                      "batch_size": 128}),
        {"fusion": ["concat", "weighted_sum"], "fusion_weights__text": [0.5, 2.0]},
        scoring=task_scorers({"Recommended IND": "roc_auc", "Rating": "accuracy"}),
        refit="Recommended IND_roc_auc", cv=2, n_jobs=2,
    ).fit(X_train, y_train)
    assert search.best_estimator_.modalities_["text"].kind == "text"
    assert search.score(X_test, y_test) > 0.75  # ROC AUC of the recommendation


@pytest.mark.parametrize("weighting", ["pcgrad", "gradnorm", "uncertainty"])
def test_weightings_work_with_fusion_and_sparse_text(weighting):
    X, y = multimodal()
    net = FusionNet(tasks={"amount": "regression"}, weighting=weighting, **FUSION).fit(X, y)
    assert net.module_.trunk.encoders[0].first.bag.sparse  # the text table: sparse gradients
    assert np.isfinite(net.history_[-1, "weight_label"])
    assert net.task_scores(X, y)["label"] > 0.8


def test_slicedict_in_cross_validate_and_parallel_grid_search():
    X, y = multimodal(120)
    X = SliceDict(**X)
    cv = cross_validate(FusionNetClassifier(**FUSION), X, y["label"], cv=2)
    assert cv["test_score"].mean() > 0.8
    search = GridSearchCV(FusionNetClassifier(**{**FUSION, "max_epochs": 2}),
                          {"fusion": ["concat", "gated"]}, cv=2, n_jobs=2).fit(X, y["label"])
    assert search.best_params_["fusion"] in ("concat", "gated")


def test_plain_array_is_standardized_like_the_dict_form():
    rng = np.random.RandomState(0)
    X = rng.normal(50, 100, size=(80, 3))
    y = (X[:, 0] > 50).astype(int)
    as_array = FusionNetClassifier(**FUSION).fit(X, y)
    as_dict = FusionNetClassifier(**FUSION).fit({"X": X}, y)
    np.testing.assert_allclose(as_array.predict_proba(X), as_dict.predict_proba({"X": X}),
                               atol=1e-5)
    assert not hasattr(as_dict, "feature_names_in_")
    refit = FusionNetClassifier(**FUSION).fit(pd.DataFrame(X, columns=list("abc")), y)
    refit.fit({"X": X}, y)
    assert not hasattr(refit, "feature_names_in_")


def test_integer_codes_match_across_float_and_int_columns():
    rng = np.random.RandomState(0)
    codes = rng.randint(1, 4, size=90).astype(float)
    codes[:3] = np.nan
    label = np.isin(codes, [1.0]).astype(int)
    X_fit = {"cat": pd.DataFrame({"id": codes, "shop": ["a"] * 90}),
             "tab": rng.normal(size=(90, 2))}
    net = FusionNetClassifier(**FUSION).fit(X_fit, label)
    as_int = pd.DataFrame({"id": np.nan_to_num(codes, nan=1).astype(int), "shop": ["a"] * 90})
    transformed, _ = net.modalities_["cat"].transform(as_int)
    assert (transformed[3:, 0] > 0).all()  # every code is known, none mapped to "unknown"


def test_short_string_series_are_categories_and_long_ones_text():
    df = pd.DataFrame({
        "dept": np.tile(["Tops", "Dresses", "Bottoms"], 20),
        "review": [f"fits well and looks great {i}" for i in range(60)],
    })
    net = FusionNetClassifier(modalities={"d": "dept", "r": "review"}, **FUSION)
    net.fit(df, np.tile([0, 1], 30))
    assert net.modalities_["d"].kind == "categorical"
    assert net.modalities_["r"].kind == "text"


# ============================================================================ retrieval
RETRIEVE = {**FUSION, "retrieval": "auto"}


@pytest.mark.parametrize("fusion", FUSIONS)
def test_retrieval_reads_the_dense_tables_as_one_more_modality(fusion):
    X, y = multimodal()
    X["tab2"] = np.random.RandomState(1).normal(size=(len(y), 2))
    # 20 epochs: attention learns to look past the extra modality more slowly than the rest.
    net = FusionNet(fusion=fusion, **{**RETRIEVE, "max_epochs": 20}).fit(X, y)
    assert net.retrieval_.X_.shape[1] == 3 + 2  # "tab" and "tab2", joined
    assert net.module_.trunk.names[-1] == RETRIEVAL_MODALITY
    assert net.modality_names_ == ["text", "tab", "cat", "tab2"]
    scores = net.task_scores(X, y)
    assert scores["label"] > 0.95 and scores["amount"] > 0.9


def test_retrieval_needs_a_dense_table_and_can_be_turned_off():
    X, y = multimodal()
    assert FusionNet(**RETRIEVE).fit({"text": X["text"]}, y).retrieval_ is None
    sparse = {"text": X["text"], "tab": sp.csr_matrix(X["tab"])}
    assert FusionNet(**RETRIEVE).fit(sparse, y).retrieval_ is None
    assert FusionNet(**FUSION).fit(X, y).retrieval_ is None
    assert FusionNet(**{**RETRIEVE, "retrieval": 5}).fit(X, y).retrieval_.k_ == 5
    with pytest.raises(ValueError, match="retrieval must be"):
        FusionNet(**{**RETRIEVE, "retrieval": -1}).fit(X, y)
    with pytest.raises(ValueError, match="reserved"):
        FusionNet(**RETRIEVE).fit({**X, RETRIEVAL_MODALITY: X["tab"]}, y)


def test_retrieval_features_are_missing_where_a_table_is():
    X, y = multimodal()
    X["tab"] = X["tab"].copy()
    X["tab"][:10] = np.nan  # the table is missing for these rows
    net = FusionNet(**RETRIEVE).fit(X, y)
    network_input = net._network_input(net._input_data(X, reset=False))
    values, present = network_input[RETRIEVAL_MODALITY]
    assert values.shape == (len(y), net.retrieval_.n_features_out_)
    np.testing.assert_array_equal(present.numpy(), np.arange(len(y)) >= 10)
    assert np.isfinite(net.predict_tasks(X)["amount"]).all()


def test_retrieval_recalls_labels_of_duplicated_rows_in_fusion():
    """A random label per point, each point twice in training, the point's columns split
    over two tables: the retrieval modality recalls the label."""
    rng = np.random.RandomState(0)
    points = rng.normal(size=(150, 4))
    labels = rng.randint(0, 2, size=150)
    X = {"a": np.vstack([points[:, :2]] * 2), "b": np.vstack([points[:, 2:]] * 2)}
    y = np.concatenate([labels, labels])
    params = dict(hidden_dims=(32,), max_epochs=60, random_state=0, validation_fraction=None,
                  early_stopping=False, dropout=0.0)
    with_retrieval = FusionNetClassifier(**params).fit(X, y)
    without = FusionNetClassifier(retrieval=None, **params).fit(X, y)
    seen = {"a": points[:, :2], "b": points[:, 2:]}
    assert with_retrieval.score(seen, labels) > 0.95
    assert without.score(seen, labels) < 0.9


def test_task_scorer_on_a_plain_dict():
    X, y = multimodal()
    net = FusionNet(tasks={"amount": "regression"}, **FUSION).fit(X, y)
    scorer = task_scorers({"label": "accuracy"})["label_accuracy"]
    assert scorer(net, X, y) > 0.8


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fusion_fit_predict_on_cuda():
    X, y = multimodal()
    X["text"] = X["text"].copy()
    X["text"][:5] = None  # row masks must follow the batches to the device
    net = FusionNet(tasks={"amount": "regression"}, device="cuda", modality_dropout=0.2,
                    weighting="pcgrad", **FUSION).fit(X, y)
    assert net.predict(X).shape == (len(y), 2)
    assert net.predict({"tab": X["tab"], "cat": X["cat"]}).shape == (len(y), 2)


def _raw_frame(n=160, seed=0):
    X, y = multimodal(n, seed)
    rng = np.random.RandomState(seed)
    df = pd.DataFrame({
        "review": X["text"],
        "dept": rng.choice(["Tops", "Dresses", "Jackets"], n),
        "age": X["tab"][:, 0] * 10 + 40,
        "count": X["tab"][:, 1],
    })
    df.loc[::7, "age"] = np.nan
    return df, y


def test_a_raw_dataframe_gets_its_modalities_from_its_columns():
    df, y = _raw_frame()
    net = FusionNetClassifier(**FUSION).fit(df, y["label"])
    plan = net.modality_plan_
    assert plan.loc["review"].tolist() == ["text", "text", "Tfidf"]
    assert plan.loc["dept"].tolist() == ["categorical", "categorical", "Embedding"]
    assert plan.loc[["age", "count"], "modality"].tolist() == ["numeric", "numeric"]
    assert net.modalities_["numeric"].n_features_ == 3  # age, count, age's missing flag
    assert (net.predict(df) == y["label"]).mean() > 0.85
    assert np.isfinite(net.predict_proba(df.iloc[::7])).all()
    # the fitted plan, not a new guess, reads later data
    assert (net.predict(df.iloc[:3]) == net.predict(df)[:3]).all()
    with pytest.raises(ValueError, match=r"X has column\(s\) \['extra'\]"):
        net.predict(df.assign(extra=1.0))
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['dept'\].*modality_dropout"):
        net.predict(df.drop(columns="dept"))
    explicit = FusionNetClassifier(
        modalities={"text": "review", "categorical": "dept", "numeric": ["age", "count"]},
        **FUSION).fit(df, y["label"])
    np.testing.assert_allclose(explicit.predict_proba(df), net.predict_proba(df), atol=1e-6)
    dropped = FusionNetClassifier(modality_dropout=0.3, **FUSION).fit(df, y["label"])
    assert np.isfinite(dropped.predict_proba(df.drop(columns="dept"))).all()


def test_numeric_nan_is_imputed_in_a_single_table_and_multitasknet_points_to_fusionnet():
    X, y = multimodal()
    tab = X["tab"].copy()
    tab[::5, 1] = np.nan
    net = FusionNetClassifier(**FUSION).fit(tab, y["label"])
    assert net.modalities_["X"].n_features_ == tab.shape[1] + 1
    assert np.isfinite(net.predict_proba(tab)).all()
    df, _ = _raw_frame()
    with pytest.raises(ValueError, match=r"FusionNet.* reads text, categorical and numeric"):
        MultiTaskNetClassifier(max_epochs=1).fit(df, y["label"])


def test_alignment_loss_is_logged_trained_and_checked():
    X, y = multimodal()
    net = FusionNetClassifier(alignment_weight=0.5, **FUSION).fit(X, y["label"])
    first, last = net.history_[0], net.history_[-1]
    assert last["train_alignment"] < first["train_alignment"]
    assert last["valid_alignment"] > 0  # logged for the validation rows too
    assert last["train_objective"] == pytest.approx(
        last["train_loss"] + 0.5 * last["train_alignment"], rel=0.2)
    assert (net.predict(X) == y["label"]).mean() > 0.85
    trunk = net.module_.trunk
    assert trunk.aligner.names == ["text", "tab", "cat"] and trunk.alignment_loss_ is None
    pickle.loads(pickle.dumps(net))
    off = FusionNetClassifier(**FUSION).fit(X, y["label"])
    assert off.module_.trunk.aligner is None and "train_alignment" not in off.history_[-1]
    with pytest.raises(ValueError, match="gradient-level weighting"):
        FusionNetClassifier(alignment_weight=0.5, weighting="pcgrad", **FUSION).fit(
            X, y["label"])
    with pytest.raises(ValueError, match="alignment_weight must be"):
        FusionNetClassifier(alignment_weight=-1, **FUSION).fit(X, y["label"])
    with pytest.raises(ValueError, match="aligns modalities with each other"):
        FusionNetClassifier(alignment_weight=0.5, **FUSION).fit({"tab": X["tab"]}, y["label"])


def test_a_dataframe_at_predict_after_a_dict_fit_names_the_estimator():
    X, y = multimodal(60)
    net = FusionNetClassifier(**{**FUSION, "max_epochs": 1}).fit(X, y["label"])
    frame = pd.DataFrame({"text": X["text"], "tab0": X["tab"][:, 0]})
    with pytest.raises(ValueError,
                       match=r"FusionNetClassifier was fitted on .* without a DataFrame"):
        net.predict(frame)


def test_a_row_missing_part_of_a_modality_gets_an_error_that_says_the_fix():
    X, y = multimodal(80)
    frame = pd.DataFrame({"text": X["text"], "a": X["tab"][:, 0], "b": X["tab"][:, 1]})
    net = FusionNetClassifier(modality_dropout=0.3, **{**FUSION, "max_epochs": 1})
    net.fit(frame, y["label"])  # a raw frame: its columns grouped by kind
    with pytest.raises(ValueError, match=r"lacks some but not all columns of modality\(ies\) "
                                         r"\['numeric'\].*Give those columns with NaN"):
        net.predict(frame.drop(columns="b"))
    # The fix the message gives works: the column as NaN, or the whole modality left out.
    assert len(net.predict(frame.assign(b=np.nan))) == 80
    assert len(net.predict(frame[["text"]])) == 80
