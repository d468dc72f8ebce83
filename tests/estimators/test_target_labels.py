"""Target columns sk_mtl cannot read (mixed label types, lists mixed with single labels,
lists of lists, objects that are not labels) are refused by sk_mtl, naming the task, before
any training, by every estimator and whatever form ``y`` takes."""

import numpy as np
import pandas as pd
import pytest

from sk_mtl import (
    FusionNet,
    FusionNetClassifier,
    FusionNetRegressor,
    MultiTaskNet,
    MultiTaskNetClassifier,
    MultiTaskNetRegressor,
)

ESTIMATORS = [MultiTaskNet, MultiTaskNetClassifier, MultiTaskNetRegressor,
              FusionNet, FusionNetClassifier, FusionNetRegressor]
N = 8
X = np.random.RandomState(0).normal(size=(N, 3))


def _column(items):
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


#: Each bad column and the part of the message that says what is wrong with it.
BAD = {
    "numbers and strings": ([1, "a"] * (N // 2), r"mixes label types \['int', 'str'\]"),
    "floats and strings": ([0.5, "a"] * (N // 2), r"mixes label types \['float', 'str'\]"),
    "booleans and strings": ([True, "no"] * (N // 2), r"mixes label types \['bool', 'str'\]"),
    "lists and labels": ([["a", "b"], "c"] * (N // 2), "mixes collections of labels and single"),
    "ragged lists of mixed labels": ([[1, "a"], ["b"]] * (N // 2),
                                     "mixes label types inside its rows"),
    "lists of lists": ([[["a"]], [["b"], ["c"]]] * (N // 2), r"holds a list; each label must"),
    "dicts": ([{"a": 1}, {"b": 2}] * (N // 2), "has a label of type dict"),
    "complex numbers": ([1 + 2j, 3.0] * (N // 2), "label of type complex"),
}


def _refuses(estimator_cls, y, task, match, **params):
    est = estimator_cls(hidden_dims=(4,), max_epochs=1, random_state=0, **params)
    with pytest.raises(ValueError, match=rf"Task '{task}' .*{match}") as info:
        est.fit(X, y)
    assert not hasattr(est, "net_")  # refused before any network was built or trained
    return str(info.value)


@pytest.mark.parametrize("estimator_cls", ESTIMATORS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("bad", list(BAD), ids=lambda b: b.replace(" ", "-"))
def test_a_bad_target_column_is_refused_naming_the_task(estimator_cls, bad):
    items, match = BAD[bad]
    # A DataFrame column beside a good one: the bad one is named.
    y = pd.DataFrame({"good": [0.5, 1.5] * (N // 2), "bad": _column(items)})
    if estimator_cls.__name__.endswith("Classifier"):
        y["good"] = [0, 1] * (N // 2)
    _refuses(estimator_cls, y, "bad", match)


@pytest.mark.parametrize("form", ["list", "object array", "Series"])
def test_every_form_of_y_is_checked(form):
    items = [1, "a"] * (N // 2)
    y, task = {"list": (items, "y"), "object array": (_column(items), "y"),
               "Series": (pd.Series(_column(items), name="s"), "s")}[form]
    _refuses(MultiTaskNet, y, task, "mixes label types")


def test_a_list_of_numbers_and_strings_is_not_turned_into_strings():
    """numpy reads [1, "a"] as two strings; sk_mtl keeps each label's type and refuses the
    mix, as it does for the same labels in an array or a DataFrame."""
    _refuses(MultiTaskNetClassifier, [1, "a"] * (N // 2), "y", "numbers and strings")
    # Strings with NaN in a list: NaN stays a missing label, not a class "nan".
    y = ["a", "b", np.nan, "a", "b", "a", "b", "a"]
    est = MultiTaskNetClassifier(hidden_dims=(4,), max_epochs=1, random_state=0).fit(X, y)
    assert list(est.classes_) == ["a", "b"]


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_a_single_label_kind_refuses_lists_of_labels(kind):
    y = pd.DataFrame({"tags": _column([["a"], ["b"], ["a", "b"], []] * (N // 4))})
    message = _refuses(MultiTaskNet, y, "tags", f"is '{kind}', which reads one label per row",
                       tasks={"tags": kind})
    assert "declare it 'multilabel'" in message


def test_a_declared_multilabel_task_refuses_single_labels():
    y = pd.DataFrame({"tags": ["a", "b"] * (N // 2)})
    _refuses(MultiTaskNet, y, "tags", "multilabel: each labelled row must be a list",
             tasks={"tags": "multilabel"})


def test_ragged_lists_of_one_label_type_are_a_multilabel_task():
    y = pd.DataFrame({"tags": _column([["a"], ["a", "b"], [], ["b"]] * (N // 4))})
    est = MultiTaskNet(hidden_dims=(4,), max_epochs=1, random_state=0).fit(X, y)
    assert est.tasks_["tags"].kind == "multilabel"
    assert list(est.tasks_["tags"].classes_) == ["a", "b"]


def test_score_and_partial_fit_check_the_labels_too():
    y = pd.DataFrame({"c": [0, 1] * (N // 2)})
    est = MultiTaskNetClassifier(hidden_dims=(4,), max_epochs=1, random_state=0)
    est.partial_fit(X, y)
    bad = pd.DataFrame({"c": _column([0, "x"] * (N // 2))})
    with pytest.raises(ValueError, match=r"Task 'c' mixes label types"):
        est.score(X, bad)
    with pytest.raises(ValueError, match=r"Task 'c' mixes label types"):
        est.partial_fit(X, bad)
    lists = pd.DataFrame({"c": _column([[0], [1]] * (N // 2))})
    with pytest.raises(ValueError, match=r"Task 'c' is 'binary', which reads one label"):
        est.partial_fit(X, lists)
    unknown = r"Task 'c': Labels \[7\] are not among the classes \[0, 1\]"
    with pytest.raises(ValueError, match=unknown):
        est.partial_fit(X, pd.DataFrame({"c": [0, 7] * (N // 2)}))
