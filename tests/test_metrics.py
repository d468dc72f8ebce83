"""Tests for sk_mtl.metrics: per-task scorers."""

import numpy as np
import pandas as pd
import pytest
from _helpers import SMALL
from sklearn.exceptions import NotFittedError
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    make_scorer,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from sk_mtl import MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor
from sk_mtl.metrics import task_scorer, task_scorers

FAST = {**SMALL, "lr": 0.02, "max_epochs": 15, "batch_size": 64}


@pytest.fixture(scope="module")
def fitted():
    """A MultiTaskNet on a binary string task ``c`` and a regression ``r``, and test data.

    The test ``y`` has missing labels (None for ``c``, NaN for ``r``) on different rows, and
    the network is deliberately under-trained so that predictions are not all right.
    """
    rng = np.random.RandomState(0)
    X = rng.normal(size=(240, 4)).astype(np.float32)
    c = np.where(X[:, 0] + 0.5 * rng.normal(size=240) > 0, "pos", "neg").astype(object)
    r = 2.0 * X[:, 1] + rng.normal(size=240)
    y = pd.DataFrame({"c": c, "r": r})
    net = MultiTaskNet(**{**FAST, "max_epochs": 5}).fit(X[:160], y[:160])
    X_test, y_test = X[160:], y[160:].reset_index(drop=True).copy()
    y_test.loc[::4, "c"] = None
    y_test.loc[1::5, "r"] = np.nan
    return net, X_test, y_test


def _labelled(y, task):
    return y[task].notna().to_numpy()


def test_default_scorer_is_task_score_on_labelled_rows(fitted):
    net, X, y = fitted
    keep = _labelled(y, "c")
    pred = net.predict_tasks(X)["c"]
    expected = np.mean(pred[keep] == y["c"].to_numpy()[keep])
    assert 0.0 < expected < 1.0  # some right, some wrong: the check means something
    assert task_scorer("c")(net, X, y) == pytest.approx(expected)
    assert task_scorer("c", None)(net, X, y) == pytest.approx(expected)

    keep = _labelled(y, "r")
    expected_r2 = r2_score(y["r"].to_numpy()[keep], net.predict_tasks(X)["r"][keep])
    assert task_scorer("r")(net, X, y) == pytest.approx(expected_r2)


def test_accuracy_scorer(fitted):
    net, X, y = fitted
    keep = _labelled(y, "c")
    expected = accuracy_score(y["c"].to_numpy()[keep].astype(str), net.predict_tasks(X)["c"][keep])
    assert task_scorer("c", "accuracy")(net, X, y) == pytest.approx(expected)


def test_roc_auc_scorer_uses_probabilities(fitted):
    net, X, y = fitted
    keep = _labelled(y, "c")
    proba = net.predict_proba(X)[0]
    positive = net.classes_[0][1]
    assert positive == "pos"
    expected = roc_auc_score(y["c"].to_numpy()[keep] == positive, proba[keep, 1])
    assert task_scorer("c", "roc_auc")(net, X, y) == pytest.approx(expected)


def test_neg_mean_absolute_error_scorer(fitted):
    net, X, y = fitted
    keep = _labelled(y, "r")
    expected = -mean_absolute_error(y["r"].to_numpy()[keep], net.predict_tasks(X)["r"][keep])
    value = task_scorer("r", "neg_mean_absolute_error")(net, X, y)
    assert value < 0
    assert value == pytest.approx(expected)


def test_callable_scorer_sees_only_labelled_rows(fitted):
    net, X, y = fitted
    seen = {}

    def scorer(estimator, X_task, y_task):
        seen["n"] = len(y_task)
        seen["X_rows"] = X_task.shape[0]
        seen["pred"] = estimator.predict(X_task)
        return 42.0

    assert task_scorer("r", scorer)(net, X, y) == 42.0
    assert seen["n"] == seen["X_rows"] == _labelled(y, "r").sum()
    assert np.isnan(y["r"]).any()
    np.testing.assert_allclose(seen["pred"], net.predict_tasks(X)["r"][_labelled(y, "r")])


def test_make_scorer_with_string_labels(fitted):
    net, X, y = fitted
    keep = _labelled(y, "c")
    expected = f1_score(
        y["c"].to_numpy()[keep].astype(str), net.predict_tasks(X)["c"][keep], pos_label="pos"
    )
    scorer = task_scorer("c", make_scorer(f1_score, pos_label="pos"))
    assert scorer(net, X, y) == pytest.approx(expected)


def test_sample_weight_of_labelled_rows(fitted):
    net, X, y = fitted
    keep = _labelled(y, "c")
    w = np.arange(1, len(y) + 1, dtype=float)
    right = net.predict_tasks(X)["c"] == y["c"].to_numpy()
    expected = np.average(right[keep], weights=w[keep])
    assert task_scorer("c")(net, X, y, sample_weight=w) == pytest.approx(expected)
    assert task_scorer("c", "accuracy")(net, X, y, sample_weight=w) == pytest.approx(expected)


def test_scorer_with_array_y_by_position(fitted):
    net, X, y = fitted
    y_array = y.to_numpy()  # object array: column 0 is "c", column 1 is "r"
    assert task_scorer("r")(net, X, y_array) == pytest.approx(task_scorer("r")(net, X, y))


def test_unknown_task_raises(fitted):
    net, X, y = fitted
    with pytest.raises(ValueError, match=r"'nope' is not a task.*\['c', 'r'\]"):
        task_scorer("nope")(net, X, y)


def test_unfitted_estimator():
    with pytest.raises(NotFittedError):
        task_scorer("y")(MultiTaskNet(), np.zeros((2, 2)), np.zeros(2))


def test_task_scorers_key_naming():
    def custom(estimator, X, y):
        return 0.0

    scorers = task_scorers({"c": [None, "accuracy", custom, "roc_auc"], "r": "r2", "r.2": None})
    assert sorted(scorers) == ["c", "c_2", "c_accuracy", "c_roc_auc", "r.2", "r_r2"]
    assert scorers["c_accuracy"].task == "c"
    assert scorers["c_accuracy"].scoring == "accuracy"
    assert scorers["c_2"].scoring is custom
    assert scorers["c"].scoring is None
    assert repr(scorers["r_r2"]) == "task_scorer('r', scoring='r2')"
    assert task_scorers({"a": ("accuracy",)}).keys() == {"a_accuracy"}


def test_task_scorers_values_match_single_scorers(fitted):
    net, X, y = fitted
    scorers = task_scorers({"c": ["accuracy", None], "r": "neg_mean_absolute_error"})
    assert scorers["c_accuracy"](net, X, y) == pytest.approx(task_scorer("c")(net, X, y))
    assert scorers["r_neg_mean_absolute_error"](net, X, y) == pytest.approx(
        task_scorer("r", "neg_mean_absolute_error")(net, X, y)
    )


def test_scorer_on_single_task_estimators():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(120, 3)).astype(np.float32)
    y_class = np.where(X[:, 0] > 0, 1, 0)
    clf = MultiTaskNetClassifier(**FAST).fit(X, y_class)
    assert task_scorer("y", "accuracy")(clf, X, y_class) == pytest.approx(clf.score(X, y_class))
    y_reg = X[:, 1] * 2.0
    reg = MultiTaskNetRegressor(**FAST).fit(X, y_reg)
    assert task_scorer("y")(reg, X, y_reg) == pytest.approx(reg.score(X, y_reg))
    assert task_scorer("y", "r2")(reg, X, y_reg) == pytest.approx(reg.score(X, y_reg))


def test_multilabel_task_default_score():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(150, 3)).astype(np.float32)
    tags = [tuple(t for t, on in zip("ab", row) if on) for row in X[:, :2] > 0]
    y = pd.DataFrame({"tags": pd.Series(tags, dtype=object), "r": X[:, 2]})
    net = MultiTaskNet(**FAST).fit(X, y)
    pred = net.predict_tasks(X)["tags"]
    expected = np.mean([set(p) == set(t) for p, t in zip(pred, tags)])
    assert task_scorer("tags")(net, X, y) == pytest.approx(expected)


@pytest.mark.parametrize(("task", "scoring", "kind", "wanted"), [
    ("c", "r2", "binary", "a classification scorer"),
    ("r", "accuracy", "regression", "a regression scorer"),
    ("r", "roc_auc", "regression", "a regression scorer"),
])
def test_a_scorer_of_the_other_kind_names_the_task_and_the_scorer(fitted, task, scoring,
                                                                   kind, wanted):
    net, X, y = fitted
    with pytest.raises(ValueError, match=rf"task {task!r} is a {kind} task, but "
                                         rf"scoring={scoring!r} .*use {wanted}"):
        task_scorer(task, scoring)(net, X, y)


def test_a_failing_callable_scorer_names_the_task(fitted):
    net, X, y = fitted

    def needs_numbers(estimator, X, y):
        return float(np.mean(np.asarray(y, dtype=float)))

    with pytest.raises(ValueError, match=r"failed on task 'c', a binary task: could not"):
        task_scorer("c", needs_numbers)(net, X, y)
