"""class_weight: per-task class weights in the losses, "balanced" or a dict per task."""

import numpy as np
import pandas as pd
import pytest
from _helpers import EXACT, two_binaries
from sklearn.base import clone
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

from sk_mtl import FusionNetClassifier, MultiTaskNet, MultiTaskNetClassifier
from sk_mtl.data import resolve_class_weights
from sk_mtl.tasks import BinaryTask, MulticlassTask, MultilabelTask, RegressionTask


def _tasks():
    return {
        "fraud": BinaryTask().fit(np.array(["no", "yes"]), "fraud"),
        "grade": MulticlassTask().fit(np.array([3, 5, 9]), "grade"),
        "price": RegressionTask().fit(np.array([1.0, 2.0]), "price"),
    }


def _labels():
    return {"fraud": np.array([0, 0, 0, 1]), "grade": np.array([0, 1, 1, 2])}


def test_balanced_follows_sklearn_and_dicts_fill_in_ones():
    from sklearn.utils.class_weight import compute_class_weight

    out = resolve_class_weights("balanced", _tasks(), _labels())
    assert sorted(out) == ["fraud", "grade"]  # the regression task has no classes
    for name, labels in _labels().items():
        expected = compute_class_weight("balanced", classes=np.unique(labels), y=labels)
        np.testing.assert_allclose(out[name], expected)
    assert resolve_class_weights({}, _tasks(), _labels()) == {}
    assert resolve_class_weights({}, {"price": _tasks()["price"]}, {}) == {}
    out = resolve_class_weights({"grade": {9: 4.0}, "fraud": None}, _tasks(), _labels())
    assert list(out) == ["grade"]
    np.testing.assert_allclose(out["grade"], [1.0, 1.0, 4.0])
    # scikit-learn's form for a single classification task: a dict class -> weight.
    single = {"fraud": _tasks()["fraud"]}
    np.testing.assert_allclose(
        resolve_class_weights({"yes": 10}, single, _labels())["fraud"], [1.0, 10.0]
    )


@pytest.mark.parametrize(
    ("class_weight", "message"),
    [
        ("auto", "class_weight must be None, 'balanced'"),
        ({"frud": "balanced"}, r"key\(s\) \['frud'\] that are not tasks"),
        ({"grade": {4: 2.0}}, r"task 'grade' names class\(es\) \[4\]"),
        ({"grade": {3: -1.0}}, r"class_weight\['grade'\]\[3\] must be a finite number >= 0"),
        ({"grade": "even"}, r"class_weight\['grade'\] must be 'balanced'"),
        ({"price": "balanced"}, "task 'price' is 'regression'"),
        ({"fraud": {"no": 0, "yes": 0}}, "every labelled row of task 'fraud' weight 0"),
    ],
)
def test_bad_class_weights_name_the_task_and_class(class_weight, message):
    with pytest.raises(ValueError, match=message):
        resolve_class_weights(class_weight, _tasks(), _labels())


def test_multilabel_and_regression_only_are_refused():
    tags = MultilabelTask().fit(np.array([["a"], ["b"]], dtype=object), "tags")
    with pytest.raises(ValueError, match="task 'tags' is 'multilabel'"):
        resolve_class_weights({"tags": "balanced"}, {"tags": tags}, {"tags": np.zeros((2, 2))})
    # "balanced" for every task weighs the binary and multiclass ones, not multilabel ones.
    both = {**_tasks(), "tags": tags}
    assert sorted(resolve_class_weights("balanced", both, _labels())) == ["fraud", "grade"]
    for only in ({"price": _tasks()["price"]}, {"tags": tags}):
        with pytest.raises(ValueError, match="binary and multiclass tasks, and there is none"):
            resolve_class_weights("balanced", only, {})


def test_a_dict_of_numbers_is_sklearns_form_even_when_a_class_is_named_like_the_task():
    X = np.random.RandomState(0).normal(size=(80, 3))
    y = np.where(X[:, 0] > 0.5, "y", "n")  # a 1-D y: its task is named "y" too
    net = MultiTaskNetClassifier(class_weight={"y": 5.0}, **{**EXACT, "max_epochs": 2})
    np.testing.assert_allclose(net.fit(X, y).class_weight_["y"], [1.0, 5.0])
    with pytest.raises(ValueError, match=r"there are 2 \(\['fraud', 'grade'\]\); key it by"):
        resolve_class_weights({"yes": 3.0}, _tasks(), _labels())


def test_weight_zero_on_every_labelled_row_of_a_task_is_refused():
    X, y = two_binaries()
    w = np.where(y["a"] == "yes", 0.0, 1.0)  # class "no" weighs 0, sample weight 0 on "yes"
    with pytest.raises(ValueError, match="Every labelled row of task 'a' has weight 0"):
        MultiTaskNetClassifier(class_weight={"a": {"no": 0.0}}, **EXACT).fit(
            X, y, sample_weight=w)


def test_a_class_weight_trains_like_that_sample_weight():
    X, y = two_binaries()
    cw = MultiTaskNetClassifier(class_weight={"a": {"yes": 3.0}}, **EXACT).fit(X, y)
    np.testing.assert_allclose(cw.class_weight_["a"], [1.0, 3.0])
    # The class weight acts on task a only: the same as a sample weight in a one-task fit.
    w = np.where(y["a"] == "yes", 3.0, 1.0)
    sw = MultiTaskNetClassifier(**EXACT).fit(X, y["a"], sample_weight=w)
    one = MultiTaskNetClassifier(class_weight={"yes": 3.0}, **EXACT).fit(X, y["a"])
    np.testing.assert_allclose(one.predict_proba(X)[:, 1], sw.predict_proba(X)[:, 1],
                               atol=1e-5)
    # Both multiply: class weight 3 on "yes" with sample weight 1/3 there is no weight at all.
    both = MultiTaskNetClassifier(class_weight={"yes": 3.0}, **EXACT).fit(
        X, y["a"], sample_weight=1 / w)
    plain = MultiTaskNetClassifier(**EXACT).fit(X, y["a"])
    np.testing.assert_allclose(both.predict_proba(X)[:, 1], plain.predict_proba(X)[:, 1],
                               atol=1e-5)
    assert not np.allclose(plain.predict_proba(X)[:, 1], one.predict_proba(X)[:, 1], atol=1e-3)


def test_class_weight_is_searchable_by_task_and_survives_clone():
    X, y = two_binaries()
    net = MultiTaskNetClassifier(class_weight={}, **{**EXACT, "max_epochs": 3})
    net.set_params(class_weight__a="balanced")
    assert net.class_weight == {"a": "balanced"}
    assert clone(net).get_params()["class_weight"] == {"a": "balanced"}
    search = GridSearchCV(net, {"class_weight__a": [None, "balanced", {"yes": 5.0}]}, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 3
    with pytest.raises(ValueError, match="class_weight='balanced' is a rule for every task"):
        MultiTaskNetClassifier(class_weight="balanced").set_params(class_weight__a=None)


def test_errors_come_before_training_and_partial_fit_refuses_balanced():
    X, y = two_binaries()
    with pytest.raises(ValueError, match=r"task 'a' names class\(es\) \['maybe'\]"):
        MultiTaskNetClassifier(class_weight={"a": {"maybe": 2}}, **EXACT).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not see"):
        MultiTaskNetClassifier(class_weight="balanced", **EXACT).partial_fit(X, y)
    net = MultiTaskNetClassifier(class_weight={"a": {"yes": 2.0}}, **EXACT)
    net.partial_fit(X, y).partial_fit(X, y, sample_weight=np.ones(len(X)))
    np.testing.assert_allclose(net.class_weight_["a"], [1.0, 2.0])
    # After fit with "balanced", partial_fit goes on with the fitted weights.
    fitted = MultiTaskNetClassifier(class_weight="balanced", **EXACT).fit(X, y)
    before = {k: v.copy() for k, v in fitted.class_weight_.items()}
    fitted.partial_fit(X[:40], y[:40])
    for name, weights in before.items():
        np.testing.assert_array_equal(fitted.class_weight_[name], weights)


def test_mixed_tasks_and_fusion_nets_take_class_weights():
    X, y = two_binaries()
    y = y.assign(price=X[:, 2] * 2.0)
    net = MultiTaskNet(class_weight="balanced", **{**EXACT, "max_epochs": 3}).fit(X, y)
    assert sorted(net.class_weight_) == ["a", "b"]
    rng = np.random.RandomState(0)
    Xf = {"tab": X, "text": np.array([f"w{i}" for i in rng.randint(0, 5, len(X))],
                                     dtype=object)}
    fusion = FusionNetClassifier(class_weight={"a": "balanced"},
                                 **{**EXACT, "max_epochs": 3}).fit(Xf, y[["a", "b"]])
    assert list(fusion.class_weight_) == ["a"]


@pytest.mark.slow
def test_balanced_raises_the_recall_of_a_rare_wine_quality(wine):
    """Real data: wines of quality 8 or 9 are 3% of the 6,497; 'balanced' finds more of them."""
    X, Y = wine
    y = pd.DataFrame({"excellent": np.where(Y["quality"] >= 8, "yes", "no"),
                      "color": Y["color"]})
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0,
                                              stratify=y["excellent"])
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    recall = {}
    for cw in (None, {"excellent": "balanced"}):
        net = MultiTaskNetClassifier(class_weight=cw, max_epochs=15, random_state=0)
        pred = net.fit(X_tr, y_tr).predict(X_te)
        recall[str(cw)] = recall_score(y_te["excellent"], pred[:, 0], pos_label="yes")
        # The other task is not hurt: colour stays near-perfect.
        assert (pred[:, 1] == y_te["color"]).mean() > 0.98
    # Measured 0.22 -> 0.74 at 15 epochs (examples/rare_class_weight.py has the full table).
    assert recall["{'excellent': 'balanced'}"] > recall["None"] + 0.25


def test_class_weights_survive_a_model_file(tmp_path):
    import sk_mtl

    X, y = two_binaries()
    net = MultiTaskNetClassifier(class_weight={"no": 0.5, "yes": 4.0},
                                 **{**EXACT, "max_epochs": 3}).fit(X, y["a"])
    sk_mtl.save(net, tmp_path / "net.safetensors")
    loaded = sk_mtl.load(tmp_path / "net.safetensors")
    assert loaded.class_weight == {"no": 0.5, "yes": 4.0}
    np.testing.assert_array_equal(loaded.class_weight_["a"], [0.5, 4.0])
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
