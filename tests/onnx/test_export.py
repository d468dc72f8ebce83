"""ONNX export (sk_mtl.onnx): the graph onnxruntime runs gives the model's own predictions.

Each export runs torch's dynamo exporter (a few seconds), so the cases are few and each
covers several parts: input scalings, retrieval, ensembles, trunks, task kinds, pipelines.
"""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import scipy.stats
import torch
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, StandardScaler

from sk_mtl import FusionNetClassifier, MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor
from sk_mtl.weighting import WeightConditioning

ort = pytest.importorskip("onnxruntime")
sk_onnx = pytest.importorskip("sk_mtl.onnx")
from skl2onnx.common.data_types import DoubleTensorType  # noqa: E402

from sk_mtl.onnx._graph import NormalQuantile, QuantileNormal  # noqa: E402

SMALL = {"hidden_dims": (16, 16), "max_epochs": 4, "random_state": 0}


def _rows(X, a, b):
    if isinstance(X, dict):
        return {m: v[a:b] for m, v in X.items()}
    return X.iloc[a:b] if isinstance(X, pd.DataFrame) else X[a:b]


def _check_batches(est, X, model):
    """``check`` on batches of 1, 7 and 1,000 rows of ``X`` (fewer where ``X`` is short):
    labels identical, probabilities and values within 1e-5."""
    for a, b in ((0, 1), (1, 8), (8, 1008)):
        report = sk_onnx.check(est, _rows(X, a, b), model)
    return report


def _session(onnx_model):
    return ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])


def _table(n=240, seed=0):
    """Numeric columns with ties (integer-valued, a sentinel), and three kinds of task."""
    rng = np.random.RandomState(seed)
    X = np.column_stack([
        rng.normal(size=n), rng.randint(0, 4, size=n), np.where(rng.rand(n) < 0.3, -1.0,
                                                               rng.exponential(size=n)),
        rng.uniform(size=n) * 100,
    ]).astype(np.float32)
    y = pd.DataFrame({
        "price": 3 * X[:, 0] + X[:, 1] + rng.normal(scale=0.1, size=n),
        "grade": np.array(["low", "mid", "high"])[np.digitize(X[:, 3], [33, 66])],
        "flag": (X[:, 0] > 0).astype(np.int64) + 10,
    })
    tags = np.empty(n, dtype=object)
    for i in range(n):
        tags[i] = tuple(t for t, on in (("a", X[i, 0] > 0), ("b", X[i, 1] > 1)) if on)
    y["tags"] = tags
    return X, y


def test_normal_quantile_matches_scipy():
    p = np.concatenate([np.linspace(1e-7, 1 - 1e-7, 20001), [0.02425, 0.97575, 0.5]])
    got = NormalQuantile()(torch.from_numpy(p)).numpy()
    np.testing.assert_allclose(got, scipy.stats.norm.ppf(p), rtol=2e-9, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_quantile_module_matches_sklearn_with_ties_and_bounds(dtype):
    rng = np.random.RandomState(0)
    # float32 values, as the network's input always holds; scikit-learn computes in dtype.
    X = np.column_stack([rng.randint(0, 5, 300), rng.normal(size=300)]).astype(np.float32)
    X = X.astype(dtype)
    qt = QuantileTransformer(n_quantiles=50, output_distribution="normal").fit(X)
    # Training values (ties at repeated quantiles, the top one included), values beyond
    # both ends, in between. On float32 input scikit-learn rounds to float32 on the way.
    Z = np.vstack([X[:50], [[-3, -9], [9, 9], [2.5, 0.01], [4, 0]]]).astype(dtype)
    module = QuantileNormal(qt.quantiles_, qt.references_, single=dtype == np.float32)
    got = module(torch.from_numpy(Z).double()).numpy()
    tol = 1e-8 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(got, qt.transform(Z), rtol=tol, atol=tol)


def test_wine_pipeline_defaults_export_with_labels_and_units(wine, tmp_path):
    X, y = wine
    X = X.to_numpy(np.float32)
    # The defaults: two views of each column, retrieval features, 32 members (1,625 rows); behind a
    # StandardScaler that skl2onnx converts (float32, other roundings than scikit-learn's).
    est = make_pipeline(StandardScaler(), MultiTaskNet(
        tasks={"quality": "regression", "color": "binary"}, max_epochs=3, random_state=0))
    est.fit(X[::4], y.iloc[::4])
    assert est[-1].retrieval_ is not None and est[-1].ensemble_size_ == 32
    path = tmp_path / "wine.onnx"
    model = sk_onnx.to_onnx(est, X[:5], path=path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == [
        "label_quality", "label_color", "probabilities_color"]
    rows = X[1::40]
    quality, color, _ = session.run(None, {"X": rows})
    expected = est[-1].predict_tasks(est[0].transform(rows))
    assert list(color) == list(expected["color"])  # strings in, strings out
    assert quality.dtype == np.float64  # the original unit, as predict returns it
    np.testing.assert_allclose(quality, expected["quality"], rtol=0, atol=1e-5)
    report = _check_batches(est, X[1::4], model)
    assert set(report) == {"label_quality", "label_color", "probabilities_color"}


@pytest.mark.parametrize("params", [
    {"input_scaling": "quantile", "ensemble_size": 1, "retrieval": None, "trunk": "mmoe"},
    {"input_scaling": "robust", "numeric_embedding": "periodic", "retrieval": 5},
    {"input_scaling": "standard", "numeric_embedding": "piecewise", "ensemble_size": 2},
    {"weighting": "conditioned", "task_weights": {"price": 3.0}},
    {"trunk": "ple", "retrieval": None},
    {"weighting": WeightConditioning(layers="all"), "task_weights": {"price": 3.0}},
    {"weighting": WeightConditioning(conditioning="members"), "task_weights": {"flag": 0.3}},
], ids=["mmoe-quantile", "periodic-robust-retrieval", "piecewise-standard", "conditioned",
        "ple", "conditioned-film-every-layer", "conditioned-members"])
def test_every_part_of_the_table_network_exports(params):
    X, y = _table(n=1200)
    est = MultiTaskNet(**{**SMALL, **params}).fit(X[:180], y.iloc[:180])
    model = sk_onnx.to_onnx(est, X)
    names = [o.name for o in model.graph.output]
    assert names == ["label_price", "label_grade", "probabilities_grade", "label_flag",
                     "probabilities_flag", "label_tags", "probabilities_tags"]
    report = _check_batches(est, X[180:], model)
    assert report["label_grade"] == 0.0
    labels = _session(model).run(["label_grade", "label_flag", "label_tags"], {"X": X[180:240]})
    assert labels[0].dtype == object and labels[1].dtype == np.int64  # labels' own types
    assert labels[2].shape == (60, 2)  # multilabel: a 0/1 column per label


def test_conditioned_export_follows_the_weights_set_now():
    X, y = _table()
    est = MultiTaskNet(**SMALL, weighting="conditioned").fit(X, y[["price", "flag"]])
    before = sk_onnx.to_onnx(est, X)
    est.set_params(task_weights={"price": 5.0, "flag": 0.2})
    after = sk_onnx.to_onnx(est, X)
    sk_onnx.check(est, X, after)
    a = _session(before).run(["label_price"], {"X": X})[0]
    b = _session(after).run(["label_price"], {"X": X})[0]
    assert not np.allclose(a, b)


def test_pipeline_with_column_transformer_and_single_task_names():
    rng = np.random.RandomState(1)
    n = 200
    frame = pd.DataFrame({
        "size": rng.normal(size=n), "colour": rng.choice(["red", "green", "blue"], n),
        "weight": np.where(rng.rand(n) < 0.1, np.nan, rng.normal(size=n)),
    })
    y = np.where(frame["colour"] == "red", "warm", "cold")
    pre = ColumnTransformer([
        ("num", SimpleImputer(), ["size", "weight"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
    ], sparse_threshold=0)
    pipe = make_pipeline(pre, MultiTaskNetClassifier(**SMALL)).fit(frame, y)
    model = sk_onnx.to_onnx(pipe, frame)
    session = _session(model)
    assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
    assert [i.name for i in session.get_inputs()] == ["size", "colour", "weight"]
    sk_onnx.check(pipe, frame, model)

    reg = make_pipeline(StandardScaler(), MultiTaskNetRegressor(**SMALL))
    X, yt = _table()
    reg.fit(X.astype(np.float64), yt["price"])
    # A double input (declared as such) is cast to float32 in the graph, as predict does.
    model = sk_onnx.to_onnx(reg, initial_types=[("X", DoubleTensorType([None, 4]))])
    assert [o.name for o in model.graph.output] == ["variable"]
    sk_onnx.check(reg, X.astype(np.float64), model)


def test_what_cannot_export_says_so(tmp_path):
    X, y = _table(n=60)
    with pytest.raises(NotFittedError):
        sk_onnx.to_onnx(MultiTaskNet(), X)
    with pytest.raises(sk_onnx.ExportError, match="got StandardScaler"):
        sk_onnx.to_onnx(StandardScaler().fit(X), X)
    est = MultiTaskNet(**SMALL).fit(X, y[["price"]])
    with pytest.raises(sk_onnx.ExportError, match="opset 18 or newer"):
        sk_onnx.to_onnx(est, X, target_opset=17)

    class Erfinv(torch.nn.Module):  # erfinv has no ONNX form in torch's exporter
        out_features = 4

        def forward(self, x):
            return torch.nn.functional.relu(torch.special.erfinv(torch.tanh(x)))

    est = MultiTaskNet(**SMALL, trunk=Erfinv(), ensemble_size=1).fit(X, y[["price"]])
    with pytest.raises(sk_onnx.ExportError, match="Erfinv trunk"):
        sk_onnx.to_onnx(est, X)

    images = np.random.RandomState(0).normal(size=(20, 1, 4, 4)).astype(np.float32)
    fusion = FusionNetClassifier(max_epochs=1, random_state=0).fit(
        {"image": images, "n": np.arange(20.0).reshape(-1, 1)}, ["a", "b"] * 10)
    sk_onnx.check(fusion, {"image": images, "n": np.arange(20.0).reshape(-1, 1)},
                  sk_onnx.to_onnx(fusion))  # images and a table as arrays export
    codes = FusionNetClassifier(max_epochs=1, random_state=0).fit(
        {"cat": np.array([["a"], ["b"]] * 10, dtype=object), "n": np.arange(20.0)[:, None]},
        ["a", "b"] * 10)
    with pytest.raises(sk_onnx.ExportError, match="Modality 'cat' \\(categorical, given"):
        sk_onnx.to_onnx(codes, path=tmp_path / "never.onnx")
    assert not (tmp_path / "never.onnx").exists()  # refused before anything is written
    sparse = FusionNetClassifier(max_epochs=1, random_state=0).fit(
        sp.random(20, 30, density=0.2, format="csr", random_state=0), ["a", "b"] * 10)
    with pytest.raises(sk_onnx.ExportError, match="Modality 'X' \\(sparse tabular\\)"):
        sk_onnx.to_onnx(sparse)
    frame = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    tokens = FusionNetClassifier(max_epochs=1, random_state=0, encoders={"text": "gru"},
                                 modalities={"text": ["t"], "numeric": ["a"]})
    frame["t"] = ["good dress fits", "bad seams here"] * 10
    tokens.fit(frame[["t", "a"]], ["a", "b"] * 10)
    with pytest.raises(sk_onnx.ExportError, match="Modality 'text' \\(text read as tokens\\)"):
        sk_onnx.to_onnx(tokens)


# ======================================================================== FusionNet
WORDS = np.array("soft fabric runs small lovely colour cheap zipper broke great fit perfect "
                 "dress too tight long sleeves".split())


def _frame(n=160, seed=0):
    """Two text columns, a category and two numbers, with every kind of missing value, and
    a binary and a three-class task."""
    rng = np.random.RandomState(seed)

    def texts(lo, hi):
        return [" ".join(rng.choice(WORDS, rng.randint(lo, hi))) for _ in range(n)]

    frame = pd.DataFrame({
        "title": texts(2, 4), "review": texts(5, 12),
        "dept": rng.choice(["Tops", "Dresses", "Bottoms"], n).astype(object),
        "age": rng.randint(18, 70, n).astype(float), "rating count": rng.poisson(3, n) * 1.0,
    })
    frame.loc[::7, "title"] = None
    frame.loc[::11, "dept"] = None
    frame.loc[::5, "age"] = np.nan
    frame.loc[3, ["title", "review"]] = ["", "  "]  # a row without text
    frame.loc[4, ["age", "rating count"]] = np.nan  # a row without numbers
    good = frame["review"].str.contains("great|perfect|lovely").to_numpy()
    size = frame["age"].fillna(40).to_numpy().astype(int) % 3
    y = pd.DataFrame({"liked": np.where(good, "yes", "no"),
                      "size": np.array(["S", "M", "L"])[size]})
    return frame, y


@pytest.mark.parametrize("params", [
    {"fusion": "concat", "modality_dropout": 0.2},
    {"fusion": "attention", "retrieval": None},
    {"fusion": "late", "weighting": "conditioned"},
    {"fusion": "gated", "retrieval": None},
    {"fusion": "weighted_sum", "retrieval": None},
    {"fusion": "early", "retrieval": None},
], ids=["concat-dropout-retrieval", "attention", "late-conditioned", "gated", "weighted_sum",
        "early"])
def test_fusion_frame_exports_text_categories_numbers_and_missing_values(params):
    frame, y = _frame()
    est = FusionNetClassifier(**{"max_epochs": 3, "random_state": 0, **params})
    est.fit(frame.iloc[:120], y.iloc[:120])
    assert list(est.modality_plan_["modality"]) == ["text", "text", "categorical", "numeric",
                                                    "numeric"]
    model = sk_onnx.to_onnx(est, frame)
    session = _session(model)
    # One input per column, named after it as skl2onnx names inputs.
    assert [i.name for i in session.get_inputs()] == [
        "title", "review", "dept", "age", "rating_count"]
    assert [i.type for i in session.get_inputs()][:3] == ["tensor(string)"] * 3
    new = frame.iloc[120:].copy()
    new.loc[new.index[0], "dept"] = "Shoes"  # a category never seen
    new.loc[new.index[1], ["title", "review", "dept"]] = None  # only numbers
    _check_batches(est, new, model)


@pytest.mark.parametrize("fusion", ["concat", "late"])
def test_fusion_conditioned_export_follows_the_fusion_weights_set_now(fusion):
    frame, y = _frame()
    est = FusionNetClassifier(max_epochs=3, random_state=0, fusion=fusion,
                              fusion_conditioning="log_uniform")
    est.fit(frame.iloc[:120], y.iloc[:120])
    new = frame.iloc[120:]
    before = sk_onnx.to_onnx(est, frame)
    even = est.predict_proba(new)[0]
    est.set_params(fusion_weights={"text": 0.0, "numeric": 4.0})
    assert np.abs(est.predict_proba(new)[0] - even).max() > 1e-3
    # Each graph holds the weights set at its export, and matches the estimator at them.
    after = sk_onnx.to_onnx(est, frame)
    _check_batches(est, new, after)
    est.set_params(fusion_weights=None)
    _check_batches(est, new, before)


def test_fusion_on_one_table_exports():
    X, y = _table()
    est = FusionNetClassifier(max_epochs=3, random_state=0).fit(X[:180], y["grade"][:180])
    model = sk_onnx.to_onnx(est, X)
    assert [o.name for o in model.graph.output] == ["label", "probabilities"]
    sk_onnx.check(est, X[180:], model)


@pytest.mark.slow  # the real clothing reviews: a fit and an export of a large vocabulary
def test_clothing_fusion_export_matches_on_new_reviews(clothing):
    X, y = clothing
    est = FusionNetClassifier(max_epochs=2, random_state=0).fit(X.iloc[:2000], y.iloc[:2000])
    model = sk_onnx.to_onnx(est, X.iloc[:5])
    report = _check_batches(est, X.iloc[2000:3008], model)
    assert report["label_Rating"] == 0.0 and report["probabilities_Rating"] < 1e-5


def test_digits_image_fusion_exports():
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    X = {"left": images[:, :, :, :4], "right": images[:, 0, :, 4:].reshape(len(images), -1)}
    y = pd.DataFrame({"digit": digits.target, "odd": digits.target % 2 == 1})
    est = FusionNetClassifier(hidden_dims=(32,), max_epochs=3, random_state=0)
    est.fit({m: v[:600] for m, v in X.items()}, y.iloc[:600])
    model = sk_onnx.to_onnx(est)
    session = _session(model)
    assert [(i.name, i.shape) for i in session.get_inputs()] == [
        ("left", [None, 1, 8, 4]), ("right", [None, 32])]
    assert session.get_outputs()[2].type == "tensor(bool)"  # odd: booleans stay booleans
    _check_batches(est, {m: v[600:] for m, v in X.items()}, model)


def test_fusion_dict_of_text_and_table_exports():
    frame, y = _frame(n=200)
    X = {"text": frame["review"].to_numpy(dtype=object),
         "table": frame[["age", "rating count"]].to_numpy(np.float32)}
    X["text"][5] = None  # a row without text
    est = FusionNetClassifier(max_epochs=3, random_state=0, modality_dropout=0.1)
    est.fit({m: v[:150] for m, v in X.items()}, y.iloc[:150])
    model = sk_onnx.to_onnx(est)
    assert [i.name for i in _session(model).get_inputs()] == ["text", "table"]
    _check_batches(est, {m: v[150:] for m, v in X.items()}, model)
