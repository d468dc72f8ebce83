"""Behaviour of MultiTaskNet, MultiTaskNetClassifier and MultiTaskNetRegressor."""

import copy
import math
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from _helpers import PLAIN, SMALL, STEADY, binary_and_regression
from scipy.stats import loguniform
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from skorch.callbacks import Callback
from torch import nn

from sk_mtl import MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor
from sk_mtl.metrics import task_scorers
from sk_mtl.tasks import MulticlassTask, RegressionTask
from sk_mtl.weighting import StaticWeighting

# Small and fast, one plain network trained steadily (_helpers.STEADY, _helpers.PLAIN): tests
# of the mechanics (missing labels, weights, optimizers, the trunk's input) compare like with
# like; the defaults have their own tests (test_defaults.py).
FAST = {**SMALL, **STEADY, **PLAIN, "lr": 0.02, "max_epochs": 20, "batch_size": 64}


@pytest.fixture(scope="module")
def fitted_mixed():
    """A MultiTaskNet fitted on :func:`binary_and_regression` with its data."""
    X, y = binary_and_regression()
    return MultiTaskNet(**FAST).fit(X, y), X, y


class Recorder(Callback):
    """A skorch callback that hands what it sees to ``sink``.

    Estimators deep-copy their callbacks; ``deepcopy`` keeps functions and built-in methods
    such as ``list.append`` by reference, so ``sink`` still reaches the test's own list.
    """

    def __init__(self, sink):
        self.sink = sink

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.sink(("init", copy.deepcopy(net.module_.state_dict())))

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        self.sink(("batch", training, batch))

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        self.sink(("batch_end", training, kwargs.get("task_losses")))

    def on_epoch_end(self, net, **kwargs):
        self.sink(("epoch", len(net.history)))


def _weight_norms(est, p):
    return sum(
        float(param.detach().abs().pow(p).sum())
        for param in est.module_.parameters()
        if param.ndim >= 2
    )


# =========================================================================== 1-D y
def test_1d_string_labels_like_a_sklearn_classifier():
    X, _ = binary_and_regression()
    y = np.where(X[:, 0] > 0, "yes", "no")
    clf = MultiTaskNetClassifier(**FAST).fit(X, y)
    assert is_classifier(clf)
    assert clf.task_names_ == ["y"]
    assert isinstance(clf.classes_, np.ndarray)
    np.testing.assert_array_equal(clf.classes_, ["no", "yes"])
    pred = clf.predict(X)
    assert pred.shape == (200,)
    assert set(pred.tolist()) <= {"no", "yes"}
    assert all(isinstance(v, str) for v in pred.tolist())
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    assert clf.score(X, y) > 0.9


def test_1d_multiclass_int_labels():
    X, _ = binary_and_regression()
    y = np.argmax(X[:, :3], axis=1) * 10  # classes 0, 10, 20
    net = MultiTaskNet(**FAST).fit(X, y)
    assert net.tasks_["y"].kind == "multiclass"
    np.testing.assert_array_equal(net.classes_, [0, 10, 20])
    pred = net.predict(X)
    assert pred.shape == (200,)
    assert pred.dtype.kind == "i"
    assert net.predict_proba(X).shape == (200, 3)
    assert net.score(X, y) > 0.8


def test_1d_bool_labels_come_back_as_bools():
    X, _ = binary_and_regression()
    y = X[:, 0] > 0
    clf = MultiTaskNetClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [False, True])
    assert clf.predict(X).dtype == bool
    assert clf.score(X, y) > 0.9


def test_1d_regression_like_a_sklearn_regressor():
    X, y = binary_and_regression()
    reg = MultiTaskNetRegressor(**FAST).fit(X, y["r"].to_numpy())
    assert is_regressor(reg)
    pred = reg.predict(X)
    assert pred.shape == (200,)
    assert pred.dtype.kind == "f"
    assert reg.score(X, y["r"].to_numpy()) > 0.8
    assert not hasattr(reg, "predict_proba")
    assert not hasattr(reg, "classes_")


def test_named_series_names_the_task():
    X, y = binary_and_regression()
    reg = MultiTaskNetRegressor(**FAST).fit(X, y["r"].rename("price"))
    assert reg.task_names_ == ["price"]
    assert reg.predict(X).shape == (200,)


# =========================================================================== 2-D y
def test_2d_array_is_one_task_per_column():
    X, _ = binary_and_regression()
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    clf = MultiTaskNetClassifier(**FAST).fit(X, Y)
    assert clf.task_names_ == ["y0", "y1"]
    pred = clf.predict(X)
    assert pred.shape == (200, 2)
    assert pred.dtype.kind == "i"
    proba = clf.predict_proba(X)
    assert isinstance(proba, list)
    assert [p.shape for p in proba] == [(200, 2), (200, 2)]
    assert isinstance(clf.classes_, list)
    for classes in clf.classes_:
        np.testing.assert_array_equal(classes, [0, 1])
    assert clf.score(X, Y) > 0.85


def test_dataframe_string_labels_come_back_as_strings():
    X, _ = binary_and_regression()
    y = pd.DataFrame(
        {
            "color": np.where(X[:, 0] > 0, "red", "white"),
            "size": np.array(["S", "M", "L"])[np.digitize(X[:, 1], [-0.5, 0.5])],
        }
    )
    clf = MultiTaskNetClassifier(**FAST).fit(X, y)
    assert clf.task_names_ == ["color", "size"]
    pred = clf.predict(X)
    assert pred.shape == (200, 2)
    assert set(pred[:, 0].tolist()) <= {"red", "white"}
    assert set(pred[:, 1].tolist()) <= {"S", "M", "L"}
    assert all(isinstance(v, str) for v in pred.ravel().tolist())
    np.testing.assert_array_equal(clf.classes_[1], ["L", "M", "S"])
    assert [p.shape for p in clf.predict_proba(X)] == [(200, 2), (200, 3)]
    by_task = clf.predict_tasks(X)
    assert list(by_task) == ["color", "size"]
    np.testing.assert_array_equal(by_task["size"], pred[:, 1])
    assert clf.task_scores(X, y)["color"] > 0.9


def test_one_column_dataframe_gives_2d_output():
    X, y = binary_and_regression()
    net = MultiTaskNet(**FAST).fit(X, y[["c"]])
    assert net.predict(X).shape == (200, 1)
    assert isinstance(net.predict_proba(X), list)
    assert isinstance(net.classes_, list)


def test_mixed_kinds_with_declared_regression():
    X, _ = binary_and_regression()
    counts = np.clip(np.round(2 * X[:, 1] + 5), 0, 10).astype(int)
    y = pd.DataFrame({"q": counts, "c": np.where(X[:, 0] > 0, "pos", "neg")})
    net = MultiTaskNet(tasks={"q": "regression"}, **FAST).fit(X, y)
    assert {n: t.kind for n, t in net.tasks_.items()} == {"q": "regression", "c": "binary"}
    pred = net.predict(X)
    assert pred.shape == (200, 2)
    assert pred.dtype == object  # a float column and a string column
    assert all(isinstance(v, float) for v in pred[:, 0])
    assert set(pred[:, 1]) <= {"pos", "neg"}
    proba = net.predict_proba(X)
    assert proba[0] is None
    assert proba[1].shape == (200, 2)
    assert net.classes_[0] is None
    np.testing.assert_array_equal(net.classes_[1], ["neg", "pos"])
    scores = net.task_scores(X, y)
    assert scores["q"] > 0.7
    assert scores["c"] > 0.9

    # Left to inference, integer counts are classes, as in scikit-learn, and fit says so.
    from sk_mtl.exceptions import InferredKindWarning

    with pytest.warns(InferredKindWarning, match="'q' was inferred as multiclass"):
        inferred = MultiTaskNet(**{**FAST, "max_epochs": 1}).fit(X, y)
    assert inferred.tasks_["q"].kind == "multiclass"


def test_task_object_in_tasks_is_cloned():
    X, y = binary_and_regression()
    given = RegressionTask(loss="huber")
    net = MultiTaskNet(tasks={"r": given, "c": MulticlassTask()}, **FAST).fit(X, y)
    assert net.tasks_["r"] is not given
    assert net.tasks_["r"].loss == "huber"
    assert not hasattr(given, "n_outputs_")
    assert net.tasks_["c"].kind == "multiclass"
    assert net.predict_proba(X)[0].shape == (200, 2)


def test_multilabel_column():
    X, y = binary_and_regression()
    tags = pd.Series(
        [[t for t, on in zip(("big", "hot"), row) if on] for row in X[:, :2] > 0], dtype=object
    )
    y = pd.DataFrame({"tags": tags, "r": y["r"]})
    net = MultiTaskNet(**{**FAST, "max_epochs": 30}).fit(X, y)
    assert net.tasks_["tags"].kind == "multilabel"
    np.testing.assert_array_equal(net.classes_[0], ["big", "hot"])
    pred = net.predict_tasks(X)["tags"]
    assert pred.shape == (200,)
    assert all(isinstance(p, tuple) and set(p) <= {"big", "hot"} for p in pred)
    proba = net.predict_proba(X)[0]
    assert proba.shape == (200, 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert net.task_scores(X, y)["tags"] > 0.8


def test_multilabel_1d_ragged_list_classifier():
    X, _ = binary_and_regression()
    y = [[t for t, on in zip(("a", "b", "c"), row) if on] for row in X[:, :3] > 0]
    assert len({len(row) for row in y}) > 1  # ragged
    clf = MultiTaskNetClassifier(**{**FAST, "max_epochs": 30}).fit(X, y)
    assert clf.tasks_["y"].kind == "multilabel"
    assert clf.predict(X).shape == (200,)
    assert clf.predict_proba(X).shape == (200, 3)
    assert clf.score(X, y) > 0.7


def test_predict_on_a_subset_agrees_to_float32_precision(fitted_mixed):
    net, X, _ = fitted_mixed
    full = net.predict_proba(X)[0]
    part = net.predict_proba(X[:7])[0]
    np.testing.assert_allclose(part, full[:7], rtol=1e-5, atol=1e-6)
    full, part = net.predict_tasks(X), net.predict_tasks(X[:7])
    np.testing.assert_array_equal(part["c"], full["c"][:7])
    np.testing.assert_allclose(part["r"], full["r"][:7], rtol=1e-5)


def test_fitted_attributes(fitted_mixed):
    net, X, y = fitted_mixed
    assert net.n_features_in_ == 5
    assert net.task_names_ == ["c", "r"]
    assert net.task_weights_ == {"c": 1.0, "r": 1.0}
    assert isinstance(net.module_, nn.Module)
    assert len(net.history_) == FAST["max_epochs"]
    Xdf = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    named = MultiTaskNet(**{**FAST, "max_epochs": 1}).fit(Xdf, y)
    np.testing.assert_array_equal(named.feature_names_in_, Xdf.columns)


def test_predict_before_fit():
    X, _ = binary_and_regression(10)
    for method in ("predict", "predict_proba", "predict_tasks"):
        with pytest.raises(NotFittedError):
            getattr(MultiTaskNet(), method)(X)


def test_score_is_mean_of_task_scores(fitted_mixed):
    net, X, y = fitted_mixed
    scores = net.task_scores(X, y)
    assert set(scores) == {"c", "r"}
    assert net.score(X, y) == pytest.approx(np.mean(list(scores.values())))
    assert scores["c"] == pytest.approx(np.mean(net.predict(X)[:, 0] == y["c"]))
    # Columns are matched by name for a DataFrame.
    assert net.score(X, y[["r", "c"]]) == pytest.approx(net.score(X, y))


# =========================================================================== missing labels
def test_missing_labels_are_left_out_of_that_task_only():
    """Rows missing task ``s`` lie where its label would be "pos"; they must not count.

    If they were trained on, the filler the encoder puts there (class 0, "neg") would
    outnumber the true labels in the region x1 > 0 and the model would predict "neg" there.
    """
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 5)).astype(np.float32)
    s = np.where(X[:, 1] > 0, "pos", "neg").astype(object)
    positive = np.flatnonzero(X[:, 1] > 0)
    hidden = rng.choice(positive, size=int(0.75 * len(positive)), replace=False)
    s[hidden] = None
    y = pd.DataFrame({"a": 2.0 * X[:, 0], "s": s})
    net = MultiTaskNet(**{**FAST, "max_epochs": 30}).fit(X, y)
    np.testing.assert_array_equal(net.classes_[1], ["neg", "pos"])
    pred = net.predict_tasks(X)
    assert np.mean(pred["s"][hidden] == "pos") > 0.85
    # Task "a" has every label and learns on all rows.
    assert net.task_scores(X, y)["a"] > 0.9
    # The scores leave the unlabelled rows out.
    labelled = y["s"].notna().to_numpy()
    expected = np.mean(pred["s"][labelled] == y["s"].to_numpy()[labelled])
    assert net.task_scores(X, y)["s"] == pytest.approx(expected)


@pytest.mark.parametrize("kind", ["regression", "binary"])
def test_missing_labels_train_as_the_labelled_subset(kind):
    """One task, full batches, no validation: NaN rows change nothing but the row count."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 4)).astype(np.float32)
    if kind == "regression":
        y = X[:, 0] - 2.0 * X[:, 1] + 0.1 * rng.normal(size=150)
    else:
        y = (X[:, 0] > 0).astype(float)
    missing = rng.rand(150) < 0.3
    y_missing = np.where(missing, np.nan, y)
    params = {**FAST, "batch_size": -1, "validation_fraction": None}
    with_nan = MultiTaskNet(**params).fit(X, y_missing)
    subset = MultiTaskNet(**params).fit(X[~missing], y[~missing])
    assert with_nan.tasks_["y"].kind == kind
    np.testing.assert_allclose(
        with_nan.history_[:, "train_loss_y"], subset.history_[:, "train_loss_y"], rtol=1e-4
    )
    np.testing.assert_allclose(
        with_nan.history_[:, "train_loss"], subset.history_[:, "train_loss"], rtol=1e-4
    )
    out_nan, out_subset = with_nan.predict(X), subset.predict(X)
    if kind == "regression":
        np.testing.assert_allclose(out_nan, out_subset, rtol=1e-3, atol=1e-4)
    else:
        np.testing.assert_allclose(
            with_nan.predict_proba(X), subset.predict_proba(X), rtol=1e-3, atol=1e-5
        )


def test_missing_label_markers():
    X, y = binary_and_regression()
    y = pd.DataFrame(
        {
            "i": pd.Series(np.where(X[:, 0] > 0, 1, 0), dtype="Int64"),
            "s": y["c"].astype(object),
            "f": y["r"],
        }
    )
    y.loc[::5, "i"] = pd.NA
    y.loc[1::5, "s"] = None
    y.loc[2::5, "f"] = np.nan
    net = MultiTaskNet(**FAST).fit(X, y)
    assert {n: t.kind for n, t in net.tasks_.items()} == {
        "i": "binary",
        "s": "binary",
        "f": "regression",
    }
    np.testing.assert_array_equal(net.classes_[0], [0, 1])
    np.testing.assert_array_equal(net.classes_[1], ["neg", "pos"])
    for row in net.history_:
        for key in ("train_loss", "valid_loss", "train_loss_i", "valid_loss_f"):
            assert math.isfinite(row[key])
    scores = net.task_scores(X, y)
    assert all(math.isfinite(v) for v in scores.values())
    assert scores["i"] > 0.9


def test_task_with_all_labels_missing_raises_naming_it():
    X, y = binary_and_regression(20)
    y["empty"] = np.nan
    net = MultiTaskNet(**FAST)
    with pytest.raises(ValueError, match=r"'empty'.*no labelled row"):
        net.fit(X, y)
    assert not hasattr(net, "net_")


# =========================================================================== task weights
def test_set_params_task_weights_makes_a_new_dict():
    given = {"c": 1.0}
    net = MultiTaskNet(task_weights=given)
    twin = clone(net)
    net.set_params(task_weights__r=2.0, lr=0.5)
    assert net.task_weights == {"c": 1.0, "r": 2.0}
    assert net.lr == 0.5
    assert given == {"c": 1.0}
    assert twin.task_weights == {"c": 1.0}
    assert net.get_params()["task_weights"] == {"c": 1.0, "r": 2.0}
    assert MultiTaskNet().set_params(task_weights__c=0.5).task_weights == {"c": 0.5}


def test_set_params_task_weights_after_fit_takes_effect_at_refit():
    X, y = binary_and_regression()
    net = MultiTaskNet(**{**FAST, "max_epochs": 3}).fit(X, y)
    twin = clone(net)
    net.set_params(task_weights__c=3.0)
    assert net.task_weights_ == {"c": 1.0, "r": 1.0}
    assert twin.task_weights is None
    net.fit(X, y)
    assert net.task_weights_ == {"c": 3.0, "r": 1.0}
    assert net.history_[:, "weight_c"] == [3.0, 3.0, 3.0]
    assert net.history_[:, "weight_r"] == [1.0, 1.0, 1.0]


def test_zero_weight_task_does_not_learn():
    X, y = binary_and_regression()
    seen = []
    # Plain Adam: AdamW's decoupled weight decay would shrink even a head with no gradient.
    net = MultiTaskNet(
        task_weights={"r": 0.0}, optimizer="adam", callbacks=[Recorder(seen.append)], **FAST
    ).fit(X, y)
    init = next(s[1] for s in seen if s[0] == "init")
    final = net.module_.state_dict()
    rows_r, rows_c = net.module_.head_slices["r"], net.module_.head_slices["c"]
    for part in ("weight", "bias"):
        torch.testing.assert_close(final[f"head.{part}"][rows_r], init[f"head.{part}"][rows_r])
    moved = (final["head.weight"][rows_c] - init["head.weight"][rows_c]).abs().max()
    assert moved > 0.05
    scores = net.task_scores(X, y)
    assert scores["c"] > 0.9
    assert scores["r"] < 0.5


def test_task_weights_scale_the_objective():
    X, y = binary_and_regression()
    net = MultiTaskNet(task_weights={"c": 2.0, "r": 0.5}, **{**FAST, "max_epochs": 4}).fit(X, y)
    h = net.history_
    for row in h:
        assert row["train_objective"] == pytest.approx(
            2.0 * row["train_loss_c"] + 0.5 * row["train_loss_r"], rel=1e-5
        )
        assert row["train_loss"] == pytest.approx(
            row["train_loss_c"] + row["train_loss_r"], rel=1e-5
        )
        assert (row["weight_c"], row["weight_r"]) == (2.0, 0.5)


@pytest.mark.parametrize(
    ("weights", "match"),
    [
        ({"nope": 1.0}, r"task_weights.*\['nope'\]"),
        ({"c": -1.0}, r"task_weights\['c'\].*-1\.0"),
        ({"c": float("nan")}, r"task_weights\['c'\].*nan"),
        ({"c": float("inf")}, r"task_weights\['c'\].*inf"),
        ({"r": "1"}, r"task_weights\['r'\]"),
        ({"c": 0.0, "r": 0.0}, "all zero"),
    ],
)
def test_bad_task_weights(weights, match):
    X, y = binary_and_regression(30)
    net = MultiTaskNet(task_weights=weights, **FAST)
    with pytest.raises(ValueError, match=match):
        net.fit(X, y)
    assert not hasattr(net, "net_")


def test_bad_task_weight_set_by_set_params():
    X, y = binary_and_regression(30)
    net = MultiTaskNet(**FAST).set_params(task_weights__colour=2.0)
    with pytest.raises(ValueError, match="colour"):
        net.fit(X, y)


def test_optimizer_params_momentum():
    X, y = binary_and_regression(100)
    net = MultiTaskNet(optimizer="sgd", **{**FAST, "max_epochs": 2})
    net.set_params(optimizer_params__momentum=0.9)
    assert net.optimizer_params == {"momentum": 0.9}
    net.set_params(optimizer_params__nesterov=True)
    assert net.optimizer_params == {"momentum": 0.9, "nesterov": True}
    net.fit(X, y)
    optimizer = net.net_.optimizer_
    assert isinstance(optimizer, torch.optim.SGD)
    group = optimizer.param_groups[0]
    assert (group["momentum"], group["nesterov"], group["lr"]) == (0.9, True, FAST["lr"])


def test_optimizer_class():
    X, y = binary_and_regression(60)
    net = MultiTaskNet(optimizer=torch.optim.RMSprop, **{**FAST, "max_epochs": 1}).fit(X, y)
    assert isinstance(net.net_.optimizer_, torch.optim.RMSprop)


@pytest.mark.parametrize(
    ("hidden_dims", "widths"),
    [((), []), (8, [8]), (np.int64(8), [8]), ([8, 4], [8, 4]), ((np.int64(6),), [6])],
)
def test_hidden_dims_forms(hidden_dims, widths):
    """An int (Python or numpy, as RandomizedSearchCV draws them) is one hidden layer."""
    X, y = binary_and_regression(60)
    net = MultiTaskNet(**{**FAST, "hidden_dims": hidden_dims, "max_epochs": 1})
    net.fit(X, y)
    linears = [m for m in net.module_.trunk.modules() if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == widths
    assert net.module_.head.in_features == (widths[-1] if widths else 5)


def test_batch_norm_with_a_one_row_last_batch():
    """65 training rows in batches of 64 leave one row in the last batch; BatchNorm1d cannot
    normalise a single row in training mode, and fit must not crash on it."""
    X, y = binary_and_regression(65)
    net = MultiTaskNet(batch_norm=True, validation_fraction=None, **{**FAST, "max_epochs": 2}).fit(
        X, y
    )
    assert net.predict(X).shape == (65, 2)
    assert all(math.isfinite(v) for v in net.history_[:, "train_loss"])


# =========================================================================== penalties
@pytest.mark.parametrize(("param", "p"), [("lambda_l2", 2), ("lambda_l1", 1)])
def test_larger_penalty_gives_smaller_weights(param, p):
    X, y = binary_and_regression()
    norms = []
    for value in (0.0, 1e-3, 1e-2):
        net = MultiTaskNet(**{**FAST, param: value}).fit(X, y)
        norms.append(_weight_norms(net, p))
        row = net.history_[-1]
        if value:
            # The objective includes the penalty, the logged task losses do not.
            assert row["train_objective"] > row["train_loss"]
        else:
            assert row["train_objective"] == pytest.approx(row["train_loss"], rel=1e-5)
    assert norms[0] > norms[1] > norms[2]


# =========================================================================== history
HISTORY_KEYS = {
    "train_loss",
    "valid_loss",
    "train_loss_c",
    "train_loss_r",
    "valid_loss_c",
    "valid_loss_r",
    "train_objective",
    "weight_c",
    "weight_r",
    "dur",
}


def test_history_keys_every_epoch(fitted_mixed):
    net, _, _ = fitted_mixed
    assert len(net.history_) == FAST["max_epochs"]
    for row in net.history_:
        assert HISTORY_KEYS <= set(row)


def test_valid_loss_is_sum_of_task_losses(fitted_mixed):
    net, _, _ = fitted_mixed
    for row in net.history_:
        assert row["valid_loss"] == pytest.approx(
            row["valid_loss_c"] + row["valid_loss_r"], rel=1e-5
        )
        assert row["train_loss"] == pytest.approx(
            row["train_loss_c"] + row["train_loss_r"], rel=1e-5
        )
    losses = net.history_[:, "train_loss"]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("fraction", [None, 0.0])
def test_no_validation(fraction):
    X, y = binary_and_regression(60)
    net = MultiTaskNet(validation_fraction=fraction, **{**FAST, "max_epochs": 2}).fit(X, y)
    for row in net.history_:
        assert "train_loss_c" in row
        assert not any(key.startswith("valid_") for key in row)


def test_validation_skipped_when_less_than_one_row():
    X, y = binary_and_regression(8)
    net = MultiTaskNet(validation_fraction=0.1, **{**FAST, "max_epochs": 2}).fit(X, y)
    assert "valid_loss" not in net.history_[-1]


def test_stratify_on_a_classification_task():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    rare = np.array(["common"] * 180 + ["rare"] * 20, dtype=object)
    rng.shuffle(rare)
    y = pd.DataFrame({"k": rare, "r": X[:, 0]})
    seen = []
    net = MultiTaskNet(
        stratify="k",
        validation_fraction=0.25,
        callbacks=[Recorder(seen.append)],
        **{**FAST, "max_epochs": 1, "batch_size": -1},
    ).fit(X, y)
    assert "valid_loss_k" in net.history_[-1]
    (valid_batch,) = [s[2] for s in seen if s[0] == "batch" and not s[1]]
    codes = valid_batch[1]["k"][0]
    assert len(codes) == 50
    # 10% of 50 validation rows are "rare" (code 1), exactly.
    assert int(codes.sum()) == 5


@pytest.mark.parametrize("stratify", ["r", "nope"])
def test_stratify_must_name_a_classification_task(stratify):
    X, y = binary_and_regression(40)
    net = MultiTaskNet(stratify=stratify, **FAST)
    with pytest.raises(ValueError, match=rf"stratify='{stratify}'.*\['c', 'r'\]"):
        net.fit(X, y)
    assert not hasattr(net, "net_")


def test_stratify_on_a_multilabel_task():
    X, _ = binary_and_regression(60)
    y = pd.DataFrame({"tags": pd.Series([["a"], ["a", "b"], []] * 20), "r": X[:, 0]})
    net = MultiTaskNet(stratify="tags", **FAST)
    with pytest.raises(ValueError, match=r"stratify='tags'.*multilabel"):
        net.fit(X, y)
    assert not hasattr(net, "net_")


def test_stratify_error_names_the_task():
    X, _ = binary_and_regression(60)
    y = pd.DataFrame({"c": ["a"] * 59 + ["b"], "r": X[:, 0]})  # one member in class "b"
    with pytest.raises(ValueError, match="stratified on task 'c'"):
        MultiTaskNet(stratify="c", **FAST).fit(X, y)


def test_early_stopping_when_the_validation_split_would_be_empty():
    """8 rows * 0.1 < 1 row: no validation set, so early stopping has nothing to monitor.

    That must be a clear ValueError before training (not a KeyError from the history
    halfway through the first epoch).
    """
    X, y = binary_and_regression(8)
    net = MultiTaskNet(**{**FAST, "early_stopping": True, "validation_fraction": 0.1})
    with pytest.raises(ValueError, match="early_stopping"):
        net.fit(X, y)
    assert not hasattr(net, "net_")


def test_early_stopping_stops_on_random_labels():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    y = rng.randint(0, 2, size=200)
    clf = MultiTaskNetClassifier(
        hidden_dims=(64,),
        lr=0.05,
        max_epochs=30,
        batch_size=32,
        validation_fraction=0.3,
        early_stopping=True,
        n_iter_no_change=2,
        random_state=0,
    ).fit(X, y)
    assert len(clf.history_) < 30
    # Stopped n_iter_no_change epochs after the best one.
    best = int(np.argmin(clf.history_[:, "valid_loss"]))
    assert 0 <= len(clf.history_) - 1 - best <= 2


def test_verbose_prints_per_task_columns(capsys):
    X, y = binary_and_regression(60)
    MultiTaskNet(verbose=1, **{**FAST, "max_epochs": 2}).fit(X, y)
    out = capsys.readouterr().out
    for column in ("epoch", "train_loss_c", "train_loss_r", "valid_loss_c", "valid_loss_r"):
        assert column in out
    MultiTaskNet(verbose=0, **{**FAST, "max_epochs": 2}).fit(X, y)
    assert capsys.readouterr().out == ""


def test_callbacks_are_copied_and_see_task_losses():
    X, y = binary_and_regression(100)
    seen = []
    callback = Recorder(seen.append)
    net = MultiTaskNet(callbacks=[("rec", callback)], **{**FAST, "max_epochs": 3}).fit(X, y)
    assert [s[1] for s in seen if s[0] == "epoch"] == [1, 2, 3]
    task_losses = [s[2] for s in seen if s[0] == "batch_end" and s[1]]
    assert task_losses
    assert all(set(t) == {"c", "r"} for t in task_losses)
    assert net.callbacks[0][1] is callback


# =========================================================================== random state
def test_same_seed_same_predictions_different_seed_differs():
    X, y = binary_and_regression()
    params = {**FAST, "dropout": 0.2, "max_epochs": 5}
    a = MultiTaskNet(**params).fit(X, y)
    b = MultiTaskNet(**params).fit(X, y)
    c = MultiTaskNet(**{**params, "random_state": 1}).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X)[0], b.predict_proba(X)[0])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.allclose(a.predict_proba(X)[0], c.predict_proba(X)[0])


def test_random_state_instance():
    X, y = binary_and_regression(100)
    params = {**FAST, "max_epochs": 3}
    a = MultiTaskNet(**{**params, "random_state": np.random.RandomState(3)}).fit(X, y)
    b = MultiTaskNet(**{**params, "random_state": np.random.RandomState(3)}).fit(X, y)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_fit_leaves_global_rng_state_alone():
    X, y = binary_and_regression(100)
    torch_state = torch.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 - the legacy global RNG is the point
    MultiTaskNet(**{**FAST, "dropout": 0.1, "max_epochs": 2}).fit(X, y)
    assert torch.equal(torch_state, torch.get_rng_state())
    after = np.random.get_state()  # noqa: NPY002
    assert numpy_state[0] == after[0]
    np.testing.assert_array_equal(numpy_state[1], after[1])
    assert numpy_state[2:] == after[2:]


# =========================================================================== custom trunk
def test_custom_trunk_module_is_copied():
    X, y = binary_and_regression()
    torch.manual_seed(0)
    user = nn.Sequential(nn.Linear(5, 12), nn.ReLU())  # no out_features: width by dry run
    before = copy.deepcopy(user.state_dict())
    net = MultiTaskNet(trunk=user, **FAST).fit(X, y)
    for key, value in user.state_dict().items():
        torch.testing.assert_close(value, before[key])
    assert net.module_.trunk is not user
    assert net.module_.head.in_features == 12
    assert not torch.equal(net.module_.trunk[0].weight.detach(), before["0.weight"])
    assert net.score(X, y) > 0.8


def _small_trunk(n_features):
    return nn.Sequential(nn.Linear(n_features, 6), nn.Tanh())


def test_custom_trunk_callable():
    X, y = binary_and_regression()
    net = MultiTaskNet(trunk=_small_trunk, **FAST).fit(X, y)
    assert net.module_.trunk[0].in_features == 5
    assert net.module_.head.in_features == 6
    assert net.predict(X).shape == (200, 2)
    clone(net).fit(X, y)
    pickle.loads(pickle.dumps(net)).predict(X)


def test_custom_trunk_failing_on_input():
    X, y = binary_and_regression(30)
    net = MultiTaskNet(trunk=nn.Sequential(nn.Linear(3, 4)), **FAST)
    with pytest.raises(ValueError, match=r"custom trunk Sequential failed.*\(2, 5\)"):
        net.fit(X, y)
    assert not hasattr(net, "net_")


def test_custom_trunk_with_out_features_failing_on_input():
    """A trunk with an ``out_features`` attribute that does not fit the input fails clearly."""
    X, y = binary_and_regression(30)
    net = MultiTaskNet(trunk=nn.Linear(3, 4), **FAST)
    with pytest.raises(ValueError, match="trunk"):
        net.fit(X, y)


def test_custom_trunk_bad_types():
    X, y = binary_and_regression(30)
    with pytest.raises(TypeError, match=r"must return an nn\.Module"):
        MultiTaskNet(trunk=lambda n: "mlp", **FAST).fit(X, y)
    with pytest.raises(ValueError, match="trunk='mlp' is not known"):
        MultiTaskNet(trunk="mlp", **FAST).fit(X, y)
    with pytest.raises(TypeError, match="trunk must be None"):
        MultiTaskNet(trunk=3, **FAST).fit(X, y)


# =========================================================================== sparse input
def test_sparse_csr_matches_dense():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(150, 6)).astype(np.float32)
    X[rng.rand(*X.shape) < 0.6] = 0.0
    y = pd.DataFrame({"c": (X[:, 0] + X[:, 1] > 0).astype(int), "r": X[:, 2] - X[:, 3]})
    params = {**FAST, "max_epochs": 10}
    dense = MultiTaskNet(**params).fit(X, y)
    sparse = MultiTaskNet(**params).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(
        sparse.predict_proba(sp.csr_matrix(X))[0], dense.predict_proba(X)[0], atol=1e-6
    )
    np.testing.assert_allclose(
        sparse.predict_tasks(X)["r"], dense.predict_tasks(X)["r"], rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        dense.predict_tasks(sp.csc_matrix(X))["r"], dense.predict_tasks(X)["r"], rtol=1e-6
    )


# =========================================================================== sklearn tools
def test_clone_and_pickle_round_trip(fitted_mixed):
    net, X, _ = fitted_mixed
    fresh = clone(net)
    assert fresh.get_params() == net.get_params()
    assert not hasattr(fresh, "net_")
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))
    np.testing.assert_array_equal(restored.predict_proba(X)[0], net.predict_proba(X)[0])
    assert restored.history_[:, "train_loss"] == net.history_[:, "train_loss"]


def test_save_and_load_params_through_net(fitted_mixed, tmp_path):
    net, X, y = fitted_mixed
    path = tmp_path / "params.pt"
    net.net_.save_params(f_params=str(path))
    other = MultiTaskNet(**{**FAST, "max_epochs": 1, "random_state": 5}).fit(X, y)
    assert not np.allclose(other.predict_proba(X)[0], net.predict_proba(X)[0])
    other.net_.load_params(f_params=str(path))
    np.testing.assert_allclose(other.predict_proba(X)[0], net.predict_proba(X)[0], rtol=1e-6)


def test_weighting_object_is_cloned():
    X, y = binary_and_regression(60)
    given = StaticWeighting()
    net = MultiTaskNet(weighting=given, task_weights={"c": 2.0}, **{**FAST, "max_epochs": 1})
    net.fit(X, y)
    assert not hasattr(given, "weights_")
    assert net.history_[-1, "weight_c"] == 2.0


def test_pipeline_with_column_transformer():
    rng = np.random.RandomState(0)
    n = 200
    X = pd.DataFrame(
        {
            "size": rng.normal(10.0, 5.0, size=n),
            "weight": rng.normal(-3.0, 0.1, size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
        }
    )
    y = pd.DataFrame(
        {
            "big": np.where(X["size"] > 10, "yes", "no"),
            "price": (X["colour"] == "red") * 2.0 + (X["weight"] + 3.0) * 10.0,
        }
    )
    pipe = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), ["size", "weight"]),
                        ("cat", OneHotEncoder(), ["colour"]),
                    ]
                ),
            ),
            ("net", MultiTaskNet(**{**FAST, "max_epochs": 30})),
        ]
    )
    pipe.fit(X, y)
    pred = pipe.predict(X)
    assert pred.shape == (n, 2)
    assert set(pred[:, 0]) <= {"yes", "no"}
    assert pipe.named_steps["net"].task_names_ == ["big", "price"]
    assert pipe.score(X, y) > 0.8


def test_grid_search_over_task_weights_hidden_dims_and_lr():
    X, y = binary_and_regression(120)
    grid = GridSearchCV(
        MultiTaskNet(**{**FAST, "max_epochs": 5}),
        {"task_weights__r": [0.5, 2.0], "hidden_dims": [(8,), (16,)], "lr": [0.02]},
        scoring=task_scorers({"c": "accuracy", "r": None}),
        refit="c_accuracy",
        cv=2,
        n_jobs=2,
    )
    grid.fit(X, y)
    results = grid.cv_results_
    assert len(results["params"]) == 4
    assert {"mean_test_c_accuracy", "mean_test_r"} <= set(results)
    best = grid.best_params_
    assert grid.best_score_ == pytest.approx(results["mean_test_c_accuracy"][grid.best_index_])
    assert grid.best_estimator_.task_weights == {"r": best["task_weights__r"]}
    assert grid.best_estimator_.task_weights_ == {"c": 1.0, "r": best["task_weights__r"]}
    assert grid.predict(X).shape == (120, 2)


def test_randomized_search():
    X, y = binary_and_regression(100)
    search = RandomizedSearchCV(
        MultiTaskNet(**{**FAST, "max_epochs": 3}),
        {"lr": loguniform(1e-3, 1e-1), "task_weights__c": [0.5, 1.0, 2.0]},
        n_iter=2,
        cv=2,
        random_state=0,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 2
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert "c" in search.best_estimator_.task_weights


def test_task_scorers_on_a_pipeline():
    X, y = binary_and_regression(120)
    pipe = Pipeline([("scale", StandardScaler()), ("net", MultiTaskNet(**FAST))])
    scoring = task_scorers({"c": "accuracy", "r": "r2"})
    results = cross_validate(pipe, X * 10.0 + 3.0, y, scoring=scoring, cv=2)
    assert (results["test_c_accuracy"] > 0.8).all()
    assert (results["test_r_r2"] > 0.5).all()
    pipe.set_params(net__task_weights__r=2.0)
    assert pipe.named_steps["net"].task_weights == {"r": 2.0}


def test_cross_validate_with_task_scorers():
    X, y = binary_and_regression(120)
    y["c"] = y["c"].astype(object)
    y.loc[::7, "c"] = None
    scoring = task_scorers({"c": ["accuracy", "roc_auc"], "r": [None, "neg_mean_absolute_error"]})
    results = cross_validate(MultiTaskNet(**FAST), X, y, scoring=scoring, cv=3)
    for key in ("c_accuracy", "c_roc_auc", "r", "r_neg_mean_absolute_error"):
        values = results[f"test_{key}"]
        assert values.shape == (3,)
        assert np.isfinite(values).all()
    assert (results["test_c_accuracy"] > 0.8).all()
    assert (results["test_r_neg_mean_absolute_error"] < 0).all()


# =========================================================================== bad input
def _X(n=30, d=5):
    return np.random.RandomState(0).normal(size=(n, d)).astype(np.float32)


def _y(n=30):
    return np.arange(n) % 2


def _bad_inputs():
    X = _X()
    y = _y()
    df = pd.DataFrame(X, columns=list("abcde"))
    df_nan = df.copy()
    df_nan.loc[3, "c"] = np.nan
    X_inf = X.copy()
    X_inf[4, 2] = np.inf
    df_text = df.assign(colour=["red", "blue"] * 15)
    y2 = pd.DataFrame({"c": y, "r": X[:, 0]})
    return [
        ("nan_in_dataframe", MultiTaskNet, {}, df_nan, y, r"NaN.*\['c'\]"),
        ("inf_in_array", MultiTaskNet, {}, X_inf, y, r"infinity.*\[2\]"),
        ("row_mismatch", MultiTaskNet, {}, X, y[:-1], "30 rows but y has 29"),
        ("empty_X", MultiTaskNet, {}, np.empty((0, 5)), np.empty(0), "0 sample"),
        ("non_numeric_column", MultiTaskNet, {}, df_text, y, r"non-numeric.*\['colour'\]"),
        ("tasks_key_not_target", MultiTaskNet, {"tasks": {"nope": "binary"}}, X, y2, "nope"),
        (
            "unknown_kind",
            MultiTaskNet,
            {"tasks": {"c": "ordinal"}},
            X,
            y2,
            r"'c'.*'ordinal'.*'binary'",
        ),
        ("continuous_to_classifier", MultiTaskNetClassifier, {}, X, X[:, 0], "Unknown label type"),
        (
            "regression_as_classifier_task",
            MultiTaskNetClassifier,
            {"tasks": {"r": "regression"}},
            X,
            y2,
            r"'r' is 'regression'",
        ),
        (
            "strings_to_regressor",
            MultiTaskNetRegressor,
            {},
            X,
            np.where(y, "a", "b"),
            r"'y'.*not numbers",
        ),
        ("one_class", MultiTaskNetClassifier, {}, X, np.zeros(30, int), r"'y'.*only one class"),
        ("y_none", MultiTaskNet, {}, X, None, "requires y"),
        ("inf_in_target", MultiTaskNetRegressor, {}, X, np.r_[np.inf, X[1:, 0]], "infinity"),
        (
            "mixed_label_types",
            MultiTaskNet,
            {},
            X,
            np.array(["a", 1] * 15, dtype=object),
            r"'y'.*mixes label types",
        ),
        ("unknown_optimizer", MultiTaskNet, {"optimizer": "adamx"}, X, y, "optimizer='adamx'"),
        ("bad_optimizer_type", MultiTaskNet, {"optimizer": 3}, X, y, "optimizer must be"),
        ("unknown_activation", MultiTaskNet, {"activation": "swishy"}, X, y, "swishy"),
        ("hidden_dims_zero", MultiTaskNet, {"hidden_dims": (8, 0)}, X, y, "hidden_dims"),
        ("hidden_dims_negative", MultiTaskNet, {"hidden_dims": -3}, X, y, "hidden_dims"),
        ("hidden_dims_text", MultiTaskNet, {"hidden_dims": ("a",)}, X, y, "hidden_dims"),
        ("hidden_dims_float", MultiTaskNet, {"hidden_dims": (8.5,)}, X, y, "hidden_dims"),
        ("hidden_dims_none", MultiTaskNet, {"hidden_dims": None}, X, y, "hidden_dims"),
        ("dropout_one", MultiTaskNet, {"dropout": 1.0}, X, y, "dropout"),
        ("dropout_negative", MultiTaskNet, {"dropout": -0.1}, X, y, "dropout"),
        ("lr_zero", MultiTaskNet, {"lr": 0.0}, X, y, "lr"),
        ("max_epochs_zero", MultiTaskNet, {"max_epochs": 0}, X, y, "max_epochs"),
        ("batch_size_zero", MultiTaskNet, {"batch_size": 0}, X, y, "batch_size"),
        ("lambda_negative", MultiTaskNet, {"lambda_l2": -1.0}, X, y, "lambda_l2"),
        (
            "validation_one",
            MultiTaskNet,
            {"validation_fraction": 1.0},
            X,
            y,
            "validation_fraction",
        ),
        (
            "early_stopping_without_validation",
            MultiTaskNet,
            {"early_stopping": True, "validation_fraction": None},
            X,
            y,
            "early_stopping",
        ),
        ("unknown_weighting", MultiTaskNet, {"weighting": "magic"}, X, y, "weighting='magic'"),
        ("bad_device", MultiTaskNet, {"device": "toaster"}, X, y, "device='toaster'"),
        ("tasks_not_dict", MultiTaskNet, {"tasks": ["binary"]}, X, y, "tasks must be"),
        (
            "multilabel_declared_on_strings",
            MultiTaskNet,
            {"tasks": {"y": "multilabel"}},
            X,
            np.array(["ab", "b"] * 15, dtype=object),
            "'y'",
        ),
    ]


BAD_INPUTS = _bad_inputs()


@pytest.mark.parametrize(
    ("cls", "params", "X", "y", "match"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_raises_before_training(cls, params, X, y, match):
    net = cls(**{**FAST, **params})
    with pytest.raises((ValueError, TypeError), match=match):
        net.fit(X, y)
    assert not hasattr(net, "net_")


def test_bad_input_error_types():
    X, y = _X(), _y()
    with pytest.raises(ValueError):
        MultiTaskNet(**FAST).fit(X, None)
    with pytest.raises(ValueError):
        MultiTaskNet(dropout=2.0).fit(X, y)
    with pytest.raises(TypeError):
        MultiTaskNet(hidden_dims=None).fit(X, y)


def test_wrong_n_features_at_predict(fitted_mixed):
    net, X, _ = fitted_mixed
    with pytest.raises(ValueError, match="X has 4 features, but MultiTaskNet is expecting 5"):
        net.predict(X[:, :4])


def test_nan_at_predict_names_the_column():
    X, y = binary_and_regression(60)
    df = pd.DataFrame(X, columns=list("abcde"))
    net = MultiTaskNet(**{**FAST, "max_epochs": 1}).fit(df, y)
    bad = df.copy()
    bad.loc[0, "e"] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*\['e'\]"):
        net.predict(bad)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_device_without_cuda():
    net = MultiTaskNet(device="cuda", **FAST)
    with pytest.raises(ValueError, match=r"device='cuda'.*CUDA is not available"):
        net.fit(_X(), _y())
    assert not hasattr(net, "net_")


# =========================================================================== device
@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fit_predict_on_cuda():
    X, y = binary_and_regression()
    net = MultiTaskNet(device="cuda", **FAST).fit(X, y)
    assert next(net.module_.parameters()).device.type == "cuda"
    assert net.predict(X).shape == (200, 2)
    assert net.predict_proba(X)[0].shape == (200, 2)
    assert net.task_scores(X, y)["c"] > 0.9
    sparse = MultiTaskNet(device="cuda", **{**FAST, "max_epochs": 2}).fit(sp.csr_matrix(X), y)
    assert sparse.predict(sp.csr_matrix(X)).shape == (200, 2)
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_predictions_do_not_depend_on_the_rows_sent_with_them():
    # On CUDA the padded prediction blocks are 4,096 rows (one launch per layer per block);
    # a row's output must still be the same alone, in a subset and in the whole set, also
    # across a block boundary.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(5000, 6)).astype(np.float32)
    y = np.column_stack([(X[:, 0] > 0).astype(int), (X[:, 1] > 0).astype(int)])
    net = MultiTaskNetClassifier(device="cuda", **{**FAST, "ensemble_size": 4, "max_epochs": 3})
    net.fit(X, y)
    whole = net.predict_proba(X)
    for rows in (np.arange(1), np.arange(4090, 4100), rng.permutation(5000)[:333]):
        part = net.predict_proba(X[rows])
        for task_whole, task_part in zip(whole, part):
            np.testing.assert_array_equal(task_part, task_whole[rows])


def test_choices_given_as_numpy_strings_are_accepted():
    # A grid written as a numpy array hands numpy strings to set_params.
    X, y = _X(), _y()
    net = MultiTaskNet(on_divergence=np.str_("raise"), progress_bar=np.str_("auto"),
                       **{**FAST, "max_epochs": 1})
    assert net.fit(X, y).predict(X).shape[0] == len(X)


def test_integer_labels_of_many_levels_read_as_classes_are_warned_about():
    from sk_mtl.exceptions import InferredKindWarning

    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 3)).astype(np.float32)
    score = pd.DataFrame({"score": rng.randint(3, 10, size=120)})  # 7 levels, like wine
    with pytest.warns(InferredKindWarning, match=r"'score' was inferred as multiclass: its "
                                                 r"labels are 7 integer levels \(3 to 9\)"):
        MultiTaskNet(**{**FAST, "max_epochs": 1}).fit(X, score)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", InferredKindWarning)
        # Declared, few levels, or a classifier (whose labels are classes by choice): quiet.
        MultiTaskNet(tasks={"score": "multiclass"}, **{**FAST, "max_epochs": 1}).fit(X, score)
        MultiTaskNet(**{**FAST, "max_epochs": 1}).fit(X, score.clip(4, 6))
        MultiTaskNetClassifier(**{**FAST, "max_epochs": 1}).fit(X, score)
